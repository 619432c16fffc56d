/**
 * A RuleTester for dockwall rules: loads a snapshot, runs one rule with the real engine, and
 * returns what it reported (message id, data, location) after checking every report against the
 * rule's metadata: known message id, no unfilled placeholder, a location with a line.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SnapshotInput } from '../../src/ingest/snapshot.ts';
import { loadSnapshot, SNAPSHOT_FILE_NAMES } from '../../src/ingest/snapshot.ts';
import { computeExposures } from '../../src/analysis/exposures.ts';
import { createLintEngine } from '../../src/lint/default-engine.ts';
import type { ReportDescriptor, RuleModule } from '../../src/lint/rule.ts';
import { formatMessage } from '../../src/lint/rule.ts';
import { walk } from '../../src/lint/runner.ts';
import type { Snapshot, SnapshotFileRole } from '../../src/model/snapshot.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Reported {
  readonly messageId: string;
  readonly message: string;
  readonly file: string;
  readonly line: number;
  readonly severity: string | undefined;
  readonly descriptor: ReportDescriptor<string>;
}

export function runRule(
  rule: RuleModule,
  snapshot: Snapshot,
  options: Record<string, unknown> = {},
): Reported[] {
  const { engine, engines } = createLintEngine(snapshot);
  const exposures = computeExposures(snapshot, engines).exposures;
  const out: Reported[] = [];
  const listeners = rule.create({
    snapshot,
    host: snapshot.host,
    options: { ...rule.meta.defaultOptions, ...options },
    engine,
    exposures,
    limited() {
      // A limited check is still a check: the fixtures stay small enough for the full one.
    },
    report(d) {
      const template = rule.meta.messages[d.messageId];
      if (template === undefined) throw new Error(`unknown messageId '${d.messageId}'`);
      const message = formatMessage(template, d.data);
      if (/\{\{\s*\w+\s*\}\}/.test(message)) {
        throw new Error(`unfilled placeholder in '${message}'`);
      }
      if (!(d.node.location.line >= 1)) throw new Error(`report without a line: ${message}`);
      out.push({
        messageId: d.messageId,
        message,
        file: path.basename(d.node.location.file),
        line: d.node.location.line,
        severity: d.severity,
        descriptor: d,
      });
    },
  });
  walk(snapshot, listeners);
  return out;
}

/** `fixtures/rules/<id>/<case>/case.json`: a base snapshot, files overriding it, what must fire. */
export interface RuleCase {
  readonly name: string;
  readonly dir: string;
  readonly description: string;
  readonly base: string | null;
  readonly options: Record<string, unknown>;
  readonly reports: readonly WantedReport[];
}

/** One finding a case expects; the optional fields are checked only when given. */
export interface WantedReport {
  readonly messageId: string;
  readonly file?: string;
  readonly line?: number;
  /** The whole message, as a user reads it. */
  readonly message?: string;
  /** Fields the finding's witness packet must have; null: the finding must have no witness. */
  readonly witness?: Record<string, unknown> | null;
  /** Lines (in `file`, or the case's iptables file) that the finding's trace must pass. */
  readonly traceLines?: readonly number[];
  /** The finding must carry no trace. */
  readonly noTrace?: boolean;
}

export function ruleCases(id: string): RuleCase[] {
  const root = path.join(repoRoot, 'fixtures/rules', id);
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => {
      const dir = path.join(root, e.name);
      const spec = JSON.parse(readFileSync(path.join(dir, 'case.json'), 'utf8')) as {
        description: string;
        base?: string;
        options?: Record<string, unknown>;
        reports: RuleCase['reports'];
      };
      return {
        name: e.name,
        dir,
        description: spec.description,
        base: spec.base ?? null,
        options: spec.options ?? {},
        reports: spec.reports,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

const ROLE_BY_FILE = new Map<string, SnapshotFileRole>(
  Object.entries(SNAPSHOT_FILE_NAMES).flatMap(([role, names]) =>
    names.map((n) => [n, role as SnapshotFileRole] as const),
  ),
);

/** The case's snapshot: the base directory with the case's own files in place of the base's. */
export function caseInput(c: RuleCase): SnapshotInput {
  const files: Partial<Record<SnapshotFileRole, string>> = {};
  for (const name of readdirSync(c.dir)) {
    const role = ROLE_BY_FILE.get(name);
    if (role !== undefined) files[role] = path.join(c.dir, name);
  }
  const directory = c.base === null ? c.dir : path.join(repoRoot, c.base);
  return { directory, files };
}

export async function loadCase(c: RuleCase): Promise<Snapshot> {
  return loadSnapshot(caseInput(c));
}
