/**
 * Cross-check harness: the symbolic engine against the concrete interpreter on given packets.
 * For every packet and both ways of deciding unmodelled matches, the interpreter's outcome must
 * lie in the engine's `possible` set for that outcome, and in its `certain` set when no
 * unmodelled match was on the path.
 */
import { parseAddress } from '../../src/engine/addr.ts';
import { CompiledRuleset } from '../../src/engine/compile.ts';
import { bitsOf } from '../../src/engine/index.ts';
import { Interpreter, type Concrete } from '../../src/engine/interpret.ts';
import { EMPTY, type Pair } from '../../src/engine/match.ts';
import { union, unionAll, Walk, type Outcome } from '../../src/engine/netfilter.ts';
import { runPath } from '../../src/engine/path.ts';
import type { NetworkContext } from '../../src/engine/context.ts';
import { ruleActions, type Ruleset } from '../../src/model/ruleset.ts';

export interface CrossCheck {
  readonly checked: number;
  readonly certainChecks: number;
  readonly failures: string[];
}

/**
 * `worlds`: complete contexts consistent with a partial `ctx` (the host's real addresses and
 * routes, had the snapshot shown them). A packet the engine puts *certainly* at an outcome under
 * `ctx` must end there in every world: a certain answer holds on every host the snapshot allows.
 */
export function crossCheck(
  rs: Ruleset,
  ctx: NetworkContext,
  packets: readonly Concrete[],
  worlds: readonly NetworkContext[] = [],
): CrossCheck {
  const nf = new CompiledRuleset(rs, ctx, (r) => r.text);
  const s = nf.space;
  const m = s.m;
  let input = m.and(m.and(s.universe, s.unNatted), s.eq('dnat', 0n));
  input = m.and(input, s.eq('oif', BigInt(s.interfaces.none)));
  const walked = runPath(new Walk(nf, false), nf, { c: input, p: input });
  const result = {
    ...walked,
    local: unionAll(s, walked.local),
    forward: unionAll(s, walked.forward),
  };
  const stopsOf = (outcomes: readonly Outcome[]): Map<string, Pair> => {
    const stops = new Map<string, Pair>();
    for (const o of outcomes) {
      if (o.kind === 'accept') continue;
      const key = `${o.ref.table}/${o.ref.chain}#${o.ref.index ?? 'policy'}`;
      stops.set(key, union(s, stops.get(key) ?? { c: 0, p: 0 }, o.set));
    }
    return stops;
  };
  const stops = stopsOf(result.outcomes);
  const failures: string[] = [];
  // walked on in parts (each NAT accept of PREROUTING alone, as discovery may), the path
  // delivers and stops the same packets
  const parted = runPath(new Walk(nf, false), nf, { c: input, p: input }, { natGroup: 1 });
  const same = (a: Pair, b: Pair): boolean => a.c === b.c && a.p === b.p;
  if (!same(unionAll(s, parted.local), result.local)) failures.push('parts: local differs');
  if (!same(unionAll(s, parted.forward), result.forward)) failures.push('parts: forward differs');
  if (!same(parted.noRoute, result.noRoute)) failures.push('parts: no-route differs');
  const partStops = stopsOf(parted.outcomes);
  for (const key of new Set([...stops.keys(), ...partStops.keys()]))
    if (!same(stops.get(key) ?? EMPTY, partStops.get(key) ?? EMPTY))
      failures.push(`parts: stops at ${key} differ`);
  // each outcome's certain set, read as the packets that entered (post-NAT fields forgotten)
  const entered = s.cube('dst', 'dport', 'loc', 'oif', 'dnat');
  const outcomes = [
    { key: 'local', set: m.exists(result.local.c, entered) },
    { key: 'forward', set: m.exists(result.forward.c, entered) },
    { key: 'no-route', set: m.exists(result.noRoute.c, entered) },
    ...[...stops].map(([key, x]) => ({ key, set: m.exists(x.c, entered) })),
  ];
  const outcomeKey = (r: { end: string; stoppedBy: string | null }): string =>
    r.end === 'stop' ? (r.stoppedBy ?? '') : r.end;
  // every action of a rule counts: nftables statements before a verdict and vmap verdicts too
  const acts = (kinds: ReadonlySet<string>): boolean =>
    rs.tables.some((t) =>
      t.chains.some((c) => c.rules.some((x) => ruleActions(x).some((a) => kinds.has(a.kind)))),
    );
  const exclusive = !acts(new Set(['MARK']));
  // the outcome sets keep a packet's final mark and state: read back as "the packets that
  // entered" only when no target rewrites them (REDIRECT picks any of the host's addresses: one
  // entering packet stands for several)
  const rewrites = new Set(['MARK', 'CONNMARK', 'NOTRACK', 'CT', 'REDIRECT']);
  const historyKept = !acts(rewrites);
  let checked = 0;
  let certainChecks = 0;
  const hostOf = new Interpreter(rs, ctx, (r) => r.text);
  for (const given of packets) {
    // the host bit follows the destination wherever the context knows it
    const host = hostOf.hostness(given.dst);
    const loc = host === 'unknown' ? given.loc : host === 'local';
    const packet = { ...given, loc, oloc: loc };
    for (const resolution of [true, false]) {
      const it = new Interpreter(
        rs,
        ctx,
        (r) => r.text,
        () => resolution,
      );
      const r = it.run(packet);
      const set =
        r.end === 'local'
          ? result.local
          : r.end === 'forward'
            ? result.forward
            : r.end === 'no-route'
              ? result.noRoute
              : (stops.get(r.stoppedBy ?? '') ?? { c: 0, p: 0 });
      const bits = bitsOf(s, r.final);
      checked++;
      const describe = (): string =>
        `${JSON.stringify(packet, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))} unknown=${resolution} → ${r.end} ${r.stoppedBy ?? ''} final=${JSON.stringify(r.final, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))} steps=${r.steps.map((x) => `${x.table}/${x.chain}#${x.rule ?? 'P'}:${x.action}`).join(' ')}`;
      if (!m.evaluate(set.p, bits)) failures.push(`not in possible: ${describe()}`);
      if (r.uncertainRules.length === 0 && r.assumptions.length === 0) {
        certainChecks++;
        if (!m.evaluate(set.c, bits)) failures.push(`not in certain: ${describe()}`);
      }
      // Whatever the unmodelled matches and the assumptions decided, a packet is never certainly
      // somewhere it did not go: a certain answer holds in every world (headers record their
      // history unless a MARK rewrote them).
      if (exclusive) {
        const others = [result.local, result.forward, result.noRoute, ...stops.values()].filter(
          (x) => x !== set,
        );
        if (others.some((x) => m.evaluate(x.c, bits)))
          failures.push(`certain elsewhere: ${describe()}`);
      }
      if (failures.length > 5) return { checked, certainChecks, failures };
    }
    for (const [w, world] of historyKept ? worlds.entries() : []) {
      const it = new Interpreter(rs, world, (r) => r.text);
      // a source from outside the context does not place is taken not to be the host's, an
      // assumption the context states once (docker/context.ts, the `addresses` fact), not per
      // trace: a world where it is one (the packet a martian) is not one the answer claims
      const arrived = packet.iif !== null && packet.iif !== 'lo';
      if (arrived && it.hostness(packet.src) === 'local' && hostOf.hostness(packet.src) !== 'local')
        continue;
      const isHost = it.hostness(packet.dst) === 'local';
      const start = { ...packet, loc: isHost, oloc: isHost };
      const claimed = outcomes.filter((o) => m.evaluate(o.set, bitsOf(s, start)));
      if (claimed.length === 0) continue;
      for (const resolution of [true, false]) {
        const r = new Interpreter(
          rs,
          world,
          (x) => x.text,
          () => resolution,
        ).run(start);
        checked++;
        const got = outcomeKey(r);
        if (claimed.some((o) => o.key !== got))
          failures.push(
            `certain ${claimed.map((o) => o.key).join('+')} but world ${w} gives ${got}: ${JSON.stringify(start, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))} steps=${r.steps.map((x) => `${x.table}/${x.chain}#${x.rule ?? 'P'}:${x.action}`).join(' ')}`,
          );
      }
    }
  }
  return { checked, certainChecks, failures };
}

/**
 * New connections' first packets, one per protocol (ICMP, TCP, UDP, or those given) and
 * [in-interface, source, destination] of `flows`, from port 40000 to 5000.
 */
export function newPackets(
  family: 'ipv4' | 'ipv6',
  flows: readonly (readonly [string, string, string])[],
  protocols: readonly number[] = [family === 'ipv4' ? 1 : 58, 6, 17],
): Concrete[] {
  const addr = (a: string): bigint => {
    const v = parseAddress(a, family);
    if (v === null) throw new Error(`not an ${family} address: ${a}`);
    return v;
  };
  return flows.flatMap(([iif, src, dst]) =>
    protocols.map((proto) =>
      firstPacket({
        iif,
        state: 'NEW',
        proto,
        src: addr(src),
        dst: addr(dst),
        sport: 40000,
        dport: 5000,
        mark: 0,
      }),
    ),
  );
}

/**
 * The first packet of a new connection as the interpreter sees it: ports only for TCP and UDP,
 * ICMP carrying its echo-request type in the destination-port field (type << 8), nothing
 * NATed yet (original destination = destination).
 */
export function firstPacket(p: {
  readonly iif: string | null;
  readonly state: Concrete['state'];
  readonly proto: number;
  readonly src: bigint;
  readonly dst: bigint;
  readonly sport: number;
  readonly dport: number;
  readonly mark: number;
  /** Whether the destination is the host's (decided by the context where it knows). */
  readonly loc?: boolean;
}): Concrete {
  const hasPorts = p.proto === 6 || p.proto === 17;
  const dport = hasPorts ? p.dport : p.proto === 1 ? 8 << 8 : p.proto === 58 ? 128 << 8 : 0;
  return {
    iif: p.iif,
    oif: null,
    state: p.state,
    dnat: false,
    proto: p.proto,
    src: p.src,
    dst: p.dst,
    odst: p.dst,
    sport: hasPorts ? p.sport : 0,
    dport,
    odport: dport,
    mark: p.mark,
    loc: p.loc ?? false,
    oloc: p.loc ?? false,
  };
}
