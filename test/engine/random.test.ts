import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../src/engine/addr.ts';
import type { NetworkContext } from '../../src/engine/context.ts';
import type { Concrete } from '../../src/engine/interpret.ts';
import type { MatchOption, Target } from '../../src/model/ruleset.ts';
import { crossCheck, firstPacket } from './crosscheck.ts';
import { hostContext, o, ruleset, t, type ChainSpec, type RuleSpec } from './build.ts';

// Small pools so random rules and random packets meet often.
const CIDRS = [
  '203.0.113.1',
  '203.0.113.0/24',
  '172.17.0.2',
  '172.17.0.0/16',
  '10.0.0.0/8',
  '0.0.0.0/1',
  '127.0.0.1',
];
const IFACES = ['eth0', 'docker0', 'veth+', 'lo', 'wlan0', 'docker+'];
const PORTS = [22, 53, 80, 443, 8080];

const optionArb: fc.Arbitrary<MatchOption> = fc.oneof(
  fc.constantFrom(...CIDRS).map((c) => o.src(c)),
  fc.constantFrom(...CIDRS).map((c) => o.dst(c)),
  fc.constantFrom(...IFACES).map((i) => o.in(i)),
  fc.constantFrom(...IFACES).map((i) => o.out(i)),
  fc.constantFrom('tcp' as const, 'udp' as const, 'icmp' as const).map((p) => o.proto(p)),
  fc
    .tuple(fc.constantFrom(...PORTS), fc.integer({ min: 0, max: 500 }))
    .map(([p, w]) => o.dport(p, p + w)),
  fc.constantFrom(...PORTS).map((p) => o.sport(p)),
  fc
    .subarray(['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED', 'DNAT'] as const, {
      minLength: 1,
    })
    .map((s) => o.ctstate(...s)),
  fc.constantFrom('172.17.0.2', '203.0.113.1').map((c) => o.origdst(c)),
  fc.constantFrom(...PORTS).map((p) => o.origdport(p)),
  fc
    .constantFrom('LOCAL' as const, 'UNICAST' as const, 'MULTICAST' as const, 'BLACKHOLE' as const)
    .map((x) => o.addrtype('dst', x)),
  fc
    .tuple(fc.constantFrom(0, 1, 0x10), fc.constantFrom(0xff, 0xffffffff))
    .map(([v, k]) => o.mark(v, k)),
  fc.constant(o.syn()),
  fc.constant(o.recent()),
);

const maybeNegated = fc.tuple(optionArb, fc.boolean()).map(([x, n]) => (n ? o.not(x) : x));

function targetArb(kind: 'filter' | 'nat' | 'mangle' | 'raw'): fc.Arbitrary<Target | null> {
  const common: fc.Arbitrary<Target | null>[] = [
    fc.constant(t.accept()),
    fc.constant(t.drop()),
    fc.constant(t.ret()),
    fc.constant(t.log()),
    fc.constant(null),
    fc.constantFrom('A', 'B', 'C').map((c) => t.jump(c)),
    fc.constantFrom('A', 'B', 'C').map((c) => t.goto(c)),
  ];
  if (kind === 'filter') common.push(fc.constant(t.reject()));
  if (kind === 'nat') {
    common.push(
      fc
        .tuple(fc.constantFrom('172.17.0.2', '172.17.0.3', '10.1.2.3'), fc.constantFrom(80, 8080))
        .map(([a, p]) => t.dnat(a, p)),
      fc.constant(t.redirect(3128)),
      fc.constant(t.masquerade()),
    );
  }
  if (kind === 'mangle')
    common.push(
      fc
        .tuple(fc.constantFrom(0x1, 0x10, 0x11), fc.constantFrom(0xff, 0x0f, 0))
        .map(([v, k]) => t.mark(v, k)),
    );
  return fc.oneof(...common);
}

function chainArb(
  kind: 'filter' | 'nat' | 'mangle' | 'raw',
  builtin: boolean,
): fc.Arbitrary<ChainSpec> {
  const rule: fc.Arbitrary<RuleSpec> = fc.tuple(
    fc.array(maybeNegated, { maxLength: 3 }),
    targetArb(kind),
  );
  return fc
    .tuple(fc.array(rule, { maxLength: 6 }), fc.constantFrom('ACCEPT' as const, 'DROP' as const))
    .map(([rules, policy]) => (builtin ? { policy, rules } : { rules }));
}

const rulesetArb = fc
  .record({
    rawPre: chainArb('raw', true),
    manglePre: chainArb('mangle', true),
    natPre: chainArb('nat', true),
    natOut: chainArb('nat', true),
    natA: chainArb('nat', false),
    input: chainArb('filter', true),
    forward: chainArb('filter', true),
    output: chainArb('filter', true),
    a: chainArb('filter', false),
    b: chainArb('filter', false),
    c: chainArb('filter', false),
  })
  .map((r) =>
    ruleset({
      raw: { PREROUTING: r.rawPre },
      mangle: { PREROUTING: r.manglePre },
      nat: {
        PREROUTING: r.natPre,
        OUTPUT: r.natOut,
        A: r.natA,
        B: { rules: [] },
        C: { rules: [] },
      },
      filter: { INPUT: r.input, FORWARD: r.forward, OUTPUT: r.output, A: r.a, B: r.b, C: r.c },
    }),
  );

const addr = (a: string): bigint => parseAddress(a, 'ipv4') ?? 0n;
const packetArb: fc.Arbitrary<Concrete> = fc
  .record({
    iif: fc.constantFrom('eth0', 'docker0', 'veth12', 'lo', 'wlan0', 'dockerx', null),
    state: fc.constantFrom('NEW', 'NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED' as const),
    proto: fc.constantFrom(6, 17, 1, 47),
    src: fc.constantFrom(
      '203.0.113.7',
      '172.17.0.2',
      '10.9.9.9',
      '192.0.2.1',
      '127.0.0.1',
      '224.0.0.5',
    ),
    dst: fc.constantFrom(
      '203.0.113.1',
      '172.17.0.2',
      '172.17.0.1',
      '10.1.2.3',
      '8.8.8.8',
      '127.0.0.1',
      '224.0.0.1',
      '198.51.100.9',
    ),
    sport: fc.constantFrom(22, 80, 40000),
    dport: fc.constantFrom(...PORTS, 3128, 9999),
    mark: fc.constantFrom(0, 1, 0x10),
    // where the context cannot tell, whether the destination is the host's is the packet's
    loc: fc.boolean(),
  })
  .map((r) => firstPacket({ ...r, src: addr(r.src), dst: addr(r.dst) }));

/**
 * A rules-only snapshot's context: the host's addresses are not listed (only the bridge gateway
 * is known), container subnets are known not to be the host's, the default route is assumed.
 */
const partialContext: NetworkContext = {
  family: 'ipv4',
  interfaces: ['lo', 'docker0'],
  localAddresses: ['172.17.0.1'],
  localAddressesComplete: false,
  foreignAddresses: ['172.17.0.0/16'],
  routes: [
    { destination: '172.17.0.0/16', device: 'docker0', provenance: 'derived' },
    { destination: 'default', device: '*other*', provenance: 'assumed' },
  ],
};

describe('symbolic engine agrees with the concrete interpreter', () => {
  it('on random rulesets (all tables, jumps, gotos, loops, NAT, marks, unknown matches) and random packets', () => {
    let total = 0;
    let certain = 0;
    let firstFailure: string | null = null;
    const out = fc.check(
      fc.property(
        rulesetArb,
        fc.array(packetArb, { minLength: 60, maxLength: 60 }),
        (rs, packets) => {
          const r = crossCheck(rs, hostContext, packets);
          total += r.checked;
          certain += r.certainChecks;
          if (r.failures.length > 0) firstFailure ??= r.failures[0] ?? null;
          return r.failures.length === 0;
        },
      ),
      { numRuns: Number(process.env.ENGINE_RUNS ?? 60), endOnFailure: true },
    );
    expect(firstFailure).toBeNull();
    expect(out.failed).toBe(false);
    console.log(
      `random rulesets: ${total} packet verdicts checked, ${certain} of them against the certain set`,
    );
    expect(certain).toBeGreaterThan(1000);
  });
});

/** Hosts the partial context allows: other addresses of their own, other default routes. */
const partialWorlds: NetworkContext[] = [
  {
    family: 'ipv4',
    interfaces: ['lo', 'docker0', 'eth0'],
    localAddresses: ['172.17.0.1', '203.0.113.1'],
    routes: [
      { destination: '172.17.0.0/16', device: 'docker0' },
      { destination: 'default', device: 'eth0' },
    ],
  },
  {
    family: 'ipv4',
    interfaces: ['lo', 'docker0', 'wlan0'],
    localAddresses: ['172.17.0.1', '10.1.2.3', '8.8.8.8', '198.51.100.9'],
    routes: [
      { destination: '172.17.0.0/16', device: 'docker0' },
      { destination: 'default', device: 'wlan0' },
    ],
  },
  {
    family: 'ipv4',
    interfaces: ['lo', 'docker0', 'eth9'],
    localAddresses: ['172.17.0.1'],
    routes: [
      { destination: '172.17.0.0/16', device: 'docker0' },
      { destination: 'default', device: 'eth9' },
    ],
  },
];

describe('on a partial context (host addresses unknown, default route assumed)', () => {
  it('agrees with the interpreter, and what rests on an assumption is never certain', () => {
    let total = 0;
    let certain = 0;
    let firstFailure: string | null = null;
    const out = fc.check(
      fc.property(
        rulesetArb,
        fc.array(packetArb, { minLength: 60, maxLength: 60 }),
        (rs, packets) => {
          const r = crossCheck(rs, partialContext, packets, partialWorlds);
          total += r.checked;
          certain += r.certainChecks;
          if (r.failures.length > 0) firstFailure ??= r.failures[0] ?? null;
          return r.failures.length === 0;
        },
      ),
      { numRuns: Number(process.env.ENGINE_RUNS ?? 40), endOnFailure: true },
    );
    expect(firstFailure).toBeNull();
    expect(out.failed).toBe(false);
    expect(certain).toBeGreaterThan(500);
    expect(total).toBeGreaterThan(certain);
  });
});

describe('long chains (rules skipped by destination/port buckets)', () => {
  // chains of ≥ 24 rules are walked with key buckets: check they skip only rules that cannot match
  const keyed: fc.Arbitrary<RuleSpec> = fc.tuple(
    fc.array(
      fc.oneof(
        fc
          .constantFrom('172.17.0.2', '172.17.0.3', '203.0.113.1', '10.0.0.0/8')
          .map((c) => o.dst(c)),
        fc.constantFrom(22, 53, 80, 8080, 3128).map((p) => o.dport(p)),
        fc.constant(o.proto('tcp')),
        fc.constantFrom('eth0', 'docker0').map((i) => o.in(i)),
      ),
      { minLength: 1, maxLength: 3 },
    ),
    fc.oneof(
      fc.constant(t.accept()),
      fc.constant(t.drop()),
      fc.constant(t.ret()),
      fc.constant(t.mark(0x10, 0xff)),
      fc.constant(t.jump('A')),
    ),
  );
  const longChain = fc.array(keyed, { minLength: 24, maxLength: 60 });
  it('agree with the interpreter', () => {
    let total = 0;
    let firstFailure: string | null = null;
    const out = fc.check(
      fc.property(
        longChain,
        longChain,
        fc.array(packetArb, { minLength: 80, maxLength: 80 }),
        (fwd, a, packets) => {
          const rs = ruleset({
            nat: {
              PREROUTING: {
                rules: [
                  ...fwd.slice(0, 30).map(([opts]): RuleSpec => [opts, t.dnat('172.17.0.2', 80)]),
                ],
              },
            },
            filter: {
              FORWARD: { policy: 'DROP', rules: fwd },
              INPUT: { policy: 'DROP', rules: a },
              A: { rules: a },
            },
          });
          const r = crossCheck(rs, hostContext, packets);
          total += r.checked;
          if (r.failures.length > 0) firstFailure ??= r.failures[0] ?? null;
          return r.failures.length === 0;
        },
      ),
      { numRuns: 40, endOnFailure: true },
    );
    expect(firstFailure).toBeNull();
    expect(out.failed).toBe(false);
    expect(total).toBeGreaterThan(5000);
  });
});
