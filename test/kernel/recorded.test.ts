/**
 * Replays the kernel's recorded observations (fixtures/generated/kernel-verdicts.json, made by
 * `DWK_RECORD=… vitest run test/kernel/referee.test.ts` as root) against the engine, so the
 * referee's verdicts also bind where namespaces cannot be built. The record must still match
 * what the harness would send today, or it is stale.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { listCaptureScenarios } from '../../src/lab/captures.ts';
import { planProbes } from '../../src/lab/probes.ts';
import { readRecords } from '../../src/lab/record.ts';
import { compare, describeComparison, labContext, probePacket } from '../../src/lab/referee.ts';
import { deriveTopology } from '../../src/lab/topology.ts';
import { loadEngine, type EngineLink } from './engine-link.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const capturesDir = path.resolve(repoRoot, '../shared/captures');
const recordFile = path.join(repoRoot, 'fixtures/generated/kernel-verdicts.json');
const ready = existsSync(capturesDir) && existsSync(recordFile);

describe.skipIf(!ready)('recorded kernel verdicts (needs ../shared/captures)', () => {
  const file = readRecords(recordFile);
  const scenarios = new Map(listCaptureScenarios(capturesDir).map((s) => [s.name, s]));
  let engine: EngineLink | string = 'not loaded';
  beforeAll(async () => {
    engine = await loadEngine(repoRoot);
  });

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
    expect([...outcomes].sort()).toEqual(['connected', 'refused', 'timeout']);
  });

  it('agrees with the engine on every recorded probe', (ctx) => {
    if (typeof engine === 'string') {
      // Visible in the report as a skip with the reason, never as a pass.
      ctx.skip(`engine not available: ${engine}`);
      return;
    }
    const bad: string[] = [];
    let agree = 0;
    let compared = 0;
    for (const r of file.scenarios) {
      const s = scenarios.get(r.scenario);
      if (!s) continue;
      const topology = deriveTopology(s);
      const linked = engine.traceAll(s.iptablesSave, s.name, labContext(topology, r.interfaces));
      for (const probe of r.results) {
        if (probe.bridged && !r.brNetfilter) continue;
        const result = { probe, outcome: probe.outcome, identity: probe.identity };
        const c = compare(topology, result, linked.trace(probePacket(probe)));
        if (c.agree === null) continue;
        compared += 1;
        if (c.agree) agree += 1;
        else bad.push(`${r.scenario}: ${describeComparison(c)}`);
      }
    }
    console.log(`recorded kernel referee: ${agree}/${compared} verdicts agree`);
    expect(bad, bad.join('\n')).toEqual([]);
  });
});
