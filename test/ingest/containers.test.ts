import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadContainers } from '../../src/ingest/containers.ts';
import { loadNetworks } from '../../src/ingest/networks.ts';

const fixtures = path.resolve(import.meta.dirname, '../../fixtures/snapshots');
const read = (rel: string) => readFileSync(path.join(fixtures, rel), 'utf8');

/** A minimal inspect object in the Engine 29 shape (no top-level IPAddress). */
function inspect(over: {
  id: string;
  name: string;
  mode: string;
  networks?: Record<string, object>;
  ports?: object;
  bindings?: object;
}) {
  return {
    Id: over.id,
    Name: `/${over.name}`,
    State: { Running: true },
    Config: { Image: 'img', ExposedPorts: { '80/tcp': {} } },
    HostConfig: {
      NetworkMode: over.mode,
      PortBindings: over.bindings ?? {},
      PublishAllPorts: false,
    },
    NetworkSettings: { Ports: over.ports ?? {}, Networks: over.networks ?? {} },
  };
}

describe('loadContainers on real inspect output', () => {
  it('reads the default-bridge container of dockerd 20.10 with both published bindings', () => {
    const r = loadContainers(
      read('20.10.24/s1-default-bridge-p8080/containers.json'),
      'c.json',
      [],
    );
    expect(r.diagnostics).toEqual([]);
    const [c] = r.containers;
    expect(c?.name).toBe('c1');
    expect(c?.networkMode).toEqual({ kind: 'bridge', network: 'bridge' });
    expect(c?.endpoints.map((e) => [e.network, e.ipv4, e.ipv4PrefixLength])).toEqual([
      ['bridge', '172.17.0.2', 16],
    ]);
    expect(
      c?.published.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`),
    ).toEqual(['0.0.0.0:8080->80/tcp', ':::8080->80/tcp']);
    expect(c?.requested.map((p) => [p.hostIp, p.hostPort])).toEqual([['', '8080']]);
    expect(c?.exposed).toEqual([{ port: 80, protocol: 'tcp' }]);
  });

  it('resolves host, none and container modes, and says host-mode bindings are discarded', () => {
    const r = loadContainers(
      read('20.10.24/s8-host-none-container-modes/containers.json'),
      'c.json',
      [],
    );
    const modes = Object.fromEntries(r.containers.map((c) => [c.name, c.networkMode]));
    expect(modes['chost']).toEqual({ kind: 'host' });
    expect(modes['cnone']).toEqual({ kind: 'none' });
    expect(modes['cshare']).toMatchObject({ kind: 'container', resolved: 'cbase' });
    const discard = r.diagnostics.find((d) => d.code === 'ports-discarded-host-mode');
    expect(discard?.message).toMatch(/chost.*9090→80\/tcp.*discarded/);
    expect(discard?.location.line).toBeGreaterThan(1);
    expect(r.containers.find((c) => c.name === 'chost')?.endpoints).toEqual([]);
  });

  it('gives a user network its driver from the networks file', () => {
    const networks = loadNetworks(
      read('28.5.2/s3-usernet-portmap/networks.json'),
      'n.json',
    ).networks;
    const r = loadContainers(read('28.5.2/s3-usernet-portmap/containers.json'), 'c.json', networks);
    expect(r.containers[0]?.networkMode).toEqual({
      kind: 'network',
      network: 'bridge1',
      driver: 'bridge',
    });
  });

  it('keeps routed-mode mappings without a host port', () => {
    const r = loadContainers(
      read('28.5.2/s17-usernet-portmap-routed/containers.json'),
      'c.json',
      [],
    );
    expect(r.containers[0]?.published.map((p) => [p.hostIp, p.hostPort])).toEqual([
      ['0.0.0.0', null],
      ['::', 8080],
    ]);
  });
});

describe('loadContainers on constructed input', () => {
  it('follows container: chains and diagnoses cycles and dangling references', () => {
    const text = JSON.stringify(
      [
        inspect({
          id: 'a'.repeat(64),
          name: 'base',
          mode: 'bridge',
          networks: { bridge: { IPAddress: '172.17.0.5', IPPrefixLen: 16 } },
        }),
        inspect({ id: 'b'.repeat(64), name: 'mid', mode: `container:${'a'.repeat(12)}` }),
        inspect({ id: 'c'.repeat(64), name: 'leaf', mode: 'container:mid' }),
        inspect({ id: 'd'.repeat(64), name: 'x', mode: 'container:y' }),
        inspect({ id: 'e'.repeat(64), name: 'y', mode: 'container:x' }),
        inspect({ id: 'f'.repeat(64), name: 'lost', mode: 'container:gone' }),
      ],
      null,
      2,
    );
    const r = loadContainers(text, 'c.json', []);
    const byName = Object.fromEntries(r.containers.map((c) => [c.name, c.networkMode]));
    expect(byName['mid']).toMatchObject({ kind: 'container', resolved: 'base' });
    expect(byName['leaf']).toMatchObject({ kind: 'container', ref: 'mid', resolved: 'base' });
    expect(byName['x']).toMatchObject({ resolved: null });
    expect(byName['lost']).toMatchObject({ resolved: null });
    const cycle = r.diagnostics.filter((d) => d.code === 'container-mode-cycle');
    expect(cycle.map((d) => d.message)).toEqual([
      'network mode of x loops: x → y → x',
      'network mode of y loops: y → x → y',
    ]);
    const dangling = r.diagnostics.find((d) => d.code === 'dangling-container-ref');
    expect(dangling?.message).toMatch(/lost .*"gone"/);
    // the location is the NetworkMode value of "lost" (6th object)
    expect(text.split('\n')[(dangling?.location.line ?? 0) - 1]).toContain('container:gone');
  });

  it('takes the driver of macvlan, ipvlan and overlay networks from the networks file', () => {
    const networks = loadNetworks(
      JSON.stringify([
        { Name: 'lan', Id: '4'.repeat(64), Driver: 'macvlan', Options: { parent: 'eth0' } },
        { Name: 'l3', Id: '5'.repeat(64), Driver: 'ipvlan', Options: { ipvlan_mode: 'l3' } },
        { Name: 'mesh', Id: '6'.repeat(64), Driver: 'overlay' },
      ]),
      'n.json',
    ).networks;
    const text = JSON.stringify([
      inspect({
        id: 'a'.repeat(64),
        name: 'cam',
        mode: 'lan',
        networks: { lan: { IPAddress: '192.168.1.50', IPPrefixLen: 24 } },
      }),
      inspect({ id: 'b'.repeat(64), name: 'router', mode: '5'.repeat(12) }),
      inspect({ id: 'c'.repeat(64), name: 'svc', mode: 'mesh' }),
      inspect({ id: 'd'.repeat(64), name: 'unknown', mode: 'elsewhere' }),
    ]);
    const r = loadContainers(text, 'c.json', networks);
    expect(r.containers.map((c) => c.networkMode)).toEqual([
      { kind: 'network', network: 'lan', driver: 'macvlan' },
      { kind: 'network', network: 'l3', driver: 'ipvlan' },
      { kind: 'network', network: 'mesh', driver: 'overlay' },
      { kind: 'network', network: 'elsewhere', driver: null },
    ]);
    expect(r.containers[0]?.endpoints[0]?.ipv4).toBe('192.168.1.50');
  });

  it('says container-mode publishing is rejected', () => {
    const text = JSON.stringify([
      inspect({ id: 'a'.repeat(64), name: 'base', mode: 'bridge' }),
      inspect({
        id: 'b'.repeat(64),
        name: 'side',
        mode: 'container:base',
        bindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
      }),
    ]);
    const r = loadContainers(text, 'c.json', []);
    expect(r.diagnostics.map((d) => d.code)).toEqual(['ports-rejected-container-mode']);
    expect(r.diagnostics[0]?.message).toMatch(/conflicting options: port publishing/);
  });

  it('reports a running container whose requested binding is not in effect', () => {
    const text = JSON.stringify([
      inspect({
        id: 'a'.repeat(64),
        name: 'web',
        mode: 'bridge',
        bindings: { '443/tcp': [{ HostIp: '', HostPort: '443' }] },
        ports: { '443/tcp': null },
      }),
    ]);
    const r = loadContainers(text, 'c.json', []);
    expect(r.diagnostics.map((d) => d.code)).toEqual(['port-binding-not-published']);
  });

  it('reads the pre-29 shape when only the top-level address is present', () => {
    const c = inspect({ id: 'a'.repeat(64), name: 'old', mode: 'default' });
    const text = JSON.stringify([
      {
        ...c,
        NetworkSettings: {
          Ports: {},
          IPAddress: '172.17.0.9',
          IPPrefixLen: 16,
          Gateway: '172.17.0.1',
        },
      },
    ]);
    const r = loadContainers(text, 'c.json', []);
    expect(r.containers[0]?.endpoints[0]).toMatchObject({ network: 'bridge', ipv4: '172.17.0.9' });
  });
});

describe('loadContainers on bad input', () => {
  it('reads the complete containers of a truncated file and locates the cut', () => {
    const full = read('20.10.24/s9-default-bridge-icc-false-link/containers.json');
    const cut = full.slice(0, full.indexOf('"Name": "/client"') + 10);
    const r = loadContainers(cut, 'c.json', []);
    expect(r.containers.map((c) => c.name)).toEqual(['web']);
    const err = r.diagnostics.find((d) => d.code === 'invalid-json');
    expect(err?.severity).toBe('error');
    expect(err?.location.line).toBe(cut.split('\n').length);
    expect(r.diagnostics.some((d) => d.code === 'partial-input')).toBe(true);
  });

  it('reports a non-JSON file without containers', () => {
    const r = loadContainers('Error: No such object: abc\n', 'c.json', []);
    expect(r.containers).toEqual([]);
    expect(r.diagnostics[0]).toMatchObject({
      code: 'invalid-json',
      location: { line: 1, column: 1 },
    });
  });

  it('reports a missing field and a wrong type where they are, and reads the other containers', () => {
    const good = inspect({ id: 'a'.repeat(64), name: 'good', mode: 'bridge' });
    const noId = { ...inspect({ id: 'x', name: 'noid', mode: 'bridge' }), Id: undefined };
    const badMode = inspect({ id: 'b'.repeat(64), name: 'badmode', mode: 'bridge' });
    (badMode.HostConfig as Record<string, unknown>)['NetworkMode'] = 42;
    const text = JSON.stringify([good, noId, badMode], null, 2);
    const r = loadContainers(text, 'c.json', []);
    expect(r.containers.map((c) => c.name)).toEqual(['good', 'badmode']);
    const missing = r.diagnostics.find((d) => d.code === 'missing-field');
    expect(missing?.message).toBe('containers[1].Id is missing');
    const wrong = r.diagnostics.find((d) => d.code === 'wrong-type');
    expect(wrong?.message).toBe(
      'containers[2].HostConfig.NetworkMode must be a string, found a number',
    );
    expect(text.split('\n')[(wrong?.location.line ?? 0) - 1]).toContain('"NetworkMode": 42');
  });
});
