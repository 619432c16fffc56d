/**
 * Cross-check harness: the symbolic engine against the concrete interpreter on given packets.
 * For every packet and both ways of deciding unmodelled matches, the interpreter's outcome must
 * lie in the engine's `possible` set for that outcome, and in its `certain` set when no
 * unmodelled match was on the path.
 */
import { CompiledRuleset } from '../../src/engine/compile.ts';
import { bitsOf } from '../../src/engine/index.ts';
import { Interpreter, type Concrete } from '../../src/engine/interpret.ts';
import { type Pair } from '../../src/engine/match.ts';
import { union, Walk } from '../../src/engine/netfilter.ts';
import { runPath } from '../../src/engine/path.ts';
import type { NetworkContext } from '../../src/engine/context.ts';
import type { Ruleset } from '../../src/model/ruleset.ts';

export interface CrossCheck {
  readonly checked: number;
  readonly certainChecks: number;
  readonly failures: string[];
}

export function crossCheck(
  rs: Ruleset,
  ctx: NetworkContext,
  packets: readonly Concrete[],
): CrossCheck {
  const nf = new CompiledRuleset(rs, ctx, (r) => r.text);
  const s = nf.space;
  const m = s.m;
  let input = m.and(m.and(s.universe, s.unNatted), s.eq('dnat', 0n));
  input = m.and(input, s.eq('oif', BigInt(s.interfaces.none)));
  const result = runPath(new Walk(nf, false), nf, { c: input, p: input });
  const stops = new Map<string, Pair>();
  for (const o of result.outcomes) {
    if (o.kind === 'accept') continue;
    const key = `${o.ref.table}/${o.ref.chain}#${o.ref.index ?? 'policy'}`;
    stops.set(key, union(s, stops.get(key) ?? { c: 0, p: 0 }, o.set));
  }
  const failures: string[] = [];
  const exclusive = !rs.tables.some((t) =>
    t.chains.some((c) => c.rules.some((x) => x.target?.kind === 'MARK')),
  );
  let checked = 0;
  let certainChecks = 0;
  for (const packet of packets) {
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
      if (r.uncertainRules.length === 0) {
        certainChecks++;
        if (!m.evaluate(set.c, bits)) failures.push(`not in certain: ${describe()}`);
        // nor certainly anywhere else (headers record their history unless a MARK rewrote them)
        if (exclusive) {
          const others = [result.local, result.forward, result.noRoute, ...stops.values()].filter(
            (x) => x !== set,
          );
          if (others.some((x) => m.evaluate(x.c, bits)))
            failures.push(`also certain elsewhere: ${describe()}`);
        }
      }
      if (failures.length > 5) return { checked, certainChecks, failures };
    }
  }
  return { checked, certainChecks, failures };
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
  };
}
