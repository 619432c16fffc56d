/**
 * The lab's reading of a scenario (no root needed): the bridges, containers, mappings and
 * listeners it rebuilds, the probes it plans, and how an engine trace maps to what a real
 * connection shows.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Trace } from '../../src/model/trace.ts';
import { listCaptureScenarios } from '../lab/captures.ts';
import { planProbes } from '../lab/probes.ts';
import { compare, expectObservation } from '../lab/referee.ts';
import { deriveTopology, inSubnet, ruleLines } from '../lab/topology.ts';
import { layRules } from './random-operator.ts';
import { generatedScenario } from './scenarios.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const capturesDir = path.resolve(repoRoot, '../shared/captures');

describe('rule text', () => {
  it('keeps negation with the option it belongs to', () => {
    const [r] = ruleLines(
      '*nat\n-A DOCKER ! -i bridge1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:80\nCOMMIT\n',
    );
    expect(r?.table).toBe('nat');
    expect(r?.options.get('-i')).toEqual({ value: 'bridge1', negated: true });
    expect(r?.options.get('-p')).toEqual({ value: 'tcp', negated: false });
    expect(r?.options.get('--to-destination')?.value).toBe('192.0.2.2:80');
  });
  it('tests subnet membership at the edges', () => {
    expect(inSubnet('192.0.2.255', '192.0.2.0/24')).toBe(true);
    expect(inSubnet('192.0.3.0', '192.0.2.0/24')).toBe(false);
    expect(inSubnet('172.31.255.1', '172.17.0.0/16')).toBe(false);
  });
});

describe.skipIf(!existsSync(capturesDir))(
  'lab topology of the captures (needs ../shared/captures)',
  () => {
    const byName = new Map(listCaptureScenarios(capturesDir).map((s) => [s.name, s]));
    const topo = (name: string) => {
      const s = byName.get(name);
      if (!s) throw new Error(`capture ${name} missing`);
      return deriveTopology(s);
    };

    it('serves every port of a DNAT to a port range, and publishes none of them', () => {
      const s = byName.get('docker-28.5.2/s3-usernet-portmap');
      if (!s) throw new Error('capture missing');
      const iptablesSave = layRules(
        s.iptablesSave,
        'nat',
        ['-A PREROUTING -p tcp -m tcp --dport 9000 -j DNAT --to-destination 192.0.2.2:81-83'],
        [],
        [],
        new Map(),
      );
      const t = deriveTopology({ ...s, iptablesSave });
      const c1 = t.containers.find((c) => c.address === '192.0.2.2');
      expect(c1?.ports).toEqual(expect.arrayContaining([81, 82, 83]));
      expect(t.published.map((p) => p.hostPort)).not.toContain(9000);
    });

    it('rebuilds a user bridge with its container and mapping (28.5.2 s3)', () => {
      const t = topo('docker-28.5.2/s3-usernet-portmap');
      expect(t.bridges).toContainEqual({
        name: 'bridge1',
        subnet: '192.0.2.0/24',
        gateway: '192.0.2.1',
      });
      const c1 = t.containers.find((c) => c.name === 'c1');
      expect(c1).toMatchObject({ bridge: 'bridge1', address: '192.0.2.2', prefixLength: 24 });
      expect(c1?.ports).toContain(80);
      expect(t.published).toEqual([
        {
          container: 'c1',
          containerAddress: '192.0.2.2',
          containerPort: 80,
          protocol: 'tcp',
          hostIp: '0.0.0.0',
          hostPort: 8080,
        },
      ]);
      expect(t.hostListeners).toContainEqual(
        expect.objectContaining({ address: '0.0.0.0', port: 8080, protocol: 'tcp' }),
      );
    });

    it('keeps a loopback binding and probes it from the host and from outside (20.10 s2)', () => {
      const t = topo('docker-20.10.24/s2-default-bridge-p127.0.0.1-8080');
      expect(t.published.map((p) => p.hostIp)).toEqual(['127.0.0.1']);
      const probes = planProbes(t).map(
        (p) => `${p.origin.kind} ${p.destination}:${p.port}/${p.protocol}`,
      );
      expect(probes).toContain('host 127.0.0.1:8080/tcp');
      expect(probes).toContain('client 203.0.113.1:8080/tcp');
      expect(probes).toContain('client 172.17.0.2:81/udp');
    });

    it('finds internal networks from isolation rules and says what it assumed (28.5.2 s4)', () => {
      const t = topo('docker-28.5.2/s4-usernet-internal');
      expect(t.bridges.map((b) => `${b.name} ${b.subnet}`).sort()).toEqual([
        'bridgeICC 192.0.2.0/24',
        'bridgeNoICC 198.51.100.0/24',
        'docker0 172.17.0.0/16',
      ]);
      expect(t.assumptions.join('\n')).toMatch(/bridgeNoICC assumed at 198\.51\.100\.2/);
    });

    it('enables route_localnet where userland-proxy is off (28.5.2 s6)', () => {
      expect([...topo('docker-28.5.2/s6-usernet-portmap-noproxy').routeLocalnet].sort()).toEqual([
        'bridge1',
        'docker0',
      ]);
      expect(topo('docker-28.5.2/s3-usernet-portmap').routeLocalnet).toEqual([]);
    });

    it('serves a host-mode container in the host namespace (20.10 s8)', () => {
      const t = topo('docker-20.10.24/s8-host-none-container-modes');
      expect(t.hostListeners).toContainEqual(
        expect.objectContaining({ port: 9091, protocol: 'tcp', why: 'chost (host)' }),
      );
      expect(t.containers.map((c) => c.name)).toEqual(['cbase']);
    });

    it('routes and probes the destinations a REJECT rule names (generated kube services)', () => {
      const t = deriveTopology(generatedScenario());
      expect(t.rejected.length).toBeGreaterThan(0);
      const probes = planProbes(t).map(
        (p) => `${p.origin.kind} ${p.destination}:${p.port}/${p.protocol}`,
      );
      for (const x of t.rejected)
        expect(probes).toContain(`client ${x.address}:${x.port}/${x.protocol}`);
      expect(t.published.some((p) => p.protocol === 'udp')).toBe(true);
      expect(t.bridges.every((b) => b.subnet.startsWith('10.100.') || b.name === 'docker0')).toBe(
        true,
      );
    });

    it('derives the IPv6 side: bridge, gateway, container and the ip6tables DNAT (28.5.2 s7, 20.10 s7)', () => {
      const v6 = topo('docker-28.5.2/s7-usernet-ipv6-ip6tables').v6;
      expect(v6?.bridges).toEqual([
        { name: 'bridge6', subnet: 'fd00:db8:1::/64', gateway: 'fd00:db8:1::1' },
      ]);
      expect(v6?.containers).toEqual([{ name: 'c6', address: 'fd00:db8:1::2', prefixLength: 64 }]);
      expect(v6?.published).toEqual([
        {
          container: 'c6',
          containerAddress: 'fd00:db8:1::2',
          containerPort: 80,
          protocol: 'tcp',
          hostPort: 8080,
        },
      ]);
      // No IPv6 gateway in the inspect file: the subnet's first address, as Docker picks it.
      expect(topo('docker-20.10.24/s7-default-bridge-ipv6-ip6tables').v6?.bridges[0]?.gateway).toBe(
        'fd00:dead:beef::1',
      );
      expect(topo('docker-28.5.2/s3-usernet-portmap').v6).toBeNull();
    });

    it("reads an operator's ip6tables rules as it reads IPv4's (random6 seeds 41, 135)", () => {
      const base = byName.get('docker-20.10.24/s7-default-bridge-ipv6-ip6tables');
      if (!base?.ip6tablesSave) throw new Error('capture missing');
      const nat = [
        // a port Docker maps, mapped again; a network, OUTPUT and a foreign address are no mapping
        '-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:dead:beef::242:ac11:2]:81',
        '-A PREROUTING -d 2001:db8:ffff::/64 -p tcp -m tcp --dport 9001 -j DNAT --to-destination [fd00:dead:beef::242:ac11:2]:80',
        '-A OUTPUT -p tcp -m tcp --dport 9002 -j DNAT --to-destination [fd00:dead:beef::242:ac11:2]:80',
        '-A PREROUTING -d 2001:db8:9::9/128 -p tcp -m tcp --dport 9003 -j DNAT --to-destination [fd00:dead:beef::242:ac11:2]:80',
        '-A POSTROUTING -s fe80::/10 ! -o docker+ -p tcp -j SNAT --to-source 2001:db8:ffff::1',
      ];
      // into the nat table, before its COMMIT
      const lines = base.ip6tablesSave.split('\n');
      lines.splice(lines.indexOf('COMMIT', lines.indexOf('*nat')), 0, ...nat);
      const save = lines.join('\n');
      const t = deriveTopology({ ...base, ip6tablesSave: save });
      expect(t.v6?.bridges.map((b) => b.name)).toEqual(['docker0']);
      expect(t.v6?.published.map((p) => `${p.hostPort}→${p.containerPort}`)).toEqual([
        '8080→80',
        '8080→81',
      ]);
      const listeners = t.hostListeners.filter((l) => l.address === '::' && l.protocol === 'tcp');
      expect(listeners.map((l) => l.port).sort()).toEqual([2222, 8080]);
    });

    it('plans distinct source ports so each probe is one known packet', () => {
      for (const s of byName.values()) {
        const ports = planProbes(deriveTopology(s)).map((p) => p.sourcePort);
        expect(new Set(ports).size, s.name).toBe(ports.length);
      }
    });
  },
);

describe('engine trace → expected kernel observation', () => {
  const t = {
    name: 't',
    iptablesSave: '',
    nftRuleset: null,
    bridges: [{ name: 'docker0', subnet: '172.17.0.0/16', gateway: '172.17.0.1' }],
    containers: [
      {
        name: 'web',
        bridge: 'docker0',
        address: '172.17.0.2',
        prefixLength: 16,
        gateway: '172.17.0.1',
        ports: [80],
      },
    ],
    published: [],
    hostListeners: [{ address: '0.0.0.0', port: 2222, protocol: 'tcp' as const, why: 'x' }],
    routeLocalnet: [],
    bridgeNfCall: true,
    rejected: [],
    v6: null,
    assumptions: [],
  };
  const packet = {
    family: 'ipv4' as const,
    protocol: 'tcp' as const,
    source: '203.0.113.2',
    sourcePort: 40000,
    destination: '203.0.113.1',
    destinationPort: 8080,
    inInterface: 'ext0',
    state: 'NEW' as const,
    mark: 0,
  };
  const trace = (over: Partial<Trace>): Trace => ({
    packet,
    verdict: 'accepted',
    certainty: 'certain',
    steps: [],
    delivery: null,
    uncertainRules: [],
    assumptions: [],
    ...over,
  });

  it('maps verdicts and deliveries to what a connection shows', () => {
    expect(expectObservation(t, trace({ verdict: 'dropped' }))?.outcome).toBe('timeout');
    expect(expectObservation(t, trace({ verdict: 'rejected' }))?.outcome).toBe('refused');
    const fwd = expectObservation(
      t,
      trace({
        delivery: { kind: 'forward', address: '172.17.0.2', port: 80, outInterface: 'docker0' },
      }),
    );
    expect(fwd).toMatchObject({ outcome: 'connected', identity: 'web:80/tcp' });
    const closed = expectObservation(
      t,
      trace({
        delivery: { kind: 'forward', address: '172.17.0.2', port: 81, outInterface: 'docker0' },
      }),
    );
    expect(closed?.outcome).toBe('refused');
    expect(
      expectObservation(
        t,
        trace({
          delivery: { kind: 'local', address: '203.0.113.1', port: 2222, outInterface: null },
        }),
      ),
    ).toMatchObject({ outcome: 'connected', identity: 'host' });
    expect(
      expectObservation(
        t,
        trace({
          delivery: { kind: 'forward', address: '10.9.9.9', port: 80, outInterface: 'ext0' },
        }),
      ),
    ).toBeNull();
  });

  it('takes a timeout too where the lab races the answer (random6 seeds 10, 61)', () => {
    const step = (action: string) => ({
      hook: 'FORWARD' as const,
      table: 'filter',
      chain: 'DOCKER-USER',
      rule: 1,
      line: 1,
      file: null,
      ruleText: '',
      action,
      uncertain: false,
    });
    const v6 = { ...packet, family: 'ipv6' as const, destination: '2001:db8:ffff::1' };
    // an ICMPv6 error for the SYN refuses only the SYN sent again; a reset refuses at once
    const icmp = trace({
      packet: v6,
      verdict: 'rejected',
      steps: [step('REJECT icmp6-port-unreachable')],
    });
    expect(expectObservation(t, icmp)).toMatchObject({ outcome: 'refused', orTimeout: true });
    const reset = trace({ packet: v6, verdict: 'rejected', steps: [step('REJECT tcp-reset')] });
    expect(expectObservation(t, reset)?.orTimeout).toBeUndefined();
    expect(
      expectObservation(t, trace({ verdict: 'rejected', steps: [step('REJECT')] }))?.orTimeout,
    ).toBeUndefined();
    // a datagram to a container port nothing listens on: its ICMP error is not the reply
    const reply = {
      kind: 'reply' as const,
      packet,
      verdict: 'rejected' as const,
      steps: [],
      stoppedBy: 'filter/DOCKER-USER#1',
      unrouted: null,
    };
    const datagram = (port: number) =>
      expectObservation(
        t,
        trace({
          packet: { ...packet, protocol: 'udp' },
          answer: reply,
          delivery: { kind: 'forward', address: '172.17.0.2', port, outInterface: 'docker0' },
        }),
      );
    expect(datagram(81)).toMatchObject({ outcome: 'refused', orTimeout: true });
    expect(datagram(80)).toMatchObject({ outcome: 'timeout' });
  });

  it('hears nothing of a soft ICMP error for a datagram (randomw seeds 19, 189)', () => {
    const step = (action: string, ruleText = '', uncertain = false) => ({
      hook: 'INPUT' as const,
      table: 'filter',
      chain: 'INPUT',
      rule: 1,
      line: 1,
      file: null,
      ruleText,
      action,
      uncertain,
    });
    const udp = { ...packet, protocol: 'udp' as const };
    const rejected = (action: string, protocol: 'tcp' | 'udp') =>
      expectObservation(
        t,
        trace({
          packet: protocol === 'udp' ? udp : packet,
          verdict: 'rejected',
          steps: [step(action)],
        }),
      )?.outcome;
    expect(rejected('REJECT icmp-net-unreachable', 'udp')).toBe('timeout');
    expect(rejected('REJECT icmp-host-unreachable', 'udp')).toBe('timeout');
    expect(rejected('REJECT icmp-admin-prohibited', 'udp')).toBe('refused');
    expect(rejected('REJECT', 'udp')).toBe('refused');
    // a SYN's connect() is ended by either kind
    expect(rejected('REJECT icmp-net-unreachable', 'tcp')).toBe('refused');
  });

  it('holds a possible trace to the kernel unless it rests on an undecidable match', () => {
    const probe = planProbes({ ...t, published: [] })[0];
    if (!probe) throw new Error('no probe planned');
    const timedOut = { probe, outcome: 'timeout' as const, identity: null };
    const uncertain = (ruleText: string) =>
      trace({
        verdict: 'rejected',
        certainty: 'possible',
        uncertainRules: ['filter/FORWARD#1'],
        steps: [
          {
            hook: 'FORWARD',
            table: 'filter',
            chain: 'FORWARD',
            rule: 1,
            line: 1,
            file: null,
            ruleText,
            action: 'REJECT',
            uncertain: true,
          },
        ],
      });
    // a rate limit the engine cannot follow: the kernel may take the other branch
    expect(
      compare(t, timedOut, uncertain('-A FORWARD -m limit --limit 5/s -j REJECT')).agree,
    ).toBeNull();
    // a match it decides is held to the kernel, possible or not
    expect(compare(t, timedOut, uncertain('-A FORWARD -m mark --mark 0x1 -j REJECT')).agree).toBe(
      false,
    );
  });

  it('fails a comparison when the connection lands somewhere else than the engine says', () => {
    const probe = planProbes({ ...t, published: [] })[0];
    if (!probe) throw new Error('no probe planned');
    const landedOnHost = { probe, outcome: 'connected' as const, identity: 'host' };
    const toWeb = trace({
      delivery: { kind: 'forward', address: '172.17.0.2', port: 80, outInterface: 'docker0' },
    });
    expect(compare(t, landedOnHost, toWeb).agree).toBe(false);
    expect(compare(t, { ...landedOnHost, identity: 'web:80/tcp' }, toWeb).agree).toBe(true);
    expect(compare(t, { ...landedOnHost, outcome: 'timeout', identity: null }, toWeb).agree).toBe(
      false,
    );
  });
});
