/**
 * The kernel referees reverse path filtering (`rp_filter`, engine/rp-filter.ts): a router
 * namespace that forwards and whose FORWARD accepts, a client behind in0, a default route out
 * of out0, a prefix on a third interface and a route out of a fourth that has no address. The
 * client sends UDP datagrams from spoofed sources (a raw socket) through the router and to its
 * address, under each setting of `all` and in0's own switch; the router's mangle chains say
 * where the kernel took each. dockwall, given the router's own files (its sysctl.txt as
 * `dockwall collect` writes it), must say the same, and be certain of what it drops. The
 * router's own addresses as sources go with `accept_local` too (off, they are martians). Needs
 * root; in CI a missing capability is a failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newConnection } from '../../src/analysis/packets.ts';
import { labCapability, labCommand } from '../lab/netns.ts';
import { RP_ROUTED as ROUTED, RP_SOURCES as SOURCES } from '../lab/rp-filter-cases.ts';
import { type Fate, routerLab, traceFate } from '../lab/router-lab.ts';
import { spoof } from '../lab/spoof.ts';
import { linkSnapshot } from './engine-link.ts';

const capability = labCapability();
const suiteRuns = capability.ok || process.env['CI'] === 'true';
const sh = labCommand;

/** The router's own addresses, on in0, out0, d0 and lo, and another of 127.0.0.0/8. */
const OWN = ['192.0.2.1', '198.51.100.1', '10.9.0.1', '127.0.0.1', '127.0.0.5'] as const;

/** A destination the router's default route takes, and the router's address on in0. */
const TO = ['198.51.100.2', '192.0.2.1'] as const;

describe.runIf(suiteRuns)('kernel referee for reverse path filtering (rp_filter)', () => {
  it('has what the lab needs', () => {
    expect(capability.ok, capability.reason).toBe(true);
  });

  it('drops the sources the kernel drops, per setting, and routes the others', async () => {
    const lab = routerLab('rp', false);
    const { client, router } = lab;
    const dir = mkdtempSync(path.join(tmpdir(), 'dockwall-rp-'));
    const inRouter = (...args: string[]): string => lab.inRouter(args);
    try {
      // two more interfaces of the router, each a veth pair kept inside it
      lab.veth(router, 'd0', router, 'd0p');
      lab.veth(router, 'na0', router, 'na0p');
      lab.addresses(client, 'eth0', ['192.0.2.2/24']);
      lab.addresses(router, 'in0', ['192.0.2.1/24']);
      lab.addresses(router, 'out0', ['198.51.100.1/24']);
      lab.addresses(router, 'd0', ['10.9.0.1/16']);
      lab.addresses(lab.server, 'eth0', ['198.51.100.2/24']);
      sh(['ip', '-n', client, 'route', 'add', 'default', 'via', '192.0.2.1']);
      sh(['ip', '-n', router, 'route', 'add', 'default', 'via', '198.51.100.2']);
      sh(['ip', '-n', router, 'route', 'add', '10.10.0.0/16', 'dev', 'na0']);

      /** Where the kernel took a datagram from `source`. */
      const fate = (source: string, to: string): Fate => {
        const taken = lab.fate('ipv4', spoof('ipv4', source, to));
        if (taken === null) throw new Error(`${source} → ${to}: never reached the router`);
        return taken;
      };

      /** The router's files as `dockwall collect` writes them, its switches as they are now. */
      const snapshot = async () => {
        writeFileSync(path.join(dir, 'iptables-save.txt'), inRouter('iptables-save'));
        writeFileSync(
          path.join(dir, 'ip-addr.json'),
          sh(['ip', '-n', router, '-j', 'addr', 'show']),
        );
        writeFileSync(
          path.join(dir, 'ip-route.json'),
          sh(['ip', '-n', router, '-4', '-j', 'route', 'show', 'table', 'all']),
        );
        const conf = (name: string, key: string): string =>
          inRouter('cat', `/proc/sys/net/ipv4/conf/${name}/${key}`).trim();
        const names = ['lo', 'in0', 'out0', 'd0', 'd0p', 'na0', 'na0p'];
        writeFileSync(
          path.join(dir, 'sysctl.txt'),
          [
            'net.ipv4.ip_forward = 1',
            `net.ipv4.conf.all.route_localnet = ${conf('all', 'route_localnet')}`,
            `net.ipv4.conf.all.rp_filter = ${conf('all', 'rp_filter')}`,
            `net.ipv4.conf.all.accept_local = ${conf('all', 'accept_local')}`,
            ...names.flatMap((n) => [
              `net.ipv4.conf.${n}.route_localnet = ${conf(n, 'route_localnet')}`,
              `net.ipv4.conf.${n}.rp_filter = ${conf(n, 'rp_filter')}`,
              `net.ipv4.conf.${n}.accept_local = ${conf(n, 'accept_local')}`,
            ]),
            '',
          ].join('\n'),
        );
        return linkSnapshot(dir);
      };

      /** Each probe as "SOURCE → TO: kernel FATE, dockwall FATE (certainty)". */
      const probe = async (sources: readonly string[]): Promise<string[]> => {
        const engine = await snapshot();
        const out: string[] = [];
        for (const source of sources)
          for (const to of TO) {
            const kernel = fate(source, to);
            const tr = engine.trace(newConnection('ipv4', 'udp', source, to, 5000, 'in0'));
            const said = traceFate(tr);
            out.push(`${source} → ${to}: kernel ${kernel}, dockwall ${said} (${tr.certainty})`);
          }
        return out;
      };
      const agree = (line: string): boolean => {
        const m = /kernel (\w+), dockwall (\w+)/.exec(line);
        return m !== null && m[1] === m[2];
      };
      const setting = (all: number, in0: number): void => {
        inRouter('sysctl', '-qw', `net.ipv4.conf.all.rp_filter=${all}`);
        inRouter('sysctl', '-qw', `net.ipv4.conf.in0.rp_filter=${in0}`);
      };

      // the switch of in0 is the larger of all's and its own
      const settings = [
        [0, 0, null],
        [0, 1, 'strict'],
        [1, 0, 'strict'],
        [0, 2, 'loose'],
        [1, 2, 'loose'],
        [2, 1, 'loose'],
      ] as const;
      for (const [all, in0, mode] of settings) {
        setting(all, in0);
        const seen = await probe(SOURCES);
        expect(
          seen.filter((l) => !agree(l)),
          `all=${all} in0=${in0}`,
        ).toEqual([]);
        // what the switch drops, certainly; nothing else is dropped
        const dropped = seen.filter((l) => l.includes('kernel dropped'));
        const expected = mode === null ? [] : SOURCES.filter((s) => !ROUTED[mode].includes(s));
        expect(
          dropped.filter((l) => l.endsWith('(certain)')).map((l) => l.split(' ')[0]),
          `all=${all} in0=${in0}`,
        ).toEqual(expected.flatMap((s) => [s, s]));
      }

      // a loopback source, where route_localnet lets it in: its route back is the host's own,
      // which neither setting takes
      inRouter('sysctl', '-qw', 'net.ipv4.conf.in0.route_localnet=1');
      for (const [all, in0] of [
        [0, 0],
        [0, 1],
        [0, 2],
      ] as const) {
        setting(all, in0);
        const seen = await probe(['127.0.0.5']);
        expect(
          seen.filter((l) => !agree(l)),
          `127.0.0.5, in0=${in0}`,
        ).toEqual([]);
        if (in0 > 0)
          expect(seen).toEqual([
            '127.0.0.5 → 198.51.100.2: kernel dropped, dockwall dropped (certain)',
            '127.0.0.5 → 192.0.2.1: kernel dropped, dockwall dropped (certain)',
          ]);
      }

      // the host's own addresses as sources: martians unless accept_local is on (all's or
      // in0's); let in, their route back is the local route of the interface holding them
      for (const [all, in0] of [
        [0, 0],
        [0, 1],
        [1, 0],
      ] as const) {
        inRouter('sysctl', '-qw', `net.ipv4.conf.all.accept_local=${all}`);
        inRouter('sysctl', '-qw', `net.ipv4.conf.in0.accept_local=${in0}`);
        for (const rp of [0, 1, 2]) {
          setting(0, rp);
          const seen = await probe(OWN);
          const what = `accept_local all=${all} in0=${in0}, rp_filter in0=${rp}`;
          expect(
            seen.filter((l) => !agree(l)),
            what,
          ).toEqual([]);
          // every switch is in the snapshot: what is dropped is certainly dropped
          expect(
            seen.filter((l) => l.includes('dockwall dropped') && !l.endsWith('(certain)')),
            what,
          ).toEqual([]);
          // off, only 127.0.0.5 (no address of the host's) passes, and only without rp_filter;
          // on, strict takes in0's own address alone (its local route is by in0)
          const passed = [
            ...new Set(
              seen.filter((l) => !l.includes('kernel dropped')).map((l) => l.split(' ')[0]),
            ),
          ];
          const on = all + in0 > 0;
          expect(passed, what).toEqual(
            !on ? (rp === 0 ? ['127.0.0.5'] : []) : rp === 1 ? ['192.0.2.1'] : [...OWN],
          );
        }
      }
      inRouter('sysctl', '-qw', 'net.ipv4.conf.all.accept_local=0');
      inRouter('sysctl', '-qw', 'net.ipv4.conf.in0.accept_local=0');
      inRouter('sysctl', '-qw', 'net.ipv4.conf.in0.route_localnet=0');

      // loose without a default route: a source with no route back is dropped
      setting(0, 2);
      sh(['ip', '-n', router, 'route', 'del', 'default']);
      const noDefault = await probe(['203.0.113.5', '198.51.100.7']);
      sh(['ip', '-n', router, 'route', 'add', 'default', 'via', '198.51.100.2']);
      expect(noDefault).toEqual([
        '203.0.113.5 → 198.51.100.2: kernel dropped, dockwall dropped (certain)',
        '203.0.113.5 → 192.0.2.1: kernel dropped, dockwall dropped (certain)',
        '198.51.100.7 → 198.51.100.2: kernel forwarded, dockwall forwarded (certain)',
        // the answer leaves by out0, its source whichever the server picks (as without the
        // switch: groups-referee.test.ts)
        '198.51.100.7 → 192.0.2.1: kernel delivered, dockwall delivered (possible)',
      ]);

      // in0 without an address (the client's prefix routed to it by hand, the router's
      // neighbour entry written on the client): loose drops what strict does
      sh([
        'ip',
        '-n',
        client,
        'neigh',
        'replace',
        '192.0.2.1',
        'lladdr',
        lab.in0Mac(),
        'dev',
        'eth0',
      ]);
      sh(['ip', '-n', router, 'addr', 'del', '192.0.2.1/24', 'dev', 'in0']);
      sh(['ip', '-n', router, 'route', 'add', '192.0.2.0/24', 'dev', 'in0']);
      const unaddressed = async (): Promise<string[]> => {
        const engine = await snapshot();
        return ['203.0.113.5', '198.51.100.7', '192.0.2.7'].map((source) => {
          const kernel = fate(source, '198.51.100.2');
          const tr = engine.trace(
            newConnection('ipv4', 'udp', source, '198.51.100.2', 5000, 'in0'),
          );
          const said = tr.delivery?.kind === 'forward' ? 'forwarded' : tr.verdict;
          return `${source}: kernel ${kernel}, dockwall ${said} (${tr.certainty})`;
        });
      };
      setting(0, 2);
      expect(await unaddressed()).toEqual([
        '203.0.113.5: kernel dropped, dockwall dropped (certain)',
        '198.51.100.7: kernel dropped, dockwall dropped (certain)',
        '192.0.2.7: kernel forwarded, dockwall forwarded (certain)',
      ]);
    } finally {
      lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
