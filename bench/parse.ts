/**
 * `npm run bench:parse`: whole-process parse speed of `dockwall parse FILE --format json` versus
 * `iptables-legacy-restore --test` on the same file (in a fresh network namespace), on the 23k
 * rule corpus dump and on a generated ≥ 100,000 rule kube-proxy + Docker dump.
 * Prints rules/s, MB/s, peak RSS and the time ratio to the C parser.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChildRun } from './child-process-time.ts';
import { timeChild } from './child-process-time.ts';
import { generateHostFiles } from '../test/support/generate-host.ts';
import { requireSupportedNode } from './supported-node.ts';

// Compiled to dist/bench/parse.js: the repository root is two levels up.
const repoRoot = resolve(import.meta.dirname, '../..');
const bin = join(repoRoot, 'bin/dockwall.js');
const NETNS = 'dwp-bench';

function cParser(file: string): ChildRun | string {
  if (
    !existsSync('/usr/sbin/iptables-legacy-restore') &&
    !existsSync('/sbin/iptables-legacy-restore')
  ) {
    return 'iptables-legacy-restore not installed';
  }
  const add = spawnSync('ip', ['netns', 'add', NETNS], { encoding: 'utf8' });
  if (add.status !== 0) return `cannot create network namespace: ${add.stderr.trim()}`;
  try {
    const run = timeChild(
      'ip',
      ['netns', 'exec', NETNS, 'iptables-legacy-restore', '--test'],
      file,
    );
    return run.status === 0
      ? run
      : `iptables-legacy-restore failed: ${run.stderr.split('\n')[0] ?? ''}`;
  } finally {
    spawnSync('ip', ['netns', 'del', NETNS]);
  }
}

function bench(label: string, file: string): void {
  const bytes = readFileSync(file).length;
  const ours = timeChild(process.execPath, [bin, 'parse', file, '--format', 'json']);
  let rules = 0;
  const out = spawnSync(process.execPath, [bin, 'parse', file, '--format', 'json'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  try {
    rules = (JSON.parse(out.stdout) as { rules: number }).rules;
  } catch {
    console.log(`${label}: dockwall parse did not print JSON (exit ${out.status ?? 'signal'})`);
    return;
  }
  const c = cParser(file);
  const lines = [
    `${label}: ${file}`,
    `  size ${(bytes / 1e6).toFixed(1)} MB, ${rules} rules`,
    `  dockwall parse: ${ours.seconds.toFixed(2)} s wall (${ours.cpu.toFixed(2)} s CPU), ${Math.round(rules / ours.seconds)} rules/s, ${(bytes / 1e6 / ours.seconds).toFixed(2)} MB/s, peak RSS ${ours.maxRssMb?.toFixed(0) ?? '?'} MB`,
  ];
  if (typeof c === 'string') lines.push(`  iptables-legacy-restore --test: not measured (${c})`);
  else {
    lines.push(
      `  iptables-legacy-restore --test: ${c.seconds.toFixed(2)} s wall (${c.cpu.toFixed(2)} s CPU), peak RSS ${c.maxRssMb?.toFixed(0) ?? '?'} MB`,
      `  ratio dockwall / C: ${(ours.seconds / c.seconds).toFixed(2)}× wall, ${(ours.cpu / c.cpu).toFixed(2)}× CPU (target ≤ 3×); peak RSS < 500 MB: ${(ours.maxRssMb ?? Infinity) < 500 ? 'met' : 'NOT met'}`,
    );
  }
  console.log(lines.join('\n'));
}

requireSupportedNode();

const corpusDump = resolve(
  repoRoot,
  '../shared/corpora/dumps/OnlineSolutionsGroupBV-DropIPsByCountry/iptables.txt',
);
if (existsSync(corpusDump)) bench('23k-rule corpus dump', corpusDump);
else console.log(`23k-rule corpus dump: skipped (${corpusDump} absent)`);

const dir = mkdtempSync(join(tmpdir(), 'dwp-bench-'));
try {
  const generated = join(dir, 'kube-docker.rules');
  // The iptables-save.txt of the generated host every bench uses (test/support/generate-host.ts).
  const host = generateHostFiles();
  writeFileSync(generated, host.files['iptables-save.txt'] ?? '');
  console.log(`generated dump: ${host.rules} rules`);
  bench('generated kube-proxy + Docker 28 dump', generated);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
