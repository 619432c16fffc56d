/**
 * Joins the compiled CLI (dist/src, as tsc emits it) into a few files under dist/cli, which
 * bin/dockwall.js runs. Node's module loader costs most of a small audit's start-up when it
 * resolves, reads and links ~160 files one by one; one file per command loads in a fraction of
 * that. Commands still load lazily (each is its own chunk), and ink, react and yaml stay
 * external: only `review`, `plan` and a config file need them. The library entry
 * (dist/src/index.js) is not bundled.
 *
 * Run by `npm run build` after tsc: `node scripts/bundle-cli.ts`.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'rolldown';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, 'dist/cli');

/** Loaded only by the commands that need them, from node_modules as usual. */
const EXTERNAL = [/^node:/, /^ink($|\/)/, /^react($|\/)/, /^yaml($|\/)/];

rmSync(out, { recursive: true, force: true });
await build({
  cwd: root,
  input: {
    dockwall: 'dist/src/cli/main.js',
    // `review` starts its analysis worker from this file, beside the chunk that holds review.ts.
    'review-analysis': 'dist/src/cli/commands/review-analysis.js',
    // bin/dockwall.js turns the compile cache on before it loads the rest, which it loads
    // compiled whole when the cache is on.
    'compile-cache': 'dist/src/cli/compile-cache.js',
    'eager-compile': 'dist/src/cli/eager-compile.js',
  },
  platform: 'node',
  external: EXTERNAL,
  logLevel: 'warn',
  output: {
    dir: out,
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: '[name]-[hash].js',
  },
});
