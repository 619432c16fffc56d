import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildHostContext,
  buildNetworkContext,
  describeAddress,
  detectEra,
  findRuleDrift,
  isDockerManagedChain,
  mapPublishedPorts,
  silenceCause,
} from '../../src/docker/index.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import { parseNft } from '../../src/ingest/nft/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { loadIpRule } from '../../src/ingest/ip.ts';
import { DEFAULT_RULES, WG_QUICK_RULES } from '../support/policy-rules.ts';
import type { Ruleset } from '../../src/model/ruleset.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const fixtures = path.join(repoRoot, 'fixtures/snapshots');
const golden = path.resolve(repoRoot, '../shared/reference/moby-golden');
const load = (rel: string) => loadSnapshot({ directory: path.join(fixtures, rel) });

/** The same ruleset without the rules whose text contains `needle`. */
function withoutRules(rs: Ruleset, needle: string): Ruleset {
  return {
    ...rs,
    tables: rs.tables.map((t) => ({
      ...t,
      chains: t.chains.map((c) => ({
        ...c,
        rules: c.rules.filter((r) => !r.text.includes(needle)),
      })),
    })),
  };
}

describe('detectEra', () => {
  it('says none, with evidence, for rules without Docker chains', () => {
    const { ruleset } = parseIptables(
      '*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n',
      {
        file: 'x',
      },
    );
    const era = detectEra({ ipv4: ruleset, ipv6: null, dockerVersion: null });
    expect(era.era).toBe('none');
    expect(era.evidence[0]?.text).toMatch(/no Docker chains/);
  });

  it('names the chains that decided classic and v28, with their locations', async () => {
    const classic = (await load('20.10.24/s1-default-bridge-p8080')).era;
    expect(classic.era).toBe('classic');
    expect(classic.evidence.map((e) => e.text).join('\n')).toMatch(
      /DOCKER-ISOLATION-STAGE-1 exists without DOCKER-FORWARD/,
    );
    const v28 = (await load('28.5.2/s1-default-bridge-p8080')).era;
    expect(v28.evidence[0]?.location?.line).toBeGreaterThan(0);
    expect(v28.evidence[0]?.text).toMatch(/DOCKER-FORWARD exists/);
  });

  it('notices the missing DOCKER-USER of 28.x with DOCKER_FIREWALL_BACKEND=nftables', async () => {
    const s = await load('28.5.2/s19-env-DOCKER_FIREWALL_BACKEND-nftables-bridge-still-iptables');
    expect(s.era.era).toBe('v28');
    expect(s.era.evidence.map((e) => e.text)).toContain(
      'no DOCKER-USER chain in the IPv4 filter table (28.x started with DOCKER_FIREWALL_BACKEND=nftables, or the chain was removed)',
    );
  });

  describe.skipIf(!existsSync(golden))(
    '29.x layouts from moby golden files (needs ../shared/reference)',
    () => {
      const pick = (dir: string, suffix: string) => {
        const name = readdirSync(path.join(golden, dir)).find(
          (f) => !f.startsWith('cleaned') && f.endsWith(suffix),
        );
        if (name === undefined) throw new Error(`no ${suffix} golden`);
        return readFileSync(path.join(golden, dir, name), 'utf8');
      };
      it('detects 28.0.0 from its ipset match in FORWARD (moby iptablesdoc v28.0.0)', () => {
        const doc = readFileSync(
          path.join(golden, '../moby-iptablesdoc/v28.0.0/new-daemon.md'),
          'utf8',
        );
        // the filter table's `iptables -S` listing from the doc's details block
        const listing = doc
          .split('\n')
          .slice(
            0,
            doc.split('\n').findIndex((l) => l.includes('-P PREROUTING')),
          )
          .filter((l) => /^ {4}-[ANP] /.test(l))
          .map((l) => l.trim())
          .join('\n');
        const { ruleset } = parseIptables(
          `*filter\n${listing.replace(/^-P (\S+) (\S+)$/gm, ':$1 $2 [0:0]').replace(/^-N (\S+)$/gm, ':$1 - [0:0]')}\nCOMMIT\n`,
          { file: 'v28.0.0' },
        );
        const era = detectEra({ ipv4: ruleset, ipv6: null, dockerVersion: '28.0.0' });
        expect(era.era).toBe('v28');
        expect(era.evidence[0]?.text).toMatch(/ipset docker-ext-bridges \(Docker 28.0.0\)/);
        expect(era.versionMismatch).toBeNull();
      });

      it('detects v29 from DOCKER-INTERNAL and no isolation chains', () => {
        const { ruleset } = parseIptables(pick('iptabler', '__iptables.golden'), { file: 'g' });
        const era = detectEra({ ipv4: ruleset, ipv6: null, dockerVersion: '29.1.2' });
        expect(era.era).toBe('v29');
        expect(era.versionMismatch).toBeNull();
        expect(era.evidence.map((e) => e.text)).toContain(
          'filter chain DOCKER-INTERNAL exists (new in 29.0)',
        );
      });
      it('detects the nftables backend from table docker-bridges and cross-checks the version', () => {
        const { ruleset } = parseNft(pick('nftabler', '__ip.golden'), 'nft.txt');
        const era = detectEra({
          ipv4: null,
          ipv6: null,
          nftTables:
            ruleset?.tables.map((t) => ({
              family: t.nft?.family ?? '',
              name: t.name,
              line: t.location.line,
            })) ?? null,
          nftFile: 'nft.txt',
          dockerVersion: '28.5.2',
        });
        expect(era.era).toBe('nftables');
        expect(era.evidence[0]).toMatchObject({ location: { file: 'nft.txt', line: 1 } });
        expect(era.versionMismatch).toMatch(/28.5.2.*nftables layout/);
      });
    },
  );
});

describe('isDockerManagedChain', () => {
  it('knows which chains each era writes, and that DOCKER-USER is the user’s', () => {
    expect(isDockerManagedChain('filter', 'DOCKER-FORWARD', 'v28')).toBe(true);
    expect(isDockerManagedChain('filter', 'DOCKER-FORWARD', 'classic')).toBe(false);
    expect(isDockerManagedChain('filter', 'DOCKER-ISOLATION-STAGE-2', 'v29')).toBe(false);
    expect(isDockerManagedChain('filter', 'DOCKER-INTERNAL', 'v29')).toBe(true);
    expect(isDockerManagedChain('nat', 'DOCKER', 'classic')).toBe(true);
    expect(isDockerManagedChain('filter', 'DOCKER-USER', 'v28')).toBe(false);
    expect(isDockerManagedChain('filter', 'FORWARD', 'v29')).toBe(false);
    expect(isDockerManagedChain('filter', 'DOCKER-ISOLATION-STAGE-1', 'nftables')).toBe(true);
  });
});

describe('mapPublishedPorts', () => {
  it('finds DNAT, ACCEPT and the raw direct-access DROP of a 28.x published port', async () => {
    const [v4, v6] = mapPublishedPorts(await load('28.5.2/s1-default-bridge-p8080'));
    expect(v4?.via).toBe('rules');
    expect(v4?.dnat.map((r) => r.text)).toEqual([
      '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80',
    ]);
    expect(v4?.accept.map((r) => r.text)).toEqual([
      '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT',
    ]);
    expect(v4?.rawDrop.map((r) => r.text)).toEqual([
      '-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP',
    ]);
    expect(v4?.missing).toEqual([]);
    // [::]:8080 of an IPv4-only container: docker-proxy, no rule can implement it
    expect(v6).toMatchObject({ family: 'ipv6', via: 'proxy', containerAddress: null });
  });

  it('maps IPv6 publishing through ip6tables', async () => {
    const ports = mapPublishedPorts(await load('28.5.2/s7-usernet-ipv6-ip6tables'));
    const v6 = ports.find((p) => p.family === 'ipv6');
    expect(v6?.containerAddress).toBe('fd00:db8:1::2');
    expect(v6?.dnat[0]?.text).toContain('--to-destination [fd00:db8:1::2]:80');
    expect(v6?.rawDrop.length).toBe(1);
  });

  it('has no DNAT for a routed mapping and says what is missing when a rule was removed', async () => {
    const routed = mapPublishedPorts(await load('28.5.2/s17-usernet-portmap-routed'))[0];
    expect(routed).toMatchObject({ via: 'routed', missing: [] });
    const s = await load('28.5.2/s2-usernet-portmap-lo');
    expect(s.host.containers).toEqual([]); // this capture has no inspect file
    const s1 = await load('20.10.24/s2-default-bridge-p127.0.0.1-8080');
    const ipv4 = s1.ipv4;
    if (ipv4 === null) throw new Error('no ruleset');
    const broken: Snapshot = { ...s1, ipv4: withoutRules(ipv4, 'DNAT') };
    expect(mapPublishedPorts(broken)[0]?.missing).toEqual(['nat DOCKER DNAT rule']);
    expect(mapPublishedPorts(s1)[0]?.dnat[0]?.text).toContain('-d 127.0.0.1/32');
  });
});

describe('mapPublishedPorts on the nftables backend', () => {
  it("finds the dnat, the bridge's accept and the raw drops in Docker's docker-bridges table", async () => {
    const ports = mapPublishedPorts(await load('29.7.2/s2a-nftables-portmap'));
    const lo0 = ports.find((p) => p.container.name === 'lo0');
    expect(lo0?.dnat.map((r) => r.text)).toEqual([
      'iifname != "docker0" ip daddr 127.0.0.1 tcp dport 8082 counter packets 0 bytes 0 dnat to 172.17.0.3:80 comment "DNAT"',
    ]);
    expect(lo0?.accept.map((r) => `${r.chain}: ${r.text}`)).toEqual([
      'filter-forward-in__docker0: ip daddr 172.17.0.3 tcp dport 80 counter packets 0 bytes 0 accept',
    ]);
    // direct access to the container, and remote access to its loopback-published port
    expect(lo0?.rawDrop.map((r) => r.text)).toEqual([
      'ip daddr 172.17.0.3 iifname != "docker0" counter packets 5 bytes 300 drop comment "DROP DIRECT ACCESS"',
      'iifname != "lo" ip daddr 127.0.0.1 tcp dport 8082 counter packets 0 bytes 0 drop comment "DROP REMOTE LOOPBACK"',
    ]);
    const web1 = ports.find((p) => p.container.name === 'web1' && p.family === 'ipv4');
    expect(web1?.accept.map((r) => r.chain)).toEqual(['filter-forward-in__bridge1']);
    expect(ports.every((p) => p.missing.length === 0)).toBe(true);
  });

  it("says what is missing when Docker's nftables dnat was deleted", async () => {
    const s = await load('29.7.2/s2a-nftables-portmap');
    const nft = s.nft;
    if (nft === null) throw new Error('no nftables ruleset');
    const broken: Snapshot = {
      ...s,
      nft: {
        ...nft,
        tables: nft.tables.map((t) => ({
          ...t,
          chains: t.chains.map((c) => ({
            ...c,
            rules: c.rules.filter((r) => r.target?.kind !== 'DNAT'),
          })),
        })),
      },
    };
    expect(mapPublishedPorts(broken).find((p) => p.container.name === 'web0')?.missing).toEqual([
      'nat-prerouting-and-output dnat rule',
    ]);
  });
});

describe('mapPublishedPorts in nat-unprotected mode', () => {
  it('counts the bridge-wide ACCEPT as the rule that lets the port in', async () => {
    const s3 = path.join(fixtures, '28.5.2/s3-usernet-portmap');
    const s = await loadSnapshot({
      files: {
        iptables: path.join(fixtures, '28.5.2/s18-usernet-portmap-natunprot/iptables-save.txt'),
        containers: path.join(s3, 'containers.json'),
        networks: path.join(s3, 'networks.json'),
      },
    });
    const [v4] = mapPublishedPorts(s);
    expect(v4?.accept.map((r) => r.text)).toEqual(['-A DOCKER ! -i bridge1 -o bridge1 -j ACCEPT']);
    expect(v4?.rawDrop).toEqual([]);
    expect(v4?.missing).toEqual([]);
  });
});

describe('findRuleDrift', () => {
  it('finds nothing on consistent captures', async () => {
    for (const rel of [
      '20.10.24/s1-default-bridge-p8080',
      '28.5.2/s7-usernet-ipv6-ip6tables',
      '20.10.24/s9-default-bridge-icc-false-link',
    ]) {
      expect(findRuleDrift(await load(rel))).toEqual([]);
    }
  });

  it('reports Docker rules for a container that is gone', async () => {
    const s = await load('28.5.2/s1-default-bridge-p8080');
    const gone: Snapshot = { ...s, host: { ...s.host, containers: [] } };
    expect(findRuleDrift(gone).map((d) => [d.kind, d.address, d.port])).toEqual([
      ['dnat', '172.17.0.2', 80],
      ['accept', '172.17.0.2', 80],
      ['raw-drop', '172.17.0.2', null],
    ]);
    expect(findRuleDrift(gone)[0]?.reason).toBe(
      "DNAT to 172.17.0.2, which is no current container's address",
    );
  });

  it('says nothing when no containers file was read', async () => {
    const s = await loadSnapshot({
      files: { iptables: path.join(fixtures, '28.5.2/s1-default-bridge-p8080/iptables-save.txt') },
    });
    expect(findRuleDrift(s)).toEqual([]);
  });
});

describe('buildNetworkContext and describeAddress', () => {
  it('derives bridges and routes without ip-addr.json and assumes only the default route', async () => {
    const s = await load('28.5.2/s3-usernet-portmap');
    const { context: ctx, facts } = buildHostContext(s, 'ipv4');
    expect(ctx.interfaces).toEqual(['lo', 'bridge1', 'docker0']);
    expect(ctx.localAddresses).toEqual(['127.0.0.1', '192.0.2.1']);
    expect(ctx.localAddressesComplete).toBe(false);
    expect(ctx.foreignAddresses).toEqual(['192.0.2.0/24', '192.0.2.2']);
    // bridge1 holds 192.0.2.1/24: its broadcast address, never forwarded
    expect(ctx.broadcastAddresses).toEqual(['192.0.2.255']);
    // the network's gateway, taken for its bridge's address, is where the route sends from;
    // docker0's comes from the rules alone, which do not give it
    expect(ctx.routes).toEqual([
      {
        destination: '192.0.2.0/24',
        device: 'bridge1',
        source: '192.0.2.1',
        provenance: 'derived',
      },
      { destination: '172.17.0.0/16', device: 'docker0', provenance: 'derived' },
      { destination: 'default', device: '*other*', provenance: 'assumed' },
    ]);
    expect(facts.filter((f) => f.provenance === 'assumed').map((f) => f.subject)).toEqual([
      'addresses',
      'route',
      // no sysctl.txt: a loopback destination from outside is taken to be dropped
      'route-localnet',
      // and a spoofed source taken to be routed (rp_filter off, the kernel's default)
      'rp-filter',
      // but one of the host's own addresses taken to be dropped (accept_local off, likewise)
      'accept-local',
      // and no source checked by its route back (no rule or local route added by hand)
      'source-check',
    ]);
    // the docker0 subnet is known from the rule Docker writes for it
    expect(facts.find((f) => f.text === '172.17.0.0/16 via docker0')?.evidence).toMatch(
      /iptables-save\.txt:\d+: MASQUERADE of 172\.17\.0\.0\/16 leaving by any interface but docker0/,
    );
  });

  it('takes each IPv4 prefix’s broadcast address from ip-addr.json', async () => {
    const s = await loadSnapshot({ directory: path.join(repoRoot, 'fixtures/example-host') });
    expect(buildNetworkContext(s, 'ipv4').broadcastAddresses).toEqual([
      '203.0.113.255',
      '172.17.255.255',
      '172.18.255.255',
    ]);
    expect(buildNetworkContext(s, 'ipv6').broadcastAddresses).toBeUndefined();
  });

  it('takes the main table’s dead ends and the local table’s prefixes from ip-route.json', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dockwall-dead-ends-'));
    try {
      const host = path.join(repoRoot, 'fixtures/example-host');
      const routes = JSON.parse(
        readFileSync(path.join(host, 'ip-route.json'), 'utf8'),
      ) as unknown[];
      writeFileSync(
        path.join(dir, 'ip-route.json'),
        JSON.stringify([
          ...routes,
          { type: 'blackhole', dst: '10.244.12.0/26', protocol: 'bird', flags: [] },
          { type: 'unreachable', dst: '2001:db8:9::/48', dev: 'lo' },
          { type: 'prohibit', dst: '198.19.0.0/16', table: '100' },
          { type: 'blackhole', dst: '198.18.0.0/16', table: 'local' },
          // IPv6's, as `ip -j -6` prints it: no address, a router preference
          { dst: 'default', dev: 'he-ipv6', metric: 1024, flags: [], pref: 'medium' },
          // AnyIP: a prefix every address of which is the host's; and an address it holds
          { type: 'local', dst: '198.51.100.0/24', dev: 'lo', table: 'local' },
          { type: 'local', dst: '2001:db8:77::/64', dev: 'lo', table: 'local', pref: 'medium' },
          { type: 'local', dst: '127.0.0.1', dev: 'lo', table: 'local' },
        ]),
      );
      const s = await loadSnapshot({
        files: {
          iptables: path.join(host, 'iptables-save.txt'),
          'ip-addr': path.join(host, 'ip-addr.json'),
          'ip-route': path.join(dir, 'ip-route.json'),
        },
      });
      expect(buildNetworkContext(s, 'ipv4').deadEnds).toEqual([
        { destination: '10.244.12.0/26', type: 'blackhole' },
      ]);
      expect(buildNetworkContext(s, 'ipv6').deadEnds).toEqual([
        { destination: '2001:db8:9::/48', type: 'unreachable' },
      ]);
      const device = (family: 'ipv4' | 'ipv6'): (string | undefined)[] =>
        buildNetworkContext(s, family)
          .routes.filter((r) => r.destination === 'default')
          .map((r) => r.device);
      expect(device('ipv6')).toContain('he-ipv6');
      expect(buildNetworkContext(s, 'ipv4').localPrefixes).toEqual(['198.51.100.0/24']);
      expect(buildNetworkContext(s, 'ipv6').localPrefixes).toEqual(['2001:db8:77::/64']);
      expect(device('ipv4')).not.toContain('he-ipv6');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('derives the same from the rules alone', async () => {
    const s = await loadSnapshot({
      files: { iptables: path.join(fixtures, '28.5.2/s3-usernet-portmap/iptables-save.txt') },
    });
    const ctx = buildNetworkContext(s, 'ipv4');
    expect(ctx.interfaces).toEqual(['lo', 'bridge1', 'docker0']);
    expect(ctx.localAddresses).toEqual(['127.0.0.1']);
    expect(ctx.foreignAddresses).toEqual(['192.0.2.2']);
    expect(ctx.routes).toEqual([
      { destination: '192.0.2.0/24', device: 'bridge1', provenance: 'derived' },
      { destination: '172.17.0.0/16', device: 'docker0', provenance: 'derived' },
      { destination: 'default', device: '*other*', provenance: 'assumed' },
    ]);
  });

  it('names the interfaces nftables rules match when only nft-ruleset is given', async () => {
    const s = await loadSnapshot({
      files: { 'nft-ruleset': path.join(repoRoot, 'fixtures/nft/rules-only/nft-ruleset.txt') },
    });
    expect(s.ipv4).toBeNull();
    const { context, facts } = buildHostContext(s, 'ipv4');
    // Docker's bridges (from its docker-bridges rules) and every exact name the operator's
    // iifname/oifname, named set, anonymous set and verdict-map keys match; wildcards are not names
    expect(context.interfaces).toEqual([
      'lo',
      'docker0',
      'bridge1',
      'eth0',
      'ens3',
      'wg0',
      'tun0',
      'enp1s0',
    ]);
    expect(facts.find((f) => f.subject === 'interfaces')?.text).toBe(
      'lo, docker0, bridge1, eth0, ens3, wg0, tun0, enp1s0 and any other interface',
    );
    // the inet table is seen by both families
    expect(buildHostContext(s, 'ipv6').context.interfaces).toEqual(
      expect.arrayContaining(['eth0', 'ens3', 'wg0', 'tun0', 'enp1s0']),
    );
  });

  it('takes observed routes as they are, and forwards nothing where sysctl says so', async () => {
    const s = await loadSnapshot({ directory: path.join(repoRoot, 'fixtures/example-host') });
    expect(buildNetworkContext(s, 'ipv4').routes.every((r) => r.provenance === 'observed')).toBe(
      true,
    );
    // net.ipv6.conf.all.forwarding = 0: nothing IPv6 reaches FORWARD on this host
    expect(buildNetworkContext(s, 'ipv6').forwarding).toBe(false);
    expect(silenceCause(s, 'ipv6')).toBe(
      'IPv6 forwarding is off (sysctl.txt: the host forwards nothing of this family)',
    );
  });

  it('says how it knows whether the host forwards: sysctl.txt, Docker’s networks, else assumed', async () => {
    const dir = path.join(fixtures, '28.5.2/s7-usernet-ipv6-ip6tables');
    const rulesOnly = await loadSnapshot({
      files: {
        iptables: path.join(dir, 'iptables-save.txt'),
        ip6tables: path.join(dir, 'ip6tables-save.txt'),
      },
    });
    const forwarding = (s: Snapshot, family: 'ipv4' | 'ipv6') => {
      const h = buildHostContext(s, family);
      const f = h.facts.find((x) => x.subject === 'forwarding');
      return [h.context.forwarding ?? null, h.context.forwardingAssumed ?? false, f?.provenance];
    };
    // dockerd switched IPv4 forwarding on when it created the networks its rules show
    expect(forwarding(rulesOnly, 'ipv4')).toEqual([null, false, 'derived']);
    // nothing says it did for IPv6 (dockerd before 28 never does): forwarding is only possible
    expect(forwarding(rulesOnly, 'ipv6')).toEqual([null, true, 'assumed']);
    // daemon.json's ip-forward: false means dockerd left it as it was
    const noIpForward: Snapshot = {
      ...rulesOnly,
      host: {
        ...rulesOnly.host,
        daemon: { ...rulesOnly.host.daemon, ipForward: { value: false, source: 'file' } },
      },
    };
    expect(forwarding(noIpForward, 'ipv4')).toEqual([null, true, 'assumed']);
    // sysctl.txt settles it
    const example = await loadSnapshot({ directory: path.join(repoRoot, 'fixtures/example-host') });
    expect(forwarding(example, 'ipv4')).toEqual([null, false, undefined]);
    expect(forwarding(example, 'ipv6')).toEqual([false, false, 'observed']);
  });

  it('says how it knows route_localnet: sysctl.txt per interface, else off unless the rules DNAT to loopback', async () => {
    const base = await load('28.5.2/s3-usernet-portmap');
    const withSysctls = (sysctls: Partial<Snapshot['host']['sysctls']>, rules = base.ipv4) =>
      buildHostContext(
        {
          ...base,
          ipv4: rules,
          host: { ...base.host, sysctls: { ...base.host.sysctls, ...sysctls } },
        },
        'ipv4',
      );
    const localnet = (h: ReturnType<typeof buildHostContext>) => [
      h.context.routeLocalnet?.unknown,
      h.facts.filter((f) => f.subject === 'route-localnet').map((f) => [f.provenance, f.text]),
    ];
    // nothing says: off, the kernel's default, stated
    expect(localnet(withSysctls({}))).toEqual([
      'off',
      [['assumed', "route_localnet is taken to be off, the kernel's default"]],
    ]);
    // every interface listed, one on
    const listed = withSysctls({
      routeLocalnet: false,
      routeLocalnetByInterface: new Map([
        ['bridge1', true],
        ['docker0', false],
      ]),
    });
    expect(localnet(listed)).toEqual(['off', [['observed', 'route_localnet is on for bridge1']]]);
    expect([...(listed.context.routeLocalnet?.interfaces ?? [])]).toEqual([
      ['bridge1', true],
      ['docker0', false],
    ]);
    expect(localnet(withSysctls({ routeLocalnet: true }))[1]).toEqual([
      ['observed', 'route_localnet is on for every interface'],
    ]);
    // a DNAT to 127.0.0.1: its author relies on route_localnet somewhere, so not known is possible
    const dnat = parseIptables(
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        '-A PREROUTING -p tcp -m tcp --dport 5000 -j DNAT --to-destination 127.0.0.1:5000',
        'COMMIT',
        '',
      ].join('\n'),
      { file: 'rules', family: 'ipv4' },
    ).ruleset;
    expect(localnet(withSysctls({}, dnat))).toEqual([
      'possible',
      [['assumed', 'route_localnet is not known']],
    ]);
    // kube-proxy's iptables mode turns it on for localhost NodePorts
    const kube = parseIptables(
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':KUBE-SERVICES - [0:0]',
        '-A PREROUTING -j KUBE-SERVICES',
        'COMMIT',
        '',
      ].join('\n'),
      { file: 'rules', family: 'ipv4' },
    ).ruleset;
    const kubeHost = withSysctls({}, kube);
    expect(localnet(kubeHost)[0]).toBe('possible');
    expect(kubeHost.facts.find((f) => f.subject === 'route-localnet')?.evidence).toMatch(
      /kube-proxy/,
    );
    // …which it sets for all: `all` known off, the rest are taken to be off too
    expect(localnet(withSysctls({ routeLocalnet: false }, kube))[0]).toBe('off');
  });

  it('lists the IPv4 interfaces whose own forwarding is off, and says so', async () => {
    const base = await load('28.5.2/s3-usernet-portmap');
    const off = (family: 'ipv4' | 'ipv6', ipv4Forward: boolean) => {
      const h = buildHostContext(
        {
          ...base,
          host: {
            ...base.host,
            sysctls: {
              ...base.host.sysctls,
              ipv4Forward,
              forwardingByInterface: new Map([
                ['eth0', false],
                ['docker0', true],
              ]),
            },
          },
        },
        family,
      );
      return [
        h.context.unforwardedFrom,
        h.facts.filter((f) => f.text.includes('off on')).map((f) => [f.provenance, f.text]),
      ];
    };
    expect(off('ipv4', true)).toEqual([['eth0'], [['observed', 'IPv4 forwarding is off on eth0']]]);
    // the family's switch off already says it; IPv6 reads no interface's own
    expect(off('ipv4', false)).toEqual([undefined, []]);
    expect(off('ipv6', true)).toEqual([undefined, []]);
  });

  it('says how it knows rp_filter: sysctl.txt, else off, the kernel’s default, stated', async () => {
    const base = await load('28.5.2/s3-usernet-portmap');
    const rp = (sysctls: Partial<Snapshot['host']['sysctls']>) => {
      const h = buildHostContext(
        { ...base, host: { ...base.host, sysctls: { ...base.host.sysctls, ...sysctls } } },
        'ipv4',
      );
      return [
        h.context.rpFilter === undefined
          ? null
          : [h.context.rpFilter.all, [...h.context.rpFilter.interfaces]],
        h.facts.filter((f) => f.subject === 'rp-filter').map((f) => [f.provenance, f.text]),
      ];
    };
    expect(rp({})).toEqual([
      null,
      [['assumed', "rp_filter is taken to be off, the kernel's default"]],
    ]);
    expect(rp({ rpFilter: 1, rpFilterByInterface: new Map([['eth0', 2]]) })).toEqual([
      [1, [['eth0', 2]]],
      [['observed', 'rp_filter is strict for every interface, loose for eth0']],
    ]);
    expect(rp({ rpFilter: 0, rpFilterByInterface: new Map([['eth0', 0]]) })).toEqual([
      [0, [['eth0', 0]]],
      [],
    ]);
    // only interfaces listed: the others are taken to be off
    expect(
      rp({
        rpFilterByInterface: new Map([
          ['eth0', 1],
          ['docker0', 2],
        ]),
      }),
    ).toEqual([
      [
        null,
        [
          ['eth0', 1],
          ['docker0', 2],
        ],
      ],
      [
        ['observed', 'rp_filter is strict for eth0; loose for docker0'],
        [
          'assumed',
          "rp_filter is taken to be off where the interface does not turn it on, the kernel's default",
        ],
      ],
    ]);
  });

  it('says whether the kernel checks every source: a rule or local route of the host’s own', async () => {
    const base = await load('28.5.2/s3-usernet-portmap');
    const rules = (json: unknown) =>
      loadIpRule(JSON.stringify(json), 'ip-rule.json', 'ipv4').rules ?? [];
    const check = (host: Partial<Snapshot['host']>) => {
      const h = buildHostContext({ ...base, host: { ...base.host, ...host } }, 'ipv4');
      return [
        h.context.sourcesChecked ?? null,
        h.facts.filter((f) => f.subject === 'source-check').map((f) => [f.provenance, f.evidence]),
      ];
    };
    const taken = [
      [
        'assumed',
        'had one been (even one removed since), the kernel would check every source from outside by its route back and drop one whose route back is a broadcast or local route (a trace that rests on it says so)',
      ],
    ];
    // the kernel's own rules, or none read: taken not to
    expect(check({ policyRules: { ipv4: rules(DEFAULT_RULES) } })).toEqual([null, taken]);
    expect(check({})).toEqual([null, taken]);
    expect(check({ policyRules: { ipv4: rules(WG_QUICK_RULES) } })).toEqual([
      true,
      [
        [
          'observed',
          'the policy rule "32764: from all lookup main suppress_prefixlength 0" was added by hand: a source whose route back is a broadcast route, or a local route where accept_local is off, is dropped whatever rp_filter says',
        ],
      ],
    ]);
  });

  it('names containers, the host and other addresses', async () => {
    const s = await load('28.5.2/s7-usernet-ipv6-ip6tables');
    expect(describeAddress(s, 'ipv4', '192.0.2.2')).toEqual({
      kind: 'container',
      name: 'c6',
      network: 'net6',
    });
    expect(describeAddress(s, 'ipv6', 'fd00:db8:1:0::2')).toEqual({
      kind: 'container',
      name: 'c6',
      network: 'net6',
    });
    expect(describeAddress(s, 'ipv4', '192.0.2.1')).toEqual({
      kind: 'host',
      name: 'bridge6',
      network: 'net6',
    });
    expect(describeAddress(s, 'ipv4', '127.0.0.5')).toEqual({ kind: 'host', name: 'lo' });
    expect(describeAddress(s, 'ipv4', '192.0.2.77')).toEqual({ kind: 'other', network: 'net6' });
    expect(describeAddress(s, 'ipv4', '203.0.113.9')).toEqual({ kind: 'other' });
  });
});

describe('daemon flags seen in the host but not in daemon.json', () => {
  it('notices --icc=false from the default bridge options and --userland-proxy=false from the rules', async () => {
    const icc = await load('20.10.24/s9-default-bridge-icc-false-link');
    const iccMismatch = icc.diagnostics.filter((d) => d.code === 'daemon-config-mismatch');
    expect(iccMismatch.map((d) => d.message)).toEqual([
      'daemon.json does not set "icc" (Docker\'s default: true), but the default bridge runs with enable_icc=false: dockerd runs with --icc=false (a command-line flag, a systemd drop-in, or daemon.json changed since dockerd started), so false is in effect',
    ]);
    expect(path.basename(iccMismatch[0]?.location.file ?? '')).toBe('networks.json');
    for (const rel of [
      '20.10.24/s6-usernet-portmap-noproxy',
      '28.5.2/s6-usernet-portmap-noproxy',
    ]) {
      const s = await load(rel);
      const d = s.diagnostics.find((x) => x.code === 'daemon-config-mismatch');
      expect(d?.message).toMatch(/runs with --userland-proxy=false \(.*\), which is in effect/);
      expect(
        s.ipv4?.tables
          .flatMap((t) => t.chains)
          .flatMap((c) => c.rules)
          .find((r) => r.location.line === d?.location.line)?.text,
      ).toBe('-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER');
    }
  });

  it('notices --ip6tables from Docker chains in ip6tables-save on 20.10 and 26.1', async () => {
    for (const rel of [
      '20.10.24/s7-default-bridge-ipv6-ip6tables',
      '26.1.5/s3-usernet-portmap-ipv6',
    ]) {
      const d = (await load(rel)).diagnostics.find((x) => x.code === 'daemon-config-mismatch');
      expect(d?.message).toMatch(
        /^daemon.json does not set "ip6tables" \(Docker's default: false\), but ip6tables-save shows Docker's chain (nat|filter) DOCKER: dockerd runs with --ip6tables=true/,
      );
      expect(path.basename(d?.location.file ?? '')).toBe('ip6tables-save.txt');
    }
  });

  it('treats a family whose rules Docker does not program as served by docker-proxy', async () => {
    const s = await load('28.5.2/s7-usernet-ipv6-ip6tables');
    const ipv6 = s.ipv6;
    if (ipv6 === null) throw new Error('no ip6tables');
    const off: Snapshot = {
      ...s,
      ipv6: { ...ipv6, tables: ipv6.tables.filter((t) => t.name !== 'nat') },
    };
    const v6 = mapPublishedPorts(off).find((p) => p.family === 'ipv6');
    expect(v6).toMatchObject({ via: 'proxy', missing: [], containerAddress: 'fd00:db8:1::2' });
  });

  it('stays quiet when the host agrees with the configuration', async () => {
    for (const rel of ['20.10.24/s1-default-bridge-p8080', '28.5.2/s3-usernet-portmap']) {
      expect(
        (await load(rel)).diagnostics.filter((d) => d.code === 'daemon-config-mismatch'),
      ).toEqual([]);
    }
  });
});

describe('external interface without ip-route.json', () => {
  it('routes the default to the host’s real uplink when ip-addr.json names it', async () => {
    const ex = path.join(repoRoot, 'fixtures/example-host');
    const s = await loadSnapshot({
      files: {
        iptables: path.join(ex, 'iptables-save.txt'),
        'ip-addr': path.join(ex, 'ip-addr.json'),
        networks: path.join(ex, 'networks.json'),
      },
    });
    const renamed: Snapshot = {
      ...s,
      host: {
        ...s.host,
        interfaces: s.host.interfaces.map((i) => (i.name === 'eth0' ? { ...i, name: 'ens3' } : i)),
      },
    };
    // a connected prefix's route sends from the address that made it
    expect(buildNetworkContext(renamed, 'ipv4').routes).toEqual([
      {
        destination: '203.0.113.0/24',
        device: 'ens3',
        source: '203.0.113.10',
        provenance: 'derived',
      },
      {
        destination: '172.17.0.0/16',
        device: 'docker0',
        source: '172.17.0.1',
        provenance: 'derived',
      },
      {
        destination: '172.18.0.0/16',
        device: 'br-5d1f0c3a9b7e',
        source: '172.18.0.1',
        provenance: 'derived',
      },
      { destination: 'default', device: 'ens3', provenance: 'assumed' },
    ]);
  });
});
