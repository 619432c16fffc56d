/**
 * Routes that send nowhere (routing.ts `Routing.deadEnds`: blackhole, unreachable, prohibit) on
 * the router the kernel referee measured (test/kernel/routing-referee.test.ts): a client
 * on in0, a default route out of out0, a dead end of each type and a route inside the
 * blackhole. What a dead end decides is dropped for certain, through the host and back to a
 * source inside one; a longer route inside it still routes; `addrtype` is unchanged.
 */
import { describe, expect, it } from 'vitest';
import { newConnection } from '../../src/analysis/packets.ts';
import { answeredSources } from '../../src/analysis/replies.ts';
import { formatCidr } from '../../src/engine/addr.ts';
import type { NetworkContext, RpFilter } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/index.ts';
import { rpRefusedSources } from '../../src/engine/rp-filter.ts';
import { routingOf } from '../../src/engine/routing.ts';
import { CompiledRuleset } from '../../src/engine/compile.ts';
import { o, ruleset, t } from './build.ts';
import { traceFate } from '../lab/router-lab.ts';
import type { AddressType, Family } from '../../src/model/ruleset.ts';
import { crossCheck, newPackets } from './crosscheck.ts';

const ROUTER: NetworkContext = {
  family: 'ipv4',
  interfaces: ['lo', 'in0', 'out0'],
  localAddresses: ['192.0.2.1', '198.51.100.1'],
  broadcastAddresses: ['192.0.2.255', '198.51.100.255'],
  routes: [
    { destination: '192.0.2.0/24', device: 'in0' },
    { destination: '198.51.100.0/24', device: 'out0' },
    { destination: '203.0.113.128/25', device: 'out0' },
    { destination: 'default', device: 'out0' },
  ],
  deadEnds: [
    { destination: '203.0.113.0/24', type: 'blackhole' },
    { destination: '198.18.0.0/16', type: 'unreachable' },
    { destination: '198.19.0.0/16', type: 'prohibit' },
  ],
  redirectAddresses: [
    { interface: 'in0', address: '192.0.2.1' },
    { interface: 'out0', address: '198.51.100.1' },
  ],
  forwarding: true,
};

const withRp = (all: 0 | 1 | 2): NetworkContext => {
  const rpFilter: RpFilter = {
    all,
    interfaces: new Map([
      ['in0', 0],
      ['out0', 0],
    ]),
  };
  return { ...ROUTER, rpFilter };
};

const forwardsAll = ruleset({
  filter: { FORWARD: { policy: 'ACCEPT', rules: [[[o.proto('udp')], t.accept()]] } },
});

/** Where a datagram arriving on in0 goes, as the trace says, and how sure. */
const fate = (context: NetworkContext, source: string, to: string): string => {
  const tr = createEngine(forwardsAll, context).trace(
    newConnection('ipv4', 'udp', source, to, 5000, 'in0'),
  );
  const said =
    tr.delivery?.kind === 'forward'
      ? 'forwarded'
      : tr.delivery?.kind === 'local'
        ? 'delivered'
        : tr.verdict;
  return `${said} ${tr.certainty}`;
};

describe('dead-end routes', () => {
  it('drop what they decide, for certain, and say which route', () => {
    expect(fate(ROUTER, '192.0.2.2', '198.51.100.2')).toBe('forwarded certain');
    for (const to of ['203.0.113.5', '198.18.0.5', '198.19.0.5'])
      expect(fate(ROUTER, '192.0.2.2', to), to).toBe('dropped certain');
    // the longer route inside the blackhole decides
    expect(fate(ROUTER, '192.0.2.2', '203.0.113.200')).toBe('forwarded certain');
    const tr = createEngine(forwardsAll, ROUTER).trace(
      newConnection('ipv4', 'udp', '192.0.2.2', '198.19.0.5', 5000, 'in0'),
    );
    expect(tr.unrouted).toBe(
      'the route to 198.19.0.5 is a prohibit route (198.19.0.0/16), which sends nowhere',
    );
  });

  it('leave no route back: reverse path filtering drops their sources, loose as strict', () => {
    for (const source of ['203.0.113.5', '198.18.0.5', '198.19.0.5']) {
      expect(fate(withRp(0), source, '198.51.100.2'), source).toBe('forwarded certain');
      for (const mode of [1, 2] as const)
        for (const to of ['198.51.100.2', '192.0.2.1'])
          expect(fate(withRp(mode), source, to), `${source} → ${to} rp ${mode}`).toBe(
            'dropped certain',
          );
    }
    expect(fate(withRp(2), '203.0.113.200', '198.51.100.2')).toBe('forwarded certain');
    // what discovery says a flow's sources around: the dead ends, less the route inside one
    const nf = new CompiledRuleset(forwardsAll, withRp(2), (r) => r.text);
    const ifs = nf.space.interfaces;
    const refused = rpRefusedSources(routingOf(withRp(2)), withRp(2), ifs, ifs.classOf('in0'));
    expect(refused.map((p) => formatCidr(p.value, p.length, 'ipv4'))).toEqual([
      '198.18.0.0/16',
      '198.19.0.0/16',
      '203.0.113.0/25',
      '255.255.255.255/32',
      '192.0.2.255/32',
      '198.51.100.255/32',
      '127.0.0.0/8',
    ]);
  });

  it('discovery forwards nothing into them', () => {
    const flows = createEngine(forwardsAll, ROUTER).discover({
      ingress: 'in0',
      protocols: ['udp'],
    }).flows;
    const forwardedTo = (to: string): string[] =>
      flows
        .filter(
          (f) =>
            f.delivery.kind === 'forward' &&
            f.packets().contains(newConnection('ipv4', 'udp', '192.0.2.2', to, 5000, 'in0')),
        )
        .map((f) => `${f.certainty} ${f.delivery.outInterface}`);
    expect(forwardedTo('198.51.100.2')).toEqual(['certain out0']);
    expect(forwardedTo('203.0.113.200')).toEqual(['certain out0']);
    for (const to of ['203.0.113.5', '198.18.0.5', '198.19.0.5'])
      expect(forwardedTo(to), to).toEqual([]);
  });

  it('take no answer back: a source inside one is no client', () => {
    expect(
      answeredSources(['203.0.113.0/24', '198.18.0.0/15', '192.0.2.2/31'], 'in0', ROUTER, 'ipv4'),
    ).toEqual(['192.0.2.2/31']);
    // the answer to one inside the blackhole's longer route goes out0, not in0: no client either
    expect(answeredSources(['203.0.113.0/24'], 'out0', ROUTER, 'ipv4')).toEqual([
      '203.0.113.128/25',
    ]);
  });

  it('give IPv6 addrtype UNREACHABLE, and fib type the dead end’s own; IPv4 UNICAST', () => {
    const router6: NetworkContext = {
      family: 'ipv6',
      interfaces: ['lo', 'in0', 'out0'],
      localAddresses: ['2001:db8:1::1', '2001:db8:2::1'],
      routes: [
        { destination: '2001:db8:1::/64', device: 'in0' },
        { destination: '2001:db8:2::/64', device: 'out0' },
        { destination: '2001:db8:dead:1::/64', device: 'out0' },
      ],
      deadEnds: [
        { destination: '2001:db8:dead::/48', type: 'blackhole' },
        { destination: '2001:db8:beef::/48', type: 'unreachable' },
        { destination: '2001:db8:cafe::/48', type: 'prohibit' },
      ],
      forwarding: true,
    };
    // a DNAT to a routed address for the type: what it takes is forwarded, the rest is not
    const dnatBy = (opt: (typeof o)['addrtype'], type: AddressType, family: Family) =>
      ruleset(
        {
          nat: {
            PREROUTING: {
              policy: 'ACCEPT',
              rules: [
                [[opt('dst', type)], t.dnat(family === 'ipv4' ? '198.51.100.2' : '2001:db8:2::2')],
              ],
            },
          },
          filter: { FORWARD: { policy: 'ACCEPT', rules: [] } },
        },
        family,
      );
    const taken = (opt: (typeof o)['addrtype'], type: AddressType, family: Family): string[] => {
      const [context, from, to] =
        family === 'ipv4'
          ? [ROUTER, '192.0.2.2', ['198.51.100.7', '203.0.113.5', '198.18.0.5', '198.19.0.5']]
          : [
              router6,
              '2001:db8:1::2',
              ['2001:db8:2::7', '2001:db8:dead::5', '2001:db8:beef::5', '2001:db8:cafe::5'],
            ];
      const engine = createEngine(dnatBy(opt, type, family), context);
      return to.map((a) => {
        const tr = engine.trace(newConnection(family, 'udp', from, a, 5000, 'in0'));
        return `${traceFate(tr)} ${tr.certainty}`;
      });
    };
    const all = [
      'forwarded certain',
      'forwarded certain',
      'forwarded certain',
      'forwarded certain',
    ];
    // IPv4: UNICAST, whatever the route (measured: routing-referee.test.ts)
    expect(taken(o.addrtype, 'UNICAST', 'ipv4')).toEqual(all);
    expect(taken(o.fibtype, 'UNICAST', 'ipv4')).toEqual(all);
    for (const type of ['UNREACHABLE', 'BLACKHOLE', 'PROHIBIT'] as const)
      expect(taken(o.addrtype, type, 'ipv4'), type).toEqual([
        'forwarded certain',
        'dropped certain',
        'dropped certain',
        'dropped certain',
      ]);
    // IPv6's addrtype: every dead end is UNREACHABLE (measured); fib type: the route's own
    expect(taken(o.addrtype, 'UNREACHABLE', 'ipv6')).toEqual(all);
    expect(taken(o.fibtype, 'BLACKHOLE', 'ipv6')).toEqual([
      'forwarded certain',
      'forwarded certain',
      'dropped certain',
      'dropped certain',
    ]);
    expect(taken(o.fibtype, 'UNREACHABLE', 'ipv6')).toEqual([
      'forwarded certain',
      'dropped certain',
      'forwarded certain',
      'dropped certain',
    ]);
    expect(taken(o.fibtype, 'PROHIBIT', 'ipv6')).toEqual([
      'forwarded certain',
      'dropped certain',
      'dropped certain',
      'forwarded certain',
    ]);
    // and the interpreter agrees on every type
    const packets = newPackets(
      'ipv6',
      [
        '2001:db8:2::7',
        '2001:db8:99::5',
        '2001:db8:dead::5',
        '2001:db8:beef::5',
        '2001:db8:cafe::5',
        '2001:db8:dead:1::5',
      ].map((dst) => ['in0', '2001:db8:1::2', dst] as const),
      [17],
    );
    for (const opt of [o.addrtype, o.fibtype])
      for (const type of ['UNICAST', 'UNREACHABLE', 'BLACKHOLE', 'PROHIBIT'] as const)
        if (opt === o.fibtype || type === 'UNICAST' || type === 'UNREACHABLE')
          expect(
            crossCheck(dnatBy(opt, type, 'ipv6'), router6, packets).failures,
            `${type}`,
          ).toEqual([]);
  });

  it('agree with the interpreter, addrtype and answers included', () => {
    const rs = ruleset({
      filter: {
        INPUT: {
          policy: 'ACCEPT',
          rules: [[[o.addrtype('src', 'UNICAST')], t.drop()]],
        },
        FORWARD: {
          policy: 'DROP',
          rules: [
            [[o.addrtype('dst', 'UNREACHABLE')], t.drop()],
            [[o.proto('udp')], t.accept()],
          ],
        },
      },
    });
    const packets = newPackets('ipv4', [
      ['in0', '192.0.2.2', '198.51.100.2'],
      ['in0', '192.0.2.2', '203.0.113.5'],
      ['in0', '192.0.2.2', '203.0.113.200'],
      ['in0', '192.0.2.2', '198.18.0.5'],
      ['in0', '203.0.113.5', '198.51.100.2'],
      ['in0', '198.19.0.5', '192.0.2.1'],
      ['in0', '203.0.113.200', '192.0.2.1'],
    ]);
    for (const context of [ROUTER, withRp(1), withRp(2)])
      expect(crossCheck(rs, context, packets).failures).toEqual([]);
  });
});
