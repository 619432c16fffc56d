/**
 * Which macvlan and ipvlan networks put their containers beside the host's firewall rather than
 * behind it, read from the lab's real capture and from its network changed one option at a time;
 * and the chain view's line for such a container.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { directEndpoints, vlanNetwork } from '../../src/docker/direct-networks.ts';
import { containerPaths } from '../../src/docker/paths.ts';
import type { Network } from '../../src/model/host.ts';

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
