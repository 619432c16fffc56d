/**
 * The compile cache holds code that the next run executes, and dockwall runs as root: it is used
 * only in a directory nobody but the running user can have written (src/cli/compile-cache.ts).
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { privateDirectory, useCompileCache } from '../../src/cli/compile-cache.ts';
import { repoRoot } from '../rules/tester.ts';

const root = process.getuid?.() === 0;
const inCi = process.env['CI'] === 'true';
const made: string[] = [];
function scratch(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockwall-cache-'));
  made.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('compile cache directory', () => {
  it('is made private (0700) when missing, and then used', () => {
    const dir = path.join(scratch(), 'cache');
    expect(privateDirectory(dir)).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(privateDirectory(dir)).toBe(true);
  });

  it('is refused when others may read or write it', () => {
    for (const mode of [0o755, 0o770, 0o777, 0o1777]) {
      const dir = path.join(scratch(), 'cache');
      mkdirSync(dir);
      chmodSync(dir, mode);
      expect(privateDirectory(dir), mode.toString(8)).toBe(false);
      expect(useCompileCache(pathToFileURL(dir)), mode.toString(8)).toBe(false);
    }
  });

  it('is refused when it is a link, even to a private directory, or not a directory', () => {
    const base = scratch();
    const target = path.join(base, 'target');
    mkdirSync(target, { mode: 0o700 });
    const link = path.join(base, 'cache');
    symlinkSync(target, link);
    expect(privateDirectory(link)).toBe(false);
    const file = path.join(base, 'file');
    writeFileSync(file, '');
    chmodSync(file, 0o600);
    expect(privateDirectory(file)).toBe(false);
    expect(privateDirectory(path.join(base, 'missing', 'cache'))).toBe(false);
  });

  // Root can hand the directory to another user; elsewhere the case cannot be built.
  it.skipIf(!root && !inCi)(
    `is refused when another user owns it${root || inCi ? '' : ' (skipped: needs root)'}`,
    () => {
      const dir = path.join(scratch(), 'cache');
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, 65534, 65534);
      expect(privateDirectory(dir)).toBe(false);
    },
  );

  const built = existsSync(path.join(repoRoot, 'dist/cli/dockwall.js'));
  it.skipIf(!built && !inCi)('is the package’s own, private, after a run of the CLI', () => {
    const node = path.join(repoRoot, 'node_modules/.bin/node');
    const r = spawnSync(node, [path.join(repoRoot, 'bin/dockwall.js'), '--version'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: undefined, NODE_COMPILE_CACHE: undefined },
    });
    expect(r.status).toBe(0);
    const cache = path.join(repoRoot, '.compile-cache');
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    expect(readdirSync(cache).length).toBeGreaterThan(0);
  });
});
