/**
 * Which macvlan and ipvlan networks put their containers beside the host's firewall rather than
 * behind it, read from the lab's real capture and from its network changed one option at a time;
 * and the chain view's line for such a container. And a bridge's own ports, where the sysctl says
 * what the bridge passes between them skips iptables.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { newConnection } from '../../src/analysis/packets.ts';
import { buildNetworkContext } from '../../src/docker/context.ts';
import { createEngine } from '../../src/engine/index.ts';
import { firewallOf } from '../../src/model/snapshot.ts';
import { directEndpoints, vlanNetwork } from '../../src/docker/direct-networks.ts';
import { containerPaths } from '../../src/docker/paths.ts';
import type { Network } from '../../src/model/host.ts';
import { tempDir } from '../support/temp-dir.ts';

const LAB = path.resolve(import.meta.dirname, '../../fixtures/lab/macvlan-20.10.24');

describe('macvlan and ipvlan networks', async () => {
  const snapshot = await loadSnapshot({ directory: LAB });
  const host = snapshot.host;
  const lan = host.networks.find((n) => n.name === 'lan') as Network;
  const pihole = host.containers.find((c) => c.name === 'pihole');

  it('reads the capture: macvlan on ext0, bridge mode by default, reached directly', () => {
    expect(vlanNetwork(lan)).toMatchObject({
      driver: 'macvlan',
      mode: 'bridge',
      parent: 'ext0',
      reach: 'direct',
    });
    const found = pihole === undefined ? [] : directEndpoints(host, pihole);
    expect(found.map((d) => [d.endpoint.ipv4, d.direct.parent, d.direct.network.name])).toEqual([
      ['203.0.113.53', 'ext0', 'lan'],
    ]);
  });

  it('tells the networks the host does see, or no neighbour reaches, apart', () => {
    const reach = (driver: string, options: Record<string, string>, internal = false) =>
      vlanNetwork({ ...lan, driver, options, internal })?.reach ?? null;
    expect(reach('ipvlan', { parent: 'ext0' })).toBe('direct');
    expect(reach('ipvlan', { parent: 'ext0', ipvlan_mode: 'l3' })).toBe('direct');
    expect(reach('ipvlan', { parent: 'ext0', ipvlan_mode: 'l3s' })).toBe('host-netfilter');
    expect(reach('macvlan', {})).toBe('isolated');
    expect(reach('macvlan', { parent: 'ext0' }, true)).toBe('isolated');
    expect(reach('bridge', { parent: 'ext0' })).toBeNull();
  });

  it('says in the chain view that the host firewall is not on the way', () => {
    expect(pihole === undefined ? [] : containerPaths(pihole, host, snapshot.era.era)).toEqual([
      "own address on ext0's network (macvlan lan): not through this host's firewall",
    ]);
  });
});

describe('bridge-nf-call-iptables off', () => {
  const S9 = path.resolve(
    import.meta.dirname,
    '../../fixtures/snapshots/20.10.24/s9-default-bridge-icc-false-link',
  );
  /** web → client on docker0, the capture's icc=false bridge, with the sysctl as given. */
  const webToClient = async (value: 0 | 1) => {
    const sysctl = path.join(tempDir('dw-brnf-'), 'sysctl.txt');
    writeFileSync(sysctl, `net.bridge.bridge-nf-call-iptables = ${value}\n`);
    const snapshot = await loadSnapshot({ directory: S9, files: { sysctl } });
    const ruleset = firewallOf(snapshot, 'ipv4');
    if (ruleset === null) throw new Error('no IPv4 rules');
    const context = buildNetworkContext(snapshot, 'ipv4');
    const trace = createEngine(ruleset, context).trace({
      family: 'ipv4',
      protocol: 'tcp',
      source: '172.17.0.2',
      sourcePort: 40000,
      destination: '172.17.0.3',
      destinationPort: 80,
      inInterface: 'docker0',
      state: 'NEW',
      mark: 0,
    });
    return { context, trace };
  };

  it('takes what docker0 passes between its ports out of iptables', async () => {
    const off = await webToClient(0);
    expect(off.context.devicesBelow?.map((d) => [d.interface, d.address, d.fromHost])).toEqual([
      ['docker0', '172.17.0.2', 'reaches'],
      ['docker0', '172.17.0.3', 'reaches'],
    ]);
    expect([off.trace.verdict, off.trace.certainty, off.trace.steps.length]).toEqual([
      'accepted',
      'certain',
      0,
    ]);
    expect(off.trace.below).toContain('bridge-nf-call-iptables = 0');
  });

  it('does so where the collector found no such switch (br_netfilter not loaded)', async () => {
    const dir = path.join(
      import.meta.dirname,
      '../../fixtures/rules/daemon-firewall-config/fires-br-netfilter-not-loaded',
    );
    const snapshot = await loadSnapshot({
      directory: S9,
      files: { sysctl: path.join(dir, 'sysctl.txt'), manifest: path.join(dir, 'manifest.json') },
    });
    expect(
      buildNetworkContext(snapshot, 'ipv4').devicesBelow?.map((d) => [d.interface, d.address]),
    ).toEqual([
      ['docker0', '172.17.0.2'],
      ['docker0', '172.17.0.3'],
    ]);
  });

  it('leaves it to icc where the sysctl is on', async () => {
    const on = await webToClient(1);
    expect(on.context.devicesBelow).toBeUndefined();
    expect([on.trace.verdict, on.trace.certainty]).toEqual(['dropped', 'certain']);
  });
});

describe('ipvlan l3s', () => {
  it('walks its containers as routed, and says only possibly so', async () => {
    const l3s = path.resolve(
      import.meta.dirname,
      '../../fixtures/rules/unfiltered-network/passes-ipvlan-l3s/networks.json',
    );
    const snapshot = await loadSnapshot({ directory: LAB, files: { networks: l3s } });
    const ruleset = firewallOf(snapshot, 'ipv4');
    if (ruleset === null) throw new Error('no IPv4 rules');
    const context = buildNetworkContext(snapshot, 'ipv4');
    expect(context.devicesBelow).toBeUndefined();
    expect(context.unmodelledPaths?.map((u) => u.address)).toEqual(['203.0.113.53']);
    const trace = createEngine(ruleset, context).trace(
      newConnection('ipv4', 'tcp', '203.0.113.2', '203.0.113.53', 80, 'ext0'),
    );
    expect(trace.certainty).toBe('possible');
    expect(trace.assumptions.join(' ')).toContain('ipvlan l3s');
  });
});
