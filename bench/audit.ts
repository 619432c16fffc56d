/**
 * Audit benchmark: runs analyze() — engine, exposure discovery, every lint rule — on the
 * generated kube-proxy + Docker host (test/support/generate-host.ts, 100k rules by default) and
 * prints wall and CPU seconds per phase and per rule, the totals, peak RSS, the number of
 * exposures found and the load average. Per-rule times come from analyze()'s own progress
 * callback, so what is timed is exactly what `dockwall audit` runs.
 *
 * The text report (what `dockwall audit DIR` prints) is in the total; the JSON report is made
 * after it and timed on its own. Peak RSS covers both.
 *
 * Baseline, measured in the same run: reading the snapshot (parse). The total is also given as a
 * multiple of it, which moves much less with the machine's load than seconds do.
 * Targets (issue 9): the whole audit of the 100k host under 10 s and 1.5 GB peak RSS.
 *
 * CLI: `node dist/bench/audit.js [DIR] [--services N] [--containers N] [--rules a,b]`
 * DIR holding an iptables-save.txt is audited as it is; otherwise the host is generated into DIR
 * (or a temporary directory, removed afterwards). --rules runs only the named rules.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { RULES } from '../rules/index.ts';
import { loadSnapshot } from '../src/cli/load-snapshot.ts';
import { analyze } from '../src/lint/analyze.ts';
import { DEFAULT_CONFIG } from '../src/lint/config-types.ts';
import type { RuleModule } from '../src/lint/rule.ts';
import { jsonPieces } from '../src/report/json.ts';
import { formatText } from '../src/report/text.ts';
import type { GenerateHostOptions } from '../test/support/generate-host.ts';
import { generateHost } from '../test/support/generate-host.ts';
import { ruleCount } from '../src/model/rule-queries.ts';
import { requireSupportedNode } from './supported-node.ts';

const TARGET_SECONDS = 10;
const TARGET_RSS_MB = 1536;

/** Wall and CPU seconds of one piece of work. */
export interface Timing {
  readonly wall: number;
  readonly cpu: number;
}

export interface AuditBenchResult {
  readonly rules: number;
  /** Per analyze() phase, in the order they ran ("rule shadowed-rule", …). */
  readonly phases: readonly ({ readonly phase: string } & Timing)[];
  /** Reading the snapshot: the baseline. */
  readonly load: Timing;
  readonly analyze: Timing;
  /** The default text report, made as `dockwall audit DIR` makes it (in the total). */
  readonly textReport: Timing & { readonly bytes: number };
  /** The JSON report, made and handed on in pieces (not in the total: one format is made). */
  readonly jsonReport: Timing & { readonly bytes: number };
  /** Reading, analysing and the text report. */
  readonly total: Timing;
  readonly exposures: number;
  readonly findings: number;
  readonly diagnostics: number;
  /** The error diagnostics, as `code: message` (a run that lost its exposures says why). */
  readonly errors: readonly string[];
  readonly peakRssMb: number;
  /** 1-minute load average at the start and at the end. */
  readonly loadAverage: readonly [number, number];
}

function countRules(snapshot: Awaited<ReturnType<typeof loadSnapshot>>): number {
  return [snapshot.ipv4, snapshot.ipv6].reduce((n, r) => n + (r === null ? 0 : ruleCount(r)), 0);
}

function clock(): Timing {
  const u = process.cpuUsage();
  return { wall: performance.now() / 1000, cpu: (u.user + u.system) / 1e6 };
}

function since(t: Timing, now: Timing = clock()): Timing {
  return { wall: now.wall - t.wall, cpu: now.cpu - t.cpu };
}

export async function measureAudit(
  dir: string,
  only: readonly string[] | null = null,
): Promise<AuditBenchResult> {
  const before = loadavg()[0] ?? 0;
  const t0 = clock();
  const snapshot = await loadSnapshot({ directory: dir });
  const t1 = clock();
  const all: Record<string, RuleModule> = RULES;
  const rules =
    only === null
      ? all
      : Object.fromEntries(Object.entries(all).filter(([id]) => only.includes(id)));
  const phases: ({ phase: string } & Timing)[] = [];
  let current: { phase: string; start: Timing } | null = null;
  const close = (now: Timing): void => {
    if (current !== null) phases.push({ phase: current.phase, ...since(current.start, now) });
  };
  const result = analyze(snapshot, DEFAULT_CONFIG, {
    rules,
    onProgress(phase) {
      const now = clock();
      close(now);
      current = { phase, start: now };
    },
  });
  const t2 = clock();
  close(t2);
  // The last rule's phase also holds policy, ignores and sorting, which are linear and small.
  const text = formatText(result, { color: false });
  const t3 = clock();
  let jsonBytes = 0;
  for (const piece of jsonPieces(result)) jsonBytes += Buffer.byteLength(piece);
  const t4 = clock();
  return {
    rules: countRules(snapshot),
    phases,
    load: since(t0, t1),
    analyze: since(t1, t2),
    textReport: { ...since(t2, t3), bytes: Buffer.byteLength(text) },
    jsonReport: { ...since(t3, t4), bytes: jsonBytes },
    total: since(t0, t3),
    exposures: result.exposures.length,
    findings: result.findings.length,
    diagnostics: result.diagnostics.length,
    errors: result.diagnostics
      .filter((d) => d.severity === 'error')
      .map((d) => `${d.code}: ${d.message}`),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    loadAverage: [before, loadavg()[0] ?? 0],
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

function row(name: string, t: Timing): string {
  return `  ${name.padEnd(38)} wall ${t.wall.toFixed(2).padStart(7)} s  cpu ${t.cpu.toFixed(2).padStart(7)} s`;
}

export function formatAudit(dir: string, r: AuditBenchResult): string {
  const ratio = r.load.cpu > 0 ? (r.total.cpu / r.load.cpu).toFixed(1) : '–';
  const out = [`audit of ${dir}: ${r.rules} rules`, row('load snapshot (baseline)', r.load)];
  for (const p of r.phases) out.push(row(p.phase, p));
  out.push(
    row('analyze total', r.analyze),
    row(`text report (${megabytes(r.textReport.bytes)})`, r.textReport),
    row('total: load, analyze, text report', r.total),
    row(`json report (${megabytes(r.jsonReport.bytes)}, not in total)`, r.jsonReport),
    `  total cpu = ${ratio} × baseline cpu (target < ${TARGET_SECONDS} s; met: ${r.total.cpu < TARGET_SECONDS ? 'yes' : 'no'})`,
    `  peak RSS ${r.peakRssMb.toFixed(0)} MB (target < ${TARGET_RSS_MB} MB; met: ${r.peakRssMb < TARGET_RSS_MB ? 'yes' : 'no'})`,
    `  exposures ${r.exposures}, findings ${r.findings}, diagnostics ${r.diagnostics}`,
    ...r.errors.map((e) => `  error ${e}`),
    `  load average ${r.loadAverage[0].toFixed(2)} at start, ${r.loadAverage[1].toFixed(2)} at end`,
  );
  return out.join('\n');
}

interface Args {
  readonly dir: string | null;
  readonly host: GenerateHostOptions;
  readonly only: string[] | null;
}

function parseArgs(argv: readonly string[]): Args | string {
  let dir: string | null = null;
  const host: Record<string, number> = {};
  let only: string[] | null = null;
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i] ?? '';
    if (a === '--services' || a === '--containers') {
      const v = Number(argv[i + 1]);
      if (!Number.isInteger(v) || v < 0) return `bad value for ${a}: ${argv[i + 1] ?? ''}`;
      host[a.slice(2)] = v;
      i += 1;
    } else if (a === '--rules') {
      only = (argv[i + 1] ?? '').split(',').filter((s) => s !== '');
      const unknown = only.filter((id) => !(id in RULES));
      if (unknown.length > 0) return `unknown rule(s): ${unknown.join(', ')}`;
      i += 1;
    } else if (a.startsWith('-') || dir !== null) {
      return 'usage: audit [DIR] [--services N] [--containers N] [--rules a,b]';
    } else dir = a;
  }
  return { dir, host, only };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    process.stderr.write(`${args}\n`);
    process.exitCode = 2;
    return;
  }
  const temp = args.dir === null ? mkdtempSync(path.join(tmpdir(), 'dockwall-audit-')) : null;
  const dir = args.dir ?? temp ?? '.';
  try {
    if (!existsSync(path.join(dir, 'iptables-save.txt'))) {
      const g = generateHost(dir, args.host);
      process.stdout.write(`generated ${dir}: ${g.rules} rules in ${g.chains} chains\n`);
    }
    const r = await measureAudit(dir, args.only);
    process.stdout.write(`${formatAudit(dir, r)}\n`);
  } finally {
    if (temp !== null) rmSync(temp, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  requireSupportedNode();
  await main();
}
