import { readdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mapPublishedPorts } from '../../src/docker/ports.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { interpretSnapshot } from '../../src/docker/snapshot.ts';
import { readSnapshot } from '../../src/ingest/snapshot.ts';
import { firewallOf } from '../../src/model/snapshot.ts';
import type { Container } from '../../src/model/host.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = path.resolve(import.meta.dirname, '../../fixtures/snapshots');
const scenarios = readdirSync(root).flatMap((version) =>
  readdirSync(path.join(root, version)).map((s) => path.join(version, s)),
);

interface Expected {
  dockerVersion: string;
  era: string;
  containers: {
    name: string;
    mode: string;
    running: boolean;
    addresses: string[];
    published: string[];
  }[];
  networks: {
    name: string;
    bridge: string;
    subnets: string[];
    internal: boolean;
    icc: boolean;
    ipv6: boolean;
  }[];
  listeners: string[];
  /** Per published binding: the DNAT, ACCEPT and raw DROP rules counted in the dump by text. */
  ports: string[];
}

function modeText(c: Container): string {
  const m = c.networkMode;
  switch (m.kind) {
    case 'bridge':
      return `bridge:${m.network}`;
    case 'network':
      return `network:${m.network}`;
    case 'container':
      return `container:${m.resolved ?? '?'}`;
    default:
      return m.kind;
  }
}

describe('every capture fixture loads to its expected model', () => {
  it('has fixtures for all four captured engine versions', () => {
    expect(readdirSync(root).sort()).toEqual(['20.10.24', '26.1.5', '28.5.2', '29.7.2']);
    expect(scenarios.length).toBe(26);
  });

  for (const scenario of scenarios) {
    it(scenario, async () => {
      const dir = path.join(root, scenario);
      const expected = JSON.parse(
        readFileSync(path.join(dir, 'expected.json'), 'utf8'),
      ) as Expected;
      const s = await loadSnapshot({ directory: dir });
      expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      // on the nftables backend iptables-save is empty and Docker's rules are nftables tables
      expect(firewallOf(s, 'ipv4')?.tables.length).toBeGreaterThan(0);
      expect(s.host.dockerVersion).toBe(expected.dockerVersion);
      expect(s.era.era).toBe(expected.era);
      expect(s.era.versionMismatch).toBeNull();
      expect(
        s.host.containers.map((c) => ({
          name: c.name,
          mode: modeText(c),
          running: c.running,
          addresses: c.endpoints.flatMap((e) => [e.ipv4, e.ipv6].filter((a) => a !== null)).sort(),
          published: c.published.map(
            (p) => `${p.hostIp}:${p.hostPort ?? '-'}->${p.containerPort}/${p.protocol}`,
          ),
        })),
      ).toEqual(expected.containers);
      expect(
        s.host.networks.map((n) => ({
          name: n.name,
          bridge: n.bridgeName,
          subnets: n.subnets.map((x) => x.cidr),
          internal: n.internal,
          icc: n.icc,
          ipv6: n.enableIPv6,
        })),
      ).toEqual(expected.networks);
      expect(
        s.host.listeners.map(
          (l) => `${l.protocol} ${l.address} ${l.port} ${l.process?.name ?? '-'}`,
        ),
      ).toEqual(expected.listeners);
      expect(
        mapPublishedPorts(s).map((p) => {
          const tag = `${p.container.name} ${p.port.hostIp}:${p.port.hostPort ?? '-'} ${p.family}`;
          return p.via === 'proxy'
            ? `${tag} proxy`
            : `${tag} dnat=${p.dnat.length} accept=${p.accept.length} raw=${p.rawDrop.length}`;
        }),
      ).toEqual(expected.ports);
    });
  }
});

describe('loadSnapshot', () => {
  it('states each missing file with the assumption made', async () => {
    const s = await loadSnapshot({ directory: path.join(root, '28.5.2/s3-usernet-portmap') });
    const byRole = Object.fromEntries(s.assumptions.map((a) => [a.role, a.text]));
    expect(byRole['ip-addr']).toMatch(
      /^no ip-addr.json: the host’s addresses are not known .* holds for whatever its addresses are/,
    );
    expect(byRole['daemon']).toMatch(
      /^no daemon.json: Docker’s defaults assumed \(iptables on, ip6tables on/,
    );
    expect(byRole['containers']).toBeUndefined();
    expect(s.files.find((f) => f.role === 'containers')?.status).toBe('read');
    expect(s.files.find((f) => f.role === 'sysctl')).toEqual({
      role: 'sysctl',
      path: null,
      status: 'missing',
    });
  });

  it('infers daemon defaults from the layout when the version is missing', async () => {
    const s = await loadSnapshot({
      files: { iptables: path.join(root, '28.5.2/s0-new-daemon/iptables-save.txt') },
    });
    expect(s.host.dockerVersion).toBeNull();
    expect(s.assumptions.find((a) => a.role === 'docker-version')?.text).toMatch(
      /inferred from the v28 rule layout; defaults of Docker 28.x assumed/,
    );
    expect(s.host.daemon.ip6tables).toEqual({ value: true, source: 'default' });
  });

  it('reads the files without Docker, and Docker’s knowledge interprets them after', async () => {
    const dir = tempDir('dwc-snap-');
    copyFileSync(
      path.join(root, '26.1.5/s3-usernet-portmap-ipv6/iptables-save.txt'),
      path.join(dir, 'iptables-save.txt'),
    );
    writeFileSync(path.join(dir, 'daemon.json'), '{"ip6tables": true, "debug": true}');
    const read = await readSnapshot({ directory: dir });
    // The reader says what the files say: daemon.json's own keys, no version, no era.
    expect(read.host.dockerVersion).toBeNull();
    expect(read.host.daemon?.settings.ip6tables?.value).toBe(true);
    expect(read.host.daemon?.settings.icc).toBeUndefined();
    expect(read.host.daemon?.otherKeys).toEqual(['debug']);
    expect('era' in read).toBe(false);
    expect(read.assumptions.map((a) => a.role)).not.toContain('docker-version');
    const s = interpretSnapshot(read);
    // The classic layout gives Docker 27's defaults, and 27 needs no "experimental" for ip6tables.
    expect(s.era.era).toBe('classic');
    expect(s.host.daemon.icc).toEqual({ value: true, source: 'default' });
    expect(s.host.daemon.ip6tables.source).toBe('file');
    expect(s.assumptions.map((a) => a.role)[0]).toBe('docker-version');
    expect(s).toEqual(await loadSnapshot({ directory: dir }));
  });

  it('reports no-ruleset when neither ruleset is there', async () => {
    const dir = tempDir('dwc-snap-');
    writeFileSync(path.join(dir, 'daemon.json'), '{}');
    const s = await loadSnapshot({ directory: dir });
    expect(s.ipv4).toBeNull();
    expect(s.diagnostics.map((d) => d.code)).toEqual(['no-ruleset']);
    expect(s.diagnostics[0]?.severity).toBe('error');
  });

  it('reports a named file that does not exist', async () => {
    const s = await loadSnapshot({
      files: {
        iptables: path.join(root, '28.5.2/s0-new-daemon/iptables-save.txt'),
        containers: '/nonexistent/containers.json',
      },
    });
    expect(s.diagnostics.map((d) => d.code)).toContain('file-not-found');
    expect(s.files.find((f) => f.role === 'containers')?.status).toBe('missing');
  });

  it('reads the rest of the snapshot when one file is broken', async () => {
    const src = path.join(root, '28.5.2/s3-usernet-portmap');
    const dir = tempDir('dwc-snap-');
    for (const f of ['iptables-save.txt', 'networks.json', 'docker-version.json']) {
      copyFileSync(path.join(src, f), path.join(dir, f));
    }
    const containers = readFileSync(path.join(src, 'containers.json'), 'utf8');
    writeFileSync(path.join(dir, 'containers.json'), containers.slice(0, 500));
    writeFileSync(path.join(dir, 'daemon.json'), '{"icc": "no", "userland-proxy": false}');
    const s = await loadSnapshot({ directory: dir });
    expect(s.files.find((f) => f.role === 'containers')?.status).toBe('invalid');
    const codes = s.diagnostics.map((d) => `${path.basename(d.location.file)}:${d.code}`);
    expect(codes).toEqual([
      'containers.json:partial-input',
      'containers.json:invalid-json',
      'daemon.json:wrong-type',
      // the rules were written with the proxy on: daemon.json changed since, or a flag
      'iptables-save.txt:daemon-config-mismatch',
    ]);
    expect(s.host.networks.map((n) => n.bridgeName)).toEqual(['bridge1']);
    expect(s.host.daemon.userlandProxy).toMatchObject({ value: false, source: 'file' });
    expect(s.era.era).toBe('v28');
  });

  it('flags a docker-version.json that disagrees with the rules', async () => {
    const dir = tempDir('dwc-snap-');
    copyFileSync(
      path.join(root, '28.5.2/s0-new-daemon/iptables-save.txt'),
      path.join(dir, 'iptables-save.txt'),
    );
    writeFileSync(path.join(dir, 'docker-version.json'), '{"Server": {"Version": "24.0.7"}}');
    const s = await loadSnapshot({ directory: dir });
    expect(s.era.era).toBe('v28');
    expect(s.era.versionMismatch).toMatch(/says 24.0.7.*classic layout.*v28 layout/);
  });
});
