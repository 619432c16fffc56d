import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDockerVersion } from '../../src/ingest/docker-version.ts';
import { loadIpAddr, loadIpRoute } from '../../src/ingest/ip.ts';
import { loadListeners } from '../../src/ingest/listeners.ts';
import { loadNetworks } from '../../src/ingest/networks.ts';
import { parseNft } from '../../src/ingest/nft/index.ts';
import { tableId } from '../../src/model/ruleset.ts';
import { loadSysctl } from '../../src/ingest/sysctl.ts';

const fixtures = path.resolve(import.meta.dirname, '../../fixtures/snapshots');
const read = (rel: string) => readFileSync(path.join(fixtures, rel), 'utf8');

describe('loadNetworks', () => {
  it('names bridges: the option, docker0 for the default bridge, br-<12 of id> otherwise', () => {
    const text = JSON.stringify([
      { Name: 'bridge', Id: '1'.repeat(64), Driver: 'bridge', Options: {}, IPAM: { Config: [] } },
      {
        Name: 'app',
        Id: 'abcdef0123456789'.repeat(4),
        Driver: 'bridge',
        IPAM: { Config: [{ Subnet: '10.5.0.0/24' }] },
      },
      {
        Name: 'named',
        Id: '2'.repeat(64),
        Driver: 'bridge',
        Options: { 'com.docker.network.bridge.name': 'br-x' },
      },
      { Name: 'mv', Id: '3'.repeat(64), Driver: 'macvlan', Options: { parent: 'eth0' } },
    ]);
    const r = loadNetworks(text, 'n.json');
    expect(r.diagnostics).toEqual([]);
    expect(r.networks.map((n) => n.bridgeName)).toEqual([
      'docker0',
      'br-abcdef012345',
      'br-x',
      null,
    ]);
    expect(r.networks[1]?.subnets).toEqual([
      { family: 'ipv4', cidr: '10.5.0.0/24', gateway: null },
    ]);
  });

  it('reads icc, internal, IPv6 and gateway modes from real output', () => {
    const internal = loadNetworks(
      read('20.10.24/s4-usernet-internal/networks.json'),
      'n.json',
    ).networks;
    expect(internal.map((n) => [n.name, n.bridgeName, n.internal, n.icc])).toEqual([
      ['netICC', 'bridgeICC', true, true],
      ['netNoICC', 'bridgeNoICC', true, false],
    ]);
    const v6 = loadNetworks(read('28.5.2/s7-usernet-ipv6-ip6tables/networks.json'), 'n.json')
      .networks[0];
    expect(v6?.enableIPv6).toBe(true);
    expect(v6?.subnets.map((s) => [s.family, s.cidr, s.gateway])).toEqual([
      ['ipv4', '192.0.2.0/24', '192.0.2.1'],
      ['ipv6', 'fd00:db8:1::/64', 'fd00:db8:1::1'],
    ]);
    const def = loadNetworks(read('28.5.2/s1-default-bridge-p8080/networks.json'), 'n.json')
      .networks[0];
    expect([def?.isDefaultBridge, def?.hostBindingIpv4, def?.gatewayModeV4]).toEqual([
      true,
      '0.0.0.0',
      'nat',
    ]);
  });

  it('reports a network without a name and reads the others', () => {
    const r = loadNetworks(
      '[{"Id": "x", "Driver": "bridge"}, {"Name": "ok", "Id": "y", "Driver": "bridge"}]',
      'n.json',
    );
    expect(r.networks.map((n) => n.name)).toEqual(['ok']);
    expect(r.diagnostics[0]).toMatchObject({
      code: 'missing-field',
      message: 'networks[0].Name is missing',
    });
  });
});

describe('loadListeners', () => {
  it('reads the `ss -ltnp` form of the captures', () => {
    const r = loadListeners(read('20.10.24/s1-default-bridge-p8080/listeners.txt'), 'l.txt');
    expect(r.diagnostics).toEqual([]);
    expect(
      r.listeners.map((l) => [
        l.protocol,
        l.address,
        l.port,
        l.kind,
        l.process?.pid,
        l.location.line,
      ]),
    ).toEqual([
      ['tcp', '0.0.0.0', 8080, 'docker-proxy', 6717, 2],
      ['tcp', '::', 8080, 'docker-proxy', 6722, 3],
    ]);
    const dockerd = loadListeners(
      read('20.10.24/s6-usernet-portmap-noproxy/listeners.txt'),
      'l.txt',
    );
    expect(dockerd.listeners[0]?.kind).toBe('dockerd');
  });

  it('reads the collector’s `ss -Htlnup` form with udp, scopes and no process', () => {
    const text = [
      'udp   UNCONN 0      0      127.0.0.53%lo:53        0.0.0.0:*    users:(("systemd-resolve",pid=512,fd=13))',
      'tcp   LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=900,fd=3))',
      'tcp   LISTEN 0      4096            [::]:5432         [::]:*',
      'tcp   LISTEN 0      4096      localhost:http     0.0.0.0:*',
    ].join('\n');
    const r = loadListeners(text, 'l.txt');
    expect(r.listeners.map((l) => [l.protocol, l.address, l.port, l.kind])).toEqual([
      ['udp', '127.0.0.53', 53, 'other'],
      ['tcp', '0.0.0.0', 22, 'other'],
      ['tcp', '::', 5432, 'unknown'],
    ]);
    expect(r.diagnostics.map((d) => [d.code, d.location.line])).toEqual([
      ['invalid-listener-line', 4],
    ]);
  });
});

describe('ip, sysctl and nft files', () => {
  it('reads interfaces and addresses from `ip -j addr show`', () => {
    const text = JSON.stringify([
      {
        ifindex: 1,
        ifname: 'lo',
        flags: ['LOOPBACK', 'UP'],
        link_type: 'loopback',
        addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }],
      },
      {
        ifindex: 3,
        ifname: 'docker0',
        flags: ['NO-CARRIER', 'BROADCAST'],
        linkinfo: { info_kind: 'bridge' },
        addr_info: [
          { family: 'inet', local: '172.17.0.1', prefixlen: 16 },
          { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
        ],
      },
    ]);
    const r = loadIpAddr(text, 'a.json');
    expect(r.diagnostics).toEqual([]);
    expect(
      r.interfaces.map((i) => [
        i.name,
        i.up,
        i.kind,
        i.addresses.map((a) => `${a.address}/${a.prefixLength}`),
      ]),
    ).toEqual([
      ['lo', true, 'loopback', ['127.0.0.1/8']],
      ['docker0', false, 'bridge', ['172.17.0.1/16', 'fe80::1/64']],
    ]);
  });

  it('reads routes of both families with tables and types', () => {
    const text = JSON.stringify([
      { dst: 'default', gateway: '203.0.113.254', dev: 'eth0' },
      { dst: '172.17.0.0/16', dev: 'docker0', prefsrc: '172.17.0.1' },
      { type: 'local', dst: '203.0.113.1', dev: 'eth0', table: 'local' },
      { dst: 'fd00::/64', dev: 'br-1' },
    ]);
    const r = loadIpRoute(text, 'r.json');
    expect(r.routes.map((x) => [x.family, x.destination, x.device, x.table, x.type])).toEqual([
      ['ipv4', 'default', 'eth0', 'main', 'unicast'],
      ['ipv4', '172.17.0.0/16', 'docker0', 'main', 'unicast'],
      ['ipv4', '203.0.113.1/32', 'eth0', 'local', 'local'],
      ['ipv6', 'fd00::/64', 'br-1', 'main', 'unicast'],
    ]);
  });

  it('reads the routes that send nowhere, and the family of a route that names no address', () => {
    // as `ip -j -4 route` and `ip -j -6 route` print them: a router preference on IPv6 routes
    const text = JSON.stringify([
      { type: 'blackhole', dst: '10.244.12.0/26', protocol: 'bird', flags: [] },
      { type: 'blackhole', dst: 'default', flags: [] },
      { dst: 'default', dev: 'wg0', scope: 'link', flags: [] },
      { type: 'unreachable', dst: '2001:db8:9::/48', dev: 'lo', metric: 1024, pref: 'medium' },
      { type: 'prohibit', dst: 'default', dev: 'lo', metric: 2000, flags: [], pref: 'medium' },
      { dst: 'default', dev: 'he-ipv6', metric: 1024, flags: [], pref: 'medium' },
    ]);
    const r = loadIpRoute(text, 'r.json');
    expect(r.routes.map((x) => [x.family, x.destination, x.device, x.type])).toEqual([
      ['ipv4', '10.244.12.0/26', null, 'blackhole'],
      ['ipv4', 'default', null, 'blackhole'],
      ['ipv4', 'default', 'wg0', 'unicast'],
      ['ipv6', '2001:db8:9::/48', 'lo', 'unreachable'],
      ['ipv6', 'default', 'lo', 'prohibit'],
      ['ipv6', 'default', 'he-ipv6', 'unicast'],
    ]);
    expect(r.diagnostics).toEqual([]);
  });

  it('reads a multipath route’s interfaces from its next hops, of either family', () => {
    const hop = (gateway: string, dev: string) => ({ gateway, dev, weight: 1, flags: [] });
    const r = loadIpRoute(
      JSON.stringify([
        {
          dst: 'default',
          flags: [],
          nexthops: [hop('192.0.2.1', 'a0'), hop('198.51.100.1', 'b0')],
        },
        {
          dst: 'default',
          metric: 1024,
          flags: [],
          pref: 'medium',
          nexthops: [hop('2001:db8:a::1', 'a0'), hop('2001:db8:b::1', 'b0')],
        },
      ]),
      'r.json',
    );
    expect(r.routes.map((x) => [x.family, x.destination, x.device, x.nexthops])).toEqual([
      ['ipv4', 'default', null, ['a0', 'b0']],
      ['ipv6', 'default', null, ['a0', 'b0']],
    ]);
    expect(r.diagnostics).toEqual([]);
  });

  it('names the kernel’s reserved tables whichever way the input spells them', () => {
    const r = loadIpRoute(
      JSON.stringify([
        { dst: '10.9.0.0/16', dev: 'x0', table: 254 },
        { type: 'local', dst: '10.9.0.1', dev: 'x0', table: '255' },
        { dst: 'default', dev: 'x0', table: 253 },
        { dst: 'default', dev: 'wg0', table: '51820' },
      ]),
      'r.json',
    );
    expect(r.routes.map((x) => x.table)).toEqual(['main', 'local', 'default', '51820']);
  });

  it('reads sysctl lines and reports values that are not 0 or 1', () => {
    const r = loadSysctl(
      'net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 0\nnet.ipv6.conf.all.forwarding = x\n',
      's.txt',
    );
    expect(r.sysctls).toEqual({
      ipv4Forward: true,
      ipv6Forward: null,
      bridgeNfCallIptables: false,
      bridgeNfCallIp6tables: null,
      routeLocalnet: null,
      routeLocalnetByInterface: new Map(),
      rpFilter: null,
      rpFilterByInterface: new Map(),
      forwardingByInterface: new Map(),
      acceptLocal: null,
      acceptLocalByInterface: new Map(),
    });
    expect(r.diagnostics.map((d) => [d.code, d.location.line])).toEqual([['invalid-value', 3]]);
  });

  it('reads accept_local for all and per interface', () => {
    const r = loadSysctl(
      [
        'net.ipv4.conf.all.accept_local = 0',
        'net.ipv4.conf.default.accept_local = 1',
        'net.ipv4.conf.eth0.accept_local = 1',
        'net/ipv4/conf/br.lan/accept_local = 0',
        'net.ipv4.conf.docker0.accept_local = 2',
      ].join('\n'),
      's.txt',
    );
    expect(r.sysctls.acceptLocal).toBe(false);
    // `default` decides nothing: it is the template of interfaces yet to come
    expect([...r.sysctls.acceptLocalByInterface]).toEqual([
      ['eth0', true],
      ['br.lan', false],
    ]);
    expect(r.diagnostics.map((d) => [d.message, d.location.line])).toEqual([
      ['net.ipv4.conf.docker0.accept_local should be 0 or 1, found "2"', 5],
    ]);
  });

  it('reads IPv4 forwarding per interface beside the family’s switch', () => {
    const r = loadSysctl(
      [
        'net.ipv4.ip_forward = 1',
        'net.ipv4.conf.default.forwarding = 0',
        'net.ipv4.conf.eth0.forwarding = 0',
        'net/ipv4/conf/br.lan/forwarding = 1',
        'net.ipv4.conf.docker0.forwarding = on',
      ].join('\n'),
      's.txt',
    );
    expect(r.sysctls.ipv4Forward).toBe(true);
    expect([...r.sysctls.forwardingByInterface]).toEqual([
      ['eth0', false],
      ['br.lan', true],
    ]);
    expect(r.diagnostics.map((d) => [d.message, d.location.line])).toEqual([
      ['net.ipv4.conf.docker0.forwarding should be 0 or 1, found "on"', 5],
    ]);
  });

  it('reads route_localnet for all and per interface, in both of sysctl key spellings', () => {
    const r = loadSysctl(
      [
        'net.ipv4.conf.all.route_localnet = 0',
        'net.ipv4.conf.default.route_localnet = 1',
        'net.ipv4.conf.eth0.route_localnet = 1',
        // sysctl writes a dot in an interface name as a slash
        'net.ipv4.conf.eth0/100.route_localnet = 0',
        'net/ipv4/conf/br.lan/route_localnet = 1',
        'net.ipv4.conf.__proto__.route_localnet = 1',
        // the kernel refuses only "/", ":" and blanks in a name
        'net.ipv4.conf.wg+ü@1.route_localnet = 1',
        'net.ipv4.conf.docker0.route_localnet = yes',
        'net.ipv4.conf.eth0.rp_filter = 1',
      ].join('\n'),
      's.txt',
    );
    expect(r.sysctls.routeLocalnet).toBe(false);
    expect([...r.sysctls.routeLocalnetByInterface]).toEqual([
      ['eth0', true],
      ['eth0.100', false],
      ['br.lan', true],
      ['__proto__', true],
      ['wg+ü@1', true],
    ]);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    expect(r.diagnostics.map((d) => [d.code, d.location.line])).toEqual([['invalid-value', 8]]);
  });

  it('reads rp_filter for all and per interface: 0, 1 (strict) or 2 (loose), nothing else', () => {
    const r = loadSysctl(
      [
        'net.ipv4.conf.all.rp_filter = 2',
        'net.ipv4.conf.default.rp_filter = 1',
        'net.ipv4.conf.eth0.rp_filter = 1',
        'net/ipv4/conf/br.lan/rp_filter = 0',
        'net.ipv4.conf.docker0.rp_filter = 3',
        'net.ipv4.conf.eth1.route_localnet = 2',
        'net.ipv4.conf.__proto__.rp_filter = 2',
      ].join('\n'),
      's.txt',
    );
    expect(r.sysctls.rpFilter).toBe(2);
    expect([...r.sysctls.rpFilterByInterface]).toEqual([
      ['eth0', 1],
      ['br.lan', 0],
      ['__proto__', 2],
    ]);
    expect(r.sysctls.routeLocalnetByInterface.size).toBe(0);
    expect(r.diagnostics.map((d) => [d.message, d.location.line])).toEqual([
      ['net.ipv4.conf.docker0.rp_filter should be 0, 1 or 2, found "3"', 5],
      ['net.ipv4.conf.eth1.route_localnet should be 0 or 1, found "2"', 6],
    ]);
  });

  it("reads an nftables listing: 28.5.2 with DOCKER_FIREWALL_BACKEND set still wrote iptables-nft's tables", () => {
    const text = read(
      '28.5.2/s19-env-DOCKER_FIREWALL_BACKEND-nftables-bridge-still-iptables/nft-ruleset.txt',
    );
    const r = parseNft(text, 'nft.txt');
    expect(r.ruleset?.tables.map((t) => tableId(t))).toContain('ip nat');
    expect(r.ruleset?.tables.every((t) => t.nft?.iptablesNft)).toBe(true);
    expect(r.ruleset?.tables.some((t) => t.name === 'docker-bridges')).toBe(false);
    expect(r.diagnostics).toEqual([]);
    const json = JSON.stringify({
      nftables: [
        { metainfo: {} },
        { table: { family: 'ip', name: 'docker-bridges', handle: 1 } },
        { rule: {} },
      ],
    });
    const j = parseNft(json, 'nft.json');
    expect(j.ruleset?.tables.map((t) => tableId(t))).toEqual(['ip docker-bridges']);
    expect(j.diagnostics.map((d) => d.code)).toEqual(['nft-json-invalid']);
  });
});

describe('loadDockerVersion', () => {
  it('reads the engine version, and says when the daemon was not reachable', () => {
    expect(
      loadDockerVersion(
        '{"Client": {"Version": "28.2.2"}, "Server": {"Version": "28.5.2"}}',
        'v.json',
      ),
    ).toEqual({
      version: '28.5.2',
      diagnostics: [],
    });
    const down = loadDockerVersion('{"Client": {"Version": "28.2.2"}, "Server": null}', 'v.json');
    expect(down.version).toBeNull();
    expect(down.diagnostics.map((d) => [d.code, d.severity])).toEqual([
      ['missing-field', 'warning'],
    ]);
    expect(down.diagnostics[0]?.message).toMatch(/daemon was not reachable/);
  });
});
