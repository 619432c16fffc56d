/**
 * Runs the registered rules over a snapshot: merges options, applies severity overrides, walks
 * the model in a stable order calling each rule's listeners, and turns reports into findings.
 * A rule that throws, or reports against its own metadata (an unknown message id, a placeholder
 * its data does not fill), becomes an `internal-rule-error` diagnostic; the other rules still run.
 * Each rule lists at most FINDINGS_PER_RULE findings, the most severe first come; the rest are
 * counted in one "and N more" finding at their highest severity, so a hostile host can flood
 * neither a report nor memory, and the exit code still sees the worst.
 */
import { engineLimitOf } from '../analysis/engines.ts';
import type { Exposure, Finding } from '../model/audit.ts';
import type { Diagnostic, Severity, SourceLocation } from '../model/diagnostic.ts';
import type { Certainty } from '../model/trace.ts';
import { diagnostic, fileLocation } from '../model/diagnostic.ts';
import type { Table } from '../model/ruleset.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { firewallOf } from '../model/snapshot.ts';
import type { ResolvedConfig } from './config-types.ts';
import type { LintEngine } from './engine.ts';
import { findingIdentity, fingerprint } from './fingerprint.ts';
import type { ReportDescriptor, RuleContext, RuleListeners, RuleModule } from './rule.ts';
import { formatMessage, templateParts } from './rule.ts';
import { compareText } from '../model/text-order.ts';

export interface RunOutput {
  readonly findings: Finding[];
  readonly diagnostics: Diagnostic[];
  /** Ids of the rules that ran. */
  readonly ran: string[];
}

function effectiveSeverity(id: string, rule: RuleModule, config: ResolvedConfig): Severity | 'off' {
  return config.rules[id]?.severity ?? rule.meta.severity;
}

/**
 * Calls a rule's listeners over the model in the runner's stable order: per family the whole
 * firewall the kernel runs (`firewallOf`: iptables' tables, then the nftables tables that see the
 * family). A table both families see (nftables `inet`, `netdev`) is visited once, with the IPv4
 * ruleset; `tableFamilies` says which families it holds for.
 */
export function walk(snapshot: Snapshot, listeners: RuleListeners): void {
  const visited = new Set<Table>();
  for (const family of ['ipv4', 'ipv6'] as const) {
    const ruleset = firewallOf(snapshot, family);
    if (ruleset === null) continue;
    listeners.Ruleset?.(ruleset);
    for (const table of ruleset.tables) {
      if (visited.has(table)) continue;
      visited.add(table);
      listeners.Table?.(table, ruleset);
      for (const chain of table.chains) {
        listeners.Chain?.(chain, table, ruleset);
        if (listeners.Rule !== undefined) {
          for (const rule of chain.rules) listeners.Rule(rule, chain, table, ruleset);
        }
      }
    }
  }
  for (const container of snapshot.host.containers) {
    listeners.Container?.(container);
    if (listeners.PublishedPort !== undefined) {
      for (const port of container.published) listeners.PublishedPort(port, container);
    }
  }
  listeners.end?.();
}

/** What a caller may watch while rules run (progress; rule tests read the message ids). */
export interface RunObserver {
  readonly onRule?: (id: string) => void;
  /** Every report a rule makes that becomes a finding, with the descriptor it came from. */
  readonly onFinding?: (finding: Finding, descriptor: ReportDescriptor<string>) => void;
}

/** The placeholders of a template its data leaves unfilled (a rule's bug, not the input's). */
function unfilled(template: string, data: ReportDescriptor<string>['data']): string[] {
  return templateParts(template).keys.filter((key) => data?.[key] === undefined);
}

/** Findings listed per rule; beyond it they are counted, not kept. */
export const FINDINGS_PER_RULE = 500;

export function runRules(
  snapshot: Snapshot,
  rules: Readonly<Record<string, RuleModule>>,
  config: ResolvedConfig,
  engine: LintEngine | null,
  exposures: readonly Exposure[] = [],
  observer: RunObserver = {},
): RunOutput {
  const findings: Finding[] = [];
  const diagnostics: Diagnostic[] = [];
  const ran: string[] = [];
  const anchor = snapshot.ipv4?.file ?? snapshot.ipv6?.file ?? snapshot.directory ?? 'snapshot';

  for (const id of Object.keys(rules).sort()) {
    const rule = rules[id];
    if (rule === undefined) continue;
    const severity = effectiveSeverity(id, rule, config);
    if (severity === 'off') continue;
    if (rule.meta.requiresEngine && engine === null) {
      diagnostics.push(
        diagnostic(
          'rule-skipped',
          'note',
          `Rule '${id}' needs the packet engine, which could not run on this snapshot; its checks were not made.`,
          fileLocation(anchor),
        ),
      );
      continue;
    }
    observer.onRule?.(id);
    const options = { ...rule.meta.defaultOptions, ...(config.rules[id]?.options ?? {}) };
    // The same object reported twice (e.g. once per family walk) counts once.
    const seen = new Set<string>();
    const listed: Finding[] = [];
    const beyond = { count: 0, severity: 'note' as Severity, certainty: 'possible' as Certainty };
    /** Index of the finding a more severe one replaces once the list is full (null: not known). */
    let worst: number | null = null;
    const report = (d: ReportDescriptor<string>): void => {
      const template = rule.meta.messages[d.messageId];
      if (template === undefined) throw new Error(`unknown messageId '${d.messageId}'`);
      const missing = unfilled(template, d.data);
      if (missing.length > 0) {
        throw new Error(`message '${d.messageId}' has no data for {{${missing.join('}}, {{')}}}`);
      }
      const location = d.node.location;
      const message = formatMessage(template, d.data);
      // the fingerprint's identity and the message: hashed only for a finding kept
      const key = `${findingIdentity(id, d.object, location.file)}\u0000${message}`;
      if (seen.has(key)) return;
      seen.add(key);
      // A config override wins; otherwise a rule may rank one finding higher than its default.
      const ranked =
        (config.rules[id]?.severity ?? null) !== null ? severity : (d.severity ?? severity);
      const certainty = d.certainty ?? 'certain';
      const make = (): Finding => ({
        ruleId: id,
        severity: ranked,
        message,
        location,
        object: d.object,
        certainty,
        // said only where they make the finding possible
        ...(certainty === 'possible' && d.assumptions !== undefined && d.assumptions.length > 0
          ? { assumptions: [...new Set(d.assumptions)] }
          : {}),
        witness: d.witness ?? null,
        trace: d.trace ?? [],
        related: d.related ?? [],
        fingerprint: fingerprint(id, d.object, location.file),
      });
      let made: Finding | null = null;
      if (observer.onFinding !== undefined) {
        made = make();
        observer.onFinding(made, d);
      }
      if (listed.length < FINDINGS_PER_RULE) {
        listed.push(made ?? make());
        return;
      }
      // Full: a more severe finding takes the place of the last of the least severe (found
      // again only when the list changed: a big host reports tens of thousands past it)
      if (worst === null) {
        worst = listed.length - 1;
        for (let i = listed.length - 1; i >= 0; i -= 1) {
          if (rankOf(listed[i]) > rankOf(listed[worst])) worst = i;
        }
      }
      let left: { readonly severity: Severity; readonly certainty: Certainty } = {
        severity: ranked,
        certainty,
      };
      if (SEVERITY_RANK[ranked] < rankOf(listed[worst])) {
        left = listed[worst] as Finding;
        listed[worst] = made ?? make();
        worst = null;
      }
      beyond.count += 1;
      if (SEVERITY_RANK[left.severity] < SEVERITY_RANK[beyond.severity])
        beyond.severity = left.severity;
      if (left.certainty === 'certain') beyond.certainty = 'certain';
    };
    try {
      const base = {
        snapshot,
        host: snapshot.host,
        options,
        report,
        limited(message: string, location?: SourceLocation) {
          diagnostics.push(
            diagnostic(
              'rule-limited',
              'note',
              `Rule '${id}': ${message}`,
              location ?? fileLocation(anchor),
            ),
          );
        },
      };
      // Only a rule that declares the engine is given the exposures it discovered.
      const context: RuleContext<string, object> =
        rule.meta.requiresEngine && engine !== null
          ? { ...base, engine, exposures }
          : { ...base, engine };
      const listeners = rule.create(context);
      walk(snapshot, listeners);
      ran.push(id);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const limit = engineLimitOf(error);
      diagnostics.push(
        limit === null
          ? diagnostic(
              'internal-rule-error',
              'error',
              `Rule '${id}' failed: ${message}. Its findings are incomplete.`,
              fileLocation(anchor),
            )
          : diagnostic(
              'engine-limit',
              'error',
              `Rule '${id}': ${limit}. Its findings are incomplete.`,
              fileLocation(anchor),
            ),
      );
    }
    // What a failing rule reported before it failed is kept, like the rest.
    findings.push(...listed);
    if (beyond.count > 0) findings.push(moreFinding(id, beyond, anchor));
  }
  return { findings, diagnostics, ran };
}

function rankOf(finding: Finding | undefined): number {
  return finding === undefined ? Infinity : SEVERITY_RANK[finding.severity];
}

/** The "and N more" finding that stands for what a rule reported beyond FINDINGS_PER_RULE. */
function moreFinding(
  id: string,
  beyond: { readonly count: number; readonly severity: Severity; readonly certainty: Certainty },
  anchor: string,
): Finding {
  const object = { more: beyond.count };
  return {
    ruleId: id,
    severity: beyond.severity,
    message: `…and ${beyond.count} more ${beyond.count === 1 ? 'finding' : 'findings'} of this rule, not listed (dockwall lists at most ${FINDINGS_PER_RULE} per rule)`,
    location: fileLocation(anchor),
    object,
    certainty: beyond.certainty,
    witness: null,
    trace: [],
    related: [],
    fingerprint: fingerprint(id, object, anchor),
  };
}

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { error: 0, warning: 1, note: 2 };

/** Deterministic order: severity, file, line, column, rule id, message. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    compareText(a.location.file, b.location.file) ||
    a.location.line - b.location.line ||
    a.location.column - b.location.column ||
    compareText(a.ruleId, b.ruleId) ||
    compareText(a.message, b.message)
  );
}

export function severityRank(severity: Severity): number {
  return SEVERITY_RANK[severity];
}
