/**
 * The kernel referees the main table's dead ends (engine/routing.ts `Routing.deadEnds`): routes
 * of type blackhole, unreachable and prohibit, which send nowhere. A router namespace that
 * forwards and whose FORWARD accepts, a client behind in0, a default route out of out0, a dead
 * end of each type with a unicast route inside the blackhole. The client sends UDP datagrams
 * through the router, and from sources inside the dead ends (a raw socket) through it and to its
 * address, with `rp_filter` off, strict and loose, and IPv6 datagrams through it past the same
 * kinds of dead end; the router's mangle chains say where the kernel took each. dockwall, given the router's own files, must say the same, and be certain
 * of what it drops. Needs root; in CI a missing capability is a failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newConnection } from '../../src/analysis/packets.ts';
import { labCapability, labCommand } from '../lab/netns.ts';
import { type Fate, routerLab, traceFate } from '../lab/router-lab.ts';
import { spoof } from '../lab/spoof.ts';
import { linkSnapshot } from './engine-link.ts';

const capability = labCapability();
const suiteRuns = capability.ok || process.env['CI'] === 'true';
const sh = labCommand;

describe.runIf(suiteRuns)(
  'kernel referee for dead-end routes (blackhole, unreachable, prohibit)',
  () => {
    it('has what the lab needs', () => {
      expect(capability.ok, capability.reason).toBe(true);
    });

    it('drops what a dead end decides, and routes past it', async () => {
      const lab = routerLab('de', true);
      const { client, router } = lab;
      const dir = mkdtempSync(path.join(tmpdir(), 'dockwall-deadend-'));
      const inRouter = (...args: string[]): string => lab.inRouter(args);
      try {
        lab.addresses(client, 'eth0', ['192.0.2.2/24', '2001:db8:1::2/64']);
        lab.addresses(router, 'in0', ['192.0.2.1/24', '2001:db8:1::1/64']);
        lab.addresses(router, 'out0', ['198.51.100.1/24', '2001:db8:2::1/64']);
        lab.addresses(lab.server, 'eth0', ['198.51.100.2/24', '2001:db8:2::2/64']);
        sh(['ip', '-n', client, 'route', 'add', 'default', 'via', '192.0.2.1']);
        sh(['ip', '-n', client, '-6', 'route', 'add', 'default', 'via', '2001:db8:1::1']);
        const route = (...args: string[]): string =>
          sh(['ip', '-n', router, 'route', 'add', ...args]);
        route('default', 'via', '198.51.100.2');
        route('blackhole', '203.0.113.0/24');
        route('203.0.113.128/25', 'via', '198.51.100.2');
        route('unreachable', '198.18.0.0/16');
        route('prohibit', '198.19.0.0/16');
        const route6 = (...args: string[]): string =>
          sh(['ip', '-n', router, '-6', 'route', 'add', ...args]);
        route6('default', 'via', '2001:db8:2::2');
        route6('blackhole', '2001:db8:dead::/48');
        route6('2001:db8:dead:1::/64', 'via', '2001:db8:2::2');
        route6('unreachable', '2001:db8:beef::/48');
        route6('prohibit', '2001:db8:cafe::/48');

        const fate = (source: string, to: string): Fate => {
          const family = to.includes(':') ? 'ipv6' : 'ipv4';
          const taken = lab.fate(family, spoof(family, source, to));
          if (taken === null) throw new Error(`${source} → ${to}: never reached the router`);
          return taken;
        };
        const snapshot = async () => {
          writeFileSync(path.join(dir, 'iptables-save.txt'), inRouter('iptables-save'));
          writeFileSync(path.join(dir, 'ip6tables-save.txt'), inRouter('ip6tables-save'));
          writeFileSync(
            path.join(dir, 'ip-addr.json'),
            sh(['ip', '-n', router, '-j', 'addr', 'show']),
          );
          writeFileSync(
            path.join(dir, 'ip-route.json'),
            // both families in one array, as `dockwall collect` writes it
            JSON.stringify(
              [4, 6].flatMap(
                (v) =>
                  JSON.parse(
                    sh(['ip', '-n', router, `-${v}`, '-j', 'route', 'show', 'table', 'all']),
                  ) as unknown[],
              ),
            ),
          );
          const rp = inRouter('cat', '/proc/sys/net/ipv4/conf/all/rp_filter').trim();
          writeFileSync(
            path.join(dir, 'sysctl.txt'),
            [
              'net.ipv4.ip_forward = 1',
              'net.ipv6.conf.all.forwarding = 1',
              'net.ipv4.conf.all.route_localnet = 0',
              `net.ipv4.conf.all.rp_filter = ${rp}`,
              ...['lo', 'in0', 'out0'].map((n) => `net.ipv4.conf.${n}.rp_filter = 0`),
              '',
            ].join('\n'),
          );
          return linkSnapshot(dir);
        };
        const probe = async (pairs: readonly (readonly [string, string])[]): Promise<string[]> => {
          const engine = await snapshot();
          return pairs.map(([source, to]) => {
            const kernel = fate(source, to);
            const family = to.includes(':') ? 'ipv6' : 'ipv4';
            const tr = engine.trace(newConnection(family, 'udp', source, to, 5000, 'in0'));
            return `${source} → ${to}: kernel ${kernel}, dockwall ${traceFate(tr)} (${tr.certainty})`;
          });
        };
        const through = [
          ['192.0.2.2', '198.51.100.2'],
          ['192.0.2.2', '203.0.113.5'],
          ['192.0.2.2', '203.0.113.200'],
          ['192.0.2.2', '198.18.0.5'],
          ['192.0.2.2', '198.19.0.5'],
        ] as const;
        const spoofed = ['203.0.113.5', '198.18.0.5', '198.19.0.5', '203.0.113.200'].flatMap(
          (s) =>
            [
              [s, '198.51.100.2'],
              [s, '192.0.2.1'],
            ] as const,
        );
        // the sources whose datagrams the kernel dropped, per rp_filter setting (each twice: through
        // the router and to it); what it dropped dockwall is certain of
        const droppedFrom: Readonly<Record<number, readonly string[]>> = {
          0: [],
          1: ['203.0.113.5', '198.18.0.5', '198.19.0.5', '203.0.113.200'],
          2: ['203.0.113.5', '198.18.0.5', '198.19.0.5'],
        };
        for (const mode of [0, 1, 2]) {
          inRouter('sysctl', '-qw', `net.ipv4.conf.all.rp_filter=${mode}`);
          const seen = await probe([...through, ...spoofed]);
          const agree = (line: string): boolean => {
            const m = /kernel (\w+), dockwall (\w+)/.exec(line);
            return m !== null && m[1] === m[2];
          };
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
        const engine = await snapshot();
        const tr = engine.trace(
          newConnection('ipv4', 'udp', '192.0.2.2', '203.0.113.5', 5000, 'in0'),
        );
        expect(tr.unrouted).toBe(
          'the route to 203.0.113.5 is a blackhole route (203.0.113.0/24), which sends nowhere',
        );
      } finally {
        lab.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 180_000);
  },
);
