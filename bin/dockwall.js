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
const cached = useCompileCache(new URL('../.compile-cache', import.meta.url));
const { main, commandEntry, preloadCommand } = await import('../dist/cli/dockwall.js');
// With the cache on, the command's own modules load compiled whole, so that the cache keeps all
// of their code (src/cli/eager-compile.ts says why).
const command = commandEntry(process.argv[2]);
if (command !== null) {
  const { loadCompiledWhole } = await import('../dist/cli/eager-compile.js');
  await preloadCommand(command, cached ? loadCompiledWhole : (load) => load());
}
process.exitCode = await main(process.argv.slice(2));
