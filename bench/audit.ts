/**
 * Audit benchmark: runs analyze() — engine, exposures, every lint rule — on the generated
 * kube-proxy + Docker host (test/support/generate-host.ts, 100k rules by default) and prints seconds per
 * phase and per rule, total seconds and peak RSS. Per-rule times come from analyze()'s own
 * progress callback, so what is timed is exactly what `dockwall audit` runs.
 *
 * CLI: `node dist/bench/audit.js [DIR] [--services N] [--containers N] [--rules a,b]`
 * DIR holding an iptables-save.txt is audited as it is; otherwise the host is generated into DIR
 * (or a temporary directory, removed afterwards). --rules runs only the named rules.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { RULES } from '../rules/index.ts';
import { loadSnapshot } from '../src/ingest/snapshot.ts';
import { analyze } from '../src/lint/analyze.ts';
import { DEFAULT_CONFIG } from '../src/lint/config-types.ts';
import type { RuleModule } from '../src/lint/rule.ts';
import type { GenerateHostOptions } from '../test/support/generate-host.ts';
import { generateHost } from '../test/support/generate-host.ts';

export interface AuditBenchResult {
  readonly rules: number;
  /** Seconds per analyze() phase, in the order they ran ("rule shadowed-rule", …). */
  readonly phases: readonly { readonly phase: string; readonly seconds: number }[];
  readonly loadSeconds: number;
  readonly analyzeSeconds: number;
  readonly findings: number;
  readonly diagnostics: number;
  readonly peakRssMb: number;
}

function countRules(snapshot: Awaited<ReturnType<typeof loadSnapshot>>): number {
  let n = 0;
  for (const r of [snapshot.ipv4, snapshot.ipv6]) {
    for (const t of r?.tables ?? []) for (const c of t.chains) n += c.rules.length;
  }
  return n;
}

export async function measureAudit(
  dir: string,
  only: readonly string[] | null = null,
): Promise<AuditBenchResult> {
  const t0 = performance.now();
  const snapshot = await loadSnapshot({ directory: dir });
  const t1 = performance.now();
  const all: Record<string, RuleModule> = RULES;
  const rules =
    only === null
      ? all
      : Object.fromEntries(Object.entries(all).filter(([id]) => only.includes(id)));
  const phases: { phase: string; seconds: number }[] = [];
  let current: { phase: string; start: number } | null = null;
  const close = (now: number): void => {
    if (current !== null)
      phases.push({ phase: current.phase, seconds: (now - current.start) / 1000 });
  };
  const result = analyze(snapshot, DEFAULT_CONFIG, {
    rules,
    onProgress(phase) {
      const now = performance.now();
      close(now);
      current = { phase, start: now };
    },
  });
  const t2 = performance.now();
  close(t2);
  // The last rule's phase also holds policy, ignores and sorting, which are linear and small.
  return {
    rules: countRules(snapshot),
    phases,
    loadSeconds: (t1 - t0) / 1000,
    analyzeSeconds: (t2 - t1) / 1000,
    findings: result.findings.length,
    diagnostics: result.diagnostics.length,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
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
    const out = [
      `audit of ${dir}: ${r.rules} rules`,
      `  load snapshot          ${r.loadSeconds.toFixed(2)} s`,
    ];
    for (const p of r.phases) out.push(`  ${p.phase.padEnd(38)} ${p.seconds.toFixed(2)} s`);
    out.push(
      `  analyze total          ${r.analyzeSeconds.toFixed(2)} s`,
      `  total                  ${(r.loadSeconds + r.analyzeSeconds).toFixed(2)} s`,
      `  findings ${r.findings}, diagnostics ${r.diagnostics}`,
      `  peak RSS               ${r.peakRssMb.toFixed(0)} MB`,
    );
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    if (temp !== null) rmSync(temp, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
