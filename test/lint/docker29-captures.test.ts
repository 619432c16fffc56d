/**
 * The audit of each real Docker 29.7.2 capture (fixtures/snapshots/29.7.2: the iptables backend,
 * the nftables backend, dual-stack on the nftables backend) against the verdicts measured on that
 * host (`verdict.txt`: a remote client's connections, REACHABLE or BLOCKED). What the audit calls
 * reachable from outside must be what the client reached, and nothing it could not reach; on the
 * nftables backend the findings speak of nftables, not of a DOCKER-USER chain that does not exist.
 * The captures have no ip-addr.json, so whether 203.0.113.1 is the host's is a guess: a probe the
 * kernel blocked may then only be `possible`ly reached (forwarded, were it not the host's). Given
 * the lab host's addresses (fixtures/plan/base/29.7.2/ip-addr.json) nothing blocked is reached.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { analyze } from '../../src/lint/analyze.ts';
import { DEFAULT_CONFIG } from '../../src/lint/config-types.ts';
import type { AuditResult, Exposure } from '../../src/model/audit.ts';
import { repoRoot } from '../rules/tester.ts';

const root = path.join(repoRoot, 'fixtures/snapshots/29.7.2');
const labAddresses = path.join(repoRoot, 'fixtures/plan/base/29.7.2/ip-addr.json');

interface Measured {
  readonly address: string;
  readonly port: number;
  readonly reachable: boolean;
  /** `web0` of `published 0.0.0.0:8080->web0:80`, for reachable published ports. */
  readonly container: string | null;
  readonly text: string;
}

function measured(dir: string): Measured[] {
  return readFileSync(path.join(dir, 'verdict.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const [to = '', verdict = '', , about = ''] = line.split('\t');
      const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(to);
      if (m === null) throw new Error(`unreadable verdict line ${line}`);
      return {
        address: m[1] ?? '',
        port: Number(m[2]),
        reachable: verdict === 'REACHABLE',
        container: /->(\w+):\d+/.exec(about)?.[1] ?? null,
        text: `${to} ${verdict} (${about})`,
      };
    });
}

function covers(e: Exposure, address: string, port: number): boolean {
  const a = ipaddr.parse(address);
  const inPorts = e.ports.some((r) => port >= r.from && port <= r.to);
  return (
    inPorts &&
    e.protocol === 'tcp' &&
    e.destinations.some((cidr) => {
      const [net, bits] = ipaddr.parseCIDR(cidr);
      return net.kind() === a.kind() && a.match([net, bits]);
    })
  );
}

const scenarios = readdirSync(root).sort();

describe('Docker 29.7.2 captures: the audit agrees with the verdicts measured on the host', () => {
  it('has the three captures', () => {
    expect(scenarios).toEqual([
      's1a-iptables-portmap',
      's2a-nftables-portmap',
      's3b-nftables-ipv6-dualstack',
    ]);
  });

  for (const [name, addresses] of scenarios.flatMap(
    (n) =>
      [
        [n, false],
        [n, true],
      ] as const,
  )) {
    it(`${name}${addresses ? ', with the lab host’s ip-addr.json' : ', as captured'}`, async () => {
      const dir = path.join(root, name);
      const snapshot = await loadSnapshot({
        directory: dir,
        files: addresses ? { 'ip-addr': labAddresses } : {},
      });
      const audit: AuditResult = analyze(snapshot, DEFAULT_CONFIG, {
        rules: RULES,
      });
      const nft = name.includes('nftables');
      expect(audit.snapshot.era.era).toBe(nft ? 'nftables' : 'v29');

      const probes = measured(dir);
      expect(probes.some((p) => p.reachable)).toBe(true);
      expect(probes.some((p) => !p.reachable)).toBe(true);
      for (const p of probes) {
        const hits = audit.exposures.filter((e) => covers(e, p.address, p.port));
        if (p.reachable) {
          // reached from outside: the audit says so and names the container; it is certain
          // unless it says what it rests on (the captures have no sysctl.txt: IPv6 forwarding
          // is assumed)
          const to = hits.filter((e) => e.target.kind === 'container');
          expect(
            to.map((e) => e.target.name),
            p.text,
          ).toContain(p.container);
          expect(
            to.every((e) => e.certainty === 'certain' || e.assumptions.length > 0),
            p.text,
          ).toBe(true);
          expect(to.some((e) => e.certainty === 'certain') || p.address.includes(':'), p.text).toBe(
            true,
          );
        } else {
          // blocked: nothing is delivered there but a host port where nothing listens (refused);
          // without the host's addresses a forward to it is possible, never certain
          const delivered = hits.filter(
            (e) =>
              (e.target.kind !== 'host' || e.target.listening !== false) &&
              (addresses || e.certainty === 'certain'),
          );
          expect(
            delivered.map((e) => e.id),
            p.text,
          ).toEqual([]);
        }
      }

      // The kernel drops direct access (raw PREROUTING / raw-PREROUTING), and dockerd ran with
      // the backend its rules show: neither is reported.
      expect(audit.findings.filter((f) => f.ruleId === 'direct-container-access')).toEqual([]);
      expect(audit.diagnostics.filter((d) => d.code === 'daemon-config-mismatch')).toEqual([]);
      expect(audit.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);

      // The userland-proxy note says where this backend filters: DOCKER-USER only on iptables.
      const proxy = audit.findings.find(
        (f) => f.ruleId === 'daemon-firewall-config' && f.object.setting === 'userland-proxy',
      );
      expect(proxy?.message).toBeDefined();
      if (nft) {
        expect(proxy?.message).not.toContain('DOCKER-USER');
        expect(proxy?.message).toContain('forward base chain');
      } else {
        expect(proxy?.message).toContain('DOCKER-USER');
      }
    });
  }
});
