/**
 * Node's compile cache for dockwall's code: V8 keeps the compiled code of each module in a
 * directory, and the next run loads it instead of compiling again (a good part of a small
 * audit's start-up). Code read from that directory is run, and dockwall runs as root on hosts
 * where other users may write to /tmp, so the directory is one only the running user can have
 * written: inside the installed package (bin/dockwall.js names it), a real directory, not a link,
 * owned by this user, closed to everyone else (made so when missing). Anyone who could change it
 * could change the package's code itself. Anything else — a read-only install, another owner, a
 * link, open permissions, no POSIX user — means no cache, silently: it is only ever a speed-up.
 */
import { lstatSync, mkdirSync } from 'node:fs';
// The default import: a named import of a function Node 22.0 lacks would fail to load at all.
import module from 'node:module';
import { fileURLToPath } from 'node:url';

/** Whether `dir` is (or was now made) a directory only the running user can read or write. */
export function privateDirectory(dir: string): boolean {
  const uid = process.getuid?.();
  if (uid === undefined) return false;
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false;
  }
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

/** Turns the compile cache on in `dir` when it is private; whether it is on. Never throws. */
export function useCompileCache(dir: URL): boolean {
  try {
    const path = fileURLToPath(dir);
    const enable = module.enableCompileCache as typeof module.enableCompileCache | undefined;
    if (enable === undefined || !privateDirectory(path)) return false;
    const { status } = enable(path);
    // DISABLED: NODE_DISABLE_COMPILE_CACHE; FAILED: the directory could not be used
    return (
      status === module.constants.compileCacheStatus.ENABLED ||
      status === module.constants.compileCacheStatus.ALREADY_ENABLED
    );
  } catch {
    return false;
  }
}
