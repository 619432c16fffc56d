import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildNetworkContext,
  describeAddress,
  findRuleDrift,
  mapPublishedPorts,
} from '../../src/docker/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { findChain, findTable } from '../../src/model/ruleset.ts';

const dir = path.resolve(import.meta.dirname, '../../fixtures/example-host');

describe('fixtures/example-host (the README’s example)', () => {
  it('loads completely: every file read, no assumption but nftables, one diagnostic', async () => {
    const s = await loadSnapshot({ directory: dir });
    expect(s.files.filter((f) => f.status !== 'read').map((f) => f.role)).toEqual(['nft-ruleset']);
    expect(s.assumptions.map((a) => a.role)).toEqual(['nft-ruleset']);
    expect(s.diagnostics.map((d) => d.code)).toEqual(['ports-discarded-host-mode']);
    expect(s.era.era).toBe('v28');
    expect(s.host.dockerVersion).toBe('28.5.2');
    expect(s.host.daemon.liveRestore).toMatchObject({ value: true, source: 'file' });
    expect(s.manifest?.['host']).toBe('shop-prod-1');
  });

  it('has the web and database published on all addresses and a host-mode exporter', async () => {
    const s = await loadSnapshot({ directory: dir });
    expect(s.host.containers.map((c) => [c.name, c.networkMode.kind])).toEqual([
      ['shop-web-1', 'network'],
      ['shop-db-1', 'network'],
      ['node-exporter', 'host'],
    ]);
    const ports = mapPublishedPorts(s).filter((p) => p.family === 'ipv4');
    expect(
      ports.map((p) => [
        p.container.name,
        p.port.hostIp,
        p.port.hostPort,
        p.containerAddress,
        p.missing,
      ]),
    ).toEqual([
      ['shop-web-1', '0.0.0.0', 8080, '172.18.0.2', []],
      ['shop-db-1', '0.0.0.0', 5432, '172.18.0.3', []],
    ]);
    expect(findRuleDrift(s)).toEqual([]);
    expect(s.host.listeners.find((l) => l.port === 9100)?.process?.name).toBe('node_exporter');
  });

  it('carries the two mistakes: a ufw-style INPUT DROP for 5432 and a DOCKER-USER rule on host port 8080', async () => {
    const s = await loadSnapshot({ directory: dir });
    const filter = s.ipv4 === null ? undefined : findTable(s.ipv4, 'filter');
    const input = filter === undefined ? undefined : findChain(filter, 'ufw-user-input');
    expect(input?.rules.map((r) => r.text)).toContain(
      '-A ufw-user-input -p tcp -m tcp --dport 5432 -j DROP',
    );
    expect(filter === undefined ? undefined : findChain(filter, 'INPUT')?.policy).toBe('DROP');
    const user = filter === undefined ? undefined : findChain(filter, 'DOCKER-USER');
    expect(user?.rules.map((r) => r.text)).toEqual([
      '-A DOCKER-USER -i eth0 -p tcp -m tcp --dport 8080 -j DROP',
    ]);
  });

  it('gives the engine the host’s real interfaces, addresses and routes', async () => {
    const s = await loadSnapshot({ directory: dir });
    const ctx = buildNetworkContext(s, 'ipv4');
    expect(ctx.interfaces).toEqual(
      expect.arrayContaining(['lo', 'eth0', 'docker0', 'br-5d1f0c3a9b7e']),
    );
    expect(ctx.localAddresses).toEqual(['127.0.0.1', '203.0.113.10', '172.17.0.1', '172.18.0.1']);
    expect(ctx.routes).toContainEqual({
      destination: '172.18.0.0/16',
      device: 'br-5d1f0c3a9b7e',
      source: '172.18.0.1',
      provenance: 'observed',
    });
    // a route that names no source sends from its interface's one address (IPv6: of global
    // scope, eth0's link-local one aside)
    expect(ctx.routes).toContainEqual({
      destination: 'default',
      device: 'eth0',
      source: '203.0.113.10',
      provenance: 'observed',
    });
    expect(buildNetworkContext(s, 'ipv6').routes).toContainEqual({
      destination: 'default',
      device: 'eth0',
      source: '2001:db8:113::10',
      provenance: 'observed',
    });
    expect(ctx.localAddressesComplete).toBe(true);
    expect(describeAddress(s, 'ipv4', '203.0.113.10')).toEqual({ kind: 'host', name: 'eth0' });
    expect(describeAddress(s, 'ipv4', '172.18.0.3')).toEqual({
      kind: 'container',
      name: 'shop-db-1',
      network: 'shop_default',
    });
  });
});
