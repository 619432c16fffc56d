/**
 * What was measured on the real Docker 29.7.2 host (each capture's verdict.txt: a remote client
 * 203.0.113.2 / 2001:db8::2 on ext0 connecting to host ports and straight to containers) holds
 * for the engine run on the planned snapshot of the same scenario — with the iptables backend and
 * with the nftables backend, whose planned `docker-bridges` tables the engine walks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildNetworkContext } from '../../src/docker/context.ts';
import { createEngine } from '../../src/engine/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { firewallOf } from '../../src/model/snapshot.ts';
import { capturesDir, planScenarios, runPlan } from '../support/plan-scenarios.ts';

const scenarios = planScenarios().filter((s) => existsSync(`${s.capture}.verdict.txt`));

function verdicts(capture: string) {
  return readFileSync(`${capture}.verdict.txt`, 'utf8')
    .split('\n')
    .filter((l) => l.includes('\t'))
    .map((l) => {
      const [where = '', verdict = ''] = l.split('\t');
      const i = where.lastIndexOf(':');
      return {
        destination: where.slice(0, i).replace(/^\[|\]$/g, ''),
        port: Number(where.slice(i + 1)),
        reachable: verdict === 'REACHABLE',
      };
    });
}

describe.skipIf(!existsSync(capturesDir))(
  'planned snapshots against the verdicts measured on the real host',
  () => {
    it('has the 29.7.2 scenarios with measured verdicts, nftables ones included', () => {
      expect(scenarios.map((s) => s.id)).toEqual([
        '29.7.2/s1a-iptables-portmap',
        '29.7.2/s2a-nftables-portmap',
        '29.7.2/s3b-nftables-ipv6-dualstack',
      ]);
    });

    for (const s of scenarios) {
      it(`${s.id}: every measured connection is delivered to a container exactly when it was reachable`, async () => {
        const { dir, code, err } = await runPlan(s);
        expect(code, err).toBe(0);
        const snapshot = await loadSnapshot({ directory: dir });
        const containerAddresses = new Set(
          snapshot.host.containers.flatMap((c) => c.endpoints.flatMap((e) => [e.ipv4, e.ipv6])),
        );
        const wrong: string[] = [];
        const measured = verdicts(s.capture);
        for (const v of measured) {
          const family = v.destination.includes(':') ? 'ipv6' : 'ipv4';
          const rules = firewallOf(snapshot, family);
          expect(rules, `${s.id} ${family} rules`).not.toBeNull();
          if (rules === null) continue;
          const engine = createEngine(rules, buildNetworkContext(snapshot, family));
          const trace = engine.trace({
            family,
            protocol: 'tcp',
            source: family === 'ipv4' ? '203.0.113.2' : '2001:db8::2',
            sourcePort: 40000,
            destination: v.destination,
            destinationPort: v.port,
            inInterface: 'ext0',
            state: 'NEW',
            mark: 0,
          });
          const delivered =
            trace.verdict === 'accepted' &&
            trace.delivery?.kind === 'forward' &&
            containerAddresses.has(trace.delivery.address);
          if (delivered !== v.reachable) {
            wrong.push(
              `${v.destination}:${v.port} measured ${v.reachable ? 'REACHABLE' : 'BLOCKED'}; engine ${trace.verdict} → ${trace.delivery?.kind ?? '-'} ${trace.delivery?.address ?? ''}`,
            );
          }
        }
        expect(measured.length).toBeGreaterThanOrEqual(8);
        expect(wrong).toEqual([]);
      });
    }
  },
);
