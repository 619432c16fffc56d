/**
 * SARIF 2.1.0 for GitHub code scanning and other SARIF consumers: one run, every rule with its
 * help text and link, findings and input diagnostics as results located in the snapshot files,
 * stable `partialFingerprints`, the packet trace as a code flow and the witness in properties.
 */
import type { AuditResult, Finding } from '../model/audit.ts';
import type { Diagnostic, Severity, SourceLocation } from '../model/diagnostic.ts';
import type { RuleModule } from '../lint/rule.ts';
import { ruleDocs } from '../lint/rule.ts';
import { fingerprint } from '../lint/fingerprint.ts';
import { safeJson } from '../model/safe-text.ts';
import { describePacket, describeStep } from './describe.ts';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
export const INFO_URI = 'https://github.com/dockwall/dockwall';

type Json = Record<string, unknown>;

/** A rule as SARIF lists it (the registry's rules, policy and diagnostics; `diff` adds its own). */
export interface RuleEntry {
  readonly id: string;
  readonly description: string;
  readonly level: Severity;
  readonly helpUri: string;
  readonly help: string;
  readonly tags: readonly string[];
}

/** A file path as a SARIF URI: relative paths stay relative (to the repository root). */
export function artifactUri(file: string): string {
  const slashed = file.replace(/\\/g, '/');
  if (slashed.startsWith('/')) return `file://${encodeURI(slashed)}`;
  return encodeURI(slashed.replace(/^\.\//, ''));
}

function location(l: SourceLocation, message?: string): Json {
  const region: Json = { startLine: Math.max(1, l.line), startColumn: Math.max(1, l.column) };
  if (l.endLine !== undefined) region['endLine'] = l.endLine;
  if (l.endColumn !== undefined) region['endColumn'] = l.endColumn;
  const out: Json = {
    physicalLocation: { artifactLocation: { uri: artifactUri(l.file) }, region },
  };
  if (message !== undefined) out['message'] = { text: message };
  return out;
}

function pascal(id: string): string {
  return id
    .split(/[-_]/)
    .map((w) => (w.length === 0 ? w : w[0]?.toUpperCase() + w.slice(1)))
    .join('');
}

function ruleEntries(
  rules: Readonly<Record<string, RuleModule>>,
  result: AuditResult,
  extra: readonly RuleEntry[],
): RuleEntry[] {
  const out: RuleEntry[] = Object.keys(rules)
    .sort()
    .map((id) => {
      const meta = (rules[id] as RuleModule).meta;
      return {
        id,
        description: meta.docs.description,
        level: meta.severity,
        helpUri: ruleDocs(meta),
        help: `${meta.docs.description}. See ${ruleDocs(meta)} for examples and fixes.`,
        tags: ['security', 'firewall', meta.type],
      };
    });
  out.push(...extra);
  const known = new Set(out.map((r) => r.id));
  const codes = [...new Set(result.diagnostics.map((d) => d.code))].sort();
  for (const code of codes) {
    if (known.has(code)) continue;
    out.push({
      id: code,
      description: `Input diagnostic: ${code.replace(/-/g, ' ')}`,
      level: 'warning',
      helpUri: `${INFO_URI}/blob/main/docs/config.md#diagnostics`,
      help: 'dockwall could not fully read or model part of the snapshot; the message says what and where.',
      tags: ['input'],
    });
  }
  return out;
}

function findingResult(f: Finding, index: Map<string, number>): Json {
  const r: Json = {
    ruleId: f.ruleId,
    ruleIndex: index.get(f.ruleId) ?? -1,
    level: f.severity,
    message: { text: f.message },
    locations: [location(f.location)],
    partialFingerprints: { 'dockwall/v1': f.fingerprint },
    properties: {
      certainty: f.certainty,
      ...(f.assumptions === undefined ? {} : { assumptions: f.assumptions }),
      object: f.object,
      ...(f.witness === null ? {} : { witness: f.witness, witnessText: describePacket(f.witness) }),
    },
  };
  if (f.related.length > 0) {
    r['relatedLocations'] = f.related.map((rel, i) => ({
      id: i + 1,
      ...location(rel.location, rel.message),
    }));
  }
  const steps = f.trace.filter((s) => s.file !== null && s.line !== null);
  if (steps.length > 0) {
    r['codeFlows'] = [
      {
        message: {
          text: f.witness === null ? 'packet path' : `path of ${describePacket(f.witness)}`,
        },
        threadFlows: [
          {
            locations: steps.map((s) => ({
              location: location(
                { file: s.file ?? '', line: s.line ?? 1, column: 1 },
                describeStep(s),
              ),
            })),
          },
        ],
      },
    ];
  }
  if (f.suppressed !== undefined) {
    r['suppressions'] = [{ kind: 'external', justification: f.suppressed.reason }];
  }
  return r;
}

function diagnosticResult(d: Diagnostic, index: Map<string, number>): Json {
  const object = { address: `${d.location.line}:${d.location.column}:${d.message}` };
  return {
    ruleId: d.code,
    ruleIndex: index.get(d.code) ?? -1,
    level: d.severity,
    message: { text: d.hint === undefined ? d.message : `${d.message} ${d.hint}` },
    locations: [location(d.location)],
    partialFingerprints: { 'dockwall/v1': fingerprint(d.code, object, d.location.file) },
  };
}

export function toSarif(
  result: AuditResult,
  rules: Readonly<Record<string, RuleModule>>,
  extra: readonly RuleEntry[] = [],
): Json {
  const entries = ruleEntries(rules, result, extra);
  const index = new Map(entries.map((e, i) => [e.id, i]));
  const files = [
    ...new Set([
      ...result.findings.map((f) => f.location.file),
      ...result.diagnostics.map((d) => d.location.file),
    ]),
  ].sort();
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'dockwall',
            version: result.tool.version,
            semanticVersion: result.tool.version,
            informationUri: INFO_URI,
            rules: entries.map((e) => ({
              id: e.id,
              name: pascal(e.id),
              shortDescription: { text: e.description },
              fullDescription: { text: e.description },
              helpUri: e.helpUri,
              help: { text: e.help, markdown: `${e.description}. [Documentation](${e.helpUri})` },
              defaultConfiguration: { level: e.level },
              properties: { tags: e.tags },
            })),
          },
        },
        invocations: [{ executionSuccessful: true }],
        artifacts: files.map((f) => ({ location: { uri: artifactUri(f) } })),
        results: [
          ...result.findings.map((f) => findingResult(f, index)),
          ...result.diagnostics.map((d) => diagnosticResult(d, index)),
        ],
        properties: {
          era: result.snapshot.era.era,
          summary: result.summary,
        },
      },
    ],
  };
}

export function formatSarif(
  result: AuditResult,
  rules: Readonly<Record<string, RuleModule>>,
  extra: readonly RuleEntry[] = [],
): string {
  return safeJson(toSarif(result, rules, extra));
}
