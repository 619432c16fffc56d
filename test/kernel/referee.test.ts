/**
 * The kernel is the referee: every capture scenario is rebuilt in network namespaces, real TCP
 * and UDP connections are made, and each outcome is compared with the engine's trace of the same
 * packet. Any disagreement fails. Needs root; in CI a missing capability is a failure.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { listCaptureScenarios } from '../../src/lab/captures.ts';
import {
  buildLab,
  destroyLab,
  labCapability,
  labVersions,
  runProbes,
  type Lab,
} from '../../src/lab/netns.ts';
import { planProbes } from '../../src/lab/probes.ts';
import {
  compare,
  describeComparison,
  labContext,
  observedClass,
  probePacket,
} from '../../src/lab/referee.ts';
import { deriveTopology, EXTERNAL } from '../../src/lab/topology.ts';
import { linkEngine } from './engine-link.ts';
import { toRecord, writeRecords, type KernelRecord } from '../../src/lab/record.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const capturesDir = path.resolve(repoRoot, '../shared/captures');
const haveCaptures = existsSync(capturesDir);
const capability = haveCaptures ? labCapability() : { ok: false, reason: 'no captures' };
const inCi = process.env['CI'] === 'true';
// DWK_RECORD=FILE writes every kernel observation (fixtures/generated/kernel-verdicts.json is
// made this way; test/kernel/recorded.test.ts replays it against the engine without root).
const recordFile = process.env['DWK_RECORD'];
const recorded: KernelRecord[] = [];

const totals = { agree: 0, compared: 0, unobservable: 0, bridgedSkipped: 0, facts: 0, probes: 0 };
const live = new Set<Lab>();
// A worker killed mid-scenario must not leave namespaces behind.
process.once('exit', () => live.forEach(destroyLab));

describe.skipIf(!haveCaptures)('kernel referee (needs ../shared/captures)', () => {
  if (!capability.ok) {
    if (inCi) {
      it(`has root, ip, iptables and python3 (CI): ${capability.reason}`, () => {
        expect.fail(`kernel referee cannot run in CI: ${capability.reason}`);
      });
    } else {
      it.skip(`skipped: cannot build network namespaces here (${capability.reason})`, () => {});
    }
    return;
  }

  afterAll(() => {
    const engineNote =
      `${totals.agree}/${totals.compared} verdicts agree` +
      (totals.unobservable ? `, ${totals.unobservable} unobservable` : '') +
      (totals.bridgedSkipped ? `, ${totals.bridgedSkipped} bridged skipped (no br_netfilter)` : '');
    if (recordFile) writeRecords(recordFile, recorded, labVersions());
    console.log(
      `kernel referee: ${engineNote}; ${totals.probes} probes, ${totals.facts} Docker facts held`,
    );
  });

  const scenarios = listCaptureScenarios(capturesDir);
  it('finds the capture scenarios', () => {
    expect(scenarios.length).toBeGreaterThan(20);
  });

  scenarios.forEach((s, index) => {
    it(`${s.name}: kernel outcomes, Docker facts, engine agreement`, async () => {
      const topology = deriveTopology(s);
      const probes = planProbes(topology);
      const suffix = `${(process.pid % 10000).toString(36)}${index.toString(36)}`;
      const lab = await buildLab(topology, suffix);
      live.add(lab);
      let results;
      try {
        results = await runProbes(lab, probes);
      } finally {
        destroyLab(lab);
        live.delete(lab);
      }
      totals.probes += results.length;

      // Every connection landed on a listener the lab made.
      for (const r of results) {
        if (r.outcome === 'connected') expect(r.identity, r.probe.description).toBeTruthy();
        expect(['connected', 'refused', 'unreachable', 'timeout']).toContain(r.outcome);
      }
      // Docker's stated behaviour: a mapping on every address is reachable from outside and
      // lands on its container; one bound to loopback is not reachable from outside.
      for (const p of topology.published) {
        const r = results.find(
          (x) =>
            x.probe.origin.kind === 'client' &&
            x.probe.destination === EXTERNAL.hostAddress &&
            x.probe.port === p.hostPort &&
            x.probe.protocol === p.protocol,
        );
        expect(r, `probe for ${p.hostIp}:${p.hostPort}`).toBeDefined();
        const landed = r?.identity === `${p.container}:${p.containerPort}/${p.protocol}`;
        expect(landed, `${s.name} ${p.hostIp}:${p.hostPort}/${p.protocol}`).toBe(
          !p.hostIp.startsWith('127.'),
        );
        totals.facts += 1;
      }

      recorded.push(toRecord(s.name, lab, results));

      const linked = linkEngine(s.iptablesSave, s.name, labContext(topology, lab.hostInterfaces));
      const lines: string[] = [];
      let disagreements = 0;
      for (const r of results) {
        if (r.probe.bridged && !lab.brNetfilter) {
          totals.bridgedSkipped += 1;
          continue;
        }
        const c = compare(topology, r, linked.trace(probePacket(r.probe)));
        lines.push(describeComparison(c));
        if (c.agree === null) totals.unobservable += 1;
        else {
          totals.compared += 1;
          if (c.agree) totals.agree += 1;
          else disagreements += 1;
        }
      }
      expect(
        disagreements,
        `${s.name}: kernel and engine disagree (${linked.diagnostics.length} parse/engine diagnostics)\n${lines.filter((l) => l.startsWith('≠')).join('\n')}\n` +
          `(observed classes: ${results.map(observedClass).join(',')})`,
      ).toBe(0);
    });
  });
});
