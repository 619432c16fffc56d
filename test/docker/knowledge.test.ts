/**
 * Docker and host knowledge that every analysis and rule shares: whose chains are Docker's, which
 * packets a bound socket takes (as `ss` writes bindings), and which interfaces are external.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bindingFamilies,
  bindingReceives,
  bindingsOverlap,
  isLinkLocal,
} from '../../src/docker/bindings.ts';
import { isDockerChain, isDockerManagedChain } from '../../src/docker/chains.ts';
import { externalInterface, externalInterfaces } from '../../src/docker/interfaces.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import type { DockerHost } from '../../src/model/host.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');

describe('Docker chains', () => {
  it('are DOCKER and DOCKER-…, never DOCKER-USER; every era-managed chain is one', () => {
    expect(isDockerChain('DOCKER')).toBe(true);
    expect(isDockerChain('DOCKER-FORWARD')).toBe(true);
    expect(isDockerChain('DOCKER-ISOLATION-STAGE-2')).toBe(true);
    expect(isDockerChain('DOCKER-USER')).toBe(false);
    expect(isDockerChain('FORWARD')).toBe(false);
    expect(isDockerChain('ufw-user-input')).toBe(false);
    for (const era of ['classic', 'v28', 'v29'] as const) {
      for (const chain of ['DOCKER', 'DOCKER-FORWARD', 'DOCKER-INTERNAL', 'DOCKER-CT']) {
        if (isDockerManagedChain('filter', chain, era)) expect(isDockerChain(chain)).toBe(true);
      }
    }
  });
});

describe('bindings', () => {
  it("take '*' (ss: a dual-stack socket) for both families and '[::]' for IPv6 only", () => {
    expect(bindingFamilies('*')).toEqual(['ipv4', 'ipv6']);
    expect(bindingFamilies('::')).toEqual(['ipv6']);
    expect(bindingFamilies('')).toEqual(['ipv4']);
    expect(bindingReceives('*', 'ipv4', '203.0.113.10')).toBe(true);
    expect(bindingReceives('*', 'ipv6', '2001:db8::10')).toBe(true);
    expect(bindingReceives('::', 'ipv4', '203.0.113.10')).toBe(false);
    expect(bindingReceives('::', 'ipv6', '2001:db8::10')).toBe(true);
    expect(bindingReceives('0.0.0.0', 'ipv4', '203.0.113.10')).toBe(true);
    expect(bindingReceives('0.0.0.0', 'ipv6', '2001:db8::10')).toBe(false);
    expect(bindingReceives('127.0.0.1', 'ipv4', '127.0.0.1')).toBe(true);
    expect(bindingReceives('127.0.0.1', 'ipv4', '203.0.113.10')).toBe(false);
  });

  it('collide when one is a wildcard of the same family, or either is *', () => {
    expect(bindingsOverlap('*', '127.0.0.1')).toBe(true);
    expect(bindingsOverlap('0.0.0.0', '127.0.0.1')).toBe(true);
    expect(bindingsOverlap('::', '0.0.0.0')).toBe(false);
    expect(bindingsOverlap('127.0.0.1', '10.0.0.1')).toBe(false);
  });

  it('take fe80::/10 as link-local, fe80: to febf:, and nothing else', () => {
    for (const a of ['fe80::1', 'FE80::a:b', 'fe9a::1', 'febf:ffff::1'])
      expect(isLinkLocal(a), a).toBe(true);
    for (const a of ['fec0::1', 'fe8::1', 'fd00::1', '::1', '2001:db8::fe80', '192.0.2.1'])
      expect(isLinkLocal(a), a).toBe(false);
  });
});

describe('external interfaces', () => {
  it("rank the default route's device first, then up interfaces with a global address", () => {
    const host = {
      networks: [{ bridgeName: 'docker0' }],
      routes: [{ family: 'ipv4', destination: 'default', device: 'ens5' }],
      interfaces: [
        { name: 'lo', kind: 'loopback', up: true, addresses: [] },
        { name: 'wg0', kind: null, up: false, addresses: [] },
        {
          name: 'eth1',
          kind: null,
          up: true,
          addresses: [{ family: 'ipv4', address: '192.0.2.5', scope: 'global' }],
        },
        { name: 'docker0', kind: 'bridge', up: true, addresses: [] },
        { name: 'ens5', kind: null, up: true, addresses: [] },
      ],
    } as unknown as DockerHost;
    expect(externalInterfaces(host, 'ipv4')).toEqual(['ens5', 'eth1', 'wg0']);
    const noRoute = { ...host, routes: [] } as unknown as DockerHost;
    expect(externalInterfaces(noRoute, 'ipv4')).toEqual(['eth1', 'wg0', 'ens5']);
    expect(externalInterfaces({ ...host, routes: [], interfaces: [] }, 'ipv4')).toEqual(['eth0']);
  });

  it('give the engine context and the rules the same answer on a capture', async () => {
    const snapshot = await loadSnapshot({
      directory: path.join(repoRoot, 'fixtures/example-host'),
    });
    expect(externalInterface(snapshot, 'ipv4')).toBe(externalInterfaces(snapshot.host, 'ipv4')[0]);
    expect(externalInterface(snapshot, 'ipv4')).toBe('eth0');
  });
});
