import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NetworkContext } from '../../src/engine/context.ts';
import type { Concrete } from '../../src/engine/interpret.ts';
import { crossCheck } from './crosscheck.ts';
import { packetArb, rulesetArb } from './arbitraries.ts';
import { hostContext, o, ruleset, t, type RuleSpec } from './build.ts';

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

/**
 * Random rulesets and packets on one context, each packet's verdict from the symbolic engine
 * against the interpreter's: the packets checked, how many against the certain set, and the
 * first disagreement (null when none).
 */
function agreement(
  context: NetworkContext,
  packetsPerRun: number,
  runs: number,
  seed?: number,
): { packets: Concrete[]; total: number; certain: number; failure: string | null } {
  const seen: Concrete[] = [];
  let total = 0;
  let certain = 0;
  let failure: string | null = null;
  const out = fc.check(
    fc.property(
      rulesetArb,
      fc.array(packetArb, { minLength: packetsPerRun, maxLength: packetsPerRun }),
      (rs, packets) => {
        const r = crossCheck(rs, context, packets);
        seen.push(...packets);
        total += r.checked;
        certain += r.certainChecks;
        if (r.failures.length > 0) failure ??= r.failures[0] ?? null;
        return r.failures.length === 0;
      },
    ),
    { numRuns: runs, endOnFailure: true, ...(seed === undefined ? {} : { seed }) },
  );
  if (out.failed) failure ??= String(out.errorInstance);
  return { packets: seen, total, certain, failure };
}

describe('symbolic engine agrees with the concrete interpreter', () => {
  it('on random rulesets (all tables, jumps, gotos, loops, NAT, marks, unknown matches) and random packets', () => {
    const { total, certain, failure } = agreement(
      hostContext,
      60,
      Number(process.env.ENGINE_RUNS ?? 60),
    );
    expect(failure).toBeNull();
    console.log(
      `random rulesets: ${total} packet verdicts checked, ${certain} of them against the certain set`,
    );
    expect(certain).toBeGreaterThan(1000);
  });
});

describe('loopback destinations from outside (route_localnet)', () => {
  // on for eth0 only; on for all; known off everywhere; not known and taken off; not known, possible
  const contexts: [string, NetworkContext][] = [
    [
      'on for eth0',
      {
        ...hostContext,
        routeLocalnet: {
          all: false,
          interfaces: new Map([
            ['eth0', true],
            ['docker0', false],
          ]),
          unknown: 'off',
        },
      },
    ],
    [
      'on for all',
      { ...hostContext, routeLocalnet: { all: true, interfaces: new Map(), unknown: 'off' } },
    ],
    [
      'off',
      {
        ...hostContext,
        routeLocalnet: {
          all: false,
          interfaces: new Map([
            ['eth0', false],
            ['docker0', false],
          ]),
          unknown: 'off',
        },
      },
    ],
    ['taken off', hostContext],
    [
      'not known',
      { ...hostContext, routeLocalnet: { all: null, interfaces: new Map(), unknown: 'possible' } },
    ],
  ];
  it.each(contexts)('the symbolic engine agrees with the interpreter, %s', (_, context) => {
    const { packets, failure } = agreement(
      context,
      40,
      Number(process.env.ENGINE_RUNS ?? 30),
      20261204,
    );
    expect(failure).toBeNull();
    // packets from outside to loopback, which route_localnet decides
    expect(packets.filter((p) => p.dst >> 24n === 127n && p.iif !== null).length).toBeGreaterThan(
      50,
    );
  });
});

describe("sources of the host's own from outside (accept_local, rp_filter)", () => {
  const devices = [
    { address: '203.0.113.1', device: 'eth0' },
    { address: '172.17.0.1', device: 'docker0' },
  ];
  const accept = (eth0: boolean) => ({
    all: false,
    interfaces: new Map([
      ['eth0', eth0],
      ['docker0', false],
    ]),
  });
  const rp = (mode: 0 | 1 | 2) => ({ all: mode, interfaces: new Map<string, 0 | 1 | 2>() });
  const contexts: [string, NetworkContext][] = [
    ['on for eth0', { ...hostContext, addressDevices: devices, acceptLocal: accept(true) }],
    ['off', { ...hostContext, addressDevices: devices, acceptLocal: accept(false) }],
    ['taken off', hostContext],
    [
      'on for all, strict',
      {
        ...hostContext,
        addressDevices: devices,
        acceptLocal: { all: true, interfaces: new Map() },
        rpFilter: rp(1),
      },
    ],
    [
      'on for eth0, loose, addresses not placed',
      { ...hostContext, acceptLocal: accept(true), rpFilter: rp(2) },
    ],
  ];
  it.each(contexts)('the symbolic engine agrees with the interpreter, %s', (_, context) => {
    const { packets, failure } = agreement(
      context,
      40,
      Number(process.env.ENGINE_RUNS ?? 30),
      20261207,
    );
    expect(failure).toBeNull();
    // packets from outside from an address of the host's, which accept_local decides
    const own = [0xcb007101n, 0xac110001n, 0x7f000001n];
    expect(
      packets.filter((p) => own.includes(p.src) && p.iif !== null && p.iif !== 'lo').length,
    ).toBeGreaterThan(50);
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
