/**
 * The result of `dockwall diff BEFORE AFTER`: what the change opens (gained) and closes (lost),
 * as exposures shaped as in the audit result (each with a witness packet and its trace in the
 * snapshot where it is reachable), and the findings that are new or fixed. Plain data, stable
 * order, serialisable as JSON (docs/diff-result.schema.json).
 */
import type { AuditResult, Exposure, Finding } from './audit.ts';
import type { Diagnostic } from './diagnostic.ts';

export interface DiffSnapshot {
  readonly directory: string | null;
  readonly era: AuditResult['snapshot']['era'];
  readonly assumptions: AuditResult['snapshot']['assumptions'];
  readonly exposures: number;
}

/** Findings of AFTER that BEFORE has not (new), and the reverse (fixed). */
export interface FindingChanges {
  readonly new: readonly Finding[];
  readonly fixed: readonly Finding[];
}

export interface DiffResult {
  readonly schemaVersion: 1;
  readonly tool: AuditResult['tool'];
  readonly before: DiffSnapshot;
  readonly after: DiffSnapshot;
  readonly summary: {
    readonly gained: number;
    readonly lost: number;
    readonly newFindings: number;
    readonly fixedFindings: number;
    /** Rule lines one side has and the other has not (both families), for the record. */
    readonly rulesChanged: number;
  };
  /** Reachable in AFTER, not in BEFORE; witness and trace in AFTER. */
  readonly gained: readonly Exposure[];
  /** Reachable in BEFORE, not in AFTER; witness and trace in BEFORE. */
  readonly lost: readonly Exposure[];
  readonly findings: FindingChanges;
  /** What the reader should know in words (e.g. rules changed but nothing reachable did). */
  readonly notes: readonly string[];
  /** Both snapshots' input diagnostics, each in its own file. */
  readonly diagnostics: readonly Diagnostic[];
}
