/**
 * Random rulesets and packets for the engine's cross-checks: small pools of addresses, ports and
 * interfaces so random rules and random packets meet often.
 */
import fc from 'fast-check';
import { parseAddress } from '../../src/engine/addr.ts';
import type { Concrete } from '../../src/engine/interpret.ts';
import type { MatchOption, Ruleset, Target } from '../../src/model/ruleset.ts';
import { firstPacket } from './crosscheck.ts';
import { o, ruleset, t, type ChainSpec, type RuleSpec } from './build.ts';

export const CIDRS = [
  '203.0.113.1',
  '203.0.113.0/24',
  '172.17.0.2',
  '172.17.0.0/16',
  '10.0.0.0/8',
  '0.0.0.0/1',
  '127.0.0.1',
];
export const IFACES = ['eth0', 'docker0', 'veth+', 'lo', 'wlan0', 'docker+'];
export const PORTS = [22, 53, 80, 443, 8080];

export const optionArb: fc.Arbitrary<MatchOption> = fc.oneof(
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
    // masks of one bit leave the other bits of the mark untracked by the engine
    .tuple(fc.constantFrom(0, 1, 0x10), fc.constantFrom(0xff, 0xffffffff, 0x10, 0x1))
    .map(([v, k]) => o.mark(v, k)),
  fc.constant(o.syn()),
  fc.constant(o.recent()),
);

export const maybeNegated = fc.tuple(optionArb, fc.boolean()).map(([x, n]) => (n ? o.not(x) : x));

/** Targets every table has: verdicts, RETURN, LOG, none, and jumps and gotos to the given chains. */
function plainTargets(
  jumps: readonly string[],
  gotos: readonly string[],
): fc.Arbitrary<Target | null>[] {
  return [
    fc.constant(t.accept()),
    fc.constant(t.drop()),
    fc.constant(t.ret()),
    fc.constant(t.log()),
    fc.constant(null),
    fc.constantFrom(...jumps).map((c) => t.jump(c)),
    fc.constantFrom(...gotos).map((c) => t.goto(c)),
  ];
}

/** `srcnat`: nat POSTROUTING, which source-NATs (its jumps go to chains without a DNAT). */
type ChainKind = 'filter' | 'nat' | 'srcnat' | 'mangle' | 'raw';

export function targetArb(kind: ChainKind): fc.Arbitrary<Target | null> {
  if (kind === 'srcnat')
    return fc.oneof(...plainTargets(['B', 'C'], ['B', 'C']), fc.constant(t.masquerade()));
  const common = plainTargets(['A', 'B', 'C'], ['A', 'B', 'C']);
  if (kind === 'filter') common.push(fc.constant(t.reject()));
  if (kind === 'nat') {
    common.push(
      fc
        .tuple(fc.constantFrom('172.17.0.2', '172.17.0.3', '10.1.2.3'), fc.constantFrom(80, 8080))
        .map(([a, p]) => t.dnat(a, p)),
      // a DNAT that keeps the client's port, and one that keeps its address
      fc.constantFrom('172.17.0.2', '10.1.2.3').map((a) => t.dnat(a)),
      // to loopback: routed from outside only where route_localnet is on
      fc.constantFrom<number | undefined>(undefined, 8080).map((p) => t.dnat('127.0.0.1', p)),
      fc.constant(t.dnat(null, 8080)),
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

export function chainArb(kind: ChainKind, builtin: boolean): fc.Arbitrary<ChainSpec> {
  const rule: fc.Arbitrary<RuleSpec> = fc.tuple(
    fc.array(maybeNegated, { maxLength: 3 }),
    targetArb(kind),
  );
  // a NAT chain's policy drop is legal but rare (it would drop whatever no rule NATs)
  const policy =
    kind === 'srcnat'
      ? fc.constantFrom('ACCEPT' as const, 'ACCEPT' as const, 'ACCEPT' as const, 'DROP' as const)
      : fc.constantFrom('ACCEPT' as const, 'DROP' as const);
  return fc
    .tuple(fc.array(rule, { maxLength: 6 }), policy)
    .map(([rules, policy]) => (builtin ? { policy, rules } : { rules }));
}

export const rulesetArb = fc
  .record({
    rawPre: chainArb('raw', true),
    manglePre: chainArb('mangle', true),
    natPre: chainArb('nat', true),
    natOut: chainArb('nat', true),
    natPost: chainArb('srcnat', true),
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
        POSTROUTING: r.natPost,
        A: r.natA,
        B: { rules: [] },
        C: { rules: [] },
      },
      filter: { INPUT: r.input, FORWARD: r.forward, OUTPUT: r.output, A: r.a, B: r.b, C: r.c },
    }),
  );

export const addr = (a: string): bigint => parseAddress(a, 'ipv4') ?? 0n;
export const packetArb: fc.Arbitrary<Concrete> = fc
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
      // the host's own (build.ts `hostContext`): martians unless accept_local lets them in
      '203.0.113.1',
      '172.17.0.1',
    ),
    dst: fc.constantFrom(
      '203.0.113.1',
      '172.17.0.2',
      '172.17.0.1',
      '10.1.2.3',
      '8.8.8.8',
      '127.0.0.1',
      '224.0.0.1',
      '255.255.255.255',
      '198.51.100.9',
    ),
    sport: fc.constantFrom(22, 80, 40000),
    dport: fc.constantFrom(...PORTS, 3128, 9999),
    mark: fc.constantFrom(0, 1, 0x10, 0x11, 0x4000),
    // where the context cannot tell, whether the destination is the host's is the packet's
    loc: fc.boolean(),
  })
  .map((r) => firstPacket({ ...r, src: addr(r.src), dst: addr(r.dst) }));

export const LONG_HOSTS = [
  '172.17.0.2',
  '172.17.0.3',
  '10.96.0.1',
  '10.96.0.10',
  '203.0.113.1',
  '127.0.0.1',
];
const LONG_NETS = ['172.17.0.0/16', '10.96.0.0/12', '203.0.113.0/24', '0.0.0.0/0'];
export const LONG_PORTS = [22, 53, 80, 443, 8080, 30080];

const longKeyOption: fc.Arbitrary<MatchOption> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...LONG_HOSTS).map((a) => o.dst(a)) },
  { weight: 1, arbitrary: fc.constantFrom(...LONG_NETS).map((a) => o.dst(a)) },
  { weight: 3, arbitrary: fc.constantFrom(...LONG_PORTS).map((p) => o.dport(p)) },
  // a narrow range is keyed port by port, a wide one is not keyed
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...LONG_PORTS), fc.constantFrom(0, 5, 200))
      .map(([p, w]) => o.dport(p, p + w)),
  },
  // negated keys must never key a rule
  { weight: 1, arbitrary: fc.constantFrom(...LONG_HOSTS).map((a) => o.not(o.dst(a))) },
  { weight: 1, arbitrary: fc.constantFrom(...LONG_PORTS).map((p) => o.not(o.dport(p))) },
);

const longOtherOption: fc.Arbitrary<MatchOption> = fc.oneof(
  fc.constantFrom('tcp' as const, 'udp' as const, 'icmp' as const).map((p) => o.proto(p)),
  fc.constantFrom('eth0', 'docker0', 'lo').map((i) => o.in(i)),
  fc.constantFrom(...LONG_HOSTS).map((a) => o.src(a)),
  fc.constantFrom(0, 1).map((v) => o.mark(v)),
  fc.constantFrom('NEW' as const, 'ESTABLISHED' as const).map((s) => o.ctstate(s)),
  fc.constant(o.recent()),
);

function longTargetArb(nat: boolean): fc.Arbitrary<Target | null> {
  const common = [...plainTargets(['SUB', 'LONG2'], ['SUB']), fc.constant(t.mark(1))];
  if (nat)
    common.push(
      fc.constantFrom('172.17.0.2', '10.96.0.10').map((a) => t.dnat(a, 8080)),
      fc.constant(t.redirect(3128)),
    );
  return fc.oneof(...common);
}

function longChain(nat: boolean): fc.Arbitrary<readonly RuleSpec[]> {
  const rule: fc.Arbitrary<RuleSpec> = fc
    .tuple(
      fc.array(longKeyOption, { maxLength: 2 }),
      fc.array(longOtherOption, { maxLength: 2 }),
      longTargetArb(nat),
    )
    .map(([keys, others, target]) => [[...others, ...keys], target]);
  return fc.array(rule, { minLength: 30, maxLength: 120 });
}

/**
 * A long chain of mostly plain ACCEPTs on their keys (a firewall of allowed services): runs whose
 * segments accept exactly their keys, walked as one set (RunSegment.accepts).
 */
function acceptChain(): fc.Arbitrary<readonly RuleSpec[]> {
  const rule: fc.Arbitrary<RuleSpec> = fc
    .tuple(
      fc.array(longKeyOption, { minLength: 1, maxLength: 2 }),
      fc.oneof(
        { weight: 8, arbitrary: fc.constant<readonly MatchOption[]>([]) },
        { weight: 1, arbitrary: fc.array(longOtherOption, { minLength: 1, maxLength: 1 }) },
      ),
      fc.oneof(
        { weight: 4, arbitrary: fc.constant<Target | null>(t.accept()) },
        { weight: 1, arbitrary: longTargetArb(false) },
      ),
    )
    .map(([keys, others, target]) => [[...others, ...keys], target]);
  return fc.array(rule, { minLength: 30, maxLength: 120 });
}

/** A filter table whose every hook jumps to LONG (which may jump to LONG2 and SUB). */
function longFilter(
  long: readonly RuleSpec[],
  long2: readonly RuleSpec[],
  sub: readonly RuleSpec[],
): Record<string, ChainSpec> {
  return {
    INPUT: { policy: 'DROP', rules: [[[], t.jump('LONG')]] },
    FORWARD: { policy: 'DROP', rules: [[[], t.jump('LONG')]] },
    OUTPUT: { rules: [[[], t.jump('LONG')]] },
    LONG: { rules: long },
    LONG2: { rules: long2 },
    SUB: { rules: sub },
  };
}

export const acceptRunRulesetArb: fc.Arbitrary<Ruleset> = fc
  .record({ long: acceptChain(), long2: acceptChain() })
  .map((r) => ruleset({ filter: longFilter(r.long, r.long2, []) }));

/**
 * Long chains of mostly `-d`/`--dport` rules (kube-proxy's and Docker's shape), entered from every
 * hook: for the walks that index or split them (the interpreter's key index, the engine's runs).
 */
export const longRulesetArb: fc.Arbitrary<Ruleset> = fc
  .record({
    natLong: longChain(true),
    natLong2: longChain(true),
    filterLong: longChain(false),
    filterLong2: longChain(false),
    sub: fc.array(fc.tuple(fc.array(longKeyOption, { maxLength: 1 }), longTargetArb(false)), {
      maxLength: 4,
    }),
  })
  .map((r) =>
    ruleset({
      nat: {
        PREROUTING: { rules: [[[], t.jump('LONG')]] },
        OUTPUT: { rules: [[[], t.jump('LONG')]] },
        LONG: { rules: r.natLong },
        LONG2: { rules: r.natLong2 },
        SUB: { rules: [] },
      },
      filter: longFilter(r.filterLong, r.filterLong2, r.sub),
    }),
  );
