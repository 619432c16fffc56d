/**
 * `npm run bench:blocklist`: the whole `dockwall audit` of Docker 29.7.2's nftables capture
 * behind a blocklist set (`ip saddr @set drop` ahead of Docker's chains, CrowdSec's shape) of
 * several sizes, each a child process as a user runs it (`--format json`): wall and CPU seconds,
 * peak RSS, the exposures found and the exceptions of their sources. Baseline, measured in the
 * same run: the capture without the set; each size is also given as a multiple of its CPU.
 * Before the twelfth round a set of 20,000 left the audit with no exposure at all.
 *
 * CLI: `node dist/bench/blocklist.js [--sizes 5000,20000,60000]` (default 5,000 and 20,000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AuditResult } from '../src/model/audit.ts';
import {
  BLOCKLIST_HOST_IN_REPO,
  blocklistAddresses,
  writeBlocklistSnapshot,
} from '../test/support/blocklist.ts';
import { timeChild, type ChildRun } from './child-process-time.ts';
import { requireSupportedNode } from './supported-node.ts';

// Compiled to dist/bench/blocklist.js: the repository root is two levels up.
const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/dockwall.js');
const host = path.join(root, BLOCKLIST_HOST_IN_REPO);

/** One audit's figures, or why it failed. */
function line(name: string, run: ChildRun, baselineCpu: number | null): string {
  if (run.status !== 0) return `  ${name.padEnd(24)} FAILED (exit ${run.status ?? 'signal'})`;
  const r = JSON.parse(run.stdout) as AuditResult;
  const excepts = r.exposures.flatMap((e) =>
    e.reachableFrom.map((f) => f.exceptSources?.length ?? 0),
  );
  const limits = r.diagnostics.filter((d) => d.code === 'discovery-limit').length;
  const ratio =
    baselineCpu === null ? '' : `, ${(run.cpu / baselineCpu).toFixed(1)} × baseline cpu`;
  return (
    `  ${name.padEnd(24)} wall ${run.seconds.toFixed(2).padStart(6)} s  cpu ${run.cpu.toFixed(2).padStart(6)} s  ` +
    `peak RSS ${(run.maxRssMb ?? 0).toFixed(0).padStart(4)} MB  exposures ${r.exposures.length}, ` +
    `most exceptions in a row ${Math.max(0, ...excepts)}` +
    (limits > 0 ? `, ${limits} part(s) not listed` : '') +
    ratio
  );
}

function audit(dir: string): ChildRun {
  return timeChild(process.execPath, [bin, 'audit', dir, '--format', 'json', '--fail-on', 'never']);
}

function main(argv: readonly string[]): number {
  const at = argv.indexOf('--sizes');
  const sizes =
    at < 0 ? [5000, 20000] : (argv[at + 1] ?? '').split(',').map((x) => Number(x.trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    process.stderr.write('usage: blocklist [--sizes N,N,…] (positive whole numbers)\n');
    return 2;
  }
  const before = loadavg()[0] ?? 0;
  console.log(`audit behind a blocklist set (${host})`);
  const baseline = audit(host);
  console.log(line('no set (baseline)', baseline, null));
  const dir = mkdtempSync(path.join(tmpdir(), 'dw-bench-blocklist-'));
  try {
    for (const n of sizes) {
      const behind = path.join(dir, String(n));
      writeBlocklistSnapshot(behind, blocklistAddresses(n, 1), 'saddr', host);
      console.log(line(`${n.toLocaleString('en')} addresses`, audit(behind), baseline.cpu));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `  load average ${before.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end`,
  );
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  requireSupportedNode();
  process.exitCode = main(process.argv.slice(2));
}
