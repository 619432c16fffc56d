/**
 * Fixture snapshots cut down to what users often have — the rules alone, or the rules and
 * `ip-addr.json` — written to a temporary directory, for tests that hold a cut's answers against
 * the full snapshot's.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const fixtures = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../fixtures',
);
const RULES = ['iptables-save.txt', 'ip6tables-save.txt', 'nft-ruleset.json', 'nft-ruleset.txt'];
export const CUTS: Readonly<Record<'rules' | 'rules+addresses', readonly string[]>> = {
  rules: RULES,
  'rules+addresses': [...RULES, 'ip-addr.json'],
};
export type Cut = keyof typeof CUTS;
export const CUT_NAMES = Object.keys(CUTS) as Cut[];

/** A temporary directory for cuts of both kinds; `remove` deletes it (call it from afterAll). */
export function cutDirectory(prefix: string): {
  cutOf: (dir: string, cut: Cut) => string;
  leaveOneOut: (dir: string) => Map<string, string>;
  leaveOneRulesFileOut: (dir: string) => Map<string, string>;
  leaveOut: (dir: string, names: readonly string[]) => string;
  remove: () => void;
} {
  const tmp = mkdtempSync(path.join(tmpdir(), prefix));
  return {
    leaveOneOut: (dir) => writeLeaveOneOut(dir, tmp),
    leaveOneRulesFileOut: (dir) => writeLeaveOneOut(dir, tmp, true),
    leaveOut: (dir, names) => writeLeaveOut(dir, tmp, names),
    cutOf(dir, cut) {
      const out = path.join(tmp, path.relative(fixtures, dir).replaceAll('/', '_'), cut);
      mkdirSync(out, { recursive: true });
      for (const name of CUTS[cut])
        if (existsSync(path.join(dir, name)))
          copyFileSync(path.join(dir, name), path.join(out, name));
      return out;
    },
    remove: () => rmSync(tmp, { recursive: true, force: true }),
  };
}

/**
 * The snapshot with one file left out, for each file a collection can miss: every file but the
 * rules, or (`rules`) each rules file where another one is left (ip6tables-save fails where
 * ip6tables is not installed): name of the file left out → directory.
 */
function writeLeaveOneOut(dir: string, into: string, rules = false): Map<string, string> {
  const files = snapshotFiles(dir);
  const ruleFiles = files.filter((f) => RULES.includes(f));
  const out = new Map<string, string>();
  for (const left of files) {
    if (RULES.includes(left) !== rules || (rules && ruleFiles.length < 2)) continue;
    out.set(left, writeLeaveOut(dir, into, [left]));
  }
  return out;
}

/** The snapshot's files (its expected results aside). */
function snapshotFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== 'expected.json')
    .map((e) => e.name);
}

/** The snapshot without the named files, written under `into`. */
function writeLeaveOut(dir: string, into: string, names: readonly string[]): string {
  const cut = path.join(
    into,
    path.relative(fixtures, dir).replaceAll('/', '_'),
    `no-${names.join('-')}`,
  );
  mkdirSync(cut, { recursive: true });
  for (const name of snapshotFiles(dir))
    if (!names.includes(name)) copyFileSync(path.join(dir, name), path.join(cut, name));
  return cut;
}

/**
 * Every fixture snapshot against each of its cuts: `compare` gives a cut's differences from the
 * full snapshot, returned with the snapshot and the file left out, and the cuts counted.
 */
export async function compareCuts<T>(
  cutsOf: (dir: string) => Map<string, string>,
  load: (dir: string) => Promise<T>,
  compare: (full: T, cut: T) => readonly string[],
): Promise<{ differences: string[]; cuts: number }> {
  const differences: string[] = [];
  let cuts = 0;
  for (const dir of snapshotDirs()) {
    const full = await load(dir);
    for (const [left, cut] of cutsOf(dir)) {
      cuts += 1;
      for (const d of compare(full, await load(cut)))
        differences.push(`${path.relative(fixtures, dir)} (no ${left}): ${d}`);
    }
  }
  return { differences, cuts };
}

/** Fixture snapshots: a rules file and something the cut leaves out. */
export function snapshotDirs(): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    const names = readdirSync(dir);
    if (
      names.includes('iptables-save.txt') &&
      names.some((n) => !CUTS['rules+addresses'].includes(n) && n.endsWith('.json'))
    )
      out.push(dir);
    if (depth > 0)
      for (const e of readdirSync(dir, { withFileTypes: true }))
        if (e.isDirectory()) walk(path.join(dir, e.name), depth - 1);
  };
  walk(path.join(fixtures, 'snapshots'), 2);
  walk(path.join(fixtures, 'example-host'), 0);
  return out.sort();
}
