/**
 * Findings of a snapshot cut down to the rules alone, or the rules and `ip-addr.json`, against the
 * full snapshot's on every fixture: a cut is never certain of a finding the full snapshot does
 * not make certainly, and it keeps the findings the rules alone decide — the ufw bypass, DOCKER-USER's
 * host-port rules, container addresses reached directly — with their severity, at the same
 * rule. Findings that need a name (a container, a process, a daemon.json key) may be lost: the
 * rules do not hold them. A possible finding, full or cut, says what it rests on.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { analyze } from '../../src/lint/analyze.ts';
import { DEFAULT_CONFIG } from '../../src/lint/config-types.ts';
import type { Finding } from '../../src/model/audit.ts';
import { RULES } from '../../rules/index.ts';
import {
  CUT_NAMES,
  compareCuts,
  cutDirectory,
  fixtures,
  snapshotDirs,
} from '../support/cut-snapshots.ts';

const { cutOf, leaveOneOut, leaveOneRulesFileOut, remove } = cutDirectory('dwk-cut-findings-');
afterAll(remove);

/**
 * Decided by the rules alone: a cut must keep each of these with its severity, at the same rule
 * (or anywhere, for one the full snapshot pins on a container in containers.json).
 */
const RULES_DECIDE = [
  'input-rule-bypassed',
  'docker-user-port-mismatch',
  'direct-container-access',
];
const RULE_FILE = /(tables-save|nft-ruleset)/;

async function findingsOf(dir: string): Promise<readonly Finding[]> {
  return analyze(await loadSnapshot({ directory: dir }), DEFAULT_CONFIG, { rules: RULES }).findings;
}

/** A finding's rule and where it points, when that is a line of a rules file. */
const at = (f: Finding): string =>
  `${f.ruleId} ${path.basename(f.location.file)}:${String(f.location.line)}`;

/**
 * What a cut is certain of beyond the full snapshot: a finding of a rule the full snapshot does
 * not report, or one the full snapshot makes at the same rule only possibly.
 */
function moreCertain(full: readonly Finding[], cut: readonly Finding[]): string[] {
  const rules = new Set(full.map((f) => f.ruleId));
  const certainAt = new Set(full.filter((f) => f.certainty === 'certain').map(at));
  const anyAt = new Set(full.map(at));
  return cut
    .filter((f) => f.certainty === 'certain')
    .flatMap((f) =>
      !rules.has(f.ruleId)
        ? [`certain ${at(f)} the full snapshot does not find`]
        : anyAt.has(at(f)) && !certainAt.has(at(f))
          ? [`certain ${at(f)} the full snapshot finds only possibly`]
          : [],
    );
}

/** Possible findings that do not say why: no assumption and no undecided step in their trace. */
const unexplained = (findings: readonly Finding[]): string[] =>
  findings
    .filter(
      (f) =>
        f.certainty === 'possible' &&
        (f.assumptions ?? []).length === 0 &&
        !f.trace.some((s) => s.uncertain),
    )
    .map((f) => `possible with no reason given: ${at(f)} ${f.message}`);

describe('findings of a cut-down snapshot', () => {
  it('are certain only of what the full snapshot finds, keep what the rules decide, and say why they are possible', async () => {
    const dirs = snapshotDirs();
    expect(dirs.length).toBeGreaterThanOrEqual(10);
    const differences: string[] = [];
    let kept = 0;
    for (const dir of dirs) {
      const full = await findingsOf(dir);
      differences.push(...unexplained(full).map((d) => `${path.relative(fixtures, dir)}: ${d}`));
      for (const cut of CUT_NAMES) {
        const found = await findingsOf(cutOf(dir, cut));
        const where = `${path.relative(fixtures, dir)} (${cut})`;
        differences.push(...moreCertain(full, found).map((d) => `${where}: ${d}`));
        differences.push(...unexplained(found).map((d) => `${where}: ${d}`));
        for (const f of full.filter((x) => RULES_DECIDE.includes(x.ruleId))) {
          const pinned = RULE_FILE.test(path.basename(f.location.file));
          const same = found.some(
            (x) =>
              x.ruleId === f.ruleId && x.severity === f.severity && (!pinned || at(x) === at(f)),
          );
          if (same) kept += 1;
          else differences.push(`${where}: lost ${f.severity} ${at(f)}`);
        }
      }
    }
    expect(differences).toEqual([]);
    // the example host alone has two bypasses and a DOCKER-USER host-port rule, in both cuts
    expect(kept).toBeGreaterThanOrEqual(8);
  });

  it('are certain only of what the full snapshot finds with any one file missing', async () => {
    const { differences, cuts } = await compareCuts(leaveOneOut, findingsOf, moreCertain);
    expect(differences).toEqual([]);
    expect(cuts).toBeGreaterThanOrEqual(50);
  });

  it('are certain only of what the full snapshot finds with one rules file missing', async () => {
    // one family's dump missing says nothing of that family: no certain finding may rest on it
    const { differences, cuts } = await compareCuts(leaveOneRulesFileOut, findingsOf, moreCertain);
    expect(differences).toEqual([]);
    expect(cuts).toBeGreaterThanOrEqual(40);
  });
});
