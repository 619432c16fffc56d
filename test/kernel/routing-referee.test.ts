/**
 * The kernel referees routing decisions: the main table's dead ends (engine/routing.ts
 * `Routing.deadEnds`), routes of type blackhole, unreachable and prohibit, which send nowhere;
 * the address types `addrtype` gives what no route, or a dead end, decides (engine/match.ts
 * `routeTyped`); and an interface's own IPv4 `forwarding` switch
 * (`NetworkContext.unforwardedFrom`); policy routing, the rules of `ip rule` ahead of the main
 * table (docker/policy-routes.ts). A router
 * namespace that forwards and whose FORWARD accepts, a client behind in0, a server behind out0.
 * The client sends UDP datagrams through the router, and from spoofed sources (a raw socket)
 * through it and to its address; the router's mangle chains say where the kernel took each.
 * dockwall, given the router's own files, must say the same, and be certain of what it drops.
 * Needs root; in CI a missing capability is a failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newConnection } from '../../src/analysis/packets.ts';
import { labCapability, labCommand } from '../lab/netns.ts';
import { type RouterLab, routerLab, traceFate } from '../lab/router-lab.ts';
import { spoof } from '../lab/spoof.ts';
import { linkSnapshot } from './engine-link.ts';

const capability = labCapability();
const suiteRuns = capability.ok || process.env['CI'] === 'true';
const sh = labCommand;

/**
 * The router's files as `dockwall collect` writes them (routes of both families in one array,
 * the policy rules of each family in a file of its own).
 */
async function snapshot(lab: RouterLab, dir: string) {
  const inRouter = (...args: string[]): string => lab.inRouter(args);
  writeFileSync(path.join(dir, 'iptables-save.txt'), inRouter('iptables-save'));
  writeFileSync(path.join(dir, 'ip6tables-save.txt'), inRouter('ip6tables-save'));
  writeFileSync(path.join(dir, 'ip-addr.json'), sh(['ip', '-n', lab.router, '-j', 'addr', 'show']));
  const routes = [4, 6].flatMap(
    (v) =>
      JSON.parse(
        sh(['ip', '-n', lab.router, `-${v}`, '-j', 'route', 'show', 'table', 'all']),
      ) as unknown[],
  );
  writeFileSync(path.join(dir, 'ip-route.json'), JSON.stringify(routes));
  for (const [file, v] of [
    ['ip-rule.json', '-4'],
    ['ip6-rule.json', '-6'],
  ] as const)
    writeFileSync(path.join(dir, file), sh(['ip', '-n', lab.router, '-j', v, 'rule', 'show']));
  // the switches as the collector reads them, for all and each interface
  const conf = (name: string, key: string): string =>
    `net.ipv4.conf.${name}.${key} = ${inRouter('cat', `/proc/sys/net/ipv4/conf/${name}/${key}`).trim()}`;
  writeFileSync(
    path.join(dir, 'sysctl.txt'),
    [
      'net.ipv4.ip_forward = 1',
      'net.ipv6.conf.all.forwarding = 1',
      conf('all', 'route_localnet'),
      conf('all', 'rp_filter'),
      conf('all', 'accept_local'),
      ...['lo', 'in0', 'out0'].flatMap((n) =>
        ['route_localnet', 'rp_filter', 'forwarding', 'accept_local'].map((key) => conf(n, key)),
      ),
      '',
    ].join('\n'),
  );
  return linkSnapshot(dir);
}

/** Each probe as "SOURCE → TO: kernel FATE, dockwall FATE (certainty)". */
async function probe(
  lab: RouterLab,
  dir: string,
  pairs: readonly (readonly [string, string])[],
): Promise<string[]> {
  const engine = await snapshot(lab, dir);
  return pairs.map(([source, to]) => {
    const family = to.includes(':') ? 'ipv6' : 'ipv4';
    const kernel = lab.fate(family, spoof(family, source, to));
    if (kernel === null) throw new Error(`${source} → ${to}: never reached the router`);
    const tr = engine.trace(newConnection(family, 'udp', source, to, 5000, 'in0'));
    return `${source} → ${to}: kernel ${kernel}, dockwall ${traceFate(tr)} (${tr.certainty})`;
  });
}

const agree = (line: string): boolean => {
  const m = /kernel (\w+), dockwall (\w+)/.exec(line);
  return m !== null && m[1] === m[2];
};

/** Runs `body` on a router whose client and server have addresses of both families. */
async function withRouter(
  tag: string,
  body: (lab: RouterLab, dir: string) => Promise<void>,
): Promise<void> {
  const lab = routerLab(tag, true);
  const dir = mkdtempSync(path.join(tmpdir(), 'dockwall-deadend-'));
  try {
    lab.addresses(lab.client, 'eth0', ['192.0.2.2/24', '2001:db8:1::2/64']);
    lab.addresses(lab.router, 'in0', ['192.0.2.1/24', '2001:db8:1::1/64']);
    lab.addresses(lab.router, 'out0', ['198.51.100.1/24', '2001:db8:2::1/64']);
    lab.addresses(lab.server, 'eth0', ['198.51.100.2/24', '2001:db8:2::2/64']);
    sh(['ip', '-n', lab.client, 'route', 'add', 'default', 'via', '192.0.2.1']);
    sh(['ip', '-n', lab.client, '-6', 'route', 'add', 'default', 'via', '2001:db8:1::1']);
    await body(lab, dir);
  } finally {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.runIf(suiteRuns)(
  'kernel referee for routing: dead ends, address types, forwarding per interface',
  () => {
    it('has what the lab needs', () => {
      expect(capability.ok, capability.reason).toBe(true);
    });

    it('drops what a dead end decides, and routes past it', async () => {
      await withRouter('de', async (lab, dir) => {
        const route = (...args: string[]): string =>
          sh(['ip', '-n', lab.router, 'route', 'add', ...args]);
        route('default', 'via', '198.51.100.2');
        route('blackhole', '203.0.113.0/24');
        route('203.0.113.128/25', 'via', '198.51.100.2');
        route('unreachable', '198.18.0.0/16');
        route('prohibit', '198.19.0.0/16');
        const route6 = (...args: string[]): string =>
          sh(['ip', '-n', lab.router, '-6', 'route', 'add', ...args]);
        route6('default', 'via', '2001:db8:2::2');
        route6('blackhole', '2001:db8:dead::/48');
        route6('2001:db8:dead:1::/64', 'via', '2001:db8:2::2');
        route6('unreachable', '2001:db8:beef::/48');
        route6('prohibit', '2001:db8:cafe::/48');

        const through = [
          ['192.0.2.2', '198.51.100.2'],
          ['192.0.2.2', '203.0.113.5'],
          ['192.0.2.2', '203.0.113.200'],
          ['192.0.2.2', '198.18.0.5'],
          ['192.0.2.2', '198.19.0.5'],
        ] as const;
        // from inside the dead ends, through the router and to its address
        const spoofed = ['203.0.113.5', '198.18.0.5', '198.19.0.5', '203.0.113.200'].flatMap(
          (s) =>
            [
              [s, '198.51.100.2'],
              [s, '192.0.2.1'],
            ] as const,
        );
        // the sources whose datagrams the kernel dropped, per rp_filter setting (each twice)
        const droppedFrom: Readonly<Record<number, readonly string[]>> = {
          0: [],
          1: ['203.0.113.5', '198.18.0.5', '198.19.0.5', '203.0.113.200'],
          2: ['203.0.113.5', '198.18.0.5', '198.19.0.5'],
        };
        for (const mode of [0, 1, 2]) {
          lab.inRouter(['sysctl', '-qw', `net.ipv4.conf.all.rp_filter=${mode}`]);
          const seen = await probe(lab, dir, [...through, ...spoofed]);
          expect(
            seen.filter((l) => !agree(l)),
            `rp_filter=${mode}`,
          ).toEqual([]);
          expect(
            seen.filter((l) => l.includes('kernel dropped')),
            `rp_filter=${mode}`,
          ).toEqual([
            '192.0.2.2 → 203.0.113.5: kernel dropped, dockwall dropped (certain)',
            '192.0.2.2 → 198.18.0.5: kernel dropped, dockwall dropped (certain)',
            '192.0.2.2 → 198.19.0.5: kernel dropped, dockwall dropped (certain)',
            ...(droppedFrom[mode] ?? []).flatMap((source) =>
              ['198.51.100.2', '192.0.2.1'].map(
                (to) => `${source} → ${to}: kernel dropped, dockwall dropped (certain)`,
              ),
            ),
          ]);
        }

        // IPv6 routes the same way (it has no rp_filter)
        const through6 = await probe(
          lab,
          dir,
          [
            '2001:db8:2::2',
            '2001:db8:dead::5',
            '2001:db8:dead:1::5',
            '2001:db8:beef::5',
            '2001:db8:cafe::5',
          ].map((to) => ['2001:db8:1::2', to] as const),
        );
        expect(through6).toEqual([
          '2001:db8:1::2 → 2001:db8:2::2: kernel forwarded, dockwall forwarded (certain)',
          '2001:db8:1::2 → 2001:db8:dead::5: kernel dropped, dockwall dropped (certain)',
          '2001:db8:1::2 → 2001:db8:dead:1::5: kernel forwarded, dockwall forwarded (certain)',
          '2001:db8:1::2 → 2001:db8:beef::5: kernel dropped, dockwall dropped (certain)',
          '2001:db8:1::2 → 2001:db8:cafe::5: kernel dropped, dockwall dropped (certain)',
        ]);

        // the trace says which route dropped it
        const engine = await snapshot(lab, dir);
        const tr = engine.trace(
          newConnection('ipv4', 'udp', '192.0.2.2', '203.0.113.5', 5000, 'in0'),
        );
        expect(tr.unrouted).toBe(
          'the route to 203.0.113.5 is a blackhole route (203.0.113.0/24), which sends nowhere',
        );
      });
    }, 180_000);

    // each case on a router of its own: conntrack would replay an earlier case's DNAT
    const cases = [
      {
        // IPv4 looks the type up in the local table alone: UNICAST, whatever the routes say
        save: 'iptables',
        type: 'UNICAST',
        to: '198.51.100.2',
        probes: ['8.8.8.8', '203.0.113.5', '198.51.100.7'].map((to) => ['192.0.2.2', to] as const),
        fates: ['forwarded', 'forwarded', 'forwarded'],
      },
      {
        save: 'iptables',
        type: 'UNREACHABLE',
        to: '198.51.100.2',
        probes: ['8.8.8.8', '203.0.113.5', '198.51.100.7'].map((to) => ['192.0.2.2', to] as const),
        fates: ['dropped', 'dropped', 'forwarded'],
      },
      {
        // IPv6 looks the route up: no route and a dead end are UNREACHABLE
        save: 'ip6tables',
        type: 'UNREACHABLE',
        to: '2001:db8:2::2',
        probes: ['2001:db8:99::5', '2001:db8:dead::5', '2001:db8:2::7'].map(
          (to) => ['2001:db8:1::2', to] as const,
        ),
        fates: ['forwarded', 'forwarded', 'forwarded'],
      },
    ] as const;
    it.each(cases.map((c, i) => [`${c.save} --dst-type ${c.type}`, i] as const))(
      'gives addrtype the type the kernel does where no route, or a dead end, decides: %s',
      async (_name, index) => {
        const c = cases[index];
        if (c === undefined) throw new Error('no case');
        await withRouter(`at${index}`, async (lab, dir) => {
          // no default route: 8.8.8.8 and 2001:db8:99::5 have no route at all
          sh(['ip', '-n', lab.router, 'route', 'add', 'blackhole', '203.0.113.0/24']);
          sh(['ip', '-n', lab.router, '-6', 'route', 'add', 'blackhole', '2001:db8:dead::/48']);
          // a DNAT to the server for the type: what it takes is forwarded, the rest has no route
          lab.inRouter([
            c.save,
            '-t',
            'nat',
            '-A',
            'PREROUTING',
            '-i',
            'in0',
            '-p',
            'udp',
            '-m',
            'addrtype',
            '--dst-type',
            c.type,
            '-j',
            'DNAT',
            '--to-destination',
            c.to,
          ]);
          const seen = await probe(lab, dir, c.probes);
          expect(seen.filter((l) => !agree(l))).toEqual([]);
          expect(seen).toEqual(
            c.probes.map(
              ([source, to], k) =>
                `${source} → ${to}: kernel ${c.fates[k] ?? ''}, dockwall ${c.fates[k] ?? ''} (certain)`,
            ),
          );
        });
      },
      180_000,
    );

    it('forwards nothing that arrives on an IPv4 interface whose own forwarding is off', async () => {
      await withRouter('fw', async (lab, dir) => {
        sh(['ip', '-n', lab.router, 'route', 'add', 'default', 'via', '198.51.100.2']);
        sh(['ip', '-n', lab.router, '-6', 'route', 'add', 'default', 'via', '2001:db8:2::2']);
        const pairs = [
          ['192.0.2.2', '198.51.100.2'],
          ['192.0.2.2', '192.0.2.1'],
          ['2001:db8:1::2', '2001:db8:2::2'],
        ] as const;
        const lines = (fates: readonly string[]): string[] =>
          pairs.map(
            ([source, to], k) =>
              `${source} → ${to}: kernel ${fates[k] ?? ''}, dockwall ${fates[k] ?? ''} (certain)`,
          );
        // in0's own switch off: IPv4 from it is not forwarded, delivered still; IPv6 forwarded
        lab.inRouter(['sysctl', '-qw', 'net.ipv4.conf.in0.forwarding=0']);
        lab.inRouter(['sysctl', '-qw', 'net.ipv6.conf.in0.forwarding=0']);
        expect(await probe(lab, dir, pairs)).toEqual(lines(['dropped', 'delivered', 'forwarded']));
        const engine = await snapshot(lab, dir);
        expect(
          engine.trace(newConnection('ipv4', 'udp', '192.0.2.2', '198.51.100.2', 5000, 'in0'))
            .unrouted,
        ).toBe(
          'IPv4 forwarding is off on in0 (net.ipv4.conf.in0.forwarding = 0): the kernel forwards nothing that arrives there',
        );
        // out0's off instead: the in-interface's switch decides
        lab.inRouter(['sysctl', '-qw', 'net.ipv4.conf.in0.forwarding=1']);
        lab.inRouter(['sysctl', '-qw', 'net.ipv4.conf.out0.forwarding=0']);
        expect(await probe(lab, dir, pairs)).toEqual(
          lines(['forwarded', 'delivered', 'forwarded']),
        );
      });
    }, 180_000);

    it('takes every address of a local prefix as the host’s (AnyIP)', async () => {
      await withRouter('ai', async (lab, dir) => {
        sh(['ip', '-n', lab.router, 'route', 'add', 'default', 'via', '198.51.100.2']);
        sh(['ip', '-n', lab.router, '-6', 'route', 'add', 'default', 'via', '2001:db8:2::2']);
        sh(['ip', '-n', lab.router, 'route', 'add', 'local', '203.0.113.0/24', 'dev', 'lo']);
        sh([
          'ip',
          '-n',
          lab.router,
          '-6',
          'route',
          'add',
          'local',
          '2001:db8:77::/64',
          'dev',
          'lo',
        ]);
        const seen = await probe(lab, dir, [
          ['192.0.2.2', '203.0.113.5'],
          ['192.0.2.2', '198.51.100.2'],
          ['2001:db8:1::2', '2001:db8:77::5'],
          ['2001:db8:1::2', '2001:db8:2::2'],
          // a source of the prefix is the host's own: a martian (IPv4)
          ['203.0.113.9', '198.51.100.2'],
        ]);
        expect(seen.filter((l) => !agree(l))).toEqual([]);
        expect(seen.map((l) => l.replace(/: kernel (\w+), dockwall \w+ \((\w+)\)/, ' $1'))).toEqual(
          [
            '192.0.2.2 → 203.0.113.5 delivered',
            '192.0.2.2 → 198.51.100.2 forwarded',
            '2001:db8:1::2 → 2001:db8:77::5 delivered',
            '2001:db8:1::2 → 2001:db8:2::2 forwarded',
            '203.0.113.9 → 198.51.100.2 dropped',
          ],
        );
        // what is forwarded or dropped, certainly
        expect(
          seen.filter((l) => !l.includes('delivered')).every((l) => l.endsWith('(certain)')),
        ).toBe(true);
      });
    }, 180_000);

    it('routes by the policy rules ahead of the main table', async () => {
      await withRouter('pr', async (lab, dir) => {
        const ip = (...args: string[]): string => sh(['ip', '-n', lab.router, ...args]);
        ip('route', 'add', 'default', 'via', '198.51.100.2');
        ip('-6', 'route', 'add', 'default', 'via', '2001:db8:2::2');
        // a prefix sent nowhere by a rule, though the main table's default route takes it
        ip('rule', 'add', 'to', '203.0.113.0/24', 'unreachable', 'pref', '100');
        ip('-6', 'rule', 'add', 'to', '2001:db8:dead::/48', 'prohibit', 'pref', '100');
        // a prefix only table 100 routes, looked up for every packet
        ip('route', 'add', 'unreachable', '198.18.0.0/15');
        ip('route', 'add', '198.18.7.0/24', 'via', '198.51.100.2', 'table', '100');
        ip('rule', 'add', 'lookup', '100', 'pref', '200');
        // wg-quick's full tunnel, the tunnel down: what only the default route took is dropped
        // unless marked; what a longer route of the main table takes is forwarded
        ip('route', 'add', 'unreachable', 'default', 'table', '51820');
        ip('rule', 'add', 'not', 'fwmark', '0xca6c', 'lookup', '51820', 'pref', '32765');
        ip('rule', 'add', 'lookup', 'main', 'suppress_prefixlength', '0', 'pref', '32764');
        // a throw route of the main table sends on to the next rules, which route it nowhere
        ip('route', 'add', 'throw', '198.51.100.128/25');
        const seen = await probe(lab, dir, [
          ['192.0.2.2', '203.0.113.5'],
          ['192.0.2.2', '198.18.7.9'],
          ['192.0.2.2', '198.18.8.9'],
          ['192.0.2.2', '198.51.100.2'],
          ['192.0.2.2', '198.51.100.200'],
          ['192.0.2.2', '100.64.0.1'],
          ['2001:db8:1::2', '2001:db8:dead::5'],
          ['2001:db8:1::2', '2001:db8:2::2'],
        ]);
        // dockwall may be unsure; where it is sure, the kernel agrees
        expect(seen.filter((l) => l.endsWith('(certain)') && !agree(l))).toEqual([]);
        expect(seen).toEqual([
          '192.0.2.2 → 203.0.113.5: kernel dropped, dockwall dropped (certain)',
          '192.0.2.2 → 198.18.7.9: kernel forwarded, dockwall forwarded (certain)',
          '192.0.2.2 → 198.18.8.9: kernel dropped, dockwall dropped (certain)',
          '192.0.2.2 → 198.51.100.2: kernel forwarded, dockwall forwarded (certain)',
          '192.0.2.2 → 198.51.100.200: kernel dropped, dockwall dropped (certain)',
          '192.0.2.2 → 100.64.0.1: kernel dropped, dockwall forwarded (possible)',
          '2001:db8:1::2 → 2001:db8:dead::5: kernel dropped, dockwall dropped (certain)',
          '2001:db8:1::2 → 2001:db8:2::2: kernel forwarded, dockwall forwarded (certain)',
        ]);
      });
    }, 180_000);

    it('forwards by a multipath route, possibly by the next hop it cannot tell', async () => {
      await withRouter('mp', async (lab, dir) => {
        const ip = (...args: string[]): string => sh(['ip', '-n', lab.router, ...args]);
        // a second way out: a veth pair kept inside the router
        ip('link', 'add', 'x0', 'type', 'veth', 'peer', 'name', 'x1');
        ip('link', 'set', 'x0', 'up');
        ip('link', 'set', 'x1', 'up');
        lab.addresses(lab.router, 'x0', ['203.0.113.1/24', '2001:db8:3::1/64']);
        const route = (family: '-4' | '-6', to: string, hops: readonly string[][]): string =>
          ip(family, 'route', 'add', to, ...hops.flatMap((h) => ['nexthop', 'via', ...h]));
        route('-4', 'default', [
          ['198.51.100.2', 'dev', 'out0'],
          ['203.0.113.2', 'dev', 'x0'],
        ]);
        route('-6', 'default', [
          ['2001:db8:2::2', 'dev', 'out0'],
          ['2001:db8:3::2', 'dev', 'x0'],
        ]);
        // next hops by one interface alone: a route by it
        route('-4', '198.18.0.0/15', [
          ['198.51.100.2', 'dev', 'out0'],
          ['198.51.100.3', 'dev', 'out0'],
        ]);
        const seen = await probe(lab, dir, [
          ['192.0.2.2', '100.64.0.1'],
          ['192.0.2.2', '198.18.0.9'],
          ['2001:db8:1::2', '2001:db8:77::5'],
        ]);
        expect(seen).toEqual([
          '192.0.2.2 → 100.64.0.1: kernel forwarded, dockwall forwarded (possible)',
          '192.0.2.2 → 198.18.0.9: kernel forwarded, dockwall forwarded (certain)',
          '2001:db8:1::2 → 2001:db8:77::5: kernel forwarded, dockwall forwarded (possible)',
        ]);
      });
    }, 180_000);
  },
);
