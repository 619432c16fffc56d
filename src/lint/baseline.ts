/**
 * Baselines for adopting dockwall on an existing fleet: `--write-baseline FILE` records the
 * fingerprints of today's findings; `--baseline FILE` then reports only findings that are new.
 * Fingerprints are rule id + object + snapshot file name (see fingerprint.ts), never lines.
 */
import type { Finding } from '../model/audit.ts';
import type { Diagnostic } from '../model/diagnostic.ts';
import { diagnostic, fileLocation } from '../model/diagnostic.ts';
import { objectKey } from './fingerprint.ts';
import { compareText } from '../model/text-order.ts';

export interface BaselineEntry {
  readonly fingerprint: string;
  readonly ruleId: string;
  /** Human-readable key of the object, so reviewers can read a baseline diff. */
  readonly object: string;
}

export interface Baseline {
  readonly schemaVersion: 1;
  readonly entries: readonly BaselineEntry[];
}

export function createBaseline(findings: readonly Finding[]): Baseline {
  const byPrint = new Map<string, BaselineEntry>();
  for (const f of findings) {
    if (f.suppressed !== undefined) continue;
    byPrint.set(f.fingerprint, {
      fingerprint: f.fingerprint,
      ruleId: f.ruleId,
      object: objectKey(f.object),
    });
  }
  const entries = [...byPrint.values()].sort(
    (a, b) => compareText(a.ruleId, b.ruleId) || compareText(a.fingerprint, b.fingerprint),
  );
  return { schemaVersion: 1, entries };
}

export function serializeBaseline(baseline: Baseline): string {
  return `${JSON.stringify(baseline, null, 2)}\n`;
}

/** Parses a baseline file's text; problems are diagnostics and yield null. */
export function parseBaseline(
  text: string,
  file: string,
): { baseline: Baseline | null; diagnostics: Diagnostic[] } {
  const bad = (message: string): { baseline: null; diagnostics: Diagnostic[] } => ({
    baseline: null,
    diagnostics: [diagnostic('invalid-baseline', 'error', message, fileLocation(file))],
  });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return bad(`baseline is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof data !== 'object' || data === null) return bad('baseline must be a JSON object');
  const record = data as Record<string, unknown>;
  if (record['schemaVersion'] !== 1) return bad('baseline schemaVersion must be 1');
  const entries = record['entries'];
  if (!Array.isArray(entries)) return bad("baseline needs an 'entries' list");
  const out: BaselineEntry[] = [];
  for (const [i, e] of entries.entries()) {
    const entry = e as Record<string, unknown> | null;
    if (
      entry === null ||
      typeof entry !== 'object' ||
      typeof entry['fingerprint'] !== 'string' ||
      typeof entry['ruleId'] !== 'string'
    ) {
      return bad(`baseline entry ${i} needs string fingerprint and ruleId`);
    }
    out.push({
      fingerprint: entry['fingerprint'],
      ruleId: entry['ruleId'],
      object: typeof entry['object'] === 'string' ? entry['object'] : '',
    });
  }
  return { baseline: { schemaVersion: 1, entries: out }, diagnostics: [] };
}

/** Findings not in the baseline, and how many were left out because they were. */
export function applyBaseline(
  findings: readonly Finding[],
  baseline: Baseline,
): { findings: Finding[]; baselined: number } {
  const known = new Set(baseline.entries.map((e) => e.fingerprint));
  const kept = findings.filter((f) => !known.has(f.fingerprint));
  return { findings: kept, baselined: findings.length - kept.length };
}
