/**
 * Replays the kernel's recorded observations (fixtures/generated/kernel-verdicts.json, made by
 * `DWK_RECORD=… vitest run test/kernel/referee.test.ts` as root) against the engine, so the
 * referee's verdicts also bind where namespaces cannot be built. The record must still match
 * what the harness would send today, or it is stale.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { planProbes } from '../lab/probes.ts';
import { readRecords } from '../lab/record.ts';
import {
  compare,
  describeComparison,
  labContext,
  labContext6,
  probePacket,
} from '../lab/referee.ts';
import { deriveTopology } from '../lab/topology.ts';
import { byFamily, linkEngine } from './engine-link.ts';
import { refereeScenarios } from './scenarios.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const capturesDir = path.resolve(repoRoot, '../shared/captures');
const recordFile = path.join(repoRoot, 'fixtures/generated/kernel-verdicts.json');
const ready = existsSync(capturesDir) && existsSync(recordFile);

describe.skipIf(!ready)('recorded kernel verdicts (needs ../shared/captures)', () => {
  const file = readRecords(recordFile);
  const scenarios = new Map(refereeScenarios(capturesDir).map((s) => [s.name, s]));

  /**
   * Compares one recorded scenario with the engine run on `rules` (its own, unless a test swaps
   * the iptables text) and `nft` (its own nftables tables, unless a test swaps them).
   */
  const replay = (scenario: string, rules?: string, nft?: string | null) => {
    const r = file.scenarios.find((x) => x.scenario === scenario);
    const s = scenarios.get(scenario);
    if (!r || !s) throw new Error(`no record or capture for ${scenario}`);
    const topology = deriveTopology(s);
    const linked = byFamily(
      linkEngine(
        rules ?? s.iptablesSave,
        s.name,
        labContext(topology, r.interfaces),
        nft !== undefined ? nft : rules === undefined ? topology.nftRuleset : null,
      ),
      topology.v6 === null
        ? null
        : linkEngine(
            topology.v6.ip6tablesSave,
            s.name,
            labContext6(topology, r.interfaces),
            topology.nftRuleset,
          ),
    );
    return r.results
      .filter((probe) => !probe.bridged || r.brNetfilter)
      .map((probe) => {
        const result = { probe, outcome: probe.outcome, identity: probe.identity };
        return compare(topology, result, linked.trace(probePacket(probe)));
      });
  };

  it('covers every capture scenario with the probes the harness sends today', () => {
    expect(file.scenarios.map((r) => r.scenario).sort()).toEqual([...scenarios.keys()].sort());
    for (const r of file.scenarios) {
      const s = scenarios.get(r.scenario);
      if (!s) continue;
      const planned = planProbes(deriveTopology(s));
      const strip = ({ outcome: _o, identity: _i, ...probe }: (typeof r.results)[number]) => probe;
      expect(r.results.map(strip), r.scenario).toEqual(planned);
    }
  });

  it('holds real blocked and real delivered outcomes (the record is not degenerate)', () => {
    const outcomes = new Set(file.scenarios.flatMap((s) => s.results.map((r) => r.outcome)));
    for (const o of ['connected', 'refused', 'timeout']) expect(outcomes).toContain(o);
    expect(outcomes).not.toContain('error');
  });

  it('agrees with the engine on every recorded probe', () => {
    const all = file.scenarios.flatMap((r) =>
      replay(r.scenario).map((c) => ({ scenario: r.scenario, c })),
    );
    const compared = all.filter((x) => x.c.agree !== null);
    const bad = compared.filter((x) => x.c.agree === false);
    const verdicts = new Map<string, number>();
    for (const x of compared) {
      const v = x.c.engine.split(' ')[0] ?? '';
      verdicts.set(v, (verdicts.get(v) ?? 0) + 1);
    }
    console.log(
      `recorded kernel referee: ${compared.length - bad.length}/${compared.length} verdicts agree ` +
        `(engine said ${[...verdicts].map(([v, n]) => `${v} ${n}`).join(', ')}; ` +
        `${all.length - compared.length} unobservable)`,
    );
    expect(
      bad.map((x) => `${x.scenario}: ${describeComparison(x.c)}`),
      'kernel and engine disagree',
    ).toEqual([]);
  });

  it('notices when the engine is given the wrong rules', () => {
    // The same lab and kernel record, but the engine sees a daemon with nothing published:
    // the published port the kernel delivered to c1 must now be a disagreement.
    const empty = scenarios.get('docker-28.5.2/s0-new-daemon')?.iptablesSave ?? '';
    const swapped = replay('docker-28.5.2/s3-usernet-portmap', empty);
    const bad = swapped.filter((c) => c.agree === false).map(describeComparison);
    expect(bad.some((l) => l.includes('203.0.113.1:8080/tcp'))).toBe(true);
  });

  it("notices when the engine is not given an operator's nftables table", () => {
    // The kernel ran Docker's nftables tables and the operator's `ct original proto-dst 8080
    // drop`; the engine without the operator's table must disagree on 8080.
    const docker = scenarios.get('docker-29.7.2/s2a-nftables-portmap')?.nftRuleset ?? null;
    const swapped = replay('nft-semantics/forward-original-port', undefined, docker);
    const bad = swapped.filter((c) => c.agree === false).map(describeComparison);
    expect(bad.some((l) => l.includes('203.0.113.1:8080/tcp'))).toBe(true);
    expect(bad.some((l) => l.includes('203.0.113.1:8081/tcp'))).toBe(false);
  });
});
