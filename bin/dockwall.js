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
const { main } = await import('../dist/cli/dockwall.js');
process.exitCode = await main(process.argv.slice(2));
