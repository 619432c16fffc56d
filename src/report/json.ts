/**
 * The JSON report: the AuditResult as is (schema version 1, docs/audit-result.schema.json).
 * Keys keep the model's order, arrays the result's deterministic order.
 */
import type { AuditResult } from '../model/audit.ts';
import { safeJson } from '../model/safe-text.ts';

export function formatJson(result: AuditResult): string {
  return safeJson(result);
}
