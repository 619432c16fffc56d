/**
 * The kernel referees multicast and broadcast destinations (routing.ts `groups`) and the sources
 * routing refuses (`martianSources`, `unreceivedSources`, `scopedSources`): a router namespace
 * that forwards and whose FORWARD accepts, a client on one side, a default route out of the
 * other. Each UDP datagram the client sends is counted in the router's mangle chains, which say
 * where the kernel took it: forwarded, delivered (INPUT) or dropped at routing (PREROUTING alone,
 * or for IPv6 no chain at all and a header error of the interface). dockwall, given the router's own collected files, must never say
 * "forwarded" where the kernel did not, nor be certain of what it did not follow. Needs root;
 * in CI a missing capability is a failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newConnection } from '../../src/analysis/packets.ts';
import type { Family } from '../../src/model/ruleset.ts';
import { labCapability, labCommand } from '../lab/netns.ts';
import { type Fate, routerLab, traceFate } from '../lab/router-lab.ts';
import { frame6, spoof } from '../lab/spoof.ts';
import { linkSnapshot } from './engine-link.ts';

const capability = labCapability();
const suiteRuns = capability.ok || process.env['CI'] === 'true';

const sh = labCommand;

/** The destinations sent to, and their family's addresses in the lab. */
const FAMILIES: Record<Family, { client: string; destinations: readonly string[] }> = {
  ipv4: {
    client: '192.0.2.2',
    // groups not joined, the all-hosts group, the limited and the in-interface's broadcast,
    // and two unicast destinations the default route takes
    destinations: [
      '224.1.2.3',
      '239.255.255.250',
      '224.0.0.1',
      '255.255.255.255',
      '192.0.2.255',
      '198.51.100.255',
      '198.51.100.2',
      '0.1.2.3',
    ],
  },
  ipv6: {
    client: '2001:db8:1::2',
    destinations: ['ff0e::1', 'ff02::1234', 'ff02::1', 'ff05::2', '2001:db8:2::2'],
  },
};

describe.runIf(suiteRuns)('kernel referee for multicast, broadcast and martian addresses', () => {
  it('has what the lab needs', () => {
    expect(capability.ok, capability.reason).toBe(true);
  });

  it('forwards none of them, and dockwall never says it does', async () => {
    const lab = routerLab('mc', true);
    const { client, router } = lab;
    const dir = mkdtempSync(path.join(tmpdir(), 'dockwall-groups-'));
    try {
      lab.addresses(client, 'eth0', ['192.0.2.2/24', '2001:db8:1::2/64']);
      lab.addresses(router, 'in0', ['192.0.2.1/24', '2001:db8:1::1/64']);
      lab.addresses(router, 'out0', ['198.51.100.1/24', '2001:db8:2::1/64']);
      lab.addresses(lab.server, 'eth0', ['198.51.100.2/24', '2001:db8:2::2/64']);
      sh(['ip', '-n', client, 'route', 'add', 'default', 'via', '192.0.2.1']);
      sh(['ip', '-n', client, '-6', 'route', 'add', 'default', 'via', '2001:db8:1::1']);
      sh(['ip', '-n', router, 'route', 'add', 'default', 'via', '198.51.100.2']);
      sh(['ip', '-n', router, '-6', 'route', 'add', 'default', 'via', '2001:db8:2::2']);
      // the router's own files, as `dockwall collect` takes them
      writeFileSync(
        path.join(dir, 'iptables-save.txt'),
        sh(['ip', 'netns', 'exec', router, 'iptables-save']),
      );
      writeFileSync(
        path.join(dir, 'ip6tables-save.txt'),
        sh(['ip', 'netns', 'exec', router, 'ip6tables-save']),
      );
      writeFileSync(path.join(dir, 'ip-addr.json'), sh(['ip', '-n', router, '-j', 'addr', 'show']));
      const routes = [4, 6].flatMap(
        (v) =>
          JSON.parse(
            sh(['ip', '-n', router, `-${v}`, '-j', 'route', 'show', 'table', 'all']),
          ) as unknown[],
      );
      writeFileSync(path.join(dir, 'ip-route.json'), JSON.stringify(routes));
      writeFileSync(
        path.join(dir, 'sysctl.txt'),
        [
          'net.ipv4.ip_forward = 1',
          'net.ipv6.conf.all.forwarding = 1',
          'net.ipv4.conf.all.route_localnet = 0',
          'net.ipv4.conf.in0.route_localnet = 0',
          // a source of the router's own is a martian (rp-filter-referee.test.ts referees it on)
          'net.ipv4.conf.all.accept_local = 0',
          'net.ipv4.conf.in0.accept_local = 0',
          // reverse path filtering as the namespace has it (off: rp-filter-referee.test.ts
          // referees it on)
          ...['all', 'in0', 'out0'].map(
            (name) =>
              `net.ipv4.conf.${name}.rp_filter = ${sh(['ip', 'netns', 'exec', router, 'cat', `/proc/sys/net/ipv4/conf/${name}/rp_filter`]).trim()}`,
          ),
          '',
        ].join('\n'),
      );
      const engine = await linkSnapshot(dir);

      // what IPv6 refuses before any chain it counts as a header error of the interface
      const headerErrors = (): number =>
        Number(
          /Ip6InHdrErrors\s+(\d+)/.exec(
            sh(['ip', 'netns', 'exec', router, 'cat', '/proc/net/dev_snmp6/in0']),
          )?.[1] ?? NaN,
        );
      /**
       * Where the kernel took a datagram from the client: `from` binds its link-local address;
       * `spoofed` writes the whole IP header (a raw socket), any source at all; `frameTo`, the
       * whole IPv6 frame to that link address (a packet socket), any destination at all.
       */
      const fate = (
        family: Family,
        to: string,
        from: string | null = null,
        spoofed: string | null = null,
        frameTo: string | null = null,
      ): Fate => {
        const before = family === 'ipv6' ? headerErrors() : 0;
        const send =
          frameTo !== null
            ? frame6(spoofed ?? FAMILIES.ipv6.client, to, frameTo)
            : spoofed !== null
              ? spoof(family, spoofed, to)
              : [
                  'import socket',
                  `s = socket.socket(socket.${family === 'ipv4' ? 'AF_INET' : 'AF_INET6'}, socket.SOCK_DGRAM)`,
                  's.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)',
                  ...(family === 'ipv6'
                    ? [
                        `s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex("eth0"))`,
                      ]
                    : []),
                  // from the client's link-local address, where asked
                  ...(from === null
                    ? []
                    : [`s.bind((${JSON.stringify(from)}, 0, 0, socket.if_nametoindex("eth0")))`]),
                  `s.sendto(b"x", (${JSON.stringify(to)}, 5000))`,
                ].join('\n');
        const taken = lab.fate(family, send);
        if (taken !== null) return taken;
        // IPv6 drops some packets before any chain, and counts them
        if (family === 'ipv6' && headerErrors() > before) return 'dropped';
        throw new Error(`${to}: never reached the router`);
      };
      const seen: string[] = [];
      for (const family of ['ipv4', 'ipv6'] as const) {
        const { client: from, destinations } = FAMILIES[family];
        for (const to of destinations) {
          const kernel = fate(family, to);
          const tr = engine.trace(newConnection(family, 'udp', from, to, 5000, 'in0'));
          const said = traceFate(tr);
          seen.push(`${to} kernel ${kernel}, dockwall ${said} (${tr.certainty})`);
        }
      }
      // a link-local source: the kernel forwards nothing from it (routing.ts `scopedSources`)
      const linkLocal = (
        JSON.parse(sh(['ip', '-n', client, '-6', '-j', 'addr', 'show', 'dev', 'eth0'])) as {
          addr_info?: { local?: string; scope?: string }[];
        }[]
      )
        .flatMap((i) => i.addr_info ?? [])
        .find((a) => a.scope === 'link')?.local;
      if (linkLocal === undefined) throw new Error('the client has no link-local address');
      const kernel = fate('ipv6', '2001:db8:2::2', linkLocal);
      const tr = engine.trace(
        newConnection('ipv6', 'udp', linkLocal, '2001:db8:2::2', 5000, 'in0'),
      );
      seen.push(
        `2001:db8:2::2 from fe80:: kernel ${kernel}, dockwall ${tr.delivery?.kind === 'forward' ? 'forwarded' : tr.verdict} (${tr.certainty})`,
      );
      // sources routing refuses whatever the rules (routing.ts `martianSources`,
      // `unreceivedSources`, `scopedSources`), sent through the router and to its address
      const spoofedFrom: Record<Family, readonly string[]> = {
        ipv4: [
          '224.1.2.3',
          '255.255.255.255',
          '127.0.0.5',
          '127.0.0.1',
          '192.0.2.1',
          '198.51.100.1',
          '192.0.2.255',
          '0.1.2.3',
          '240.0.0.1',
        ],
        ipv6: ['::1', 'ff0e::1', '::', '2001:db8:1::1'],
      };
      const martians: string[] = [];
      for (const family of ['ipv4', 'ipv6'] as const)
        for (const to of family === 'ipv4'
          ? ['198.51.100.2', '192.0.2.1']
          : ['2001:db8:2::2', '2001:db8:1::1'])
          for (const source of spoofedFrom[family]) {
            const kernel = fate(family, to, null, source);
            const tr = engine.trace(newConnection(family, 'udp', source, to, 5000, 'in0'));
            const said = traceFate(tr);
            martians.push(
              `${source} to ${to}: kernel ${kernel}, dockwall ${said} (${tr.certainty})`,
            );
          }
      expect(martians).toEqual([
        '224.1.2.3 to 198.51.100.2: kernel dropped, dockwall dropped (certain)',
        '255.255.255.255 to 198.51.100.2: kernel dropped, dockwall dropped (certain)',
        '127.0.0.5 to 198.51.100.2: kernel dropped, dockwall dropped (certain)',
        '127.0.0.1 to 198.51.100.2: kernel dropped, dockwall dropped (certain)',
        '192.0.2.1 to 198.51.100.2: kernel dropped, dockwall dropped (certain)',
        '198.51.100.1 to 198.51.100.2: kernel dropped, dockwall dropped (certain)',
        // a prefix's broadcast address passes while no policy rule or local route has been
        // added, which no snapshot can show (source-check-referee.test.ts)
        '192.0.2.255 to 198.51.100.2: kernel forwarded, dockwall forwarded (possible)',
        '0.1.2.3 to 198.51.100.2: kernel forwarded, dockwall forwarded (certain)',
        '240.0.0.1 to 198.51.100.2: kernel forwarded, dockwall forwarded (certain)',
        '224.1.2.3 to 192.0.2.1: kernel dropped, dockwall dropped (certain)',
        '255.255.255.255 to 192.0.2.1: kernel dropped, dockwall dropped (certain)',
        '127.0.0.5 to 192.0.2.1: kernel dropped, dockwall dropped (certain)',
        '127.0.0.1 to 192.0.2.1: kernel dropped, dockwall dropped (certain)',
        '192.0.2.1 to 192.0.2.1: kernel dropped, dockwall dropped (certain)',
        '198.51.100.1 to 192.0.2.1: kernel dropped, dockwall dropped (certain)',
        '192.0.2.255 to 192.0.2.1: kernel delivered, dockwall delivered (possible)',
        // the answer leaves by out0, its source whichever the server picks
        '0.1.2.3 to 192.0.2.1: kernel delivered, dockwall delivered (possible)',
        '240.0.0.1 to 192.0.2.1: kernel delivered, dockwall delivered (possible)',
        '::1 to 2001:db8:2::2: kernel dropped, dockwall dropped (certain)',
        'ff0e::1 to 2001:db8:2::2: kernel dropped, dockwall dropped (certain)',
        ':: to 2001:db8:2::2: kernel dropped, dockwall dropped (certain)',
        '2001:db8:1::1 to 2001:db8:2::2: kernel forwarded, dockwall forwarded (certain)',
        '::1 to 2001:db8:1::1: kernel dropped, dockwall dropped (certain)',
        'ff0e::1 to 2001:db8:1::1: kernel dropped, dockwall dropped (certain)',
        ':: to 2001:db8:1::1: kernel delivered, dockwall delivered (possible)',
        '2001:db8:1::1 to 2001:db8:1::1: kernel delivered, dockwall delivered (certain)',
      ]);
      // IPv6 destinations refused on arrival (routing.ts `unreceivedDestinations`), written as
      // frames: the client's own routing would keep them
      const in0 = lab.in0Mac();
      const unreceived = ['::1', 'ff00::1', 'ff01::1', 'ff11::1', 'ff02::1'].map((to) => {
        const kernel = fate('ipv6', to, null, null, in0);
        const tr = engine.trace(
          newConnection('ipv6', 'udp', FAMILIES.ipv6.client, to, 5000, 'in0'),
        );
        return `${to}: kernel ${kernel}, dockwall ${tr.delivery?.kind === 'local' ? 'delivered' : tr.verdict} (${tr.certainty})`;
      });
      expect(unreceived).toEqual([
        '::1: kernel dropped, dockwall dropped (certain)',
        'ff00::1: kernel dropped, dockwall dropped (certain)',
        'ff01::1: kernel dropped, dockwall dropped (certain)',
        'ff11::1: kernel dropped, dockwall dropped (certain)',
        // the all-nodes group reaches the host's sockets (whether in0 joined it is not read)
        'ff02::1: kernel delivered, dockwall delivered (possible)',
      ]);
      // a broadcast, to any of the host's prefixes, is delivered to its sockets; a multicast
      // group's packets only possibly (which groups the interface joined is not read); what
      // the kernel refuses to forward from a link-local source, certainly dropped
      expect(seen).toEqual([
        '224.1.2.3 kernel dropped, dockwall delivered (possible)',
        '239.255.255.250 kernel dropped, dockwall delivered (possible)',
        '224.0.0.1 kernel delivered, dockwall delivered (possible)',
        '255.255.255.255 kernel delivered, dockwall delivered (certain)',
        '192.0.2.255 kernel delivered, dockwall delivered (certain)',
        '198.51.100.255 kernel delivered, dockwall delivered (certain)',
        '198.51.100.2 kernel forwarded, dockwall forwarded (certain)',
        '0.1.2.3 kernel forwarded, dockwall forwarded (certain)',
        'ff0e::1 kernel dropped, dockwall delivered (possible)',
        'ff02::1234 kernel dropped, dockwall delivered (possible)',
        'ff02::1 kernel delivered, dockwall delivered (possible)',
        'ff05::2 kernel delivered, dockwall delivered (possible)',
        '2001:db8:2::2 kernel forwarded, dockwall forwarded (certain)',
        '2001:db8:2::2 from fe80:: kernel dropped, dockwall dropped (certain)',
      ]);
    } finally {
      lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
