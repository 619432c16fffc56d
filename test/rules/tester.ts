/**
 * A RuleTester for dockwall rules: loads a snapshot and runs one rule through the real runner
 * (`runRules`, with the real engine and exposure table), so what a case sees is what `audit`
 * reports: options merged, reports checked against the rule's metadata (known message id, every
 * placeholder filled), duplicates dropped. A rule that fails or breaks that contract fails the test.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SnapshotInput } from '../../src/ingest/snapshot.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { SNAPSHOT_FILE_NAMES } from '../../src/model/snapshot.ts';
import { RULES } from '../../rules/index.ts';
import { computeExposures } from '../../src/analysis/exposures.ts';
import { DEFAULT_CONFIG } from '../../src/lint/config-types.ts';
import { parseConfig } from '../../src/lint/config.ts';
import { createLintEngine } from '../../src/lint/default-engine.ts';
import type { ReportDescriptor, RuleModule } from '../../src/lint/rule.ts';
import { runRules } from '../../src/lint/runner.ts';
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
  const id = rule.meta.id;
  const out: Reported[] = [];
  const run = runRules(
    snapshot,
    { [id]: rule },
    { ...DEFAULT_CONFIG, rules: { [id]: { severity: null, options, location: null } } },
    engine,
    exposures,
    {
      onFinding(finding, descriptor) {
        if (!(finding.location.line >= 1))
          throw new Error(`report without a line: ${finding.message}`);
        out.push({
          messageId: descriptor.messageId,
          message: finding.message,
          file: path.basename(finding.location.file),
          line: finding.location.line,
          severity: descriptor.severity,
          descriptor,
        });
      },
    },
  );
  const failed = run.diagnostics.find((d) => d.code === 'internal-rule-error');
  if (failed !== undefined) throw new Error(failed.message);
  // A limited check is still a check: the fixtures stay small enough for the full one.
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
  /** Lines of the finding's related locations, in order. */
  readonly related?: readonly number[];
  /** The finding's certainty. */
  readonly certainty?: 'certain' | 'possible';
}

/** A case's `.dockwall.yaml`: the options it gives the rule, read as the CLI reads them. */
export const CASE_CONFIG = '.dockwall.yaml';

export function configOptions(id: string, file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  const { config, diagnostics } = parseConfig(readFileSync(file, 'utf8'), file, RULES);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new Error(`${file}: ${errors.map((d) => d.message).join('; ')}`);
  return { ...config.rules[id]?.options };
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
        options: { ...spec.options, ...configOptions(id, path.join(dir, CASE_CONFIG)) },
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
