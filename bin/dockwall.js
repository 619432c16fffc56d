#!/usr/bin/env node
// The Node version is checked before anything else loads: on an older Node, dockwall's
// dependencies fail deep inside (`Object.groupBy is not a function`) or, worse, half-work.
// This file must stay plain JavaScript that any Node can parse.
const MINIMUM = 22;
const major = Number(process.versions.node.split('.')[0]);
if (!(major >= MINIMUM)) {
  process.stderr.write(
    `dockwall needs Node ≥ ${MINIMUM}; this is Node ${process.versions.node} (${process.execPath})\n`,
  );
  process.exit(2);
}
// V8 keeps dockwall's compiled code in the package's own .compile-cache, used only when private
// to this user (src/cli/compile-cache.ts says why), never in a shared directory such as /tmp.
const { useCompileCache } = await import('../dist/cli/compile-cache.js');
useCompileCache(new URL('../.compile-cache', import.meta.url));
// how far the JS heap grows between full collections (src/cli/heap-growth.ts says why)
const { limitHeapGrowth } = await import('../dist/cli/heap-growth.js');
limitHeapGrowth();
const { main } = await import('../dist/cli/dockwall.js');
process.exitCode = await main(process.argv.slice(2));
