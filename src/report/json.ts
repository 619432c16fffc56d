/**
 * The JSON report: the AuditResult as is (schema version 1, docs/audit-result.schema.json).
 * Keys keep the model's order, arrays the result's deterministic order.
 */
import type { AuditResult } from '../model/audit.ts';
import { safeJson, safeJsonPieces } from '../model/safe-text.ts';

export function formatJson(result: AuditResult): string {
  return safeJson(result);
}

/** `formatJson`'s text in pieces of about a megabyte, for writing a big host's report. */
export function jsonPieces(result: AuditResult): Iterable<string> {
  return safeJsonPieces(result as unknown as Readonly<Record<string, unknown>>);
}
