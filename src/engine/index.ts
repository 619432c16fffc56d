/**
 * The engine's public entry point: `createEngine(ruleset, context)` compiles once and answers
 * reach, ruleReach and trace queries. See docs/engine.md and ./types.ts.
 */
import { flowWitness } from './flow-witness.ts';
import { FALSE, type Bdd } from './bdd.ts';
import { formatAddress, parseAddress } from './addr.ts';
import { everyAddress } from '../model/address-text.ts';
import { CompiledRuleset, loopbackRouting, type RulePrinter } from './compile.ts';
import {
  Interpreter,
  onlyRouteTo,
  type Answer,
  type Concrete,
  type InterpretResult,
} from './interpret.ts';
import { EMPTY, type Pair } from './match.ts';
import { built, union, unionAll, Walk, type Outcome, type RuleVisits } from './netfilter.ts';
import {
  flowSet,
  partition,
  patternsToCidrs,
  patternsToCidrsAround,
  patternsToRanges,
  sentSet,
  TooManyFlows,
  type RawFlow,
} from './discover.ts';
import { entryHooks } from './entry.ts';
import { neighbourDoubtOn, neighbourDoubts } from './neighbours.ts';
import { laterPacketsMayDiffer, notrackMayTakeFirstOnly } from './later-packets.ts';
import { runPath } from './path.ts';
import {
  acceptLocal,
  hostness,
  intersectPrefixes,
  type Prefix,
  refusedSources,
  routingOf,
} from './routing.ts';
import { rpRefusedSources } from './rp-filter.ts';
import { BddPacketSet, constraintSet, protocolName, protocolNumber } from './sets.ts';
import { OTHER_INTERFACE, PORT_PROTOCOLS, PROTO, STATES, type HeaderSpace } from './space.ts';
import type { DeviceBelow, NetworkContext } from './context.ts';
import type {
  DeliveryGroup,
  Engine,
  Discovery,
  Flow,
  FlowQuery,
  Ingress,
  NeighbourDiscoveryStop,
  PacketConstraint,
  PacketSet,
  ReachQuery,
  ReachResult,
  RuleReach,
  RuleReachQuery,
  RuleRef,
  StopGroup,
  TraceOptions,
  TwoSided,
} from './types.ts';
import { printRule } from '../model/print-ruleset.ts';
import { natKeeps } from '../model/rule-queries.ts';
import { tableId, type Family, type Ruleset } from '../model/ruleset.ts';
import type { Certainty, Hook, Packet, Trace, TraceAnswer } from '../model/trace.ts';

export type * from './types.ts';
export type { NetworkContext, ContextRoute } from './context.ts';

export interface EngineOptions {
  /** How rules are printed in references and traces; default: the canonical printer. */
  readonly printRule?: RulePrinter;
}

export function createEngine(
  ruleset: Ruleset,
  context: NetworkContext,
  options: EngineOptions = {},
): Engine {
  return new SymbolicEngine(ruleset, context, options.printRule ?? printRule);
}

/**
 * A concrete packet as the interpreter's header record (destination = original destination).
 * `isHost` says whether its destination is the host's: the packet's own `destinationIsHost`
 * where the context cannot tell.
 */
export function concreteOf(packet: Packet, isHost = false): Concrete | null {
  const src = parseAddress(packet.source, packet.family);
  const dst = parseAddress(packet.destination, packet.family);
  if (src === null || dst === null) return null;
  const proto = protocolNumber(packet.protocol);
  const hasPorts = PORT_PROTOCOLS.includes(proto);
  // an ICMP packet without a type is an echo request, the first packet of a "connection"
  const icmp = proto === PROTO.icmp || proto === PROTO.icmpv6;
  const echo = packet.family === 'ipv4' ? 8 << 8 : 128 << 8;
  const dport = hasPorts
    ? (packet.destinationPort ?? 0)
    : icmp
      ? (packet.destinationPort ?? echo)
      : 0;
  return {
    iif: packet.inInterface,
    oif: null,
    state: packet.state,
    dnat: false,
    proto,
    src,
    dst,
    odst: dst,
    sport: hasPorts ? (packet.sourcePort ?? 0) : 0,
    dport,
    odport: dport,
    mark: packet.mark >>> 0,
    loc: isHost,
    oloc: isHost,
  };
}

/** The header bits of a concrete record, for evaluating BDDs on it. */
export function bitsOf(s: HeaderSpace, p: Concrete): Uint8Array {
  const bits = new Uint8Array(s.m.varCount);
  const put = (name: Parameters<HeaderSpace['field']>[0], value: bigint): void => {
    const f = s.field(name);
    f.vars.forEach((v, i) => {
      bits[v] = Number((value >> BigInt(f.width - 1 - i)) & 1n);
    });
  };
  const ifs = s.interfaces;
  put('iif', BigInt(p.iif === null ? ifs.none : ifs.classOf(p.iif)));
  put('oif', BigInt(p.oif === null ? ifs.none : ifs.classOf(p.oif)));
  put('state', BigInt(STATES.indexOf(p.state)));
  put('dnat', p.dnat ? 1n : 0n);
  put('proto', BigInt(p.proto));
  put('src', p.src);
  put('dst', p.dst);
  put('odst', p.odst);
  put('sport', BigInt(p.sport));
  put('dport', BigInt(p.dport));
  put('odport', BigInt(p.odport));
  put('mark', s.packMark(BigInt(p.mark >>> 0)));
  put('loc', p.loc ? 1n : 0n);
  put('oloc', p.oloc ? 1n : 0n);
  return bits;
}

class SymbolicEngine implements Engine {
  readonly family: Family;
  readonly nf: CompiledRuleset;
  private readonly print: RulePrinter;
  private released = false;

  constructor(ruleset: Ruleset, context: NetworkContext, print: RulePrinter) {
    this.family = ruleset.family;
    this.print = print;
    this.nf = new CompiledRuleset(ruleset, context, print);
  }

  get diagnostics() {
    return this.nf.diagnostics;
  }

  get interfaceClasses(): readonly string[] {
    return this.space.interfaces.names;
  }

  get space(): HeaderSpace {
    if (this.released) throw new Error('the packet engine was asked a question after release()');
    return this.nf.space;
  }

  nodeCount(): number {
    return this.space.m.nodeCount;
  }

  release(): void {
    this.nf.space.m.release();
    this.released = true;
  }

  bddSteps(): number {
    return this.space.m.steps;
  }

  private set(b: Bdd): PacketSet {
    return new BddPacketSet(this.space, b);
  }

  private two(p: Pair): TwoSided {
    return { certain: this.set(p.c), possible: this.set(p.p) };
  }

  private ingressSet(ingress: Ingress): Bdd {
    const s = this.space;
    const m = s.m;
    const list = Array.isArray(ingress)
      ? (ingress as readonly (string | null)[])
      : [ingress as string | null];
    let r = FALSE;
    for (const i of list) {
      if (i === null) r = m.or(r, s.eq('iif', BigInt(s.interfaces.none)));
      else if (i === '*') r = m.or(r, m.not(s.eq('iif', BigInt(s.interfaces.none))));
      else r = m.or(r, s.eq('iif', BigInt(s.interfaces.classOf(i))));
    }
    // what a device below the host's IP stack takes never arrives at its netfilter
    return m.diff(r, this.belowSets().taken);
  }

  private below: BelowSets | null = null;

  /**
   * The packets devices below the host's IP stack take as they arrive on their interface
   * (`NetworkContext.devicesBelow`), and the host's own packets out of that interface to them,
   * by what becomes of those (`DeviceBelow.fromHost`). Only for an interface with a value of its
   * own: a shared class would stand for other interfaces too.
   */
  private belowSets(): BelowSets {
    if (this.below !== null) return this.below;
    const s = this.space;
    const m = s.m;
    const out = { taken: FALSE, never: FALSE, hairpin: FALSE };
    for (const d of this.nf.context.devicesBelow ?? []) {
      const value = s.interfaces.classOf(d.interface);
      const dst = s.cidr('dst', d.address);
      if (s.interfaces.names[value] !== d.interface || dst === null) continue;
      out.taken = m.or(out.taken, m.and(s.eq('iif', BigInt(value)), dst));
      if (d.fromHost === 'reaches') continue;
      const sent = m.and(s.eq('iif', BigInt(s.interfaces.none)), s.eq('oif', BigInt(value)));
      out[d.fromHost] = m.or(out[d.fromHost], m.and(sent, dst));
    }
    return (this.below = out);
  }

  private unmodelled: Bdd | null = null;

  /** Packets to a destination the engine walks on a path the kernel does not take. */
  private unmodelledSet(): Bdd {
    if (this.unmodelled !== null) return this.unmodelled;
    const s = this.space;
    let r = FALSE;
    for (const u of this.nf.context.unmodelledPaths ?? []) {
      const dst = s.cidr('odst', u.address);
      if (dst !== null) r = s.m.or(r, dst);
    }
    return (this.unmodelled = r);
  }

  /** New connections as walked: only possibly so where the path is not modelled. */
  private arriving(input: Bdd): Pair {
    return { c: this.space.m.diff(input, this.unmodelledSet()), p: input };
  }

  /**
   * Whether nothing listens at the host's address and port a packet is delivered to, as the
   * context's listeners say; null where they are not known.
   */
  private closedPort(p: Concrete): boolean | null {
    const listeners = this.nf.context.listeners;
    if (listeners === undefined) return null;
    const proto = p.proto === PROTO.tcp ? 'tcp' : p.proto === PROTO.udp ? 'udp' : null;
    if (proto === null) return false;
    return !listeners.some(
      (l) =>
        l.protocol === proto &&
        l.port === p.dport &&
        (l.address === null || parseAddress(l.address, this.family) === p.dst),
    );
  }

  /** The device below the host's IP stack on `iface` whose address is `address`. */
  private deviceBelow(iface: string | null, address: bigint | null): DeviceBelow | undefined {
    if (iface === null || address === null) return undefined;
    return this.nf.context.devicesBelow?.find(
      (d) => d.interface === iface && parseAddress(d.address, this.family) === address,
    );
  }

  /** Packets of new connections as they arrive: not NATed, no egress yet, mark 0 by default. */
  private initial(c: PacketConstraint, defaultStates: readonly (typeof STATES)[number][]): Bdd {
    const s = this.space;
    const m = s.m;
    let r = m.and(s.universe, s.unNatted);
    if (c.dnat === undefined) r = m.and(r, s.eq('dnat', 0n));
    r = m.and(r, s.eq('oif', BigInt(s.interfaces.none)));
    if (c.states === undefined)
      r = m.and(
        r,
        s.anyOf(
          'state',
          defaultStates.map((st) => BigInt(STATES.indexOf(st))),
        ),
      );
    if (c.mark === undefined) r = m.and(r, s.eq('mark', 0n));
    // an arriving packet has no egress yet: an out-interface constraint applies to results only
    const rest = Object.fromEntries(Object.entries(c).filter(([k]) => k !== 'outInterfaces'));
    return m.and(r, constraintSet(s, rest));
  }

  packets(constraint: PacketConstraint = {}): PacketSet {
    return this.set(this.initial(constraint, ['NEW']));
  }

  matching(constraint: PacketConstraint): PacketSet {
    return this.set(this.space.m.and(this.space.universe, constraintSet(this.space, constraint)));
  }

  trace(packet: Packet, options: TraceOptions = {}): Trace {
    const trace = this.overLinks(this.sentToBelow(this.traced(packet, options)));
    const dst = parseAddress(packet.destination, this.family);
    const unmodelled = this.nf.context.unmodelledPaths?.find(
      (u) => dst !== null && parseAddress(u.address, this.family) === dst,
    );
    return unmodelled === undefined
      ? trace
      : {
          ...trace,
          certainty: 'possible',
          assumptions: [...trace.assumptions, unmodelled.why],
        };
  }

  /**
   * An accepted packet that came in on, or left by, an interface whose neighbour discovery the
   * rules may stop (IPv6) got there only where a neighbour entry was held already; a rejected
   * one's notice, sent back by the interface it came in on, got back only then (random seed
   * nd-20: the host's service "refused, certain" where its notice never reached the client).
   */
  private overLinks(trace: Trace): Trace {
    if (trace.verdict !== 'accepted' && trace.verdict !== 'rejected') return trace;
    const out = trace.delivery?.kind === 'forward' ? trace.delivery.outInterface : null;
    const doubts = [trace.packet.inInterface, out]
      .map((i) => neighbourDoubtOn(this.nf, i))
      .filter((w): w is string => w !== null);
    if (doubts.length === 0) return trace;
    return {
      ...trace,
      certainty: 'possible',
      assumptions: [...new Set([...trace.assumptions, ...doubts])],
    };
  }

  /**
   * A packet the host itself sends out of a parent to the address of a device below it: the
   * frame goes to the wire, and the parent never hands its own frames to its devices.
   */
  private sentToBelow(trace: Trace): Trace {
    const d = trace.delivery;
    if (trace.packet.inInterface !== null || trace.verdict !== 'accepted' || d?.kind !== 'forward')
      return trace;
    const device = this.deviceBelow(d.outInterface, parseAddress(d.address, this.family));
    if (device === undefined || device.fromHost === 'reaches') return trace;
    const why = `${d.address} is ${device.owner}, below ${device.interface}: this host's own packets leave ${device.interface} for the wire, and ${device.interface} does not hand them to its devices`;
    return device.fromHost === 'never'
      ? { ...trace, verdict: 'dropped', delivery: null, unrouted: why }
      : {
          ...trace,
          certainty: 'possible',
          assumptions: [
            ...trace.assumptions,
            `${why} unless the switch sends them back (${device.interface}'s vepa mode)`,
          ],
        };
  }

  private traced(packet: Packet, options: TraceOptions): Trace {
    const matchUnknown = (options.unknown ?? 'match') === 'match';
    const it = new Interpreter(
      this.nf.ruleset,
      this.nf.context,
      this.print,
      () => matchUnknown,
      true,
      {
        source: () => this.nf.readsSource(),
        destinationBeforeNat: (device, taken) => this.nf.readsDestinationBeforeNat(device, taken),
      },
    );
    const dst = parseAddress(packet.destination, packet.family);
    const start = dst === null ? null : concreteOf(packet);
    if (start === null || dst === null || packet.family !== this.family) {
      return {
        packet,
        verdict: 'dropped',
        certainty: 'possible',
        steps: [],
        delivery: null,
        uncertainRules: [`packet addresses are not ${this.family} addresses`],
        assumptions: [],
      };
    }
    const below = this.deviceBelow(packet.inInterface, dst);
    if (below !== undefined)
      return {
        packet,
        verdict: 'accepted',
        certainty: 'certain',
        steps: [],
        delivery: {
          kind: 'forward',
          address: packet.destination,
          port: packet.destinationPort,
          outInterface: below.interface,
        },
        uncertainRules: [],
        assumptions: [],
        below: `${packet.destination} is ${below.owner}, which hangs off ${below.interface} below this host's IP stack: the packet goes to that device, and this host's netfilter never sees it`,
      };
    // the first packet, and what goes back for it
    const run = (isHost: boolean): Walked => {
      const from = { ...start, loc: isHost, oloc: isHost };
      const first = it.run(from);
      // the host's own packet to a device below a parent never gets there (`sentToBelow`)
      const below =
        from.iif === null && first.end === 'forward'
          ? this.deviceBelow(first.final.oif, first.final.dst)
          : undefined;
      const lost = below !== undefined && below.fromHost !== 'reaches';
      const closed = first.end === 'local' ? this.closedPort(first.final) : false;
      return {
        first,
        answer: lost || options.answers === false ? null : it.answer(from, first, closed),
      };
    };
    const host = it.hostness(dst);
    if (host !== 'unknown') return traceOf(packet, run(host === 'local'), this.family);
    // The snapshot cannot tell whether the destination is the host's. Follow the packet's own
    // word, else take it to be the host's (what a user tracing to an address means); the verdict
    // is certain only when the other answer leads to the same place.
    const isHost = packet.destinationIsHost ?? true;
    const taken = run(isHost);
    if (packet.destinationIsHost !== undefined) return traceOf(packet, taken, this.family);
    const other = run(!isHost);
    // Where each ends for the sender: its verdict, where it was delivered, and, delivered, which
    // of the connection's packets that follow are stopped (a stopped packet's place does not
    // matter, nor which rule stopped it). Random seed 3322, on the rules alone: the host's packet to
    // 172.17.0.2, DNATed in OUTPUT, was delivered either way, but its later packets were taken
    // to leave by lo, where OUTPUT's `! -o docker+` dropped them.
    const ends = (t: Trace): string => {
      const d = t.delivery;
      const then =
        t.answer === undefined || t.verdict !== 'accepted'
          ? ''
          : ` then ${t.answer.kind} ${t.answer.verdict}`;
      return d === null
        ? `${t.verdict}${then}`
        : `${t.verdict} ${d.kind} ${d.address} ${d.port ?? ''} ${d.outInterface ?? ''}${then}`;
    };
    const trace = traceOf(packet, taken, this.family);
    const otherTrace = traceOf(packet, other, this.family);
    // The other reading's own doubts may make it end elsewhere: not those the taken one shares,
    // nor the route it took to the destination (what "not the host's" means).
    const shared = new Set([...trace.uncertainRules, ...trace.assumptions]);
    const address = formatAddress(dst, this.family);
    const otherDoubts = [...otherTrace.uncertainRules, ...otherTrace.assumptions].filter(
      (d) => !shared.has(d) && !onlyRouteTo(d, address),
    );
    if (ends(trace) === ends(otherTrace) && otherDoubts.length === 0) return trace;
    return {
      ...trace,
      certainty: 'possible',
      assumptions: [
        `${packet.destination} is taken to be an address of this host (the snapshot lists none)`,
        ...trace.assumptions,
      ],
    };
  }

  private laterDiffer: boolean | undefined;

  laterPacketsMayDiffer(): boolean {
    return (this.laterDiffer ??= laterPacketsMayDiffer(this.nf.ruleset));
  }

  sourceNatted(): PacketSet {
    return this.set(this.nf.sourceNatMatches());
  }

  private firstOnly: boolean | undefined;

  notrackMayTakeFirstOnly(): boolean {
    return (this.firstOnly ??= notrackMayTakeFirstOnly(this.nf.ruleset));
  }

  reach(query: ReachQuery): ReachResult {
    const s = this.space;
    const m = s.m;
    const input = m.and(this.initial(query.packets ?? {}, ['NEW']), this.ingressSet(query.ingress));
    const walk = new Walk(this.nf, false, {
      natStops: query.natStops ?? false,
      replies: query.replies ?? false,
      onward: query.onward ?? false,
      pickedUp: query.pickedUp ?? false,
      ...(query.answersVia === undefined
        ? {}
        : { routing: this.nf.answerRouting(query.answersVia) }),
    });
    // in groups, as discovery: the one united set of a kube-proxy host's ~40,000 DNAT pieces
    // did not finish routing in ten minutes; the same sets in the end
    const path = runPath(walk, this.nf, this.arriving(input), { natGroup: NAT_GROUP });
    const sent = this.belowSets();
    const forwarded = unionAll(s, path.forward);
    // what the host sends to a device below one of its parents never reaches it (`sentToBelow`)
    const lost = m.and(forwarded.p, sent.never);
    const r = {
      ...path,
      local: unionAll(s, path.local),
      forward: {
        c: m.diff(forwarded.c, m.or(sent.never, sent.hairpin)),
        p: m.diff(forwarded.p, sent.never),
      },
    };
    const accepts = r.outcomes.filter((o) => o.kind === 'accept');
    // a rule accepts in each group its packets came in: named once
    const acceptedBy = (p: Pair): RuleRef[] => [
      ...new Set(accepts.filter((o) => m.intersects(o.set.p, p.p)).map((o) => o.ref)),
    ];
    const delivered: DeliveryGroup[] = [];
    if (r.local.p !== FALSE) {
      delivered.push({
        kind: 'local',
        outInterface: null,
        packets: this.two(r.local),
        acceptedBy: acceptedBy(r.local),
      });
    }
    for (const oif of s.values(r.forward.p, 'oif')) {
      const only = s.eq('oif', BigInt(oif));
      const part: Pair = { c: m.and(r.forward.c, only), p: m.and(r.forward.p, only) };
      delivered.push({
        kind: 'forward',
        outInterface: s.interfaces.representative(oif),
        packets: this.two(part),
        acceptedBy: acceptedBy(part),
      });
    }
    const stopped = this.stops(r.outcomes, r.noRoute);
    if (lost !== FALSE)
      stopped.push({
        verdict: 'dropped',
        hook: null,
        rule: null,
        reason: 'sent by the host to a device below its parent',
        packets: this.two({ c: lost, p: lost }),
      });
    const all = union(s, r.local, r.forward);
    let byRules: Pair | undefined;
    const ruleStops = (): Pair =>
      (byRules ??= unionAll(
        s,
        r.outcomes.filter((o) => o.kind !== 'accept').map((o) => o.set),
      ));
    return {
      query: this.set(input),
      delivered,
      stopped,
      stoppedByRules: {
        certain: new BddPacketSet(s, () => ruleStops().c),
        possible: new BddPacketSet(s, () => ruleStops().p),
      },
      deliveredAll: this.two(all),
      deliveredTo: (where) => {
        let x = s.universe;
        if (where.address !== undefined) x = m.and(x, s.cidr('dst', where.address) ?? FALSE);
        if (where.port !== undefined) x = m.and(x, s.eq('dport', BigInt(where.port)));
        if (where.protocol !== undefined)
          x = m.and(x, s.eq('proto', BigInt(protocolNumber(where.protocol))));
        const none = s.eq('oif', BigInt(s.interfaces.none));
        if (where.kind === 'local') x = m.and(x, none);
        if (where.kind === 'forward') x = m.diff(x, none);
        if (where.outInterface !== undefined)
          x = m.and(x, s.eq('oif', BigInt(s.interfaces.classOf(where.outInterface))));
        return this.two({ c: m.and(all.c, x), p: m.and(all.p, x) });
      },
      uncertainRules: [...walk.uncertain].map((u) => u.ref),
    };
  }

  private stops(outcomes: readonly Outcome[], noRoute: Pair): StopGroup[] {
    const s = this.space;
    const groups = new Map<
      string,
      {
        verdict: 'dropped' | 'rejected';
        hook: Hook | null;
        rule: RuleRef | null;
        reason: string;
        sets: Pair[];
      }
    >();
    for (const o of outcomes) {
      if (o.kind === 'accept' || o.set.p === FALSE) continue;
      const key = `${o.hook}/${o.ref.table}/${o.ref.chain}/${o.ref.index ?? 'policy'}/${o.reason}`;
      const g = groups.get(key);
      if (g !== undefined) g.sets.push(o.set);
      else
        groups.set(key, {
          verdict: o.kind === 'reject' ? 'rejected' : 'dropped',
          hook: o.hook,
          rule: o.ref,
          reason: o.reason,
          sets: [o.set],
        });
    }
    const out: StopGroup[] = [...groups.values()].map((g) => ({
      verdict: g.verdict,
      hook: g.hook,
      rule: g.rule,
      reason: g.reason,
      packets: this.two(unionAll(s, g.sets)),
    }));
    if (noRoute.p !== FALSE)
      out.push({
        verdict: 'dropped',
        hook: null,
        rule: null,
        reason: 'no route',
        packets: this.two(noRoute),
      });
    return out;
  }

  neighbourDiscovery(): readonly NeighbourDiscoveryStop[] {
    return [...neighbourDoubts(this.nf).on].map(([name, stop]) => ({
      interface: name,
      rules: stop.rules,
      certain: stop.certain,
      witness: this.neighbourWitness(stop.stopped, stop.type),
    }));
  }

  /** One stopped neighbour discovery packet, from a link-local neighbour where one is. */
  private neighbourWitness(stopped: Bdd, type: number): Packet | null {
    const w = new BddPacketSet(this.space, stopped).witness({ sources: ['fe80::/64'] });
    // the ICMPv6 type is the witness's destination port (space.ts), which a packet without
    // ports does not carry: said here
    return w === null ? null : { ...w, destinationPort: type << 8 };
  }

  discover(query: FlowQuery): Discovery {
    const s = this.space;
    const m = s.m;
    const protocols = query.protocols ?? ['tcp', 'udp', 'sctp'];
    // IPv6 drops a loopback destination arriving on any other interface before PREROUTING;
    // IPv4 routes what PREROUTING leaves (a DNAT may take 127.0.0.1 elsewhere), and drops a
    // loopback destination then unless route_localnet is on (both `runPath`)
    const input = m.and(this.initial({ protocols }, ['NEW']), this.ingressSet(query.ingress));
    const r = runPath(
      // discovery reads what is delivered, never which rule accepted it
      new Walk(this.nf, false, { attributes: false }),
      this.nf,
      this.arriving(input),
      { natGroup: NAT_GROUP, reversePathLater: true },
    );
    // what reverse path filtering drops, taken out of the delivered sets here (`PathOptions`)
    const rp = this.nf.reversePathFiltered();
    const rpAny = m.or(rp.dropped, rp.doubtful);
    // the destination fields a NAT rule can leave as sent, which flows then say once
    const keeps = natKeeps(this.nf.ruleset);
    const routing = routingOf(this.nf.context);
    const placed = (address: bigint): boolean => hostness(routing, address) !== 'unknown';
    const out: Flow[] = [];
    // each part said once, however many of its flows could not be
    const unlisted = new Set<string>();
    const ifs = s.interfaces;
    // every destination that is (or may be) the host's, loopback aside or not (from outside, an
    // IPv4 loopback destination is delivered where a DNAT takes it elsewhere), less those IPv6
    // drops on arrival from outside (`Routing.unreceivedDestinations`): "any host address"
    const loopbackSent = s.loopbackOn('odst');
    const hostDsts = m.exists(
      m.diff(
        m.and(s.universe, s.eq('oloc', 1n)),
        m.or(loopbackSent, s.prefixSet('odst', routing.unreceivedDestinations)),
      ),
      s.cubeExcept('odst'),
    );
    const hostDstsAndLoopback = m.or(hostDsts, loopbackSent);
    const name = (i: number): string => ifs.names[i] ?? OTHER_INTERFACE;
    // flows cut from one part share their groups' pattern lists: each list said once
    const texts = new Map<RawFlow['src'], string[]>();
    const cidrs = (list: RawFlow['src']): string[] => {
      let out = texts.get(list);
      if (out === undefined) {
        out = patternsToCidrs(s, list, s.field('src').width);
        texts.set(list, out);
      }
      return out;
    };
    // a flow's sources are said without the holes of those routing refuses whatever the rules
    // (a martian source): per kind of delivery and whether 127.0.0.0/8 is among them
    const sourceTexts = new Map<string, Map<RawFlow['src'], string[]>>();
    const refusedByKey = new Map<string, readonly Prefix[]>();
    const lo = ifs.classOf('lo');
    // the sources reverse path filtering refuses on each interface, and on every one of a list
    const rpRefused = new Map<number, readonly Prefix[]>();
    const rpRefusedOn = (i: number): readonly Prefix[] => {
      let list = rpRefused.get(i);
      if (list === undefined) {
        list = rpRefusedSources(routing, this.nf.context, ifs, i);
        rpRefused.set(i, list);
      }
      return list;
    };
    const rpRefusedOnAll = (iifs: readonly number[]): readonly Prefix[] =>
      iifs.map(rpRefusedOn).reduce((a, b) => intersectPrefixes(a, b));
    const sourcesOf = (f: RawFlow, kind: 'local' | 'forward'): string[] => {
      const arrived = f.iif.every((i) => i !== ifs.none && i !== lo);
      const loopbackRefused = f.iif.every((i) => {
        if (i === ifs.none || i === lo) return false;
        const ifName = name(i);
        const how = loopbackRouting(
          this.family,
          this.nf.context.routeLocalnet,
          ifName,
          ifs.representative(i) === ifName,
        );
        return how === 'dropped' || how === 'taken-off';
      });
      const ownRefused = f.iif.every(
        (i) =>
          i !== ifs.none &&
          i !== lo &&
          acceptLocal(this.nf.context.acceptLocal, name(i), ifs.representative(i) === name(i)) !==
            'on',
      );
      // reverse path filtering's refusals depend on the interfaces themselves
      const filtered = arrived && this.nf.context.rpFilter !== undefined;
      const key = `${kind}:${loopbackRefused}:${ownRefused}:${arrived}${filtered ? `:${f.iif.join(',')}` : ''}`;
      let said = sourceTexts.get(key);
      if (said === undefined) {
        said = new Map();
        sourceTexts.set(key, said);
      }
      let out = said.get(f.src);
      if (out === undefined) {
        let refused = refusedByKey.get(key);
        if (refused === undefined) {
          refused = arrived
            ? refusedSources(routing, kind === 'forward', {
                own: ownRefused,
                loopback:
                  loopbackRefused || (this.nf.context.sourcesChecked === true && ownRefused),
                broadcast: this.nf.context.sourcesChecked === true,
              })
            : [];
          refusedByKey.set(key, refused);
        }
        const narrow = filtered ? rpRefusedOnAll(f.iif) : [];
        out = patternsToCidrsAround(s, f.src, s.field('src').width, refused, f.srcExcept, narrow);
        said.set(f.src, out);
      }
      return out;
    };
    // Flows are cut from the delivered parts with the final mark and state forgotten (every
    // arriving packet is new with mark 0: they add nothing to a flow). United with them, the
    // parts would keep every kube-proxy endpoint's hairpin mark apart, the cost the parts avoid.
    const forget = s.cube('mark', 'state');
    const unite = (sets: readonly Bdd[]): Bdd =>
      unionAll(
        s,
        sets.map((c) => ({ c, p: c })),
      ).c;
    for (const [kind, parts] of [
      ['local', r.local],
      ['forward', r.forward],
    ] as const) {
      const united = unite(parts.map((x) => x.c));
      const certain = rpAny === FALSE ? united : m.diff(united, rpAny);
      const possible = parts.map((x) =>
        m.diff(rp.dropped === FALSE ? x.p : m.diff(x.p, rp.dropped), certain),
      );
      let possibleAll: Bdd | undefined;
      // the exact delivered sets (final mark and state kept), built only when a flow's packets
      // are asked for
      const exact = {
        certain: (): Bdd => certain,
        possible: (): Bdd => (possibleAll ??= unite(possible)),
      };
      // which of them a NOTRACK let through without a connection (none, on nearly every host)
      const untrackedSets = new Map<Certainty, Bdd>();
      const untrackedOf = (c: Certainty): Bdd => {
        let u = untrackedSets.get(c);
        if (u === undefined) {
          // nearly every host: no part holds one, and the possible side is never united
          const held = (c === 'certain' ? [certain] : possible).some((x) =>
            m.intersects(x, s.isUntracked),
          );
          u = held ? m.and(exact[c](), s.isUntracked) : FALSE;
          untrackedSets.set(c, u);
        }
        return u;
      };
      for (const [certainty, projected] of [
        ['certain', m.exists(certain, forget)],
        ['possible', unite(possible.map((x) => m.exists(x, forget)))],
      ] as const) {
        const set = exact[certainty];
        const untracked = (): Bdd => untrackedOf(certainty);
        const cut = partition(s, projected, kind === 'local', keeps);
        const what = `${certainty === 'possible' ? 'possibly ' : ''}${kind === 'local' ? 'delivered to the host' : 'forwarded'}`;
        for (const u of cut.unlisted) unlisted.add(`${what} ${u}`);
        for (const f of cut.flows) {
          // a rectangle's header values, said once for all its protocols and out-interfaces
          const ingress = f.iif.filter((i) => i !== ifs.none).map(name);
          const toHost = f.oloc.length === 2 ? null : f.oloc[0] === 1;
          let said;
          try {
            const from = sourcesOf(f, kind);
            said = {
              sources: f.srcExcept ? [everyAddress(this.family)] : from,
              except: f.srcExcept && from.length > 0 ? { exceptSources: from } : {},
              destinations:
                // to groups (never the host's own, path.ts): said around the groups IPv6
                // drops on arrival, "ff00::/8" rather than the dozens of prefixes beside them
                kind === 'local' && toHost === false
                  ? patternsToCidrsAround(
                      s,
                      f.odst ?? f.dst ?? [],
                      s.field('dst').width,
                      routing.unreceivedDestinations,
                      false,
                    )
                  : cidrs(f.odst ?? f.dst ?? []),
              addresses: f.dst === null ? null : cidrs(f.dst),
              sourcePorts: patternsToRanges(f.sport),
              destinationPorts: patternsToRanges(f.odport ?? f.dport),
              ports: patternsToRanges(f.dport),
            };
          } catch (error) {
            // a pattern of too many prefixes (an odd-address or odd-port mask): not listed
            if (!(error instanceof TooManyFlows)) throw error;
            unlisted.add(`${what} ${f.nat ? 'after DNAT' : 'without NAT'}: ${error.message}`);
            continue;
          }
          const { sources, except, destinations, addresses, sourcePorts, destinationPorts, ports } =
            said;
          // the set of a thousand destinations is built only where it may be the host's own
          const sent = f.oloc.includes(1) ? sentSet(s, f) : FALSE;
          const anyHostAddress =
            f.oloc.includes(1) && (sent === hostDsts || sent === hostDstsAndLoopback);
          for (const proto of f.proto) {
            const protocol = protocolName(proto, this.family);
            if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') continue;
            const one: RawFlow = { ...f, proto: [proto] };
            for (const oif of kind === 'forward' ? f.oif : [ifs.none]) {
              const flow: RawFlow = { ...one, oif: [oif] };
              out.push({
                family: this.family,
                protocol,
                certainty,
                ingress,
                sources,
                ...except,
                sourcePorts,
                destinations,
                destinationPorts,
                toHost,
                anyHostAddress,
                delivery: {
                  kind,
                  outInterface: kind === 'forward' ? name(oif) : null,
                  addresses,
                  ports,
                  translated: f.nat,
                },
                packets: () => this.set(flowSet(s, set(), flow)),
                tracking: () => {
                  if (untracked() === FALSE || flowSet(s, untracked(), flow) === FALSE)
                    return 'tracked';
                  return flowSet(s, m.diff(set(), untracked()), flow) === FALSE
                    ? 'untracked'
                    : 'mixed';
                },
                witness: (prefer) => flowWitness(s, flow, placed, prefer),
              });
            }
          }
        }
      }
    }
    return { flows: out, unlisted: [...unlisted] };
  }

  get silentHooks(): readonly Hook[] {
    // nothing arriving is forwarded by a host that does not forward or has no route
    const forwards = (this.nf.context.forwarding ?? true) && this.nf.routing.relation !== FALSE;
    return forwards ? [] : ['FORWARD'];
  }

  ruleReach(query: RuleReachQuery = {}): RuleReach[] {
    const s = this.space;
    const m = s.m;
    const walk = this.recordedWalk(query);
    const out: RuleReach[] = [];
    const entries = entryHooks(this.nf.ruleset);
    for (const t of this.nf.ruleset.tables) {
      const id = tableId(t);
      if (query.table !== undefined && id !== query.table) continue;
      for (const c of t.chains) {
        const compiled = this.nf.chain(id, c.name);
        if (compiled === undefined) continue;
        const entryOf = [...(entries.get(t)?.get(c.name) ?? [])];
        // the earlier rules that take packets, with what they took (built when asked)
        const seen: { rule: (typeof compiled.rules)[number]; taken: () => Bdd }[] = [];
        for (const rule of compiled.rules) {
          const visits = walk.reached.get(rule);
          const matchedList = visits?.matched ?? [];
          let union: Pair | null = null;
          const matched = (): Pair =>
            (union ??= unionAll(
              s,
              matchedList.map((x) => ('build' in x ? x.build() : x)),
            ));
          // every visit recorded matched something (possibly)
          const nothing = matchedList.length === 0;
          const nothingCertain = matchedList.every((x) =>
            'build' in x ? x.certainEmpty : x.c === FALSE,
          );
          // who takes this rule's packets before it, computed when asked (it costs a test per
          // earlier rule) and only for rules that match something but nothing here
          const before = seen.length;
          let covered: RuleRef[] | null = null;
          const coveredBy = (): RuleRef[] => {
            covered ??=
              nothing && m.intersects(rule.match.p, s.universe)
                ? seen
                    .slice(0, before)
                    .filter((x) => m.intersects(x.taken(), rule.match.p))
                    .map((x) => x.rule.ref)
                : [];
            return covered;
          };
          out.push({
            rule: rule.ref,
            hooks: [...(visits?.hooks ?? [])],
            entryHooks: entryOf,
            reach: this.reachOf(visits),
            matched: {
              certain: new BddPacketSet(
                s,
                nothingCertain ? FALSE : () => matched().c,
                !nothingCertain,
              ),
              possible: new BddPacketSet(s, nothing ? FALSE : () => matched().p, !nothing),
            },
            get coveredBy() {
              return coveredBy();
            },
          });
          const k = rule.rule.target?.kind;
          if (
            visits !== undefined &&
            k !== undefined &&
            k !== 'LOG' &&
            k !== 'NFLOG' &&
            k !== 'MARK' &&
            k !== 'CONNMARK' &&
            k !== 'CT' &&
            k !== 'NOTRACK' &&
            k !== 'CONTINUE' &&
            k !== 'TCPMSS' &&
            k !== 'CHECKSUM' &&
            k !== 'extension'
          ) {
            seen.push({ rule, taken: () => matched().p });
          }
        }
      }
    }
    return out;
  }

  ruleMatch(table: string, chain: string, index: number): TwoSided | null {
    const rule = this.nf.chain(table, chain)?.rules[index - 1];
    if (rule === undefined) return null;
    const m = this.space.m;
    const u = this.space.universe;
    return this.two({ c: m.and(rule.match.c, u), p: m.and(rule.match.p, u) });
  }

  ruleMatchesNothing(table: string, chain: string, index: number): boolean | null {
    const rule = this.nf.chain(table, chain)?.rules[index - 1];
    if (rule === undefined) return null;
    // asked of every rule of a chain: one member of the match inside the universe shows it is
    // not empty without building the intersection, which is left for the rules where it is not
    const m = this.space.m;
    const p = rule.match.p;
    const member = m.pick(p);
    if (member === null) return true;
    if (m.evaluate(this.space.universe, member)) return false;
    return !m.intersects(p, this.space.universe);
  }

  ruleMeetsRefusedSources(table: string, chain: string, index: number): boolean | null {
    const rule = this.nf.chain(table, chain)?.rules[index - 1];
    if (rule === undefined) return null;
    const m = this.space.m;
    return m.intersects(m.and(rule.match.p, this.space.universe), this.nf.refusedSources());
  }

  entering(hook: Hook): PacketSet {
    const s = this.space;
    const m = s.m;
    const none = s.eq('iif', BigInt(s.interfaces.none));
    const fresh = m.and(
      m.and(m.and(s.universe, s.unNatted), s.eq('dnat', 0n)),
      s.eq('oif', BigInt(s.interfaces.none)),
    );
    const arriving = m.diff(fresh, none);
    const forwarded = (): Bdd =>
      this.nf.route({
        c: FALSE,
        p: m.diff(
          m.and(m.diff(arriving, s.eq('loc', 1n)), this.nf.routed('dst')),
          this.nf.unforwarded(),
        ),
      }).p;
    const sent = (): Bdd => this.nf.reroute({ c: FALSE, p: m.and(fresh, none) }).p;
    const at: Record<Hook, () => Bdd> = {
      PREROUTING: () => arriving,
      INPUT: () => m.and(arriving, s.eq('loc', 1n)),
      FORWARD: forwarded,
      OUTPUT: sent,
      POSTROUTING: () => m.or(forwarded(), sent()),
    };
    return this.set(at[hook]());
  }

  /** One recorded walk per query serves every table's ruleReach. */
  private readonly recorded = new Map<string, Walk>();

  private recordedWalk(query: RuleReachQuery): Walk {
    const keepRefusedSources = query.keepRefusedSources === true;
    const key = JSON.stringify([query.ingress ?? null, query.packets ?? null, keepRefusedSources]);
    let walk = this.recorded.get(key);
    if (walk === undefined) {
      const m = this.space.m;
      const ingress = query.ingress ?? ['*', null];
      const input = m.and(this.initial(query.packets ?? {}, STATES), this.ingressSet(ingress));
      // the recording is what is read, never the outcomes
      walk = new Walk(this.nf, true, { attributes: false });
      runPath(walk, this.nf, this.arriving(input), { keepRefusedSources });
      this.recorded.set(key, walk);
    }
    return walk;
  }

  /** What reached a rule over all its visits, built when first read. */
  private reachOf(visits: RuleVisits | undefined): TwoSided {
    if (visits === undefined) return this.two(EMPTY);
    const s = this.space;
    let pair: Pair | null = null;
    const get = (): Pair => (pair ??= unionAll(s, visits.reach.map(built)));
    const nonEmpty = visits.reach.length > 0;
    return {
      certain: new BddPacketSet(s, () => get().c),
      possible: new BddPacketSet(s, () => get().p, nonEmpty),
    };
  }
}

/** What devices below the host take, and what the host sends them (`belowSets`). */
interface BelowSets {
  readonly taken: Bdd;
  readonly never: Bdd;
  readonly hairpin: Bdd;
}

/**
 * Discovery and reach walk PREROUTING's NAT accepts on in groups of this many (`runPath`);
 * measured on the generated kube-proxy hosts (docs/performance.md).
 */
const NAT_GROUP = 16;

/** A first packet as the interpreter walked it, and the answer that goes back for it. */
interface Walked {
  readonly first: InterpretResult;
  readonly answer: Answer | null;
}

function traceOf(packet: Packet, w: Walked, family: Family): Trace {
  const r = w.first;
  const hasPorts = PORT_PROTOCOLS.includes(r.final.proto);
  const a = w.answer;
  // the answer's own doubts and assumptions are the trace's: the verdict may rest on them
  const uncertainRules = [...new Set([...r.uncertainRules, ...(a?.result.uncertainRules ?? [])])];
  const assumptions = [...new Set([...r.assumptions, ...(a?.result.assumptions ?? [])])];
  const stopped = a !== null && a.result.verdict !== 'accepted' ? a : null;
  // a TCP connection whose reply is stopped is never made; a rejected packet whose notice is
  // stopped looks dropped to its sender; a UDP datagram is delivered whatever comes back or
  // follows. A TCP packet whose connection's later packets alone are stopped (the server's, or
  // the sender's) is delivered: where something listens the connection carries nothing, where
  // nothing does the reset gets back
  const lost =
    stopped !== null &&
    (stopped.kind === 'notice' || (stopped.kind === 'reply' && r.final.proto === PROTO.tcp));
  // the sender's later packets went where there is no connection, whose reset got back: its
  // connection is reset right after the handshake (`Answer.reset`)
  const reset = stopped?.reset === true;
  const delivery =
    !lost && !reset && (r.end === 'local' || r.end === 'forward')
      ? {
          kind: r.end,
          address: formatAddress(r.final.dst, family),
          port: hasPorts ? r.final.dport : null,
          outInterface: r.end === 'forward' ? r.final.oif : null,
        }
      : null;
  return {
    packet,
    verdict: lost ? 'dropped' : reset ? 'rejected' : r.verdict,
    certainty: uncertainRules.length > 0 || assumptions.length > 0 ? 'possible' : 'certain',
    steps: r.steps,
    delivery,
    uncertainRules,
    assumptions,
    ...(r.unrouted === null ? {} : { unrouted: r.unrouted }),
    ...(stopped === null ? {} : { answer: answerOf(stopped, family) }),
  };
}

/** A stopped answer as the trace tells it. */
function answerOf(a: Answer, family: Family): TraceAnswer {
  const c = a.start;
  const hasPorts = PORT_PROTOCOLS.includes(c.proto);
  return {
    kind: a.kind,
    packet: {
      family,
      protocol: protocolName(c.proto, family),
      source: formatAddress(c.src, family),
      sourcePort: hasPorts ? c.sport : null,
      destination: formatAddress(c.dst, family),
      destinationPort: hasPorts ? c.dport : null,
      inInterface: c.iif,
      state: c.state,
      mark: 0,
    },
    verdict: a.result.verdict === 'rejected' ? 'rejected' : 'dropped',
    steps: a.result.steps,
    stoppedBy: a.result.stoppedBy,
    unrouted: a.result.unrouted,
    ...(a.errorBack === true ? { errorBack: true } : {}),
    ...(a.resent === true ? { resent: true } : {}),
  };
}
