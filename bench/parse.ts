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
import { generateHostFiles } from '../test/support/generate-host.ts';

// Compiled to dist/bench/parse.js: the repository root is two levels up.
const repoRoot = resolve(import.meta.dirname, '../..');
const bin = join(repoRoot, 'bin/dockwall.js');
const NETNS = 'dwp-bench';

interface Run {
  readonly seconds: number;
  /** User + system CPU seconds: steadier than wall time on a shared machine. */
  readonly cpu: number;
  readonly maxRssMb: number | null;
  readonly status: number | null;
  readonly stderr: string;
}

/** Runs a command under /usr/bin/time -v for wall time and peak RSS of the whole process. */
function timed(command: string, args: readonly string[], stdinFile?: string): Run {
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-v', command, ...args], {
    input: stdinFile === undefined ? undefined : readFileSync(stdinFile),
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const user = Number(/User time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1] ?? NaN);
  const sys = Number(/System time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1] ?? NaN);
  return {
    seconds,
    cpu: user + sys,
    maxRssMb: rss === null ? null : Number(rss[1]) / 1024,
    status: r.status,
    stderr: r.stderr,
  };
}

function cParser(file: string): Run | string {
  if (
    !existsSync('/usr/sbin/iptables-legacy-restore') &&
    !existsSync('/sbin/iptables-legacy-restore')
  ) {
    return 'iptables-legacy-restore not installed';
  }
  const add = spawnSync('ip', ['netns', 'add', NETNS], { encoding: 'utf8' });
  if (add.status !== 0) return `cannot create network namespace: ${add.stderr.trim()}`;
  try {
    const run = timed('ip', ['netns', 'exec', NETNS, 'iptables-legacy-restore', '--test'], file);
    return run.status === 0
      ? run
      : `iptables-legacy-restore failed: ${run.stderr.split('\n')[0] ?? ''}`;
  } finally {
    spawnSync('ip', ['netns', 'del', NETNS]);
  }
}

function bench(label: string, file: string): void {
  const bytes = readFileSync(file).length;
  const ours = timed(process.execPath, [bin, 'parse', file, '--format', 'json']);
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
