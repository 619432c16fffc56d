/**
 * The benches run dockwall's code in their own process, not through bin/dockwall.js, so they
 * check the Node version themselves: on a Node older than package.json's `engines` the analysis
 * fails inside (ArrayBuffer.prototype.transfer, Node ≥ 21, frees the BDD store) and a bench would
 * print "exposures 0" as if it had measured something. `npm run bench:*` runs the pinned Node;
 * `node dist/bench/…` runs whatever `node` is first on the PATH.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Exits with status 2 and says why when this Node is older than the package supports. */
export function requireSupportedNode(): void {
  // compiled to dist/bench: the package root is two levels up
  const manifest = path.resolve(import.meta.dirname, '../../package.json');
  const engines = (JSON.parse(readFileSync(manifest, 'utf8')) as { engines?: { node?: string } })
    .engines?.node;
  const minimum = Number(/^>=\s*(\d+)/.exec(engines ?? '')?.[1] ?? NaN);
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= minimum) return;
  process.stderr.write(
    `dockwall's benches need Node ${engines ?? '?'}; this is Node ${process.versions.node} (${process.execPath}). Run them with npm run bench:…, which uses the project's pinned Node.\n`,
  );
  process.exit(2);
}
