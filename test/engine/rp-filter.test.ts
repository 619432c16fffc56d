/**
 * Reverse path filtering (`rp_filter`, engine/rp-filter.ts) on the router the kernel referee
 * measured (test/kernel/rp-filter-referee.test.ts): a client prefix on in0, a default route out
 * of out0, 10.9.0.0/16 on d0 and 10.10.0.0/16 routed out of na0, which has no address. Traces
 * and discovery must drop what the kernel dropped, say why, and say where the switch is only
 * taken.
 */
import { describe, expect, it } from 'vitest';
import { newConnection } from '../../src/analysis/packets.ts';
import type { NetworkContext, RpFilter } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/index.ts';
import { rpModeOf } from '../../src/engine/rp-filter.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import type { Ruleset } from '../../src/model/ruleset.ts';
import { RP_ROUTED as ROUTED, RP_SOURCES as SOURCES } from '../lab/rp-filter-cases.ts';

const ACCEPT_ALL: Ruleset = (() => {
  const r = parseIptables('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n', {
    file: 'rules',
    family: 'ipv4',
  });
  if (r.ruleset === null) throw new Error('no ruleset');
  return r.ruleset;
})();

const ROUTER: NetworkContext = {
  family: 'ipv4',
  interfaces: ['lo', 'in0', 'out0', 'd0', 'na0'],
  localAddresses: ['192.0.2.1', '198.51.100.1', '10.9.0.1'],
  routes: [
    { destination: '192.0.2.0/24', device: 'in0' },
    { destination: '198.51.100.0/24', device: 'out0' },
    { destination: '10.9.0.0/16', device: 'd0' },
    { destination: '10.10.0.0/16', device: 'na0' },
    { destination: 'default', device: 'out0' },
  ],
  broadcastAddresses: ['192.0.2.255', '198.51.100.255', '10.9.255.255'],
  redirectAddresses: [
    { interface: 'in0', address: '192.0.2.1' },
    { interface: 'out0', address: '198.51.100.1' },
    { interface: 'd0', address: '10.9.0.1' },
    { interface: 'na0', address: null },
  ],
  forwarding: true,
};

const on = (all: 0 | 1 | 2 | null, in0?: 0 | 1 | 2): NetworkContext => {
  const rpFilter: RpFilter = {
    all,
    interfaces: new Map(in0 === undefined ? [] : [['in0', in0]]),
  };
  return { ...ROUTER, rpFilter };
};

/** Where a datagram from `source` arriving on in0 goes, as the trace says, and how sure. */
const fate = (context: NetworkContext, source: string, to = '198.51.100.2'): string => {
  const t = createEngine(ACCEPT_ALL, context).trace(
    newConnection('ipv4', 'udp', source, to, 5000, 'in0'),
  );
  const said =
    t.delivery?.kind === 'forward'
      ? 'forwarded'
      : t.delivery?.kind === 'local'
        ? 'delivered'
        : t.verdict;
  return `${said} ${t.certainty}`;
};

/** The sources whose datagram from in0 discovery's flows hold where the trace drops it, or not. */
const discoveryDisagrees = (context: NetworkContext, sources: readonly string[]): string[] => {
  const flows = createEngine(ACCEPT_ALL, context).discover({
    ingress: 'in0',
    protocols: ['udp'],
  }).flows;
  return sources.filter((source) => {
    const packet = newConnection('ipv4', 'udp', source, '198.51.100.2', 5000, 'in0');
    const found = flows.some((f) => f.packets().contains(packet));
    return found !== fate(context, source).startsWith('forwarded');
  });
};

describe('rp_filter: which sources routing takes from an interface', () => {
  it('takes the larger of all and the interface, and lists what an unknown one may be', () => {
    const rp = (all: 0 | 1 | 2 | null, own?: 0 | 1 | 2) => ({
      all,
      interfaces: new Map(own === undefined ? [] : [['in0', own]]),
    });
    expect(rpModeOf(rp(0, 1), 'in0', true)).toEqual({ mode: 1, possible: [1] });
    expect(rpModeOf(rp(1, 0), 'in0', true)).toEqual({ mode: 1, possible: [1] });
    expect(rpModeOf(rp(1, 2), 'in0', true)).toEqual({ mode: 2, possible: [2] });
    expect(rpModeOf(rp(2, 1), 'in0', true)).toEqual({ mode: 2, possible: [2] });
    // the interface's own not known: all=2 decides; all=1 may be loosened
    expect(rpModeOf(rp(2), 'in0', true)).toEqual({ mode: 2, possible: [2] });
    expect(rpModeOf(rp(1), 'in0', true)).toEqual({ mode: 1, possible: [1, 2] });
    // nothing known: off, the kernel's default, taken
    expect(rpModeOf(undefined, 'in0', true)).toEqual({ mode: 0, possible: [0, 1, 2] });
    // a class of several interfaces has no switch of its own
    expect(rpModeOf(rp(0, 1), 'in0', false)).toEqual({ mode: 0, possible: [0, 1, 2] });
  });

  it.each([
    ['strict', 1, 0],
    ['strict', 0, 1],
    ['loose', 0, 2],
    ['loose', 1, 2],
    ['loose', 2, 1],
  ] as const)('%s (all=%i, in0=%i): drops what the kernel dropped, certainly', (mode, all, in0) => {
    const context = on(all, in0);
    for (const source of SOURCES)
      for (const to of ['198.51.100.2', '192.0.2.1']) {
        const routed = ROUTED[mode].includes(source);
        const said = fate(context, source, to);
        if (routed) expect(said, `${source} → ${to}`).toMatch(/^(forwarded|delivered) /);
        else expect(said, `${source} → ${to}`).toBe('dropped certain');
      }
  });

  it('says why the packet was dropped', () => {
    const engine = createEngine(ACCEPT_ALL, on(1, 0));
    const t = engine.trace(newConnection('ipv4', 'udp', '10.9.0.5', '198.51.100.2', 5000, 'in0'));
    expect(t.unrouted).toBe(
      'the route back to 10.9.0.5 leaves by d0, not in0: reverse path filtering (rp_filter strict) drops the packet arriving on in0',
    );
    const b = engine.trace(
      newConnection('ipv4', 'udp', '192.0.2.255', '198.51.100.2', 5000, 'in0'),
    );
    expect(b.unrouted).toMatch(/^the source 192\.0\.2\.255 is a broadcast address of the host's: /);
  });

  it('drops a loopback source that route_localnet lets in: its route back is the host’s own', () => {
    const localnet = {
      routeLocalnet: { all: false, interfaces: new Map([['in0', true]]), unknown: 'off' as const },
    };
    // off: forwarded (its answer's fate rests on out0's route_localnet, not given here)
    expect(fate({ ...on(0, 0), ...localnet }, '127.0.0.5')).toMatch(/^forwarded /);
    for (const mode of [1, 2] as const) {
      const t = createEngine(ACCEPT_ALL, { ...on(0, mode), ...localnet }).trace(
        newConnection('ipv4', 'udp', '127.0.0.5', '198.51.100.2', 5000, 'in0'),
      );
      expect([t.verdict, t.certainty, t.unrouted]).toEqual([
        'dropped',
        'certain',
        `the source 127.0.0.5 is a loopback address: reverse path filtering (rp_filter ${mode === 1 ? 'strict' : 'loose'}) drops the packet arriving on in0`,
      ]);
    }
  });

  it('loose on an interface without an address drops what strict does; with no route, loose drops', () => {
    // the client's prefix moved to na0, which has no address
    const moved: NetworkContext = {
      ...ROUTER,
      routes: ROUTER.routes.map((r) => (r.device === 'in0' ? { ...r, device: 'na0' } : r)),
      rpFilter: { all: 0, interfaces: new Map([['na0', 2]]) },
    };
    const from = (source: string): string => {
      const t = createEngine(ACCEPT_ALL, moved).trace(
        newConnection('ipv4', 'udp', source, '198.51.100.2', 5000, 'na0'),
      );
      return `${t.delivery?.kind === 'forward' ? 'forwarded' : t.verdict} ${t.certainty}`;
    };
    expect(from('203.0.113.5')).toBe('dropped certain');
    expect(from('198.51.100.7')).toBe('dropped certain');
    expect(from('192.0.2.7')).toBe('forwarded certain');
    const noDefault: NetworkContext = {
      ...on(0, 2),
      routes: ROUTER.routes.filter((r) => r.destination !== 'default'),
    };
    expect(fate(noDefault, '203.0.113.5', '198.51.100.2')).toBe('dropped certain');
    expect(fate(noDefault, '198.51.100.7', '198.51.100.2')).toBe('forwarded certain');
  });

  it('strict over an assumed route back: neither drops nor passes for certain', () => {
    // no routes file: the default route out0's only by assumption, it may leave by in0
    const assumed: NetworkContext = {
      ...on(1, 1),
      routes: ROUTER.routes.map((r) =>
        r.destination === 'default' ? { ...r, provenance: 'assumed' as const } : r,
      ),
    };
    expect(fate(assumed, '203.0.113.5')).toBe('forwarded possible');
    const packet = newConnection('ipv4', 'udp', '203.0.113.5', '198.51.100.2', 5000, 'in0');
    const flows = createEngine(ACCEPT_ALL, assumed)
      .discover({ ingress: 'in0', protocols: ['udp'] })
      .flows.filter((f) => f.packets().contains(packet));
    expect(flows.map((f) => f.certainty)).toEqual(['possible']);
    // a source routed back by another interface for certain is still dropped for certain
    expect(fate(assumed, '10.9.0.5')).toBe('dropped certain');
  });

  it('not known, it is taken to be off: a source it would drop makes the trace possible', () => {
    const engine = createEngine(ACCEPT_ALL, ROUTER);
    const spoofed = engine.trace(
      newConnection('ipv4', 'udp', '10.9.0.5', '198.51.100.2', 5000, 'in0'),
    );
    expect(spoofed.delivery?.kind).toBe('forward');
    expect(spoofed.certainty).toBe('possible');
    expect(spoofed.assumptions).toContain(
      "rp_filter is taken to be off for in0, the kernel's default (the snapshot does not say); strict, the kernel drops this packet: the route back to 10.9.0.5 leaves by d0, not in0",
    );
    // the client's own prefix passes either way: nothing to assume
    const client = engine.trace(
      newConnection('ipv4', 'udp', '192.0.2.7', '198.51.100.2', 5000, 'in0'),
    );
    expect([client.delivery?.kind, client.certainty, client.assumptions]).toEqual([
      'forward',
      'certain',
      [],
    ]);
  });

  it('discovery drops the same sources, and says the flows around them', () => {
    const found = (context: NetworkContext) =>
      createEngine(ACCEPT_ALL, context).discover({ ingress: 'in0', protocols: ['udp'] }).flows;
    // strict: only the client's prefix, said as that prefix (not as every address, which the
    // refused sources around it would allow as well)
    const strict = found(on(1, 0));
    const toGroups = (f: (typeof strict)[number]): boolean => f.toHost === false;
    expect([
      ...new Set(
        strict.filter((f) => !toGroups(f)).map((f) => `${f.certainty} ${f.sources.join(',')}`),
      ),
    ]).toEqual(['certain 192.0.2.0/24']);
    // a broadcast from 0.0.0.0/8 is not checked (DHCP): delivered to the host's sockets
    const dhcp = newConnection('ipv4', 'udp', '0.0.0.0', '255.255.255.255', 67, 'in0');
    expect(strict.filter((f) => f.packets().contains(dhcp)).map((f) => f.certainty)).toEqual([
      'certain',
    ]);
    // the uplink under the same switch: every source but the other interfaces' prefixes, said
    // as every address
    const uplink = createEngine(ACCEPT_ALL, on(1, 0))
      .discover({ ingress: 'out0', protocols: ['udp'] })
      .flows.filter((f) => f.delivery.outInterface === 'in0');
    expect([...new Set(uplink.map((f) => `${f.certainty} ${f.sources.join(',')}`))]).toEqual([
      'certain 0.0.0.0/0',
    ]);
    // what the kernel delivered or forwarded is in a flow, what it dropped in none
    for (const [context, mode] of [
      [on(0, 0), null],
      [on(1, 0), 'strict'],
      [on(0, 2), 'loose'],
    ] as const) {
      const flows = mode === 'strict' ? strict : found(context);
      for (const source of SOURCES) {
        const packet = newConnection('ipv4', 'udp', source, '198.51.100.2', 5000, 'in0');
        const routed = mode === null || ROUTED[mode].includes(source);
        expect(
          flows.some((f) => f.packets().contains(packet)),
          `${mode ?? 'off'}: ${source}`,
        ).toBe(routed);
      }
    }
  });

  describe('accept_local: a source of the host’s own', () => {
    /** The router's own addresses (in0's, out0's, d0's), lo's, and another of 127.0.0.0/8. */
    const OWN = ['192.0.2.1', '198.51.100.1', '10.9.0.1', '127.0.0.1', '127.0.0.5'];
    const with_ = (accept: boolean | null, rp: 0 | 1 | 2): NetworkContext => ({
      ...on(0, rp),
      addressDevices: [
        { address: '192.0.2.1', device: 'in0' },
        { address: '198.51.100.1', device: 'out0' },
        { address: '10.9.0.1', device: 'd0' },
      ],
      routeLocalnet: {
        all: false,
        interfaces: new Map(ROUTER.interfaces.map((n) => [n, n === 'in0'])),
        unknown: 'off',
      },
      ...(accept === null
        ? {}
        : {
            acceptLocal: {
              all: false,
              interfaces: new Map(ROUTER.interfaces.map((n) => [n, n === 'in0' && accept])),
            },
          }),
    });

    it('drops it as a martian where off, routes it where on, as the kernel did', () => {
      // the kernel referee's table (test/kernel/rp-filter-referee.test.ts)
      for (const rp of [0, 1, 2] as const) {
        const off = OWN.map((source) => fate(with_(false, rp), source));
        expect(off, `off, rp_filter ${rp}`).toEqual(
          // 127.0.0.5 is routed unless a rule or local route was added (see below)
          OWN.map((s) =>
            s === '127.0.0.5' && rp === 0 ? 'forwarded possible' : 'dropped certain',
          ),
        );
        const taken = OWN.map((source) => fate(with_(true, rp), source));
        expect(taken, `on, rp_filter ${rp}`).toEqual(
          OWN.map((s) => (rp === 1 && s !== '192.0.2.1' ? 'dropped certain' : 'forwarded certain')),
        );
      }
    });

    it('not known, it is taken to be off: the drop is only possible, and says why', () => {
      const t = createEngine(ACCEPT_ALL, with_(null, 0)).trace(
        newConnection('ipv4', 'udp', '198.51.100.1', '198.51.100.2', 5000, 'in0'),
      );
      expect([t.verdict, t.certainty]).toEqual(['dropped', 'possible']);
      expect(t.assumptions).toContain(
        "accept_local is taken to be off for in0, the kernel's default (the snapshot does not say; on, a source of the host's own arriving there is routed)",
      );
    });

    it('strict over an address whose interface is not known: neither drops nor passes for certain', () => {
      const context = { ...with_(true, 1), addressDevices: [] };
      expect(fate(context, '198.51.100.1')).toBe('forwarded possible');
      expect(fate(context, '127.0.0.5')).toBe('dropped certain');
    });

    it('discovery takes the same sources', () => {
      for (const accept of [false, true])
        for (const rp of [0, 1, 2] as const)
          expect(discoveryDisagrees(with_(accept, rp), OWN), `${accept}, ${rp}`).toEqual([]);
    });
  });

  describe('every source checked by its route back, once a rule or local route was added', () => {
    const SOURCES = ['192.0.2.255', '10.9.255.255', '127.0.0.5', '192.0.2.7'];
    const base: NetworkContext = {
      ...on(0, 0),
      routeLocalnet: {
        all: false,
        interfaces: new Map(ROUTER.interfaces.map((n) => [n, n === 'in0'])),
        unknown: 'off',
      },
      acceptLocal: { all: false, interfaces: new Map(ROUTER.interfaces.map((n) => [n, false])) },
    };
    const checked: NetworkContext = { ...base, sourcesChecked: true };

    it('drops a broadcast or loopback source, rp_filter off (the kernel referee measured it)', () => {
      expect(SOURCES.map((s) => fate(checked, s))).toEqual([
        'dropped certain',
        'dropped certain',
        'dropped certain',
        'forwarded certain',
      ]);
      // accept_local takes a local route as a route back
      const accepting = { ...checked, acceptLocal: { all: true, interfaces: new Map() } };
      expect(fate(accepting, '127.0.0.5')).toBe('forwarded certain');
      // not shown, the check is taken not to happen, and a trace it would drop says so
      expect(SOURCES.map((s) => fate(base, s))).toEqual([
        'forwarded possible',
        'forwarded possible',
        'forwarded possible',
        'forwarded certain',
      ]);
    });

    it('discovery takes the same sources', () => {
      for (const context of [base, checked])
        expect(discoveryDisagrees(context, SOURCES)).toEqual([]);
      // and says "any source" without the broadcast addresses the kernel refuses as holes
      const through = createEngine(ACCEPT_ALL, checked)
        .discover({ ingress: 'in0', protocols: ['udp'] })
        .flows.filter((f) => f.delivery.outInterface === 'out0');
      expect([...new Set(through.map((f) => `${f.certainty} ${f.sources.join(',')}`))]).toEqual([
        'certain 0.0.0.0/0',
      ]);
    });
  });
});
