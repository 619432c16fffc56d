/**
 * docker-rule-drift held to Docker's own rule synthesis (src/docker/nftabler.ts, iptabler.ts —
 * byte for byte moby's goldens): every Compose scenario of fixtures/plan planned on a Docker
 * 29.7.2 host with the nftables backend (and as captured, on its own version) gives rules that
 * match its containers exactly, so no drift; with one of Docker's rules taken away or a stale one
 * added, exactly that mapping or rule is reported.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRuleDrift, mapPublishedPorts } from '../../src/docker/ports.ts';
import { dockerNftTable } from '../../src/docker/nft-layout.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import type { Rule, Table } from '../../src/model/ruleset.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import {
  planFixtures,
  planScenarios,
  runPlan,
  type PlanScenario,
} from '../support/plan-scenarios.ts';
import { tempDir } from '../support/temp-dir.ts';

/**
 * The scenario planned with the nftables backend on the 29.7.2 lab host, its daemon settings kept
 * (in a daemon.json removed after the tests of the describe block that calls this).
 */
function onNftables(s: PlanScenario): PlanScenario {
  const own = s.daemon === null ? {} : (JSON.parse(readFileSync(s.daemon, 'utf8')) as object);
  const daemon = path.join(tempDir('dwdrift-'), 'daemon.json');
  writeFileSync(daemon, JSON.stringify({ ...own, 'firewall-backend': 'nftables' }));
  return {
    ...s,
    id: `${s.id} on nftables`,
    daemon,
    base: path.join(planFixtures, 'base', '29.7.2-forwarding'),
    nftables: true,
  };
}

async function planned(s: PlanScenario): Promise<Snapshot> {
  const { dir, code, err } = await runPlan(s);
  expect(code, err).toBe(0);
  return loadSnapshot({ directory: dir });
}

/** The snapshot with Docker's nft tables changed by `edit` (chain name → rules). */
function editNft(s: Snapshot, edit: (chain: string, rules: readonly Rule[]) => Rule[]): Snapshot {
  const nft = s.nft;
  if (nft === null) throw new Error('no nftables ruleset');
  const docker = new Set<Table | undefined>([
    dockerNftTable(nft, 'ipv4'),
    dockerNftTable(nft, 'ipv6'),
  ]);
  return {
    ...s,
    nft: {
      ...nft,
      tables: nft.tables.map((t) =>
        docker.has(t)
          ? { ...t, chains: t.chains.map((c) => ({ ...c, rules: edit(c.name, c.rules) })) }
          : t,
      ),
    },
  };
}

const gaps = (s: Snapshot) =>
  mapPublishedPorts(s).flatMap((p) =>
    p.gaps
      .filter((g) => g.kind !== 'raw-drop')
      .map((g) => `${p.container.name} ${p.port.hostIp}:${p.port.hostPort ?? '-'} ${g.kind}`),
  );

const scenarios = planScenarios().filter((s) => s.compose.length > 0);

describe('docker-rule-drift against the rules Docker writes', () => {
  for (const s of [...scenarios, ...scenarios.filter((x) => !x.nftables).map(onNftables)]) {
    it(`${s.id}: no drift, nothing missing`, async () => {
      const snapshot = await planned(s);
      if (s.nftables) expect(snapshot.era.era).toBe('nftables');
      expect(findRuleDrift(snapshot)).toEqual([]);
      expect(gaps(snapshot)).toEqual([]);
    });
  }

  for (const s of scenarios
    .filter((x) => x.nftables || x.id.startsWith('28.5.2/'))
    .map((x) => (x.nftables ? x : onNftables(x)))) {
    it(`${s.id}: each of Docker's dnat and accept rules taken away is missed; a moved one is stale`, async () => {
      const snapshot = await planned(s);
      const ports = mapPublishedPorts(snapshot).filter((p) => p.via !== 'proxy');
      for (const p of ports) {
        for (const kind of ['dnat', 'accept'] as const) {
          for (const rule of p[kind]) {
            const without = editNft(snapshot, (_, rules) => rules.filter((r) => r !== rule));
            expect(findRuleDrift(without), rule.text).toEqual([]);
            expect(gaps(without), rule.text).toContain(
              `${p.container.name} ${p.port.hostIp}:${p.port.hostPort ?? '-'} ${kind}`,
            );
          }
        }
        // the dnat pointed at an address no container has: stale, and the mapping missed
        const dnat = p.dnat[0];
        if (dnat?.target?.kind !== 'DNAT') continue;
        const to = dnat.target.to[0];
        if (to?.addresses === null || to?.addresses === undefined) continue;
        const moved = p.family === 'ipv4' ? '10.99.0.9' : 'fd99::9';
        const stale: Rule = {
          ...dnat,
          target: {
            ...dnat.target,
            to: [{ ...to, addresses: { ...to.addresses, from: moved, to: moved } }],
          },
        };
        const edited = editNft(snapshot, (_, rules) => rules.map((r) => (r === dnat ? stale : r)));
        expect(findRuleDrift(edited).map((d) => [d.kind, d.address, d.table])).toEqual([
          ['dnat', moved, p.family === 'ipv4' ? 'ip docker-bridges' : 'ip6 docker-bridges'],
        ]);
        expect(gaps(edited)).toContain(
          `${p.container.name} ${p.port.hostIp}:${p.port.hostPort ?? '-'} dnat`,
        );
      }
    });
  }
});
