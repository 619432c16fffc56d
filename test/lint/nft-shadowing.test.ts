/**
 * shadowed-rule and redundant-rule on nftables: the operator rulesets the kernel referee loads
 * beside Docker 29.7.2's real nftables tables (fixtures/nft/semantics, whose verdicts the kernel
 * measured against the engine) and Docker's own tables (the captures, moby's goldens through
 * docker29 and rule fixtures) give only findings that hold under nftables' semantics: an accept
 * ends only its own base chain, every base chain of a hook runs in priority order.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { repoRoot, runRule } from '../rules/tester.ts';
import { tempDir } from '../support/temp-dir.ts';

const semantics = path.join(repoRoot, 'fixtures/nft/semantics');
const captures = path.resolve(repoRoot, '../shared/captures/docker-29.7.2');

/** What each scenario must give; every other scenario gives nothing. */
const EXPECTED: Readonly<Record<string, readonly string[]>> = {
  // Both operator chains are base chains whose policy is accept: their unconditional-ish accept
  // ends the operator's chain exactly as the policy would, and does not spare the packet Docker's
  // raw and forward drops (the point of the scenario, measured by the kernel).
  'accept-then-docker-drop.nft': [
    'redundant-rule: ip operator/prerouting rule 1 (ACCEPT) is redundant: packets it matches get ACCEPT from the chain policy anyway.',
    'redundant-rule: ip operator/forward rule 1 (ACCEPT) is redundant: packets it matches get ACCEPT from the chain policy anyway.',
  ],
  // Before conntrack no packet has a connection: the `ct status` test ends the rule whatever it
  // says, so the rule never matches (the kernel connects 8080, as the scenario measures).
  'before-conntrack.nft': [
    'shadowed-rule: ip operator/before-conntrack rule 2 (DROP) never matches: no packet meets all of its own conditions, so rule 1 above it covers it trivially with the same action, so removing it changes nothing.',
  ],
};

async function scenario(file: string) {
  const base = file.startsWith('inet-dualstack')
    ? 's3b-nftables-ipv6-dualstack'
    : 's2a-nftables-portmap';
  const dir = tempDir('dwnftshadow-');
  const listing = path.join(dir, 'nft-ruleset.txt');
  writeFileSync(
    listing,
    readFileSync(path.join(captures, `${base}.nft-ruleset`), 'utf8') +
      readFileSync(path.join(semantics, file), 'utf8'),
  );
  return loadSnapshot({
    directory: path.join(repoRoot, 'fixtures/snapshots/29.7.2', base),
    files: { 'nft-ruleset': listing },
  });
}

describe('shadowed-rule and redundant-rule on the kernel-refereed nftables scenarios', () => {
  const files = readdirSync(semantics).filter((f) => f.endsWith('.nft'));
  it('has the scenarios', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });
  for (const file of files) {
    it(file, async () => {
      const s = await scenario(file);
      // the operator's table is read beside Docker's
      expect(s.nft?.tables.some((t) => t.name !== 'docker-bridges')).toBe(true);
      const found = ['shadowed-rule', 'redundant-rule'].flatMap((id) =>
        runRule(RULES[id]!, s).map((r) => `${id}: ${r.message}`),
      );
      expect(found).toEqual(EXPECTED[file] ?? []);
    });
  }
});
