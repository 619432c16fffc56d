/**
 * dockwall's own modules, compiled whole as they load. V8 compiles a function the first time it
 * is called, and Node's compile cache (compile-cache.ts) keeps only the code compiled while a
 * module loads: every run of a small audit compiled ~950 of dockwall's functions again, about a
 * tenth of its wall time (docs/performance.md). Loaded with V8's lazy compilation off, a module
 * is compiled whole, the cache keeps all of it, and the next run reads it instead. Only the
 * loading is eager: compilation is lazy again before the command runs, and is left as it is
 * when no cache will keep the work (a read-only install, NODE_DISABLE_COMPILE_CACHE).
 */
import v8 from 'node:v8';

/** Runs `load` (an `import()`) with V8 compiling whole every function of what it loads. */
export async function loadCompiledWhole<T>(load: () => Promise<T>): Promise<T> {
  v8.setFlagsFromString('--no-lazy');
  try {
    return await load();
  } finally {
    v8.setFlagsFromString('--lazy');
  }
}
