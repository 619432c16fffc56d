/**
 * `analyze(snapshot, config, { rules })`: the one entry point of an audit (the CLI and the terminal UI both
 * call it). Builds the engine, computes exposures, runs the rules, ignores
 * and baseline, and returns the AuditResult in a deterministic order. Never throws: anything
 * that goes wrong becomes a diagnostic in the result.
 */
import { VERSION } from '../version.ts';
import type { AuditResult, ContextFact, Exposure, Finding } from '../model/audit.ts';
import type { Diagnostic, Severity } from '../model/diagnostic.ts';
import { compareDiagnostics, diagnostic, fileLocation } from '../model/diagnostic.ts';
import { anchorFile, type Snapshot } from '../model/snapshot.ts';
import type { Baseline } from './baseline.ts';
import { applyBaseline } from './baseline.ts';
import type { ResolvedConfig } from './config-types.ts';
import { buildEngines, engineLimitOf, type SnapshotEngines } from '../analysis/engines.ts';
import { computeExposures } from '../analysis/exposures.ts';
import { lintEngineOf } from './default-engine.ts';
import type { LintEngine } from './engine.ts';
import { applyIgnores } from './ignores.ts';
import type { RuleModule } from './rule.ts';
import { compareFindings, runRules, severityRank } from './runner.ts';

export interface AnalyzeOptions {
  /** The rules to run: the registry (`RULES`) or a part of it. */
  readonly rules: Readonly<Record<string, RuleModule>>;
  /**
   * The snapshot's engines when the caller built them already (the review UI keeps them for
   * traces); `null` runs without the packet engine (no exposures, engine rules skipped).
   */
  readonly engines?: SnapshotEngines | null;
  /** Exposures beyond this many are listed without a trace (default 2000). */
  readonly traceLimit?: number;
  /** Today as YYYY-MM-DD, for ignore expiry (default: the current UTC date). */
  readonly today?: string;
  /** Report only findings not in this baseline. */
  readonly baseline?: Baseline | null;
  /** Called as each phase starts (for a progress indicator on slow hosts). */
  readonly onProgress?: (phase: string) => void;
}

function count(items: readonly { readonly severity: Severity }[]): Record<Severity, number> {
  const out: Record<Severity, number> = { error: 0, warning: 0, note: 0 };
  for (const i of items) out[i.severity] += 1;
  return out;
}

/**
 * Whether there is a ruleset to analyse. The snapshot reader already left out a file that gave
 * no rule and only errors (it is "not analysed", never an empty all-ACCEPT firewall).
 */
function hasReadableRuleset(snapshot: Snapshot): boolean {
  return snapshot.ipv4 !== null || snapshot.ipv6 !== null || snapshot.nft !== null;
}

function buildAll(
  snapshot: Snapshot,
  given: SnapshotEngines | undefined,
  diagnostics: Diagnostic[],
): { engines: SnapshotEngines; lint: LintEngine } | null {
  try {
    const engines = given ?? buildEngines(snapshot);
    // a loop, not a spread: a big ruleset's diagnostics exceed the argument limit
    for (const d of engines.diagnostics) diagnostics.push(d);
    const lint = lintEngineOf(engines);
    return lint === null ? null : { engines, lint };
  } catch (error) {
    const limit = engineLimitOf(error);
    const message = error instanceof Error ? error.message : String(error);
    diagnostics.push(
      limit === null
        ? diagnostic(
            'engine-error',
            'error',
            `The packet engine failed on this snapshot (${message}); exposures and engine-based checks are missing.`,
            fileLocation(anchorFile(snapshot)),
          )
        : engineLimitDiagnostic(limit, snapshot),
    );
    return null;
  }
}

/** The engine stopped at its budget: exposures and the engine's checks are missing. */
function engineLimitDiagnostic(message: string, snapshot: Snapshot): Diagnostic {
  return diagnostic(
    'engine-limit',
    'error',
    `${message[0]?.toUpperCase() ?? ''}${message.slice(1)}; exposures and engine-based checks are missing.`,
    fileLocation(anchorFile(snapshot)),
  );
}

export function analyze(
  snapshot: Snapshot,
  config: ResolvedConfig,
  options: AnalyzeOptions,
): AuditResult {
  try {
    return analyzeOrThrow(snapshot, config, options);
  } catch (error) {
    // Every stage already catches its own failures; this is the last guard of the contract.
    const message = error instanceof Error ? error.message : String(error);
    const diagnostics = [
      ...snapshot.diagnostics,
      diagnostic(
        'internal-error',
        'error',
        `The audit failed: ${message}. Nothing below is complete.`,
        fileLocation(anchorFile(snapshot)),
      ),
    ].sort(compareDiagnostics);
    return {
      ...resultHeader(snapshot),
      summary: {
        exposures: 0,
        findings: { error: 0, warning: 0, note: 0 },
        diagnostics: count(diagnostics),
        rules: 0,
        containers: snapshot.host.containers.length,
      },
      exposures: [],
      findings: [],
      diagnostics,
    };
  }
}

function analyzeOrThrow(
  snapshot: Snapshot,
  config: ResolvedConfig,
  options: AnalyzeOptions,
): AuditResult {
  const diagnostics: Diagnostic[] = [...snapshot.diagnostics];
  const { rules } = options;
  let exposures: Exposure[] = [];
  let findings: Finding[] = [];
  // Findings before the baseline: a diagnostic they restate stays hidden when they are
  // baselined, so `--baseline` right after `--write-baseline` reports nothing new.
  let found: readonly Finding[] = [];
  let ruleCount = 0;
  let baselined = 0;
  let context: ContextFact[] = [];

  if (!hasReadableRuleset(snapshot)) {
    // The snapshot reader may have said so already; say it once.
    if (!diagnostics.some((d) => d.code === 'no-ruleset'))
      diagnostics.push(
        diagnostic(
          'no-ruleset',
          'error',
          'No iptables or ip6tables ruleset could be read: nothing was analysed, so nothing can be said to be safe.',
          fileLocation(snapshot.directory ?? 'snapshot'),
          'Give a snapshot directory with iptables-save.txt, or --iptables FILE.',
        ),
      );
  } else {
    const progress = options.onProgress ?? (() => undefined);
    progress('building the packet engine');
    const built =
      options.engines === null ? null : buildAll(snapshot, options.engines, diagnostics);
    let engine = built?.lint ?? null;
    context = built?.engines.families.flatMap((f) => f.host.facts) ?? [];
    progress('discovering exposures');
    try {
      if (built !== null) {
        const table = computeExposures(
          snapshot,
          built.engines,
          options.traceLimit === undefined ? {} : { traceLimit: options.traceLimit },
        );
        exposures = table.exposures;
        diagnostics.push(...table.diagnostics);
      }
    } catch (error) {
      const limit = engineLimitOf(error);
      if (limit !== null) {
        // the store is full: the rules that need the engine are skipped, each saying so
        diagnostics.push(engineLimitDiagnostic(limit, snapshot));
        engine = null;
      } else
        diagnostics.push(
          diagnostic(
            'engine-error',
            'error',
            `Discovering exposures failed: ${error instanceof Error ? error.message : String(error)}`,
            fileLocation(anchorFile(snapshot)),
          ),
        );
    }
    const run = runRules(snapshot, rules, config, engine, exposures, {
      onRule: (id) => progress(`rule ${id}`),
    });
    // Engines built here are unreachable once this returns (the result is plain data); their
    // stores are freed now, not beside the report being written (see BddManager.release).
    if (built !== null && options.engines === undefined)
      for (const f of built.engines.families) f.engine.release();
    ruleCount = run.ran.length;
    for (const d of run.diagnostics) diagnostics.push(d);
    findings = run.findings;
    const today = options.today ?? new Date().toISOString().slice(0, 10);
    const ignored = applyIgnores(findings, config.ignores, today);
    findings = ignored.findings;
    found = findings;
    for (const d of ignored.diagnostics) diagnostics.push(d);
    if (options.baseline !== undefined && options.baseline !== null) {
      const b = applyBaseline(findings, options.baseline);
      findings = b.findings;
      baselined = b.baselined;
    }
  }

  findings.sort(compareFindings);
  const kept = capDiagnostics(
    withoutCoveredDiagnostics(diagnostics, found).sort(compareDiagnostics),
  );
  const active = findings.filter((f) => f.suppressed === undefined);
  return {
    ...resultHeader(snapshot, context),
    summary: {
      exposures: exposures.length,
      findings: count(active),
      diagnostics: count(kept),
      rules: ruleCount,
      containers: snapshot.host.containers.length,
      suppressed: findings.length - active.length,
      baselined,
    },
    exposures,
    findings,
    diagnostics: kept,
  };
}

/** What every result starts with, complete or not: schema, tool, and what was read. */
function resultHeader(
  snapshot: Snapshot,
  context: readonly ContextFact[] = [],
): Pick<AuditResult, 'schemaVersion' | 'tool' | 'snapshot'> {
  return {
    schemaVersion: 2,
    tool: { name: 'dockwall', version: VERSION },
    snapshot: {
      directory: snapshot.directory,
      files: snapshot.files,
      assumptions: snapshot.assumptions,
      context,
      era: snapshot.era,
    },
  };
}

/** Input diagnostics that a rule finding restates at the same spot (it says more: keep only it). */
const COVERED_BY_RULES: Readonly<Record<string, string>> = {
  'ports-discarded-host-mode': 'host-network-conflict',
  'ports-discarded-vlan-network': 'unfiltered-network',
};

function withoutCoveredDiagnostics(
  diagnostics: readonly Diagnostic[],
  findings: readonly Finding[],
): Diagnostic[] {
  const at = (l: { file: string; line: number; column: number }): string =>
    `${l.file}:${l.line}:${l.column}`;
  const found = new Set(findings.map((f) => `${f.ruleId}@${at(f.location)}`));
  // A rule whose output was capped restates the rest in its "and N more" finding.
  const capped = new Set(findings.filter((f) => f.object.more !== undefined).map((f) => f.ruleId));
  return diagnostics.filter((d) => {
    const rule = COVERED_BY_RULES[d.code];
    return rule === undefined || (!capped.has(rule) && !found.has(`${rule}@${at(d.location)}`));
  });
}

/** Diagnostics listed per code and file; beyond it they are counted (a garbage file has many). */
export const DIAGNOSTICS_PER_KIND = 200;

/**
 * At most DIAGNOSTICS_PER_KIND diagnostics of one code in one file, the first in file order; the
 * rest become one "and N more" diagnostic at their highest severity (so the exit code is the
 * same). Takes and returns the list sorted.
 */
function capDiagnostics(sorted: readonly Diagnostic[]): Diagnostic[] {
  const groups = new Map<string, { shown: number; hidden: Diagnostic[] }>();
  const out: Diagnostic[] = [];
  for (const d of sorted) {
    const key = `${d.code}\u0000${d.location.file}`;
    const group = groups.get(key) ?? { shown: 0, hidden: [] };
    groups.set(key, group);
    if (group.shown < DIAGNOSTICS_PER_KIND) {
      group.shown += 1;
      out.push(d);
    } else {
      group.hidden.push(d);
    }
  }
  for (const { hidden } of groups.values()) {
    const first = hidden[0];
    if (first === undefined) continue;
    const severity = hidden.reduce<Severity>(
      (worst, d) => (severityRank(d.severity) < severityRank(worst) ? d.severity : worst),
      'note',
    );
    out.push(
      diagnostic(
        first.code,
        severity,
        `…and ${hidden.length} more '${first.code}' diagnostics in this file from here on, not listed (dockwall lists at most ${DIAGNOSTICS_PER_KIND} of a kind per file)`,
        first.location,
      ),
    );
  }
  return out.sort(compareDiagnostics);
}
