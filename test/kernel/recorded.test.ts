/**
 * Replays the kernel's recorded observations (fixtures/generated/kernel-verdicts.json, made by
 * `DWK_RECORD=… vitest run test/kernel/referee.test.ts` as root) against the engine, so the
 * referee's verdicts also bind where namespaces cannot be built. The record must still match
 * what the harness would send today, or it is stale.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { planProbes } from '../lab/probes.ts';
import { readRecords, recordedResult } from '../lab/record.ts';
import {
  compare,
  describeComparison,
  labContext,
  labContext6,
  probePacket,
} from '../lab/referee.ts';
import { deriveTopology } from '../lab/topology.ts';
import {
  CUT_KINDS,
  type CutKind,
  emptyTally,
  judgeProbe,
  labAddrJson,
  tallyText,
  writeCut,
} from '../lab/cut-down.ts';
import {
  addTally,
  emptyExposureTally,
  exposureTallyText,
  judgeExposures,
} from '../lab/exposure-referee.ts';
import { byFamily, linkEngine, linkSnapshot, snapshotExposures } from './engine-link.ts';
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
        return compare(topology, recordedResult(probe), linked.trace(probePacket(probe)));
      });
  };

  it('covers every capture scenario with the probes the harness sends today', () => {
    expect(file.scenarios.map((r) => r.scenario).sort()).toEqual([...scenarios.keys()].sort());
    for (const r of file.scenarios) {
      const s = scenarios.get(r.scenario);
      if (!s) continue;
      const planned = planProbes(deriveTopology(s));
      const strip = ({
        outcome: _o,
        identity: _i,
        heard: _h,
        ...probe
      }: (typeof r.results)[number]) => probe;
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

  /**
   * Each recorded scenario as a user often has it: the rules alone, and the rules with the
   * host's addresses (the lab's, as labAddrJson writes them; the live referee checks that
   * against the namespace). `visit` reads each cut directory like any snapshot.
   */
  const forEachCut = async (
    visit: (
      r: (typeof file.scenarios)[number],
      topology: ReturnType<typeof deriveTopology>,
      kind: CutKind,
      dir: string,
    ) => Promise<void>,
  ): Promise<void> => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'dwk-cut-'));
    try {
      for (const r of file.scenarios) {
        const s = scenarios.get(r.scenario);
        if (!s) continue;
        const topology = deriveTopology(s);
        const texts = {
          'iptables-save.txt': s.iptablesSave,
          'ip6tables-save.txt': topology.v6?.ip6tablesSave,
          'nft-ruleset.txt': topology.nftRuleset ?? undefined,
          'ip-addr.json': labAddrJson(topology, r.interfaces),
        };
        for (const kind of CUT_KINDS)
          await visit(
            r,
            topology,
            kind,
            writeCut(path.join(tmp, r.scenario.replaceAll('/', '_')), kind, texts),
          );
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  };

  it('on cut-down snapshots is never certain where the kernel disagrees', async () => {
    const tallies = { rules: emptyTally(), 'rules+addresses': emptyTally() };
    const bad: string[] = [];
    await forEachCut(async (r, topology, kind, dir) => {
      const linked = await linkSnapshot(dir);
      for (const probe of r.results) {
        if (probe.bridged && !r.brNetfilter) continue;
        const j = judgeProbe(topology, recordedResult(probe), linked.trace);
        tallies[kind][j.verdict] += 1;
        if (j.verdict === 'disagree-certain' || j.verdict === 'disagree-unexplained')
          bad.push(`${kind} ${r.scenario}: ${j.line}`);
        if (j.inconsistent !== null)
          bad.push(`${kind} ${r.scenario}: ${j.inconsistent}: ${j.line}`);
      }
    });
    console.log(
      `recorded kernel referee on cut-down snapshots: ${CUT_KINDS.map((k) => tallyText(k, tallies[k])).join('; ')}`,
    );
    expect(bad, 'a cut-down snapshot gave a confident wrong answer').toEqual([]);
    // The cut is real: the rules alone leave some probes undecided, and every kind compared
    // every probe the full referee compares.
    expect(tallies.rules['disagree-possible'] + tallies.rules['agree-possible']).toBeGreaterThan(0);
    for (const kind of CUT_KINDS) expect(tallies[kind].unobservable, kind).toBe(0);
  });

  it('lists in the exposure table of a cut-down snapshot what the kernel let a client reach', async () => {
    // The table is discovered from the rules, so it must hold every connection the client made
    // and claim certainly none the kernel dropped — without containers.json or routes.
    const tallies = { rules: emptyExposureTally(), 'rules+addresses': emptyExposureTally() };
    const bad: string[] = [];
    await forEachCut(async (r, topology, kind, dir) => {
      const { exposures, classes } = await snapshotExposures(dir);
      const results = r.results
        .filter((probe) => !probe.bridged || r.brNetfilter)
        .map(recordedResult);
      const j = judgeExposures(topology, results, exposures, classes);
      addTally(tallies[kind], j.tally);
      bad.push(...j.failures.map((f) => `${kind} ${r.scenario}: ${f}`));
    });
    console.log(
      `recorded exposure referee on cut-down snapshots: ${CUT_KINDS.map((k) => exposureTallyText(k, tallies[k])).join('; ')}`,
    );
    expect(bad, 'the exposure table of a cut-down snapshot is wrong').toEqual([]);
    for (const kind of CUT_KINDS) {
      expect(tallies[kind].connected, kind).toBeGreaterThan(0);
      expect(tallies[kind].dropped, kind).toBeGreaterThan(0);
    }
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
