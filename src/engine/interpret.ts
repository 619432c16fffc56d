/**
 * A concrete packet-by-packet interpreter of the same netfilter model, written plainly and
 * without BDDs. It produces `trace`'s steps, and it is the reference the symbolic engine is
 * checked against. Unmodelled options are decided by a resolver (default: they match), and any
 * rule whose outcome depended on one makes the result uncertain.
 */
import { addressBits, addressValue, formatAddress, formatCidr, isLinkLocal6 } from './addr.ts';
import { keyedHeadersOf, ruleIndex, sameKeyedHeaders } from './rule-index.ts';
import { icmpProtocol, PORT_PROTOCOLS, PROTO, STATES, type StateName } from './space.ts';
import {
  acceptLocal,
  covers,
  deadEndOf,
  groupOf,
  hostness,
  LOOPBACK4,
  martianSource,
  route,
  routingOf,
  scopedSource,
  unreceivedDestination,
  unreceivedSource,
  type Hostness,
  type Routing,
} from './routing.ts';
import { reversePathHolds, type ReversePathDoubt, type ReversePathMode } from './reverse-path.ts';
import { rpFilterCheck, rpModeName } from './rp-filter.ts';
import { loopbackRouting, MAX_JUMP_DEPTH } from './compile.ts';
import { enteredBeforeConntrack } from './before-conntrack.ts';
import { knownPick, natPort, natText, picksRandomly, severalAddresses } from './netfilter.ts';
import {
  CONNECTION_OPTIONS,
  connectionless,
  dnatOnly,
  ipv6AddrtypePlan,
  noStatusBit,
} from './match.ts';
import {
  DST_NAT_PRIORITY,
  SRC_NAT_PRIORITY,
  hookPipeline,
  type Pipeline,
  type PipelineEntry,
} from './pipeline.ts';
import type { NetworkContext } from './context.ts';
import {
  tableId,
  untracks,
  type Chain,
  type ConntrackStatus,
  type MatchOption,
  type PortRange,
  type Rule,
  type Ruleset,
  type Table,
  type Target,
  type TcpFlag,
} from '../model/ruleset.ts';
import { chainsByName, connmarkAlwaysZero } from '../model/rule-queries.ts';
import type { Hook, TraceStep, Verdict } from '../model/trace.ts';
import { isUnmodelled } from './unmodelled.ts';
import { matchesOnlyUnmodelled } from './packet-model.ts';

/** One packet's headers at some point of its path (oif null = not routed yet / local). */
export interface Concrete {
  iif: string | null;
  oif: string | null;
  state: StateName;
  dnat: boolean;
  proto: number;
  src: bigint;
  dst: bigint;
  odst: bigint;
  sport: number;
  dport: number;
  odport: number;
  mark: number;
  /** The current destination is an address of this host (decided by the address when known). */
  loc: boolean;
  /** The original destination was an address of this host. */
  oloc: boolean;
  /** Set on what the host sends back (a reply, a REJECT's notice): the reply direction. */
  reply?: boolean;
  /**
   * Whether the source is the host's, where the path decides it: an answer comes from where its
   * packet was delivered (the host itself, or an address the host routed away).
   */
  sloc?: boolean;
  /** TCP flags, where known: the answers set them (a first packet is a SYN). */
  flags?: readonly TcpFlag[];
  /** A SNAT or MASQUERADE rewrote the source (the model keeps the old address). */
  snat?: boolean;
  /** The source it was given, where known (MASQUERADE: the host's address on the way out). */
  snatTo?: bigint | null;
  /**
   * A reply to a source-NATed packet: its destination is the address the source was given
   * until conntrack undoes the SNAT at NAT's priority (in PREROUTING, or OUTPUT for the host's
   * own reply), then this one.
   */
  unsnat?: { readonly dst: bigint; readonly loc: boolean };
  /**
   * An answer leaves by the interface its connection's first packet came in on where no route
   * is known (an assumed default route says nothing about where the sender is).
   */
  via?: string;
  /**
   * The connection an ICMP notice is RELATED to: conntrack's matches read its tuples (and its
   * protocol), not the notice's own header (random seed 803: `--ctorigdstport 8080 -j REJECT`
   * in OUTPUT also stopped the host's ICMP error for the packet it rejected).
   */
  related?: {
    readonly proto: number;
    readonly src: bigint;
    readonly sport: number;
    readonly dst: bigint;
    readonly dport: number;
    readonly odst: bigint;
    readonly odport: number;
  };
  /** Conntrack has not looked the packet up yet (`unlooked`): it has no connection to match. */
  unlooked?: boolean;
  /**
   * A connection's later packet in its own direction (ESTABLISHED, ACK): conntrack gives it the
   * NAT its first packet got, so the NAT chains read it as that first packet.
   */
  onward?: boolean;
}

/**
 * The packet as iptables' raw table sees it, before conntrack (priority -300 against -200): a
 * state match finds INVALID, or UNTRACKED where a NOTRACK set it; the other conntrack matches
 * find no connection (`connectionless`, as in the symbolic walk: `MatchEnv`).
 */
function unlooked(p: Concrete): Concrete {
  return {
    ...p,
    state: p.state === 'UNTRACKED' ? 'UNTRACKED' : 'INVALID',
    dnat: false,
    // a first packet is still a SYN
    ...(p.flags === undefined && p.state === 'NEW' ? { flags: ['SYN'] as const } : {}),
    unlooked: true,
  };
}

/**
 * What goes back for a new connection's first packet: the server's `reply` to an accepted TCP or
 * UDP packet, or the `notice` (ICMP error or TCP reset) a REJECT sends. Either passes the hooks
 * in its own direction, and a rule there may stop it. `later`: the server's packets after a
 * handshake that was made, where they alone do not get back (an untracked first packet).
 * `onward`: the sender's packets after the first, where the answer got back and they do not go
 * on (a rule on state ESTABLISHED that the first packet, NEW, passed).
 */
export interface Answer {
  readonly kind: 'reply' | 'notice' | 'later' | 'onward';
  readonly start: Concrete;
  readonly result: InterpretResult;
  /**
   * The sender's later packets (`onward`) met a reset that got back to it: its connection is
   * reset right after the handshake.
   */
  readonly reset?: true;
  /**
   * The sender's later packets (`onward`) were rejected with an ICMP error that gets back to it:
   * a soft error to a connected socket, a failed `connect()` where it overtakes the handshake.
   */
  readonly errorBack?: true;
  /**
   * The sender's SYN, sent again after its answer was stopped, was rejected with a reset that
   * gets back: the sender is refused about a second after it began (TCP's first retransmission).
   */
  readonly resent?: true;
}

export type Resolver = (rule: Rule, option: MatchOption) => boolean;

/** Which fields the ruleset's rules read (`CompiledRuleset.readsSource` and the like). */
export interface RulesRead {
  readonly source: () => boolean;
  /**
   * The host's address on `device` apart from `taken`, before PREROUTING's NAT
   * (`CompiledRuleset.readsDestinationBeforeNat`).
   */
  readonly destinationBeforeNat: (device: string | null, taken: bigint) => boolean;
}

export interface InterpretResult {
  readonly verdict: Verdict;
  /** Where the packet ended: delivered locally, forwarded, or stopped. */
  readonly end: 'local' | 'forward' | 'stop' | 'no-route';
  /** Headers at the end (post-NAT). */
  readonly final: Concrete;
  /** The rule (or policy) that stopped the packet: `table/chain#index` or `table/chain#policy`. */
  readonly stoppedBy: string | null;
  readonly steps: TraceStep[];
  readonly uncertainRules: string[];
  /** Facts of the context the outcome rests on that were only assumed (routes, host addresses). */
  readonly assumptions: string[];
  /** Why routing dropped the packet where no rule did (`end` is `no-route`). */
  readonly unrouted: string | null;
}

export type { Hostness } from './routing.ts';

/**
 * The assumption a trace names where it took a route the snapshot does not list, or one the
 * policy rules may override (`doubt`, said after it).
 */
function routeAssumed(
  address: string,
  device: string,
  doubt: readonly string[] | null = null,
): string {
  const why = doubt === null ? '' : `: ${doubt.join(', ')} may route it otherwise`;
  return `the route to ${address} (via ${device}) is assumed${why}`;
}

/** What a reverse path test that stayed undecided rests on, said as an assumption. */
function reversePathDoubt(doubt: ReversePathDoubt, src: string, iif: string | null): string {
  const on = iif ?? 'its interface';
  switch (doubt.kind) {
    case 'route':
      return routeAssumed(src, doubt.device, doubt.doubt);
    case 'host':
      return `whether ${src} is an address of this host is not known (the route back to a source of its own is none)`;
    case 'own':
      return `whether ${src}, an address of this host, is one of ${on}'s is not known`;
    case 'link-local':
      return `the route back to the link-local ${src} is looked up on ${on}, for which the snapshot lists no link-local route`;
    case 'interface':
      return `${iif ?? 'the interface'} may be ${doubt.device}, the route back to ${src}: the snapshot names neither`;
  }
}

/** Whether an assumption is only that of a route to `address` (`routeAssumed`). */
export function onlyRouteTo(assumption: string, address: string): boolean {
  return (
    assumption.startsWith(`the route to ${address} (via `) && assumption.includes(') is assumed')
  );
}

interface Env {
  readonly ruleset: Ruleset;
  readonly family: Ruleset['family'];
  readonly routing: Routing;
  /** The interfaces the context names (an unnamed one may be any route's). */
  readonly interfaces: readonly string[];
  readonly connmarkZero: boolean;
  readonly resolve: Resolver;
  readonly print: (rule: Rule) => string;
  /** Whether long chains skip rules through the rule-key index (false: plain linear walk). */
  readonly indexed: boolean;
}

export class Interpreter {
  private readonly env: Env;
  private readonly context: NetworkContext;
  private readonly reads: RulesRead;

  constructor(
    ruleset: Ruleset,
    context: NetworkContext,
    print: (rule: Rule) => string,
    resolve: Resolver = () => true,
    indexed = true,
    /** What the rules read, where a walk depends on it (unknown: they may read anything). */
    reads: RulesRead = { source: () => true, destinationBeforeNat: () => true },
  ) {
    this.reads = reads;
    this.context = context;
    const family = ruleset.family;
    this.env = {
      ruleset,
      family,
      routing: routingOf(context),
      interfaces: context.interfaces,
      connmarkZero: connmarkAlwaysZero(ruleset),
      resolve,
      print,
      indexed,
    };
  }

  /** Whether the host forwards packets of this family at all. */
  get forwards(): boolean {
    return this.context.forwarding ?? true;
  }

  /**
   * Why what arrives on `iif` is not forwarded, where the host forwards its family but not from
   * there (`NetworkContext.unforwardedFrom`); null where it is.
   */
  unforwardedFrom(iif: string): string | null {
    if (!(this.context.unforwardedFrom ?? []).includes(iif)) return null;
    return `IPv4 forwarding is off on ${iif} (net.ipv4.conf.${iif}.forwarding = 0): the kernel forwards nothing that arrives there`;
  }

  /** Whether forwarding is on only by assumption. */
  get forwardingAssumed(): boolean {
    return this.context.forwardingAssumed === true;
  }

  /** Whether the address is the host's, as far as the context knows. */
  hostness(addr: bigint): Hostness {
    return hostness(this.env.routing, addr);
  }

  /**
   * The host's address on the route toward an address: one of its own in that route's prefix
   * (a bridge's gateway for its containers); null where none is (a default route says nothing).
   */
  private addressToward(address: bigint): bigint | null {
    const r = route(this.env.routing, address);
    if (r === null || r.length === 0) return null;
    const full = addressBits(this.env.family);
    const own = this.env.routing.locals.find((l) => l.length === full && covers(r, l.value));
    return own?.value ?? null;
  }

  /**
   * A datagram's answer the host's UDP server sends from another address than the one its client
   * sent to: a server bound to every address answers from the address the host picks toward its
   * client (for an address of its own, that address, 127.0.0.1 for the loopback network; for
   * another machine, the source of the route there), and an answer from another address is not
   * the connection's reply: conntrack takes it for a new connection and the client does not
   * take it (random seed 2644: the host's datagram to 127.0.0.1, SNATed to 203.0.113.1, got its
   * answer from 203.0.113.1, and the client timed out). `picked`: that address
   * (`answerSource`).
   */
  private answeredFromElsewhere(
    start: Concrete,
    first: InterpretResult,
    reply: Concrete,
    picked: bigint,
  ): InterpretResult {
    const f = first.final;
    const family = this.env.family;
    const from = formatAddress(picked, family);
    const to = formatAddress(f.dst, family);
    const assumption = `the server at port ${f.dport}/udp is taken to answer from the address the host picks toward ${formatAddress(reply.dst, family)}, as a server bound to every address does unless it sets its answers' source (IP_PKTINFO); one that does answers from ${to}`;
    // from the address and port the client sent to (a REDIRECT that kept the port), the answer
    // is what the client waits for, though conntrack takes it for a new connection, which the
    // rules may stop and NAT may rewrite
    if (picked === start.dst && f.dport === start.dport && reply.unsnat === undefined) {
      const fresh: Concrete = {
        ...reply,
        src: picked,
        state: 'NEW',
        reply: false,
        dnat: false,
        odst: reply.dst,
        odport: reply.dport,
        oloc: reply.loc,
      };
      const walked = this.run(fresh);
      const rewrote = lostToRewrite(
        fresh,
        walked,
        lostAnswer(
          first,
          `the server's answer comes from ${from}, where the client sent, not from ${to}: conntrack takes it for a new connection, and NAT rewrote it`,
        ),
        family,
      );
      return assuming(rewrote ?? walked, assumption);
    }
    return assuming(
      lostAnswer(
        first,
        `the server's answer comes from ${from}, the host's address toward ${formatAddress(reply.dst, family)}, not from ${to}, where the client sent: conntrack takes it for a new connection, and the client does not take it`,
      ),
      `${assumption}, and the client gets the answer`,
    );
  }

  /**
   * The address the host's UDP server answers a delivered datagram from, where it is not the one
   * the client sent to: the host's own address it is where the host sent the datagram itself
   * (random seed 4176, on the rules alone); toward another machine, the route's source
   * (measured: a client on 10.9.0.0/24 sending to the host's 10.8.0.1 got its answer from
   * 10.9.0.1). 'unknown' where the snapshot does not settle it; null where the answer comes
   * from where the client sent, or is no such server's.
   */
  private answerSource(
    first: InterpretResult,
    reply: Concrete,
    closed: boolean | null,
  ): bigint | 'unknown' | null {
    const f = first.final;
    // (untracked or not: the socket picks the source, not conntrack; random6 seed 33)
    if (first.end !== 'local' || f.proto !== PROTO.udp || closed === true) return null;
    const family = this.env.family;
    const picked =
      reply.loc === true || this.hostness(reply.dst) === 'local'
        ? isLoopback(reply.dst, family)
          ? loopbackAddress(family)
          : reply.dst
        : this.sourceToward(reply.dst);
    if (picked === null || picked === f.dst || !this.boundToEveryAddress(f.dst, f.dport))
      return null;
    return picked;
  }

  /**
   * The address the host sends from toward another machine: the route's source; 'unknown' where
   * the route names none (its interface has several addresses of the family, or none, and the
   * kernel picks by rules not modelled) or the destination is IPv6 link-local (the kernel
   * prefers a link-local source, which the snapshot may not list); null where no observed route
   * leads there (an assumed one is already a guess the answer carries).
   */
  private sourceToward(address: bigint): bigint | 'unknown' | null {
    const r = route(this.env.routing, address);
    if (r === null || r.assumed) return null;
    if (this.env.family === 'ipv6' && isLinkLocal6(address)) return 'unknown';
    return r.source ?? 'unknown';
  }

  /** Whether the host's UDP socket at the port is (or may be) bound to every address. */
  private boundToEveryAddress(address: bigint, port: number): boolean {
    const listeners = this.context.listeners;
    if (listeners === undefined) return true;
    const at = listeners.filter((l) => l.protocol === 'udp' && l.port === port);
    // a socket bound to the address itself takes the datagram, and answers from it
    if (at.some((l) => l.address !== null && addressValue(l.address, this.env.family) === address))
      return false;
    return at.some((l) => l.address === null);
  }

  /** The address REDIRECT gives a packet arriving on `iif`, where the snapshot lists it. */
  redirectAddress(iif: string): bigint | null {
    const r = this.context.redirectAddresses?.find((x) => x.interface === iif);
    return r === undefined || r.address === null ? null : addressValue(r.address, this.env.family);
  }

  /** Whether the snapshot lists `iif` with no address of the family (REDIRECT drops there). */
  redirectsNowhere(iif: string): boolean {
    return (
      this.context.redirectAddresses?.some((x) => x.interface === iif && x.address === null) ??
      false
    );
  }

  /** The address IPv4 MASQUERADE gives a packet leaving by lo, where known. */
  get masqueradeOutOfLo(): bigint | null {
    const to = this.context.masqueradeOutOfLo;
    return to === undefined ? null : addressValue(to, 'ipv4');
  }

  /** Whether some rule reads packets' source addresses (unknown: taken to). */
  get readsSource(): boolean {
    return this.reads.source();
  }

  /** What routing does with a loopback destination arriving on `iif` (see `loopbackRouting`). */
  loopbackRouting(iif: string): ReturnType<typeof loopbackRouting> {
    return loopbackRouting(this.env.family, this.context.routeLocalnet, iif, true);
  }

  private broadcasts: ReadonlySet<bigint> | undefined;

  /**
   * Whether an address is one of the host's broadcast addresses (`Routing.groups`, each one
   * address): a Set, as every packet from outside asks (`sourceCheck`).
   */
  broadcastSource(address: bigint): boolean {
    this.broadcasts ??= new Set(
      this.env.routing.groups.filter((g) => g.kind === 'broadcast').map((g) => g.value),
    );
    return this.broadcasts.has(address);
  }

  /** Whether the kernel checks every source by its route back (`NetworkContext.sourcesChecked`). */
  get sourcesChecked(): boolean {
    return this.context.sourcesChecked === true;
  }

  /** Whether routing takes a source of the host's own arriving on `iif` (see `acceptLocal`). */
  acceptLocal(iif: string): ReturnType<typeof acceptLocal> {
    return acceptLocal(this.context.acceptLocal, iif, true);
  }

  /** Reverse path filtering of an IPv4 packet arriving on `iif` (see `rpFilterCheck`). */
  rpFilter(iif: string, src: bigint, dst: bigint): ReturnType<typeof rpFilterCheck> | null {
    if (this.env.family !== 'ipv4') return null;
    return rpFilterCheck(this.env.routing, this.context, iif, src, dst);
  }

  /** The longest-prefix route to an address, null when none (or a dead end decides). */
  route(
    addr: bigint,
  ): { device: string; assumed: boolean; doubt: readonly string[] | null } | null {
    return route(this.env.routing, addr);
  }

  /** Why the host routes nothing to an address: a dead end's type and prefix, or no route. */
  unroutedWhy(addr: bigint): string {
    const dead = deadEndOf(this.env.routing, addr);
    if (dead === null) return 'no route to the destination';
    const cidr = formatCidr(dead.value, dead.length, this.env.family);
    const by = dead.by === null ? '' : `, by ${dead.by}`;
    return `the route to ${formatAddress(addr, this.env.family)} is a ${dead.type} route (${cidr}${by}), which sends nowhere`;
  }

  /** Whether a dead end decides an address's route (routing.ts `Routing.deadEnds`). */
  deadEnd(addr: bigint): boolean {
    return deadEndOf(this.env.routing, addr) !== null;
  }

  /**
   * The type a route gives an address that is not the host's, a broadcast or multicast (match.ts
   * `routeTyped`): IPv4's is UNICAST; IPv6's the route's own.
   */
  routeType(addr: bigint): 'UNICAST' | 'UNREACHABLE' | 'BLACKHOLE' | 'PROHIBIT' {
    if (this.env.family === 'ipv4' || route(this.env.routing, addr) !== null) return 'UNICAST';
    const dead = deadEndOf(this.env.routing, addr)?.type;
    return dead === 'blackhole' ? 'BLACKHOLE' : dead === 'prohibit' ? 'PROHIBIT' : 'UNREACHABLE';
  }

  /** One rule's own conditions on the packet: taken or not, and whether an unmodelled one decided. */
  matches(rule: Rule, p: Concrete): { matched: boolean; uncertain: boolean } {
    return new Run(this, this.env).matches(rule, { ...p });
  }

  run(start: Concrete): InterpretResult {
    const run = new Run(this, this.env);
    return run.path({ ...start });
  }

  /**
   * The sender's later packets stopped: where a REJECT's TCP reset gets back, its connection is
   * reset right after the handshake (random seeds 1109 and 1210: a DOCKER-USER REJECT of
   * ESTABLISHED packets; the prober's connection was reset). An ICMP error that gets back is a
   * soft error to a connected TCP socket, which then carries nothing; but where it overtakes the
   * handshake (the sender's ACK is sent while its SYN-ACK is being taken in), `connect()` fails
   * at once: random seed 1451 was refused in the lab, and the same client with its ACK delayed
   * (TCP_QUICKACK off) connected and timed out. Which one a client meets is timing, so the
   * answer rests on it.
   */
  private onwardStopped(onward: Concrete, result: InterpretResult): Answer {
    const stopped: Answer = { kind: 'onward', start: onward, result };
    if (result.verdict !== 'rejected') return stopped;
    // a reset over a bridge port leaves directly and, untranslated, gets back (`answer` walks
    // nothing for it)
    if (this.resetsDirectly(onward, result)) return { ...stopped, reset: true };
    const notice = this.answer({ ...onward, state: 'NEW' }, result);
    if (notice === null || notice.result.verdict !== 'accepted') return stopped;
    if (notice.start.proto !== PROTO.tcp) {
      if (onward.proto !== PROTO.tcp) return stopped;
      return {
        ...stopped,
        errorBack: true,
        result: assuming(
          result,
          "the sender's later packets are rejected with an ICMP error that gets back: a client that has finished its handshake takes it as a soft error, and its connection carries nothing; one that gets it first (on the host's own links it can overtake the handshake) fails to connect",
        ),
      };
    }
    return {
      ...stopped,
      result: {
        ...result,
        uncertainRules: [...new Set([...result.uncertainRules, ...notice.result.uncertainRules])],
        assumptions: [...new Set([...result.assumptions, ...notice.result.assumptions])],
      },
      reset: true,
    };
  }

  /** Whether the packet came in over a port of a bridge whose packets pass iptables. */
  private overBridge(start: Concrete): boolean {
    return start.iif !== null && (this.context.bridges ?? []).includes(start.iif);
  }

  /**
   * Whether the packet's rejection is a TCP reset that leaves directly out of the bridge port it
   * came in on (br_netfilter: `nf_send_reset` sends it past OUTPUT) and, the packet not
   * translated, comes from where the sender sent it: it gets back, walked by no rule.
   */
  private resetsDirectly(start: Concrete, rejected: InterpretResult): boolean {
    const f = rejected.final;
    return (
      rejected.verdict === 'rejected' &&
      rejectedWithReset(rejected) &&
      this.overBridge(start) &&
      f.dst === start.dst &&
      f.dport === start.dport
    );
  }

  /**
   * The answer to a new connection's first packet, walked through the hooks it meets; null when
   * nothing goes back through them (not a new connection, dropped, not TCP or UDP, not routed).
   *
   * A reply is ESTABLISHED, in the reply direction, and meets no NAT chain: the kernel undoes the
   * first packet's DNAT only in POSTROUTING, after the filter saw the container's own address.
   * Where the first packet was untracked there is no connection: a UDP reply is a new one to
   * conntrack; a TCP handshake's answer (or reset) is INVALID and meets no NAT, and the server's
   * later packets, which conntrack picks up as a new connection, may still be rewritten. A notice
   * is RELATED, sent by the host itself to the sender — a reset from the address the packet was
   * rejected at, an ICMP error from that address where it is the host's, else from the host's
   * own address toward the sender — which, for the host's own packets, means through OUTPUT and
   * back in through INPUT.
   */
  answer(start: Concrete, first: InterpretResult, closed: boolean | null = false): Answer | null {
    if (start.state !== 'NEW') return null;
    const f = first.final;
    const back = {
      dst: start.src,
      dport: start.sport,
      odst: start.dst,
      odport: start.dport,
      mark: 0,
      oif: null,
      dnat: f.dnat,
      oloc: start.loc,
      // the sender is the host when it sent the packet itself
      loc: start.iif === null || this.hostness(start.src) === 'local',
      reply: true,
      ...(start.iif === null ? {} : { via: start.iif }),
    };
    const refuse = (why: string): InterpretResult => lostAnswer(first, why);
    if (first.verdict === 'accepted' && (first.end === 'local' || first.end === 'forward')) {
      if (f.proto !== PROTO.tcp && f.proto !== PROTO.udp) return null;
      const untracked = f.state === 'UNTRACKED';
      const tcp = f.proto === PROTO.tcp;
      const reply: Concrete = {
        ...back,
        // sent to the address the source was given, which PREROUTING's NAT stage undoes
        ...(f.snat === true && typeof f.snatTo === 'bigint' && f.snatTo !== start.src
          ? {
              dst: f.snatTo,
              // the host's own address where MASQUERADE picked it (raw and mangle PREROUTING
              // see it so: random seed 299, `addrtype --dst-type LOCAL -j DROP` in mangle)
              loc: this.hostness(f.snatTo) === 'local',
              unsnat: { dst: start.src, loc: back.loc },
            }
          : {}),
        iif: first.end === 'forward' ? f.oif : null,
        sloc: first.end === 'local',
        // an untracked first packet left no connection: conntrack finds a SYN-ACK without one
        // INVALID (its TCP tracker starts a connection only at a SYN, or picks one up at an
        // ACK), and takes a UDP reply for a new connection
        state: untracked ? (tcp ? 'INVALID' : 'NEW') : 'ESTABLISHED',
        reply: !untracked,
        // a connection conntrack starts at the reply has the reply for its first packet, whose
        // destination is the connection's original one (random seed 3421: `OUTPUT -p udp -m
        // conntrack --ctorigdst 203.0.113.1 -j DROP` let the host's answers out)
        ...(untracked ? { odst: back.dst, odport: back.dport, oloc: back.loc } : {}),
        proto: f.proto,
        src: f.dst,
        sport: f.dport,
        ...(f.proto === PROTO.tcp ? { flags: ['SYN', 'ACK'] as const } : {}),
        // nothing listens (`closed`): the host's reset, or its ICMP port unreachable (random
        // seed 355: an OUTPUT REJECT of `-p udp --sport 8080` did not meet it, and the client
        // was refused where dockwall said its reply was stopped), which, for an untracked
        // packet, conntrack finds no connection for: INVALID, and no NAT chain meets it (random
        // seed 3421: where nothing listened the client was refused; dockwall said that nat
        // OUTPUT's `-p udp --sport 81 -j DNAT` sent a datagram answer elsewhere)
        ...(closed === true
          ? tcp
            ? { flags: ['RST', 'ACK'] as const }
            : {
                state: untracked ? ('INVALID' as const) : ('RELATED' as const),
                proto: icmpProtocol(this.env.family),
                sport: 0,
                dport: icmpOf('port-unreachable', this.env.family === 'ipv4'),
              }
          : {}),
      };
      const replied = (result: InterpretResult): Answer => ({
        kind: 'reply',
        start: reply,
        result,
      });
      if (first.end === 'forward' && start.iif !== null && f.dst === start.src) {
        const sender = formatAddress(f.dst, this.env.family);
        // NATed back to its own sender, source unchanged: the sender's kernel drops a packet
        // from its own address (a martian source, accept_local off by default)
        if (f.snat !== true)
          return replied(
            refuse(
              `the packet is sent back to its sender ${sender} from its own address, which its kernel drops (no SNAT or MASQUERADE makes it the host's)`,
            ),
          );
        // masqueraded, it still leaves by the port it came in on: a bridge sends a frame back
        // there only in hairpin mode
        return replied(
          assuming(
            refuse(
              `the packet is sent back to its sender ${sender} out of ${f.oif ?? '?'}, the way it came in`,
            ),
            hairpinOff(sender, f.oif ?? '?', 'the connection is made'),
          ),
        );
      }
      // sent to a broadcast address or a multicast group, the answer comes from one of the
      // host's own addresses, whichever socket took it: no packet's source is a group
      if (
        first.end === 'local' &&
        f.proto === PROTO.udp &&
        closed !== true &&
        groupOf(this.env.routing, f.dst) !== null
      )
        return replied(
          lostAnswer(
            first,
            `the server's answer comes from an address of the host's, never from ${formatAddress(f.dst, this.env.family)}, a group's, where the client sent: conntrack takes it for a new connection`,
          ),
        );
      const source = this.answerSource(first, reply, closed);
      if (typeof source === 'bigint')
        return replied(this.answeredFromElsewhere(start, first, reply, source));
      let result = this.run(reply);
      // addressed to the address a SNAT gave, which the snapshot does not place: raw and mangle
      // PREROUTING may tell the host's address from another (random seed 2055, on the rules
      // alone: `-m addrtype ! --dst-type LOCAL -j DROP` in mangle met such a reply)
      if (
        reply.unsnat !== undefined &&
        typeof f.snatTo === 'bigint' &&
        this.hostness(f.snatTo) === 'unknown'
      ) {
        const other = this.run({ ...reply, loc: !reply.loc });
        if (other.verdict !== result.verdict)
          result = assuming(
            result,
            `${formatAddress(f.snatTo, this.env.family)}, the address the SNAT gave, is taken ${reply.loc ? '' : 'not '}to be the host's (the snapshot does not say); the reply meets the rules before NAT addressed to it`,
          );
      }
      // whether anything listens is not known: a datagram's reply stopped where the ICMP port
      // unreachable of a port nothing listens on would get back rests on a server answering
      // (random seed 3740, on the rules and addresses: untracked, that notice is INVALID, and a
      // rule on NEW that stopped the server's answer let it through)
      const listenerAssumed = (lost: InterpretResult): InterpretResult => {
        if (closed !== null || tcp || first.end !== 'local') return lost;
        const refusal = this.answer(start, first, true);
        return refusal?.result.verdict === 'accepted'
          ? assuming(
              lost,
              `something is taken to listen at ${formatAddress(f.dst, this.env.family)}:${f.dport}/udp (the snapshot lists no listeners); where nothing does, the host's ICMP port unreachable gets back`,
            )
          : lost;
      };
      if (result.verdict !== 'accepted') result = listenerAssumed(result);
      // masqueraded to an address the snapshot does not give: before NAT undoes it the reply
      // is addressed to that address, which raw and mangle PREROUTING may treat otherwise
      if (f.snat === true && f.snatTo === null && !untracked) {
        const unknown = `it is addressed to the host's address on ${f.oif ?? '?'}, which the snapshot does not give, until NAT undoes the MASQUERADE`;
        if (result.verdict !== 'accepted')
          result = assuming(
            result,
            `the reply is taken to be addressed to ${formatAddress(start.src, this.env.family)} before NAT; ${unknown}`,
          );
        else {
          // that address is the host's own: an `addrtype --dst-type LOCAL` rule there may stop
          // what the sender's address passes (random seed 299, on the rules alone)
          const own = this.run({ ...reply, loc: true, unsnat: { dst: start.src, loc: reply.loc } });
          if (own.verdict !== 'accepted')
            result = assuming(
              own,
              `the reply is taken to be addressed to an address of the host before NAT, as MASQUERADE's is; ${unknown}`,
            );
          // a rule before NAT on its destination may stop it there (random seed 810, on the
          // rules alone: `! -d 203.0.113.1 -j DROP` in raw stopped a reply addressed to the
          // host's address on bridge1)
          else if (this.reads.destinationBeforeNat(f.oif, start.src))
            result = assuming(
              result,
              `the reply is taken to be addressed to ${formatAddress(start.src, this.env.family)} before NAT; ${unknown}`,
            );
        }
      }
      // as a new connection it met the NAT chains, which may have rewritten it (random seed
      // 1413: a MASQUERADE to the address it had rewrites nothing)
      const rewrote = !untracked
        ? null
        : lostToRewrite(
            reply,
            result,
            refuse(
              `the packet was untracked (NOTRACK), so conntrack takes the reply for a new connection, and NAT rewrote it: ${formatAddress(start.src, this.env.family)} does not get it as its answer`,
            ),
            this.env.family,
          );
      if (rewrote !== null) return replied(listenerAssumed(rewrote));
      if (untracked && tcp && closed !== true && result.verdict === 'accepted') {
        // the handshake's answer got back; the sender's later packets (ACK) a NOTRACK of its
        // SYN alone leaves to conntrack, which picks them up as a new connection that NAT may
        // send elsewhere: the server never sees them (random seed 552)
        const onward: Concrete = { ...start, state: 'NEW', flags: ['ACK'] };
        const sent = this.run(onward);
        const g = sent.final;
        const elsewhere = sent.end !== first.end || g.dst !== f.dst || g.dport !== f.dport;
        // or from another source: the server has no connection from there either (random seed
        // 8811: a container's ACK across bridges, picked up, met Docker's MASQUERADE)
        const resourced = g.snat === true && g.snatTo !== start.src;
        if (sent.verdict === 'accepted' && g.state !== 'UNTRACKED' && (elsewhere || resourced)) {
          const family = this.env.family;
          const nat = elsewhere
            ? `NAT sent them to ${formatAddress(g.dst, family)}:${g.dport}`
            : `NAT rewrote their source to ${typeof g.snatTo === 'bigint' ? formatAddress(g.snatTo, family) : `the address MASQUERADE gives them on ${g.oif ?? '?'}`}`;
          const moved = `the first packet was untracked (NOTRACK), so conntrack picks the sender's later packets up as a new connection, and ${nat}`;
          // the host's own packet MASQUERADEd to an address the snapshot does not give: that
          // it differs from the packet's own rests on an assumption
          const guessed = (r: InterpretResult): InterpretResult =>
            !elsewhere && g.snatTo === null && start.iif === null
              ? assuming(r, masqueradeTakenToDiffer(g.oif, start.src, family))
              : r;
          // where they arrive there is no connection for them: the answer is a reset, which
          // goes back as that new connection's reply (random seeds 658 and 1017: the sender's
          // connection was reset right after the handshake)
          const reset = this.answer(onward, sent, true);
          if (reset?.result.verdict === 'accepted')
            return {
              kind: 'onward',
              start: onward,
              result: guessed({
                ...refuse(
                  `${moved}, which has no connection for them: its reset gets back, and the sender's connection is reset after the handshake`,
                ),
                verdict: 'rejected',
                steps: sent.steps,
                uncertainRules: reset.result.uncertainRules,
                assumptions: reset.result.assumptions,
              }),
              reset: true,
            };
          const why = `${moved}: the server gets the handshake and nothing after it`;
          return {
            kind: 'onward',
            start: onward,
            result: guessed({ ...refuse(why), steps: sent.steps }),
          };
        }
        if (sent.verdict !== 'accepted') return this.onwardStopped(onward, sent);
        if (sent.final.state !== 'UNTRACKED') {
          // conntrack picked the sender's ACK up as a connection, before the server sent more:
          // the server's later packets are its replies, which NAT does not rewrite (random seed
          // 1017: Docker's MASQUERADE left a container's answers to such a client alone)
          const answers: Concrete = {
            ...reply,
            state: 'ESTABLISHED',
            reply: true,
            flags: ['ACK'],
            dnat: sent.final.dnat,
            // replies of the connection the sender's ACK started, whose first packet it is
            odst: start.dst,
            odport: start.dport,
            oloc: start.loc,
          };
          const back = this.run(answers);
          if (back.verdict !== 'accepted') return { kind: 'later', start: answers, result: back };
        } else {
          // the server's later packets (ACK) conntrack picks up as a new connection too, which
          // NAT may rewrite: the connection then carries nothing back
          const later: Concrete = { ...reply, state: 'NEW', flags: ['ACK'] };
          const next = this.run(later);
          const rewrote = lostToRewrite(
            later,
            next,
            refuse(
              `the packet was untracked (NOTRACK), so conntrack picks the server's later packets up as a new connection, and NAT rewrote them: ${formatAddress(start.src, this.env.family)} gets the handshake's answer and nothing after it`,
            ),
            this.env.family,
          );
          if (rewrote !== null) return { kind: 'later', start: later, result: rewrote };
          if (next.verdict !== 'accepted') return { kind: 'later', start: later, result: next };
        }
      }
      // NOTRACK on the reply of a source-NATed connection: conntrack never sees it, so the SNAT
      // is not undone, and it stays addressed to the address NAT gave, not to the sender (random
      // seed 3387: the host's packet to a container, MASQUERADEd to the bridge's address, and
      // `raw PREROUTING -j CT --notrack`; the connection timed out)
      if (result.final.state === 'UNTRACKED' && f.snat === true && f.snatTo !== start.src) {
        const to =
          typeof f.snatTo === 'bigint'
            ? formatAddress(f.snatTo, this.env.family)
            : `the address MASQUERADE gave it on ${f.oif ?? '?'}`;
        // the reply's walk decided it, with whatever that rested on (random seed 11,210, on the
        // rules alone: a NOTRACK of the sender's address met a reply taken to be addressed to
        // it, the MASQUERADE address not given)
        const lost = {
          ...refuse(
            `the reply is untracked (NOTRACK), so the source NAT is not undone: it is addressed to ${to}, not to ${formatAddress(start.src, this.env.family)}, the sender`,
          ),
          steps: result.steps,
          uncertainRules: result.uncertainRules,
          assumptions: result.assumptions,
        };
        // MASQUERADE to the address the host's own packet already had leaves it as it is
        return replied(
          f.snatTo === null && start.iif === null
            ? assuming(lost, masqueradeTakenToDiffer(f.oif, start.src, this.env.family))
            : lost,
        );
      }
      const translated = f.dst !== start.dst || f.dport !== start.dport;
      if (result.verdict === 'accepted' && result.final.state === 'UNTRACKED' && translated) {
        // NOTRACK on the reply: conntrack never sees it, so the DNAT is not undone and the
        // sender gets an answer from an address it did not send to
        const why = `the reply is untracked (NOTRACK), so the DNAT is not undone: it reaches ${formatAddress(start.src, this.env.family)} from ${formatAddress(f.dst, this.env.family)}, not the address it sent to`;
        return replied({
          ...refuse(why),
          steps: result.steps,
          uncertainRules: result.uncertainRules,
          assumptions: result.assumptions,
        });
      }
      if (
        result.verdict === 'accepted' &&
        !untracked &&
        closed !== true &&
        result.final.state === 'ESTABLISHED'
      ) {
        // answered: the sender's later packets (ESTABLISHED, ACK) take the first one's way,
        // where a rule on the state may stop them; they carry the connection's DNAT state from
        // the start (random seed 649: a mangle PREROUTING drop of `--ctstate DNAT`)
        const onward = laterPacket(start, f, tcp ? ['ACK'] : undefined);
        const next = this.run(onward);
        if (next.verdict !== 'accepted') return this.onwardStopped(onward, next);
      }
      // the handshake's answer stopped where conntrack had seen it (past raw): the connection
      // has seen a reply, so the sender's SYN, sent again, is ESTABLISHED to conntrack, and
      // rules on the state meet it otherwise (random seed 3905: `DOCKER-USER -o docker0
      // --ctstate RELATED,ESTABLISHED -j REJECT --reject-with tcp-reset` rejected the
      // container's SYN-ACK, then the client's SYN again, and the client was refused)
      if (
        tcp &&
        !untracked &&
        closed !== true &&
        result.verdict !== 'accepted' &&
        result.end === 'stop' &&
        result.steps.at(-1)?.table !== 'raw'
      ) {
        const again = laterPacket(start, f, ['SYN']);
        const sent = this.run(again);
        if (sent.verdict === 'rejected') {
          const reset = this.onwardStopped(again, sent);
          if (reset.reset === true)
            return {
              ...reset,
              resent: true,
              result: assuming(
                reset.result,
                'the sender is taken to wait for its SYN to be sent again (about a second after the first, as TCP does), whose reset refuses it; one that gives up sooner times out',
              ),
            };
        }
      }
      // a server bound to every address answers from the host's address toward its client,
      // which the snapshot may not give: the answer then rests on that being where it was sent
      if (result.verdict === 'accepted' && source === 'unknown')
        result = assuming(
          result,
          `the server at port ${f.dport}/udp is taken to answer from ${formatAddress(f.dst, this.env.family)}, where the client sent; bound to every address, it answers from the host's address toward ${formatAddress(reply.dst, this.env.family)}, which the snapshot does not give (the route there names no source address)`,
        );
      return replied(result);
    }
    if (first.verdict !== 'rejected') return null;
    const how = first.steps.at(-1)?.action ?? '';
    const reset = rejectedWithReset(first);
    const v4 = this.env.family === 'ipv4';
    // an ICMP error comes from the address the packet has where it is the host's (a DNAT's
    // undone in POSTROUTING, random seed 4436: filter OUTPUT's `-s 172.17.0.4 -j REJECT` did
    // not meet the error for the host's packet to 172.17.0.4 that a REDIRECT took to
    // 127.0.0.1), else from the host's own address toward the sender (icmp_send)
    const toward = f.loc ? f.dst : this.addressToward(start.src);
    const notice: Concrete = {
      ...back,
      iif: null,
      state: 'RELATED',
      ...(reset
        ? { proto: PROTO.tcp, src: f.dst, sport: f.dport, flags: ['RST', 'ACK'] as const }
        : {
            proto: icmpProtocol(this.env.family),
            src: toward ?? start.dst,
            sport: 0,
            related: {
              proto: f.proto,
              src: start.src,
              sport: start.sport,
              dst: f.dst,
              dport: f.dport,
              odst: start.dst,
              odport: start.dport,
            },
            // ICMP type and code where the model keeps them (see the icmp-type match)
            dport: icmpOf(how, v4),
          }),
    };
    // DNATed back to its own sender over a bridge port: br_netfilter bridges it back to the
    // port it came in on (the route leads out of the same bridge), which a bridge does only in
    // hairpin mode; otherwise it is lost before FORWARD, unrejected (random seeds 684, 2202 and
    // 2405: the sender timed out)
    const rejectedAt = first.steps.at(-1)?.hook;
    const backToSender = f.dst === start.src && (f.dst !== start.dst || f.dport !== start.dport);
    if (
      backToSender &&
      start.iif !== null &&
      this.overBridge(start) &&
      (rejectedAt === 'FORWARD' || rejectedAt === 'POSTROUTING')
    ) {
      const sender = formatAddress(start.src, this.env.family);
      return {
        kind: 'notice',
        start: notice,
        result: assuming(
          refuse(
            `the packet, translated back to its sender ${sender}, is bridged back to the port of ${start.iif} it came in on and lost there before FORWARD: no notice is sent`,
          ),
          hairpinOff(sender, start.iif, 'the packet meets FORWARD and is rejected'),
        ),
      };
    }
    // a reset for a packet that came in over a bridge port (br_netfilter) leaves directly,
    // past OUTPUT (nf_send_reset): not walked; nor does NAT undo a DNAT on it, so the reset of
    // a translated packet comes from the address it was translated to, and the sender takes it
    // for no answer (random seeds 465 and 487: the client timed out)
    if (reset && this.overBridge(start)) {
      if (this.resetsDirectly(start, first)) return null;
      const from = `${formatAddress(f.dst, this.env.family)}:${f.dport}`;
      return {
        kind: 'notice',
        start: notice,
        result: refuse(
          `the reset leaves ${start.iif} directly (br_netfilter), where no NAT undoes the packet's translation: it comes from ${from}, not the address and port the sender connected to, and the sender ignores it`,
        ),
      };
    }
    let result = this.run(notice);
    // which of the host's addresses it comes from matters only to a rule that reads sources
    if (!reset && toward === null && this.reads.source())
      result = assuming(
        result,
        `the notice is taken to come from ${formatAddress(start.dst, this.env.family)}: the host sends it from its own address toward ${formatAddress(start.src, this.env.family)}, which the snapshot does not give`,
      );
    // A packet DNATed back to its own sender and routed (over a bridge port see above): the
    // kernel relates its notice to the connection in a way not measured
    if (backToSender)
      result = assuming(
        result,
        `the notice is taken to reach ${formatAddress(start.src, this.env.family)}, though the packet it answers was translated back to that same address; how the kernel relates such a notice to the connection is not modelled`,
      );
    // from any other interface it leaves through OUTPUT; where that stops it, it rests on the
    // interface being no bridge the snapshot does not show
    if (reset && start.iif !== null && result.verdict !== 'accepted')
      result = assuming(
        result,
        `the reset is taken to leave through OUTPUT: ${start.iif} is taken to be no bridge (over a bridge port with br_netfilter it is sent directly, past OUTPUT, and is not stopped)`,
      );
    return { kind: 'notice', start: notice, result };
  }
}

/**
 * Whether NAT changed a packet's addresses or ports on its way (random seed 810: a MASQUERADE
 * to the address the packet already had left the server's later packets as they were); null
 * where MASQUERADE's address is not known.
 */
function rewritten(before: Concrete, after: Concrete): boolean | null {
  if (after.dst !== before.dst || after.dport !== before.dport) return true;
  if (after.snat !== true) return false;
  return typeof after.snatTo === 'bigint' ? after.snatTo !== before.src : null;
}

/**
 * A packet walked as a new connection, lost to the sender where NAT rewrote it (`lost`, with the
 * walk's steps); null where it was stopped or left as it was. Where MASQUERADE's address is not
 * known the loss rests on it differing from the packet's own.
 */
function lostToRewrite(
  before: Concrete,
  walked: InterpretResult,
  lost: InterpretResult,
  family: Ruleset['family'],
): InterpretResult | null {
  const moved = walked.verdict === 'accepted' ? rewritten(before, walked.final) : false;
  if (moved === false) return null;
  const result = { ...lost, steps: walked.steps };
  return moved
    ? result
    : assuming(result, masqueradeTakenToDiffer(walked.final.oif, before.src, family));
}

/** What a loss to a MASQUERADE whose address the snapshot does not give rests on. */
function masqueradeTakenToDiffer(
  oif: string | null,
  src: bigint,
  family: Ruleset['family'],
): string {
  return `the address MASQUERADE gives the packet on ${oif ?? '?'} is taken to differ from ${formatAddress(src, family)}, its own; the snapshot does not give it (the same address would leave the packet as it is)`;
}

/** Whether the walk ended in a REJECT that answers with a TCP reset. */
function rejectedWithReset(r: InterpretResult): boolean {
  return r.final.proto === PROTO.tcp && /tcp-reset|tcp reset/.test(r.steps.at(-1)?.action ?? '');
}

/** The assumption of an interface's `accept_local` the snapshot does not give. */
function acceptLocalTaken(device: string): string {
  return `accept_local is taken to be off for ${device}, the kernel's default (the snapshot does not say; on, a source of the host's own arriving there is routed)`;
}

/**
 * The assumption of an interface's `route_localnet` the snapshot does not give: one switch
 * decides both a loopback destination arriving there and a loopback source leaving there, so
 * one sentence says both.
 */
function localnetTaken(device: string, on: boolean): string {
  return on
    ? `route_localnet is taken to be on for ${device} (the snapshot does not say; off, the kernel's default, drops a loopback destination arriving there and keeps a loopback source from leaving there)`
    : `route_localnet is taken to be off for ${device}, the kernel's default (the snapshot does not say)`;
}

/**
 * A later packet of the sender's connection, in its own direction: ESTABLISHED, meeting the NAT
 * chains as its connection's first (`Concrete.onward`), with the DNAT state the first one got.
 */
function laterPacket(
  start: Concrete,
  first: Concrete,
  flags: Concrete['flags'] | undefined,
): Concrete {
  return {
    ...start,
    state: 'ESTABLISHED',
    onward: true,
    dnat: first.dnat,
    ...(flags === undefined ? {} : { flags }),
  };
}

/** An answer to `first` lost for a reason no rule gives. */
function lostAnswer(first: InterpretResult, why: string): InterpretResult {
  return {
    ...first,
    verdict: 'dropped',
    end: 'no-route',
    stoppedBy: null,
    steps: [],
    uncertainRules: [],
    assumptions: [],
    unrouted: why,
  };
}

/** What a packet sent back out of its sender's own bridge port rests on, and what `on` would do. */
function hairpinOff(sender: string, bridge: string, on: string): string {
  return `hairpin mode is taken to be off on ${sender}'s port of ${bridge}, as on any bridge port Docker has not set (it sets it where userland-proxy is off); on, ${on}`;
}

/** A walk's result that rests on one assumption more. */
function assuming(result: InterpretResult, assumption: string): InterpretResult {
  return { ...result, assumptions: [...result.assumptions, assumption] };
}

/** A REJECT's ICMP error as `type << 8 | code`: port unreachable unless the rule says otherwise. */
function icmpOf(action: string, v4: boolean): number {
  const codes: Record<string, number> = v4
    ? {
        'net-unreachable': 0,
        'host-unreachable': 1,
        'proto-unreachable': 2,
        'net-prohibited': 9,
        'host-prohibited': 10,
        'admin-prohibited': 13,
      }
    : { 'no-route': 0, 'adm-prohibited': 1, 'addr-unreachable': 3 };
  const named = Object.entries(codes).find(([k]) => action.includes(k));
  return v4 ? (3 << 8) | (named?.[1] ?? 3) : (1 << 8) | (named?.[1] ?? 4);
}

class Run {
  readonly steps: TraceStep[] = [];
  readonly uncertain = new Set<string>();
  readonly assumed = new Set<string>();
  private readonly it: Interpreter;
  private readonly env: Env;

  constructor(it: Interpreter, env: Env) {
    this.it = it;
    this.env = env;
  }

  path(p: Concrete): InterpretResult {
    const done = (
      verdict: Verdict,
      end: InterpretResult['end'],
      stoppedBy: string | null,
      unrouted: string | null = end === 'no-route' ? 'no route to the destination' : null,
    ): InterpretResult => ({
      verdict,
      end,
      final: p,
      stoppedBy,
      steps: this.steps,
      uncertainRules: [...this.uncertain],
      assumptions: [...this.assumed],
      unrouted,
    });
    if (p.iif !== null) {
      p.oif = null;
      const family = this.env.family;
      if (p.iif !== 'lo' && unreceivedSource(this.env.routing, p.src))
        return done(
          'dropped',
          'no-route',
          null,
          `the source ${formatAddress(p.src, family)} is a loopback or multicast address: the kernel drops the packet on arrival on ${p.iif}, before any chain`,
        );
      if (p.iif !== 'lo' && unreceivedDestination(this.env.routing, p.dst))
        return done(
          'dropped',
          'no-route',
          null,
          `the destination ${formatAddress(p.dst, family)} is a loopback address or a multicast address of interface-local or reserved scope: the kernel drops the packet on arrival on ${p.iif}, before any chain`,
        );
      const pre = this.hook('PREROUTING', p);
      if (pre !== null) return done(pre.verdict, 'stop', pre.by);
      undoSnat(p);
      const refused =
        p.iif === 'lo'
          ? null
          : (this.martianSource(p, p.iif) ??
            this.reversePathFilter(p, p.iif) ??
            this.sourceCheck(p, p.iif));
      if (refused !== null) return done('dropped', 'no-route', null, refused);
      if (p.loc && p.iif !== 'lo' && isLoopback(p.dst, this.env.family)) {
        // a martian: the kernel routes a loopback destination from outside only with
        // route_localnet (a DNAT to 127.0.0.1 needs it)
        const how = this.it.loopbackRouting(p.iif);
        if (how === 'taken-off') this.assumed.add(localnetTaken(p.iif, false));
        if (how === 'dropped' || how === 'taken-off')
          return done(
            'dropped',
            'no-route',
            null,
            this.env.family === 'ipv4'
              ? `a loopback destination arriving on ${p.iif}, and route_localnet is off there`
              : `a loopback destination arriving on ${p.iif}`,
          );
        if (how === 'unknown') this.assumed.add(localnetTaken(p.iif, true));
      }
      if (p.loc) {
        const inp = this.hook('INPUT', p);
        return inp !== null ? done(inp.verdict, 'stop', inp.by) : done('accepted', 'local', null);
      }
      const group = groupOf(this.env.routing, p.dst);
      if (group !== null) {
        // never forwarded: for the host's own sockets through INPUT (routing.ts `groups`)
        const inp = this.hook('INPUT', p);
        if (inp !== null) return done(inp.verdict, 'stop', inp.by);
        const to = formatAddress(p.dst, this.env.family);
        const what = group.kind === 'multicast' ? 'multicast group' : 'broadcast address';
        if (p.proto !== PROTO.udp)
          return done(
            'dropped',
            'no-route',
            null,
            `${to} is a ${what}: only UDP takes a packet sent to one, and the kernel does not forward it`,
          );
        // delivered to a group the arrival interface has joined, else dropped at routing
        if (group.kind === 'multicast')
          this.assumed.add(
            `whether ${p.iif} has joined the multicast group ${to} (a socket of this host's among its members) is not known: taken as joined, the packet is for the host's sockets`,
          );
        return done('accepted', 'local', null);
      }
      const unforwarded = this.it.unforwardedFrom(p.iif);
      const dev = this.it.forwards && unforwarded === null ? this.egress(p) : null;
      if (dev === null)
        return done(
          'dropped',
          'no-route',
          null,
          unforwarded ?? (this.it.forwards ? this.it.unroutedWhy(p.dst) : undefined),
        );
      if (scopedSource(this.env.routing, p.src))
        return done(
          'dropped',
          'no-route',
          null,
          `the source ${formatAddress(p.src, this.env.family)} is link-local, loopback or multicast: the kernel forwards nothing from it`,
        );
      p.oif = dev;
      const fwd = this.hook('FORWARD', p) ?? this.hook('POSTROUTING', p);
      // a host that does not forward drops the packet before FORWARD: no rule there decides
      if (this.it.forwardingAssumed)
        this.assumed.add(
          `${this.env.family === 'ipv4' ? 'IPv4' : 'IPv6'} forwarding is assumed to be on`,
        );
      return fwd !== null ? done(fwd.verdict, 'stop', fwd.by) : done('accepted', 'forward', null);
    }
    p.oif = this.egress(p);
    if (p.oif === null) return done('dropped', 'no-route', null, this.it.unroutedWhy(p.dst));
    const unsent = this.loopbackSourceAway(p, p.oif);
    if (unsent !== null) {
      p.oif = null;
      return done('dropped', 'no-route', null, unsent);
    }
    const out = this.hook('OUTPUT', p) ?? this.hook('POSTROUTING', this.rerouted(p));
    if (out?.unrouted !== undefined) return done(out.verdict, 'no-route', null, out.unrouted);
    if (out !== null) return done(out.verdict, 'stop', out.by);
    if (!p.loc) return done('accepted', 'forward', null);
    // delivered to itself over loopback: received again on lo, PREROUTING's chains see it (its
    // NAT done in OUTPUT, a reply's DNAT undone in POSTROUTING), then INPUT
    undoDnat(p);
    // MASQUERADE out of lo gives an address of global scope of another interface (the first
    // the kernel finds; 127.0.0.1's scope is the host's); where the snapshot does not give it,
    // the rules from here on see the packet's own source (random seed 2770, on the rules alone:
    // INPUT's `-s 203.0.113.1 -j REJECT` met the masqueraded packet, and the host was refused)
    if (p.snat === true && p.snatTo === null && this.it.readsSource)
      this.assumed.add(
        `the address NAT gave the packet's source on its way out of lo is not known (MASQUERADE takes one of another interface's); the rules it meets again are taken to see ${formatAddress(p.src, this.env.family)}`,
      );
    applySnat(p);
    p.iif = 'lo';
    p.oif = null;
    const again = this.hook('PREROUTING', p, true);
    if (again !== null) {
      p.iif = null;
      return done(again.verdict, 'stop', again.by);
    }
    const inp = this.hook('INPUT', p);
    p.iif = null;
    return inp !== null ? done(inp.verdict, 'stop', inp.by) : done('accepted', 'local', null);
  }

  /**
   * Why routing refuses an IPv4 packet arriving on `iif` for its source (routing.ts
   * `martianSource`), null where it does not; a switch the snapshot does not give is named as
   * an assumption.
   */
  private martianSource(p: Concrete, iif: string): string | null {
    const source = formatAddress(p.src, this.env.family);
    switch (martianSource(this.env.routing, p.src)) {
      case 'group':
        return `the source ${source} is a multicast or broadcast address: the kernel drops the packet arriving on ${iif} as a martian`;
      case 'own': {
        const how = this.it.acceptLocal(iif);
        if (how === 'on') return covers(LOOPBACK4, p.src) ? this.loopbackSource(p, iif) : null;
        if (how === 'taken-off') this.assumed.add(acceptLocalTaken(iif));
        return `the source ${source} is an address of this host's and accept_local is off for ${iif}: the kernel drops the packet arriving there as a martian`;
      }
      case 'loopback':
        return this.loopbackSource(p, iif);
      case null:
        return null;
    }
  }

  /**
   * Why the kernel's check of every source by its route back (`NetworkContext.sourcesChecked`)
   * refuses an IPv4 packet arriving on `iif` that the martian and `rp_filter` checks let in:
   * its route back is a broadcast route, or a local route (127.0.0.0/8) where `accept_local`
   * is off. Null where it does not; where the snapshot does not show the check, it is taken not
   * to happen, and said so where it would refuse.
   */
  private sourceCheck(p: Concrete, iif: string): string | null {
    if (this.env.family !== 'ipv4') return null;
    const broadcast = this.it.broadcastSource(p.src);
    const accept = this.it.acceptLocal(iif);
    if (!broadcast && !(covers(LOOPBACK4, p.src) && accept !== 'on')) return null;
    const source = formatAddress(p.src, 'ipv4');
    const kind = broadcast ? 'a broadcast route' : 'a local route, and accept_local is off there';
    if (!this.it.sourcesChecked) {
      this.assumed.add(
        `no policy rule or local route is taken to have been added by hand since boot (had one been, the kernel would drop this packet: the route back to ${source} is ${kind})`,
      );
      return null;
    }
    if (!broadcast && accept === 'taken-off') this.assumed.add(acceptLocalTaken(iif));
    return `a policy rule or local route was added by hand, so the kernel checks every source by its route back, and the route back to ${source} is ${kind}: it drops the packet arriving on ${iif}`;
  }

  /** Why routing refuses a loopback source arriving on `iif` (not lo), null where it does not. */
  private loopbackSource(p: Concrete, iif: string): string | null {
    const how = this.it.loopbackRouting(iif);
    if (how === 'unknown') {
      this.assumed.add(localnetTaken(iif, true));
      return null;
    }
    if (how === 'routed') return null;
    if (how === 'taken-off') this.assumed.add(localnetTaken(iif, false));
    return `the source ${formatAddress(p.src, this.env.family)} is a loopback address arriving on ${iif}, and route_localnet is off there: the kernel drops it as a martian`;
  }

  /**
   * Why reverse path filtering (`rp_filter`) drops an IPv4 packet arriving on `iif`, null where
   * it does not; a switch the snapshot does not give, or a route back it only assumes, is named
   * where it decides.
   */
  private reversePathFilter(p: Concrete, iif: string): string | null {
    const check = this.it.rpFilter(iif, p.src, p.dst);
    if (check === null) return null;
    const { mode, result, otherwise } = check;
    if (result.verdict === 'doubt')
      this.assumed.add(
        `${result.why}: rp_filter is ${rpModeName(mode)} for ${iif}, where the kernel drops a source whose route back ${mode === 1 ? `leaves by another interface` : 'is missing'}`,
      );
    if (otherwise !== null && otherwise.result.verdict !== 'pass')
      this.assumed.add(
        `rp_filter is taken to be ${rpModeName(mode)} for ${iif}${mode === 0 ? ", the kernel's default" : ''} (the snapshot does not say); ${rpModeName(otherwise.mode)}, the kernel drops this packet: ${otherwise.result.why}`,
      );
    else if (otherwise !== null)
      this.assumed.add(
        `rp_filter is taken to be ${rpModeName(mode)} for ${iif} (the snapshot does not say); ${rpModeName(otherwise.mode)}, the kernel routes this packet`,
      );
    if (result.verdict !== 'drop') return null;
    return `${result.why}: reverse path filtering (rp_filter ${rpModeName(mode)}) drops the packet arriving on ${iif}`;
  }

  /**
   * The host's own packet past OUTPUT, routed again: a NAT there may have changed its
   * destination, and the kernel routes it again, while OUTPUT's chains all see the interface of
   * the first route (the hook's state keeps it).
   */
  private rerouted(p: Concrete): Concrete {
    p.oif = this.egress(p);
    return p;
  }

  /**
   * Why the kernel does not send the host's own IPv4 packet from a loopback source out of `dev`
   * (see `CompiledRuleset.loopbackSources`); null where it does.
   */
  private loopbackSourceAway(p: Concrete, dev: string): string | null {
    const family = this.env.family;
    if (family !== 'ipv4' || dev === 'lo' || p.loc || !isLoopback(p.src, family)) return null;
    const how = this.it.loopbackRouting(dev);
    if (how === 'routed') return null;
    if (how === 'unknown') {
      this.assumed.add(localnetTaken(dev, true));
      return null;
    }
    if (how === 'taken-off') this.assumed.add(localnetTaken(dev, false));
    return `the packet's source ${formatAddress(p.src, family)} is a loopback address and its route leaves by ${dev}, where route_localnet is off: the kernel does not send it`;
  }

  /** `fib saddr . iif oif exists`; undecided (null) with what the snapshot does not say. */
  private reversePath(p: Concrete, mode: ReversePathMode): boolean | null {
    const r = reversePathHolds(this.env.routing, this.env.family, this.env.interfaces, p, mode);
    if (typeof r === 'boolean') return r;
    this.assumed.add(reversePathDoubt(r, formatAddress(p.src, this.env.family), p.iif));
    return null;
  }

  /** lo for the host's own destination, else the route's device (noting an assumed route). */
  private egress(p: Concrete): string | null {
    if (p.loc) return 'lo';
    const r = this.it.route(p.dst);
    // a dead end sends nowhere, an answer as anything else
    if (r === null && this.it.deadEnd(p.dst)) return null;
    const address = formatAddress(p.dst, this.env.family);
    // a route the snapshot lists, which policy routing may override, is taken, possibly
    if (r !== null && r.doubt !== null) {
      this.assumed.add(routeAssumed(address, r.device, r.doubt));
      return r.device;
    }
    if ((r === null || r.assumed) && p.via !== undefined) return p.via;
    if (r?.assumed === true) this.assumed.add(routeAssumed(address, r.device));
    return r?.device ?? null;
  }

  /**
   * The hook's base chains in order; null when the packet passes, else the stop. NAT chains see
   * the first packet only, until one of them NATs it; ingress/egress chains their devices only.
   */
  private hook(
    hook: Hook,
    p: Concrete,
    natDone = false,
  ): { verdict: Verdict; by: string; unrouted?: string } | null {
    let bound = natDone;
    this.looped = natDone;
    for (const entry of pipelineOf(this.env.ruleset)[hook]) {
      // conntrack undoes a SNAT at the destination NAT's priority: in PREROUTING for what
      // arrives, in OUTPUT for the host's own reply (random seed 714: filter OUTPUT saw the
      // reply to 127.0.0.1, not the address the SNAT gave)
      if ((hook === 'PREROUTING' || hook === 'OUTPUT') && entry.priority >= DST_NAT_PRIORITY)
        undoSnat(p);
      // and a DNAT at the source NAT's: in POSTROUTING, or INPUT for a reply delivered here
      // (random seed 802: over loopback INPUT saw the host's reset from the port it was sent to)
      if ((hook === 'POSTROUTING' || hook === 'INPUT') && entry.priority >= SRC_NAT_PRIORITY)
        undoDnat(p);
      this.settled = entry.passesEvery;
      // a later packet meets the NAT its connection's first packet got (`Concrete.onward`)
      const asFirst = entry.type === 'nat' && p.onward === true && p.state === 'ESTABLISHED';
      const sees =
        (entry.stage === 'hook' || this.onDevice(entry, p)) &&
        (entry.type !== 'nat' || ((p.state === 'NEW' || asFirst) && !bound));
      this.natted = false;
      let r: { verdict: Verdict; by: string } | null = null;
      if (sees && asFirst) {
        const flags = p.flags;
        p.state = 'NEW';
        p.dnat = false;
        if (p.proto === PROTO.tcp) p.flags = ['SYN'];
        r = this.builtin(hook, entry.table, entry.chain, p);
        p.state = 'ESTABLISHED';
        if (flags === undefined) delete p.flags;
        else p.flags = flags;
      } else if (sees) r = this.builtin(hook, entry.table, entry.chain, p);
      this.settled = false;
      if (!sees) continue;
      if (r !== null) return r;
      if (entry.type === 'nat' && this.natted) bound = true;
      // routed again after NAT (`rerouted`, for POSTROUTING: the hook's later chains still see
      // the interface first routed to); dropped here without a route
      if (hook === 'OUTPUT' && entry.type === 'nat') {
        const dev = this.egress(p);
        if (dev === null)
          return { verdict: 'dropped', by: 'no route', unrouted: this.it.unroutedWhy(p.dst) };
        const unsent = this.loopbackSourceAway(p, dev);
        if (unsent !== null) return { verdict: 'dropped', by: 'no route', unrouted: unsent };
      }
    }
    return null;
  }

  /**
   * The host's own packet received again over loopback (the hook walked with `natDone`): it
   * keeps the connection conntrack gave it in OUTPUT, so the raw table's matches see that
   * connection, and a NOTRACK leaves it tracked (the kernel's notrack skips a packet that has
   * one).
   */
  private looped = false;

  /**
   * In a base chain that passes every packet (`PipelineEntry.passesEvery`) a match it cannot
   * decide makes nothing uncertain: the trace marks the step, the verdict stays.
   */
  private settled = false;

  private doubt(ref: string): void {
    if (!this.settled) this.uncertain.add(ref);
  }

  /** Set by a NAT target: the connection got its binding in the chain being walked. */
  private natted = false;

  /** Whether an ingress/egress chain sees the packet (the resolver decides an unknown device). */
  private onDevice(entry: PipelineEntry, p: Concrete): boolean {
    const name = entry.stage === 'ingress' ? p.iif : p.oif;
    if (entry.devices !== null) return name !== null && entry.devices.includes(name);
    this.doubt(`${entry.tableId}/${entry.chain.name} (device)`);
    const probe: MatchOption = {
      type: 'opaque',
      module: 'nft',
      option: 'device',
      args: [],
      negated: false,
      location: entry.chain.location,
    };
    return this.env.resolve(entry.chain.rules[0] ?? deviceRule(entry), probe);
  }

  private builtin(
    hook: Hook,
    table: Table,
    chain: Chain,
    p: Concrete,
  ): { verdict: Verdict; by: string } | null {
    const r = this.chain(hook, table, chain, p, []);
    if (r.kind === 'continue') {
      const policy = chain.policy ?? 'ACCEPT';
      this.step(hook, table, chain, null, `policy ${policy}`, false);
      if (policy === 'DROP')
        return { verdict: 'dropped', by: `${tableId(table)}/${chain.name}#policy` };
      return null;
    }
    if (r.kind === 'accept') return null;
    return { verdict: r.kind === 'drop' ? 'dropped' : 'rejected', by: r.by };
  }

  private step(
    hook: Hook,
    table: Table,
    chain: Chain,
    rule: Rule | null,
    action: string,
    uncertain: boolean,
  ): void {
    this.steps.push({
      hook,
      table: tableId(table),
      chain: chain.name,
      rule: rule?.index ?? null,
      ...(rule?.handle === undefined ? {} : { handle: rule.handle }),
      line: rule?.location.line ?? chain.location.line,
      file: rule?.location.file ?? chain.location.file,
      ruleText: rule === null ? '' : this.env.print(rule),
      action,
      uncertain,
    });
  }

  /** Walk a chain: `continue` = fell off the end or RETURNed; else a terminal verdict. */
  private chain(
    hook: Hook,
    table: Table,
    chain: Chain,
    p: Concrete,
    stack: readonly string[],
  ): { kind: 'continue' | 'accept' | 'drop' | 'reject'; by: string } {
    const inner = [...stack, chain.name];
    const rules = chain.rules;
    const indexed = this.env.indexed && rules.length >= MIN_INDEXED;
    // only the rules whose key the packet can meet, in chain order (null: every rule)
    let order = indexed ? ruleIndex(rules, this.env.family).forPacket(p) : null;
    const keyed = order === null ? null : keyedHeadersOf(p);
    let k = 0;
    let i = order === null ? 0 : (order[0] ?? rules.length);
    while (i < rules.length) {
      const rule = rules[i];
      if (rule === undefined) break;
      const r = this.rule(hook, table, chain, rule, p, inner);
      if (r !== null) return r;
      // headers change only in terminal targets today; should a rule ever change them and go
      // on, the index chosen for the old headers no longer applies: walk the rest one by one
      if (order !== null && keyed !== null && !sameKeyedHeaders(keyed, p)) order = null;
      if (order === null) i++;
      else i = order[++k] ?? rules.length;
    }
    return { kind: 'continue', by: '' };
  }

  /** One rule: a verdict that ends the chain, or null to go on with the next rule. */
  private rule(
    hook: Hook,
    table: Table,
    chain: Chain,
    rule: Rule,
    p: Concrete,
    inner: readonly string[],
  ): { kind: 'continue' | 'accept' | 'drop' | 'reject'; by: string } | null {
    const beforeConntrack = !this.looped && enteredBeforeConntrack(table, inner[0]);
    const m = this.matches(rule, beforeConntrack ? unlooked(p) : p);
    if (!m.matched && !m.uncertain) return null;
    const ref = `${tableId(table)}/${chain.name}#${rule.index}`;
    // an unmodelled match decided this rule either way: the outcome is only possible
    if (m.uncertain) this.doubt(ref);
    if (!m.matched) return null;
    let uncertain = m.uncertain;
    // nftables: statements and conditions in order before the verdict
    for (const step of rule.steps ?? []) {
      if (step.kind === 'statement') {
        const r = this.act(hook, table, chain, rule, step.target, p, inner, uncertain, ref);
        if (r !== null) return r;
        continue;
      }
      const v = this.conditions(rule, step.module.options, p);
      if (v.uncertain) {
        this.doubt(ref);
        uncertain = true;
      }
      if (!v.matched) return null;
    }
    if (rule.target === null) {
      this.step(hook, table, chain, rule, 'count', uncertain);
      return null;
    }
    return this.act(hook, table, chain, rule, rule.target, p, inner, uncertain, ref);
  }

  /** One target or statement: a verdict that ends the chain, or null to go on. */
  private act(
    hook: Hook,
    table: Table,
    chain: Chain,
    rule: Rule,
    t: Target,
    p: Concrete,
    inner: readonly string[],
    uncertain: boolean,
    ref: string,
  ): { kind: 'continue' | 'accept' | 'drop' | 'reject'; by: string } | null {
    const say = (action: string): void => this.step(hook, table, chain, rule, action, uncertain);
    switch (t.kind) {
      case 'ACCEPT':
        say('ACCEPT');
        return { kind: 'accept', by: ref };
      case 'DROP':
        say('DROP');
        return { kind: 'drop', by: ref };
      case 'REJECT':
        say(`REJECT ${t.rejectWith}`.trim());
        return { kind: 'reject', by: ref };
      case 'QUEUE':
      case 'NFQUEUE':
        // userspace decides; follow the resolver's guess for unknowns
        this.doubt(ref);
        say(t.kind);
        return { kind: this.env.resolve(rule, queueOption(t)) ? 'accept' : 'drop', by: ref };
      case 'RETURN':
        say('RETURN');
        return { kind: 'continue', by: ref };
      case 'CONTINUE':
        say('continue');
        return null;
      case 'vmap': {
        if (t.entries === null) {
          // contents unknown: the resolver's guess, accepted or going on
          this.doubt(ref);
          say(`vmap ${t.map === null ? t.key : `@${t.map}`} (contents unknown)`);
          return this.env.resolve(rule, queueOption(t)) ? { kind: 'accept', by: ref } : null;
        }
        for (const entry of t.entries) {
          const v = this.conditions(rule, entry.when, p);
          if (v.uncertain) this.doubt(ref);
          if (!v.matched) continue;
          return this.act(
            hook,
            table,
            chain,
            rule,
            entry.verdict,
            p,
            inner,
            uncertain || v.uncertain,
            ref,
          );
        }
        say(`vmap ${t.map === null ? t.key : `@${t.map}`}: no element`);
        return null;
      }
      case 'jump': {
        const sub = chainsByName(table).get(t.chain);
        const deep = inner.length > MAX_JUMP_DEPTH;
        if (sub === undefined || deep || inner.includes(t.chain)) {
          this.doubt(ref);
          const why = sub === undefined ? 'missing chain' : deep ? 'nested too deep' : 'loop';
          say(`${t.goto ? 'goto' : 'jump'} ${t.chain} (not followed: ${why})`);
          return null;
        }
        say(`${t.goto ? 'goto' : 'jump'} ${t.chain}`);
        const r = this.chain(hook, table, sub, p, inner);
        if (r.kind !== 'continue') return r;
        if (t.goto) return r;
        return null;
      }
      case 'DNAT':
      case 'REDIRECT': {
        if (t.kind === 'REDIRECT' && p.iif !== null && this.it.redirectsNowhere(p.iif)) {
          // the kernel redirects to the first address of the packet's interface, and drops
          // the packet where that interface has none of its family
          say(`${natText(t)}: ${p.iif} has no address to redirect to, dropped`);
          return { kind: 'drop', by: ref };
        }
        this.dnat(p, t);
        this.natted = true;
        say(natText(t));
        return { kind: 'accept', by: ref };
      }
      case 'SNAT':
      case 'MASQUERADE':
        this.natted = true;
        p.snat = true;
        p.snatTo = this.snatAddress(p, t);
        say(natText(t));
        return { kind: 'accept', by: ref };
      case 'TPROXY':
        say('TPROXY');
        return { kind: 'accept', by: ref };
      case 'MARK':
        p.mark = ((p.mark & ~t.mask) ^ t.value) >>> 0;
        say(`MARK set 0x${p.mark.toString(16)}`);
        return null;
      case 'NOTRACK':
        if (!this.looped) p.state = 'UNTRACKED';
        say('NOTRACK');
        return null;
      case 'CT':
        if (!this.looped && untracks(t)) p.state = 'UNTRACKED';
        say('CT');
        return null;
      case 'CONNMARK':
        if (t.options.some((o) => /restore-mark/.test(o.option))) {
          // the connection mark is not modelled: keep the packet's mark (one possible value)
          this.doubt(ref);
        }
        say('CONNMARK');
        return null;
      case 'LOG':
      case 'NFLOG':
      case 'TCPMSS':
      case 'CHECKSUM':
        say(t.kind);
        return null;
      case 'extension':
        say(`${t.name} (not modelled, falls through)`);
        return null;
    }
  }

  /** The address SNAT gives (its first), or MASQUERADE (the host's one on the way out). */
  private snatAddress(p: Concrete, t: Target): bigint | null {
    if (t.kind === 'SNAT') {
      const from = t.to[0]?.addresses?.from;
      return from === undefined ? null : addressValue(from, this.env.family);
    }
    // out of lo IPv4 masquerades to an address of global scope, lo's own 127.0.0.1 not being one
    if (p.oif === 'lo' && this.env.family === 'ipv4') return this.it.masqueradeOutOfLo;
    // IPv6 picks by scope (RFC 6724, as the kernel's source selection does): toward a global
    // destination never a link-local address, of which every interface has one in fe80::/64
    // (random6 seed 933: ext0's one global address was taken for unknown); toward a link-local
    // one, which is not settled
    if (this.env.family === 'ipv6')
      return isLinkLocal6(p.dst) ? null : (this.hostAddressOn(p.oif, true) ?? null);
    return this.hostAddressOn(p.oif) ?? null;
  }

  /**
   * The host's one address on an interface (in a prefix the snapshot routes there), where there
   * is one; `global`: of the IPv6 ones, those not link-local. A default route says nothing of
   * which addresses are on its interface.
   */
  private hostAddressOn(device: string | null, global = false): bigint | undefined {
    if (device === null) return undefined;
    const routing = this.env.routing;
    const own = routing.locals.filter(
      (l) =>
        l.length === addressBits(this.env.family) &&
        !(global && isLinkLocal6(l.value)) &&
        routing.routes.some(
          (r) => !r.assumed && r.length > 0 && r.device === device && covers(r, l.value),
        ),
    );
    return own.length === 1 ? own[0]?.value : undefined;
  }

  /** The port a NAT range gives (`natPort`); a random pick is taken to be the first, and said. */
  private natPort(
    range: PortRange,
    port: number,
    base: number | undefined,
    random: boolean,
  ): number {
    const picked = natPort(range, port, base, random);
    if (picked !== null) return picked;
    this.assumed.add(
      `the port NAT picks at random from ${range.from}-${range.to} is taken to be ${range.from}`,
    );
    return range.from;
  }

  private dnat(p: Concrete, t: Target): void {
    const before = { dst: p.dst, dport: p.dport };
    const random = (t.kind === 'DNAT' || t.kind === 'REDIRECT') && picksRandomly(t.flags);
    if (t.kind === 'DNAT') {
      // the first range, its lowest address and port: what the kernel picks for one connection
      const r = t.to[0];
      if (r === undefined) return;
      const to = r.addresses === null ? null : addressValue(r.addresses.from, this.env.family);
      if (t.to.length > 1 || severalAddresses(r))
        this.assumed.add(
          `the address DNAT picks by a hash of the connection (from ${t.to.length > 1 ? 'several ranges' : `${r.addresses?.from}-${r.addresses?.to}`}) is taken to be ${r.addresses?.from ?? "the first range's"}`,
        );
      // to the one address the packet already has: the kernel keeps its route (and the walk
      // whether that address is the host's)
      if (to !== null && !(to === p.dst && knownPick(t.to, random))) {
        p.dst = to;
        const host = this.it.hostness(to);
        if (host === 'unknown') {
          // a DNAT target is normally another machine; whether it is this one is not known
          p.loc = false;
          this.assumed.add(
            `${formatAddress(to, this.env.family)} is taken not to be an address of this host`,
          );
        } else p.loc = host === 'local';
      }
      if (r.ports !== null && PORT_PROTOCOLS.includes(p.proto))
        p.dport = this.natPort(r.ports, p.dport, r.portBase, random);
    } else if (t.kind === 'REDIRECT') {
      // the kernel uses the ingress interface's first address (random seed 3103: ext0's, which
      // INPUT's `-d 203.0.113.1 -j DROP` then dropped); where the snapshot does not list it, one
      // of the host's is taken: an address the packet was sent to that is the host's will do
      // when the context names none
      const listed = p.iif === null ? null : this.it.redirectAddress(p.iif);
      const own =
        listed ??
        this.hostAddressOn(p.iif) ??
        this.env.routing.locals.find(
          (l) => l.length === addressBits(this.env.family) && !isLoopback(l.value, this.env.family),
        )?.value;
      if (p.iif !== null && listed === null)
        this.assumed.add(
          `the address REDIRECT gives a packet arriving on ${p.iif} (that interface's first) is not known; ${own === undefined ? 'the one it was sent to' : formatAddress(own, this.env.family)} is taken`,
        );
      p.dst =
        p.iif === null
          ? loopbackAddress(this.env.family)
          : own !== undefined
            ? own
            : p.loc && !isLoopback(p.dst, this.env.family)
              ? p.dst
              : loopbackAddress(this.env.family);
      p.loc = true;
      if (t.ports !== null && PORT_PROTOCOLS.includes(p.proto))
        p.dport = this.natPort(t.ports, p.dport, undefined, random);
    }
    // the kernel sets a connection's DNAT status only where its tuple changed (random seed 293:
    // a REDIRECT to the address and port a datagram had left `--ctstate DNAT` unmatched); from
    // a range it picks by hash, which the lowest address stands for: the status is kept there
    const known =
      t.kind === 'REDIRECT'
        ? knownPick([{ addresses: null, ports: t.ports }], random)
        : t.kind === 'DNAT' && knownPick(t.to, random);
    if (!known || p.dst !== before.dst || p.dport !== before.dport) p.dnat = true;
  }

  matches(rule: Rule, p: Concrete): { matched: boolean; uncertain: boolean } {
    // fragments and IPv6 extension headers: never on the packets modelled (packet-model.ts)
    if (matchesOnlyUnmodelled(rule, this.env.family)) return { matched: false, uncertain: false };
    return this.conditions(rule, [...rule.core, ...rule.matches.flatMap((x) => x.options)], p);
  }

  /** Options that must all hold; unmodelled ones decided by the resolver. */
  private conditions(
    rule: Rule,
    options: readonly MatchOption[],
    p: Concrete,
  ): { matched: boolean; uncertain: boolean } {
    let unknown = false;
    const unknowns: MatchOption[] = [];
    // before conntrack, a conntrack match reads no connection (`connectionless`), nor after it
    // on an untracked or invalid packet, which has none
    const none =
      p.unlooked === true || p.state === 'UNTRACKED' || p.state === 'INVALID'
        ? connectionless(rule)
        : null;
    for (const o of options) {
      const v = none?.get(o) ?? this.option(o, p);
      if (v === null) {
        unknowns.push(o);
        continue;
      }
      if (!v) return { matched: false, uncertain: false };
    }
    for (const o of unknowns) {
      unknown = true;
      // an address type the snapshot cannot tell: say which address it was (a rule that
      // decides nothing in a chain passing every packet says nothing)
      if (o.type === 'addrtype' && !this.settled) {
        const v = o.field === 'src' ? p.src : p.dst;
        this.assumed.add(
          `whether ${formatAddress(v, this.env.family)} is an address of this host is not known (the snapshot does not list them all); a rule's \`addrtype\` on it was taken as the trace shows`,
        );
      }
      if (!this.env.resolve(rule, o)) return { matched: false, uncertain: true };
    }
    return { matched: true, uncertain: unknown };
  }

  /** Some element's options all hold; null when only undecidable options could make one. */
  private member(
    elements: readonly (readonly MatchOption[])[] | null,
    p: Concrete,
  ): boolean | null {
    if (elements === null) return null;
    let undecided = false;
    for (const el of elements) {
      let all: boolean | null = true;
      for (const o of el) {
        const v = this.option(o, p);
        if (v === false) {
          all = false;
          break;
        }
        if (v === null) all = null;
      }
      if (all === true) return true;
      if (all === null) undecided = true;
    }
    return undecided ? null : false;
  }

  /** true/false, or null when the model cannot decide it. */
  private option(o: MatchOption, p: Concrete): boolean | null {
    // before conntrack, no connection to match but by its state (`unlooked`); what a conntrack
    // match makes of it is `connectionless`'s, the rest is undecided
    if (p.unlooked === true && CONNECTION_OPTIONS.has(o.type)) return null;
    const inner = this.inner(o, p);
    if (inner === null) return null;
    if (inner === 'fail') return false;
    return o.negated ? !inner : inner;
  }

  /** The option's own test before negation; `fail` when the module's protocol does not apply. */
  private inner(o: MatchOption, p: Concrete): boolean | null | 'fail' {
    const fam = this.env.family;
    const hasPorts = PORT_PROTOCOLS.includes(p.proto);
    const masked = (v: bigint, addr: string, mask: string): boolean | null => {
      const a = addressValue(addr, fam);
      const k = addressValue(mask, fam);
      return a === null || k === null ? null : (v & k) === (a & k);
    };
    const inPorts = (v: number, ranges: readonly { from: number; to: number }[]): boolean =>
      ranges.some((r) => v >= r.from && v <= r.to);
    if (isUnmodelled(o)) return null;
    switch (o.type) {
      case 'address':
        return masked(o.field === 'src' ? p.src : p.dst, o.value.address, o.value.mask);
      case 'interface': {
        const name = o.field === 'in' ? p.iif : p.oif;
        if (name === null) return false;
        return o.wildcard ? name.startsWith(o.name) : name === o.name;
      }
      case 'protocol':
        return o.number === 0 || p.proto === o.number;
      case 'ct-proto':
        return o.number === 0 || (p.related?.proto ?? p.proto) === o.number;
      case 'fragment':
      case 'ext-header':
        return false;
      case 'port':
        if (!hasPorts) {
          if (o.anyProtocol !== true) return 'fail';
          // nft's `th`: ICMP's type and code are its first word (kept in dport), the rest unknown
          const icmp = p.proto === icmpProtocol(fam);
          return icmp && o.field === 'src' ? inPorts(p.dport, o.ranges) : null;
        }
        if (o.field === 'either') return inPorts(p.sport, o.ranges) || inPorts(p.dport, o.ranges);
        return inPorts(o.field === 'src' ? p.sport : p.dport, o.ranges);
      case 'tcp-flags': {
        if (p.proto !== PROTO.tcp) return 'fail';
        if (p.flags === undefined && p.state !== 'NEW') return null;
        const set = p.flags ?? ['SYN'];
        const got = o.mask.filter((f) => set.includes(f));
        return o.compare.length === got.length && got.every((f) => o.compare.includes(f));
      }
      case 'ct-state':
        return o.states.some((st) => (st === 'DNAT' ? p.dnat : st === p.state));
      case 'ct-status': {
        if (dnatOnly(o.statuses)) return p.dnat;
        return statusHolds(o.statuses, p);
      }
      case 'ct-address':
        return masked(tupleEnd(o.field, p).address, o.value.address, o.value.mask);
      case 'ct-port': {
        if (!PORT_PROTOCOLS.includes(p.related?.proto ?? p.proto)) return 'fail';
        const v = tupleEnd(o.field, p).port;
        return v >= o.range.from && v <= o.range.to;
      }
      case 'ct-dir': {
        if (p.reply === true) return o.dir === 'REPLY';
        if (p.state !== 'NEW') return null;
        return o.dir === 'ORIGINAL';
      }
      case 'addrtype': {
        const v = o.field === 'src' ? p.src : p.dst;
        // the destination's own bit decides; a source that may be the host's is not decided
        const host =
          o.field === 'src'
            ? p.sloc === undefined
              ? this.it.hostness(v)
              : p.sloc
                ? 'local'
                : 'foreign'
            : p.loc
              ? 'local'
              : 'foreign';
        const local = host === 'local';
        const mc = fam === 'ipv4' ? v >> 28n === 0xen : v >> 120n === 0xffn;
        const bc = fam === 'ipv4' && groupOf(this.env.routing, v)?.kind === 'broadcast';
        const routed = this.it.route(v) !== null;
        if (fam === 'ipv6' && o.fib !== true) {
          const plan = ipv6AddrtypePlan(o.types);
          if (plan.refused) return null;
          const unicast = !mc && v !== 0n && v >> 32n !== 0xffffn;
          if ((plan.multicast && !mc) || (plan.unicast && !unicast) || (plan.unspec && v !== 0n))
            return false;
          if (plan.route.length === 0) return true;
          let undecided = false;
          for (const t of plan.route) {
            if (t === 'ANYCAST' || host === 'unknown') undecided = true;
            else if (t === 'LOCAL' ? local : !routed && !local && !mc) return true;
          }
          return undecided ? null : false;
        }
        let any = false;
        let undecided = false;
        for (const t of o.types) {
          if (t === 'LOCAL') {
            if (host === 'unknown') undecided = true;
            else any ||= local;
          } else if (t === 'MULTICAST') any ||= mc;
          else if (t === 'BROADCAST') any ||= bc;
          else if (
            t === 'UNICAST' ||
            t === 'UNREACHABLE' ||
            t === 'BLACKHOLE' ||
            t === 'PROHIBIT'
          ) {
            if (host === 'unknown' && !mc && !bc) undecided = true;
            else any ||= t === this.it.routeType(v) && !local && !mc && !bc;
          } else undecided = true;
        }
        if (any) return true;
        return undecided ? null : false;
      }
      case 'iprange': {
        const lo = addressValue(o.range.from, fam);
        const hi = addressValue(o.range.to, fam);
        if (lo === null || hi === null) return null;
        const v = o.field === 'src' ? p.src : p.dst;
        return v >= lo && v <= hi;
      }
      case 'comment':
        return true;
      case 'mark':
        if (o.of === 'connection')
          return this.env.connmarkZero ? (0 & o.mask) === (o.value & o.mask) : null;
        return (p.mark & o.mask) >>> 0 === (o.value & o.mask) >>> 0;
      case 'icmp-type': {
        if (p.proto !== icmpProtocol(o.family)) return 'fail';
        if (o.icmpType === null) return true;
        if (p.dport >> 8 !== o.icmpType) return false;
        return o.code === null || (p.dport & 255) === o.code;
      }
      case 'family':
        return o.family === fam;
      case 'member':
        return this.member(o.elements, p);
      case 'rpfilter':
        return this.reversePath(p, o);
    }
  }
}

/**
 * `--ctstatus` (some bit of the list set; NONE is none, so it never holds) on the packets the
 * walk knows the connection of, measured (Linux 6.18): a connection's first packet has DST_NAT
 * once DNATed and CONFIRMED where it comes back in over lo, having left by POSTROUTING; its
 * first reply is CONFIRMED and SEEN_REPLY, unless it is an ICMP error (related, not a reply),
 * and not ASSURED, which a reply to a connection picked up from its ACK sets. SNAT depends on
 * where the rule sits: undecided.
 */
function statusHolds(statuses: readonly ConntrackStatus[], p: Concrete): boolean | null {
  if (noStatusBit(statuses)) return false;
  const set = new Set<ConntrackStatus>();
  const open = new Set<ConntrackStatus>(['SNAT']);
  if (p.dnat) set.add('DNAT');
  if (p.reply === true) {
    set.add('CONFIRMED');
    if (p.state !== 'RELATED') set.add('SEEN_REPLY');
    if (p.flags?.length === 1 && p.flags[0] === 'ACK') open.add('ASSURED');
  } else if (p.state !== 'NEW') return null;
  else if (p.iif === 'lo') set.add('CONFIRMED');
  if (statuses.some((st) => set.has(st))) return true;
  return statuses.some((st) => open.has(st)) ? null : false;
}

/**
 * One end of the connection's tuples as the packet shows it: the original destination is kept
 * apart; the reply's source is where the packet was delivered (its current destination, or, for
 * an answer, its own source); the other ends are the client's (SNAT is not modelled).
 */
function tupleEnd(
  field: 'origsrc' | 'origdst' | 'replsrc' | 'repldst',
  p: Concrete,
): { address: bigint; port: number } {
  const c = p.related;
  if (c !== undefined) {
    if (field === 'origdst') return { address: c.odst, port: c.odport };
    return field === 'replsrc'
      ? { address: c.dst, port: c.dport }
      : { address: c.src, port: c.sport };
  }
  if (field === 'origdst') return { address: p.odst, port: p.odport };
  const server = field === 'replsrc';
  // an answer travels from the server: its source is the server's end
  const fromServer = p.reply === true;
  return server === fromServer
    ? { address: p.src, port: p.sport }
    : { address: p.dst, port: p.dport };
}

/** A reply to a source-NATed packet reaches conntrack's NAT: its real destination from here on. */
function undoSnat(p: Concrete): void {
  // an untracked reply (NOTRACK in raw) meets no conntrack, which is what undoes it
  if (p.unsnat === undefined || p.state === 'UNTRACKED') return;
  p.dst = p.unsnat.dst;
  p.loc = p.unsnat.loc;
  delete p.unsnat;
}

/**
 * A reply of a destination-NATed connection reaches conntrack's source NAT: it comes from the
 * address and port its connection's first packet was sent to; an ICMP error from that address.
 * (The translation of the packet an ICMP error quotes is not modelled.)
 */
function undoDnat(p: Concrete): void {
  if (p.reply !== true) return;
  if (PORT_PROTOCOLS.includes(p.proto)) {
    p.src = p.odst;
    p.sport = p.odport;
    p.sloc = p.oloc;
  } else if (p.related !== undefined && p.dnat) {
    // an ICMP error of a translated connection: NAT gives its outer header the source the
    // sender sent to, whichever address the host sent it from
    p.src = p.odst;
    p.sloc = p.oloc;
  }
}

/**
 * The source a SNAT in POSTROUTING gave the host's own packet, which it has when received again
 * over loopback (the model keeps the old one until then, for the reports): random seed 884, the
 * host's ACK from 127.0.0.1, SNATed to 203.0.113.1, met INPUT's `-s 203.0.113.1 -m conntrack
 * --ctstate ESTABLISHED -j REJECT --reject-with tcp-reset`, and the host was refused.
 */
function applySnat(p: Concrete): void {
  if (p.snat !== true || typeof p.snatTo !== 'bigint') return;
  p.src = p.snatTo;
  delete p.sloc;
}

/** Chains shorter than this are walked rule by rule (building and consulting the index costs more). */
const MIN_INDEXED = 24;

/** Each ruleset's hook pipeline, computed once. */
const pipelines = new WeakMap<Ruleset, Pipeline>();

function pipelineOf(ruleset: Ruleset): Pipeline {
  let p = pipelines.get(ruleset);
  if (p === undefined) {
    p = hookPipeline(ruleset).pipeline;
    pipelines.set(ruleset, p);
  }
  return p;
}

/** The rule the resolver is asked about for a chain whose device the listing does not say. */
function deviceRule(entry: PipelineEntry): Rule {
  return {
    table: entry.tableId,
    chain: entry.chain.name,
    index: 0,
    location: entry.chain.location,
    text: '',
    counters: null,
    core: [],
    matches: [],
    target: null,
  };
}

function queueOption(t: Target): MatchOption {
  return {
    type: 'opaque',
    module: t.kind,
    option: 'verdict',
    args: [],
    negated: false,
    location: t.location,
  };
}

function isLoopback(v: bigint, family: Ruleset['family']): boolean {
  return family === 'ipv4' ? v >> 24n === 127n : v === 1n;
}

function loopbackAddress(family: Ruleset['family']): bigint {
  return family === 'ipv4' ? 0x7f000001n : 1n;
}

export { STATES };
