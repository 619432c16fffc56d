/**
 * The kernel referees planned snapshots: each capture rebuilt by `dockwall plan` from a Compose
 * file is loaded into network namespaces like the real capture was, the same probes are sent,
 * and every outcome must equal what the kernel did with the rules the real dockerd wrote
 * (fixtures/generated/kernel-verdicts.json) — and, for Docker 29.7.2, what was measured on the
 * real host (verdict.txt). The engine, run on the planned snapshot, must agree with the kernel
 * too. Needs root; in CI a missing capability is a failure. The nftables scenarios are left to
 * the nftables referee (the lab loads iptables rules).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ProbeResult } from '../lab/netns.ts';
import {
  buildLab,
  labSuffix,
  collectLabSnapshot,
  destroyLab,
  labCapability,
  runProbes,
} from '../lab/netns.ts';
import type { Probe } from '../lab/probes.ts';
import { planProbes } from '../lab/probes.ts';
import { readRecords } from '../lab/record.ts';
import { compare, describeComparison, observedClass, probePacket } from '../lab/referee.ts';
import type { LabTopology, ScenarioInput } from '../lab/topology.ts';
import { deriveTopology, EXTERNAL } from '../lab/topology.ts';
import { listCaptureScenarios } from '../lab/captures.ts';
import { linkSnapshot } from './engine-link.ts';
import { capturesDir, planScenarios, repoRoot, runPlan } from '../support/plan-scenarios.ts';
import { tempDir } from '../support/temp-dir.ts';

const recordFile = path.join(repoRoot, 'fixtures/generated/kernel-verdicts.json');
const ready = existsSync(capturesDir) && existsSync(recordFile);
const capability = ready ? labCapability() : { ok: false, reason: 'no captures' };
const inCi = process.env['CI'] === 'true';

/** A probe by what it sends (a container origin by its address, since names differ). */
function probeKey(t: LabTopology, p: Probe): string {
  const origin =
    p.origin.kind === 'container'
      ? `container ${t.containers.find((c) => c.name === (p.origin as { name: string }).name)?.address ?? '?'}`
      : p.origin.kind;
  return `${p.family} ${origin} ${p.protocol} ${p.source}→${p.destination}:${p.port} in ${p.inInterface ?? '-'}`;
}

/** A listener identity by address (`c1:80/tcp` and `c-192-0-2-2:80/tcp` are the same). */
function identityKey(t: LabTopology, identity: string | null): string | null {
  if (identity === null || identity === 'host') return identity;
  const [name = '', rest = ''] = identity.split(':');
  const c = t.containers.find((x) => x.name === name);
  return `${c?.address ?? name}:${rest}`;
}

function readJson(file: string): unknown[] {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as unknown[]) : [];
}

/** verdict.txt of the 29.7.2 captures: `ADDRESS:PORT<TAB>REACHABLE|BLOCKED<TAB>how…`. */
function measured(capture: string): { destination: string; port: number; reachable: boolean }[] {
  const file = `${capture}.verdict.txt`;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes('\t'))
    .map((l) => {
      const [where = '', verdict = ''] = l.split('\t');
      const i = where.lastIndexOf(':');
      return {
        destination: where.slice(0, i),
        port: Number(where.slice(i + 1)),
        reachable: verdict === 'REACHABLE',
      };
    });
}

describe.skipIf(!ready)('kernel referee on planned snapshots (needs ../shared/captures)', () => {
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
  const records = readRecords(recordFile);
  const captures = new Map(listCaptureScenarios(capturesDir).map((s) => [s.name, s]));
  const totals = { probes: 0, sameAsReal: 0, extra: 0, measured: 0, engine: 0, engineCompared: 0 };
  afterAll(() => {
    console.log(
      `plan referee: ${totals.sameAsReal}/${totals.probes} kernel outcomes on planned rules equal those on the captured rules (${totals.extra} more probes where the planned snapshot knows more containers); ` +
        `${totals.measured} verdicts measured on the real 29.7.2 host held; engine on planned snapshots ${totals.engine}/${totals.engineCompared} agree`,
    );
  });

  planScenarios()
    .filter((s) => !s.nftables)
    .forEach((s, index) => {
      it(`${s.id}: planned rules behave in the kernel as the real ones did`, async () => {
        const { dir, code, err } = await runPlan(s);
        expect(code, err).toBe(0);
        const read = (f: string) =>
          existsSync(path.join(dir, f)) ? readFileSync(path.join(dir, f), 'utf8') : undefined;
        const v6 = read('ip6tables-save.txt');
        const input: ScenarioInput = {
          name: `plan/${s.id}`,
          iptablesSave: read('iptables-save.txt') ?? '',
          ...(v6 === undefined || v6 === '' ? {} : { ip6tablesSave: v6 }),
          containers: readJson(path.join(dir, 'containers.json')),
          networks: readJson(path.join(dir, 'networks.json')),
        };
        const topology = deriveTopology(input);
        const probes = planProbes(topology);
        const real = captures.get(`docker-${s.id}`);
        const record = records.scenarios.find((r) => r.scenario === `docker-${s.id}`);
        expect(real, `capture docker-${s.id}`).toBeDefined();
        expect(record, `kernel record of docker-${s.id}`).toBeDefined();
        if (real === undefined || record === undefined) return;
        const realTopology = deriveTopology(real);
        const recorded = new Map(record.results.map((r) => [probeKey(realTopology, r), r]));
        // Every probe sent at the real capture is sent at the planned one. The planned host may
        // have more: its networks.json places containers the capture's rules alone do not (a
        // routed network has no rule naming its subnet).
        const plannedKeys = new Set(probes.map((p) => probeKey(topology, p)));
        expect([...recorded.keys()].filter((k) => !plannedKeys.has(k))).toEqual([]);
        totals.extra += plannedKeys.size - recorded.size;

        const suffix = labSuffix('p', index);
        const lab = await buildLab(topology, suffix);
        const snapshotDir = tempDir('dwplan-lab-');
        let results: ProbeResult[];
        try {
          results = await runProbes(lab, probes);
          collectLabSnapshot(lab, snapshotDir, input);
        } finally {
          destroyLab(lab);
        }
        const differ: string[] = [];
        for (const r of results) {
          if (r.probe.bridged && !(lab.brNetfilter && record.brNetfilter)) continue;
          const was = recorded.get(probeKey(topology, r.probe));
          if (was === undefined) continue;
          totals.probes += 1;
          const same =
            observedClass(r) ===
              observedClass({ probe: was, outcome: was.outcome, identity: was.identity }) &&
            identityKey(topology, r.identity) === identityKey(realTopology, was.identity);
          if (same) totals.sameAsReal += 1;
          else
            differ.push(
              `${r.probe.description}: planned ${r.outcome} ${r.identity ?? ''}; real ${was.outcome} ${was.identity ?? ''}`,
            );
        }
        expect(differ, `${s.id}: kernel outcomes differ from the captured rules'`).toEqual([]);

        // What was measured on the real 29.7.2 host with the real dockerd.
        for (const m of measured(s.capture)) {
          const r = results.find(
            (x) =>
              x.probe.origin.kind === 'client' &&
              x.probe.protocol === 'tcp' &&
              x.probe.destination === m.destination &&
              x.probe.port === m.port,
          );
          expect(r, `probe for ${m.destination}:${m.port}`).toBeDefined();
          expect(
            r?.outcome === 'connected',
            `${m.destination}:${m.port} measured ${m.reachable ? 'REACHABLE' : 'BLOCKED'}`,
          ).toBe(m.reachable);
          totals.measured += 1;
        }

        // The engine on the planned snapshot (as collected from the lab host) agrees with the kernel.
        const engine = await linkSnapshot(snapshotDir);
        const bad: string[] = [];
        for (const r of results) {
          if (r.probe.bridged && !lab.brNetfilter) continue;
          const c = compare(topology, r, engine.trace(probePacket(r.probe)));
          if (c.agree === null) continue;
          totals.engineCompared += 1;
          if (c.agree) totals.engine += 1;
          else bad.push(describeComparison(c));
        }
        expect(bad, `${s.id}: engine and kernel disagree on the planned snapshot`).toEqual([]);
        expect(results.some((r) => r.probe.destination === EXTERNAL.hostAddress)).toBe(true);
      });
    });
});
