/**
 * `npm run bench:process`: the whole `dockwall audit` process — Node start-up, module loading,
 * reading, the engine, every rule, the JSON report — on real ~1,000-rule dumps from the corpus,
 * run as a user runs it (a child process, `bin/dockwall.js audit --iptables FILE --format json`).
 * Each command runs several times and the median wall and CPU seconds are printed.
 *
 * Baselines, measured in the same run: `node -e 0` (what any Node process costs here) and
 * `dockwall parse FILE --format json` of the same dump (start-up plus reading). The audit is also
 * given as a multiple of the parse, which moves much less with the machine's load than seconds.
 * Target (issue 9): the whole audit of a 1,000-rule dump under 0.2 s.
 *
 * CLI: `node dist/bench/process.js [--runs N] [FILE…]` (default: the corpus dumps below, 7 runs).
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChildRun } from './child-process-time.ts';
import { timeChild } from './child-process-time.ts';
import { requireSupportedNode } from './supported-node.ts';

const TARGET_SECONDS = 0.2;

// Compiled to dist/bench/process.js: the repository root is two levels up.
const repoRoot = resolve(import.meta.dirname, '../..');
const bin = join(repoRoot, 'bin/dockwall.js');
const corpora = resolve(repoRoot, '../shared/corpora');

/** Dumps of about 1,000 rules: the target's own, one with complex matches, one real firewall. */
const DEFAULT_DUMPS = [
  'derived/bpf-iptables-tests/system-benchmarking__ruleset-size__rules_1000.restore',
  'derived/bpf-iptables-tests/system-benchmarking__rule-complexity__rules_all.restore',
  'dumps/diekmann-Iptables_Semantics/thy/Iptables_Semantics/Examples/medium-sized-company/iptables-save',
].map((p) => join(corpora, p));

export interface Summary {
  /** Median wall and CPU seconds over the runs. */
  readonly wall: number;
  readonly cpu: number;
  readonly maxRssMb: number;
  /** Why a run failed (exit status other than 0), or null. */
  readonly failure: string | null;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

function summarise(runs: readonly ChildRun[]): Summary {
  const failed = runs.find((r) => r.status !== 0);
  return {
    wall: median(runs.map((r) => r.seconds)),
    cpu: median(runs.map((r) => r.cpu)),
    maxRssMb: Math.max(...runs.map((r) => r.maxRssMb ?? 0)),
    failure:
      failed === undefined
        ? null
        : `exit ${failed.status ?? 'signal'}: ${failed.stderr.split('\n')[0] ?? ''}`,
  };
}

/** Runs the command `runs` times, interleaving nothing else, and summarises. */
export function measure(args: readonly string[], runs: number): Summary {
  const out: ChildRun[] = [];
  for (let i = 0; i < runs; i += 1) out.push(timeChild(process.execPath, args));
  return summarise(out);
}

function row(name: string, s: Summary): string {
  const fail = s.failure === null ? '' : `  FAILED (${s.failure})`;
  return `  ${name.padEnd(30)} wall ${s.wall.toFixed(3)} s  cpu ${s.cpu.toFixed(3)} s  peak RSS ${s.maxRssMb.toFixed(0)} MB${fail}`;
}

function benchDump(file: string, runs: number, node: Summary): string {
  const parse = measure([bin, 'parse', file, '--format', 'json'], runs);
  const audit = measure(
    [bin, 'audit', '--iptables', file, '--format', 'json', '--fail-on', 'never'],
    runs,
  );
  const met = audit.failure === null && audit.wall < TARGET_SECONDS ? 'yes' : 'no';
  return [
    `${basename(file)} (${file})`,
    row('dockwall parse (baseline)', parse),
    row('dockwall audit', audit),
    `  audit = ${(audit.cpu / parse.cpu).toFixed(2)} × parse CPU, ${(audit.cpu / node.cpu).toFixed(1)} × node -e 0 CPU; ` +
      `audit − parse ${(audit.cpu - parse.cpu).toFixed(3)} s CPU; wall < ${TARGET_SECONDS} s: ${met}`,
  ].join('\n');
}

interface Args {
  readonly runs: number;
  readonly files: readonly string[];
}

function parseArgs(argv: readonly string[]): Args | string {
  let runs = 7;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i] ?? '';
    if (a === '--runs') {
      runs = Number(argv[i + 1]);
      if (!Number.isInteger(runs) || runs < 1) return `bad value for --runs: ${argv[i + 1] ?? ''}`;
      i += 1;
    } else if (a.startsWith('-')) return 'usage: process [--runs N] [FILE…]';
    else files.push(a);
  }
  return { runs, files: files.length > 0 ? files : DEFAULT_DUMPS };
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    process.stderr.write(`${args}\n`);
    process.exitCode = 2;
    return;
  }
  const before = loadavg()[0] ?? 0;
  const node = measure(['-e', '0'], args.runs);
  console.log(`whole-process audit, median of ${args.runs} runs (${process.execPath})`);
  console.log(row('node -e 0 (baseline)', node));
  for (const file of args.files) {
    if (!existsSync(file)) console.log(`${basename(file)}: skipped (${file} absent)`);
    else console.log(benchDump(file, args.runs, node));
  }
  console.log(
    `  load average ${before.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  requireSupportedNode();
  main();
}
