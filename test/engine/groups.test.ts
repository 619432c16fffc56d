/**
 * Multicast and broadcast destinations arriving on an interface: the kernel never forwards
 * them, whatever the routes and FORWARD say. Measured in network namespaces (Linux 6.18,
 * forwarding on, FORWARD accepting, a default route; UDP from a client on the in-interface,
 * counted in mangle's chains): 224.1.2.3 and 239.255.255.250 met PREROUTING and no chain after
 * it; 224.0.0.1, 255.255.255.255 and the in-interface's broadcast 192.0.2.255 (of 192.0.2.1/24)
 * met INPUT; 198.51.100.2 and 0.1.2.3 were forwarded. IPv6 (forwarding on): ff0e::1 and
 * ff02::1234 met PREROUTING alone; ff02::1 and ff05::2 (all routers) INPUT; 2001:db8:2::2 was
 * forwarded.
 */
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../src/engine/addr.ts';
import type { NetworkContext } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/index.ts';
import type { Packet } from '../../src/model/trace.ts';
import { o, ruleset, t } from './build.ts';
import { crossCheck, firstPacket } from './crosscheck.ts';

/** The measured router: mcr 192.0.2.1/24 toward the client, the default route via mcr2. */
const router: NetworkContext = {
  family: 'ipv4',
  interfaces: ['lo', 'mcr', 'mcr2'],
  localAddresses: ['192.0.2.1', '198.51.100.1'],
  broadcastAddresses: ['192.0.2.255', '198.51.100.255'],
  routes: [
    { destination: 'default', device: 'mcr2' },
    { destination: '192.0.2.0/24', device: 'mcr' },
    { destination: '198.51.100.0/24', device: 'mcr2' },
  ],
};

const forwardsAll = ruleset({
  filter: { FORWARD: { policy: 'ACCEPT', rules: [[[o.proto('udp')], t.accept()]] } },
});

const udp = (destination: string): Packet => ({
  family: 'ipv4',
  protocol: 'udp',
  source: '192.0.2.2',
  sourcePort: 40000,
  destination,
  destinationPort: 5000,
  inInterface: 'mcr',
  state: 'NEW',
  mark: 0,
});

describe('multicast and broadcast destinations, and scoped sources, from outside', () => {
  const engine = createEngine(forwardsAll, router);
  const forwarded = engine
    .reach({ ingress: 'mcr', packets: { protocols: ['udp'] } })
    .deliveredTo({ kind: 'forward' });

  const local = engine
    .reach({ ingress: 'mcr', packets: { protocols: ['udp'] } })
    .deliveredTo({ kind: 'local' });

  it.each(['224.1.2.3', '239.255.255.250', '224.0.0.1'])(
    '%s is never forwarded, and delivered to the host possibly, as the trace says',
    (to) => {
      expect(forwarded.possible.contains(udp(to))).toBe(false);
      expect(local.certain.contains(udp(to))).toBe(false);
      expect(local.possible.contains(udp(to))).toBe(true);
      const tr = engine.trace(udp(to));
      expect([tr.verdict, tr.certainty, tr.delivery?.kind]).toEqual([
        'accepted',
        'possible',
        'local',
      ]);
      expect(tr.assumptions.join(' ')).toMatch(/has joined the multicast group/);
    },
  );

  it.each(['255.255.255.255', '192.0.2.255'])(
    '%s is never forwarded, and delivered to the host',
    (to) => {
      expect(forwarded.possible.contains(udp(to))).toBe(false);
      expect(local.certain.contains(udp(to))).toBe(true);
      const tr = engine.trace(udp(to));
      expect([tr.verdict, tr.certainty, tr.delivery?.kind]).toEqual([
        'accepted',
        'certain',
        'local',
      ]);
    },
  );

  it.each(['198.51.100.2', '0.1.2.3'])('%s is forwarded, certainly', (to) => {
    expect(forwarded.certain.contains(udp(to))).toBe(true);
    expect(engine.trace(udp(to)).verdict).toBe('accepted');
  });

  it('agrees with the interpreter on every protocol', () => {
    const addr = (a: string): bigint => parseAddress(a, 'ipv4') ?? 0n;
    const packets = ['224.1.2.3', '224.0.0.1', '255.255.255.255', '192.0.2.255', '198.51.100.2']
      .flatMap((dst) => [1, 6, 17].map((proto) => ({ dst, proto })))
      .map(({ dst, proto }) =>
        firstPacket({
          iif: 'mcr',
          state: 'NEW',
          proto,
          src: addr('192.0.2.2'),
          dst: addr(dst),
          sport: 40000,
          dport: 5000,
          mark: 0,
        }),
      );
    const result = crossCheck(forwardsAll, router, packets);
    expect(result.failures).toEqual([]);
  });

  it('over IPv6 as well', () => {
    const router6: NetworkContext = {
      family: 'ipv6',
      interfaces: ['lo', 'mcr', 'mcr2'],
      localAddresses: ['2001:db8:1::1', '2001:db8:2::1'],
      routes: [
        { destination: 'default', device: 'mcr2' },
        { destination: '2001:db8:1::/64', device: 'mcr' },
        { destination: '2001:db8:2::/64', device: 'mcr2' },
      ],
    };
    const rs = ruleset(
      { filter: { FORWARD: { policy: 'ACCEPT', rules: [[[o.proto('udp')], t.accept()]] } } },
      'ipv6',
    );
    const e6 = createEngine(rs, router6);
    const out = e6.reach({ ingress: 'mcr', packets: { protocols: ['udp'] } }).deliveredTo({
      kind: 'forward',
    });
    const to = (destination: string): Packet => ({
      ...udp(destination),
      family: 'ipv6',
      source: '2001:db8:1::2',
    });
    for (const group of ['ff0e::1', 'ff02::1234', 'ff02::1', 'ff05::2']) {
      expect(out.possible.contains(to(group))).toBe(false);
      expect(e6.trace(to(group)).certainty).toBe('possible');
    }
    expect(out.certain.contains(to('2001:db8:2::2'))).toBe(true);
    // nothing from a link-local, loopback or multicast source is forwarded (measured: from the
    // client's fe80:: address, PREROUTING alone), certainly
    for (const source of ['fe80::1', '::1', 'ff02::1']) {
      const p = { ...to('2001:db8:2::2'), source };
      expect(out.possible.contains(p)).toBe(false);
      expect([e6.trace(p).verdict, e6.trace(p).certainty]).toEqual(['dropped', 'certain']);
    }
    const six = (a: string): bigint => parseAddress(a, 'ipv6') ?? 0n;
    const packets = ['fe80::1', '::1', 'ff02::1', '2001:db8:1::2'].flatMap((src) =>
      ['2001:db8:2::2', 'ff0e::1', '2001:db8:1::1'].flatMap((dst) =>
        [58, 6, 17].map((proto) =>
          firstPacket({
            iif: 'mcr',
            state: 'NEW',
            proto,
            src: six(src),
            dst: six(dst),
            sport: 40000,
            dport: 5000,
            mark: 0,
          }),
        ),
      ),
    );
    expect(crossCheck(rs, router6, packets).failures).toEqual([]);
  });
});
