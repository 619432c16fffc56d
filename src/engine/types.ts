/**
 * The engine's public types: what audit rules, reporters and the UI code against.
 *
 * Packet model: the engine reasons about the FIRST packet of a connection (TCP SYN, the first
 * UDP datagram, ctstate NEW) unless a query asks for other conntrack states. Every result is
 * two-sided: `certain` ⊆ `possible`. Packets in `certain` take the path whatever unmodelled
 * matches (`-m recent`, `-m string`, an ipset without contents, …) do; packets in `possible`
 * take it under some outcome of those matches. The rules responsible are listed.
 */
import type { Diagnostic } from '../model/diagnostic.ts';
import type { Family, PortRange } from '../model/ruleset.ts';
import type { Certainty, Hook, IpProtocol, Packet, Trace } from '../model/trace.ts';

/** Conntrack states a query may ask for (default: NEW only). */
export type QueryState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED';

/**
 * A set of packets described as plain data. Absent fields mean "any". Lists mean "any of".
 * `destinations`/`destinationPorts` constrain the current headers (after DNAT when the set is a
 * result past nat PREROUTING); `originalDestinations`/`originalDestinationPorts` constrain the
 * headers as the client sent them (conntrack's original tuple).
 */
export interface PacketConstraint {
  /** CIDRs or plain addresses. */
  readonly sources?: readonly string[];
  /** Sources taken out of `sources` (CIDRs or plain addresses). */
  readonly exceptSources?: readonly string[];
  readonly destinations?: readonly string[];
  readonly originalDestinations?: readonly string[];
  readonly protocols?: readonly IpProtocol[];
  readonly sourcePorts?: readonly PortRange[];
  readonly destinationPorts?: readonly PortRange[];
  readonly originalDestinationPorts?: readonly PortRange[];
  /** Ingress interfaces; `null` in the list means "sent by the host itself". */
  readonly inInterfaces?: readonly (string | null)[];
  /** Egress interfaces (known after routing). */
  readonly outInterfaces?: readonly string[];
  readonly states?: readonly QueryState[];
  /** Exact packet mark. */
  readonly mark?: number;
  /**
   * Conntrack's DNAT state (`--ctstate DNAT`: the connection's destination was rewritten), the
   * values allowed; a new connection's packets arrive without it (the default for `reach`).
   */
  readonly dnat?: readonly boolean[];
  /**
   * Whether the destination is the host's, the values allowed (`local`: exact where the
   * snapshot lists the host's addresses, the packet's own word where it leaves one open).
   */
  readonly localDestination?: readonly boolean[];
}

/**
 * A canonical set of packets (a BDD underneath). Immutable; combine with and/or/minus.
 * Field values are the headers at the point the set describes (see PacketConstraint).
 */
/** The header fields a set can be projected on (`PacketSet.projected`). */
export type HeaderName =
  | 'source'
  | 'destination'
  | 'sourcePort'
  | 'destinationPort'
  | 'originalDestination'
  | 'originalDestinationPort'
  /** Whether the destination is the host's (where the address list leaves it open). */
  | 'local'
  /** Whether the original destination is the host's (where the address list leaves it open). */
  | 'originalLocal'
  /** Conntrack's DNAT state: the connection's destination was rewritten. */
  | 'translated'
  | 'inInterface'
  | 'protocol';

export interface PacketSet {
  readonly family: Family;
  readonly isEmpty: boolean;
  and(other: PacketSet | PacketConstraint): PacketSet;
  /** Whether the two share a packet (no set is built). */
  meets(other: PacketSet): boolean;
  /**
   * Every packet that agrees with one of the set's on the fields named (the others free): what
   * the set says of those fields alone.
   */
  projected(fields: readonly HeaderName[]): PacketSet;
  or(other: PacketSet | PacketConstraint): PacketSet;
  minus(other: PacketSet | PacketConstraint): PacketSet;
  equals(other: PacketSet): boolean;
  /** True when every packet of `other` is in this set (one member of it is tried first). */
  includes(other: PacketSet): boolean;
  /** True when the set contains the concrete packet (read as the client sent it). */
  contains(packet: Packet): boolean;
  /** Number of header combinations (over all modelled fields). */
  count(): bigint;
  /**
   * One packet of the set as the client sent it (destination = original destination), null when
   * empty. Nice values first: a public source (203.0.113.x) when allowed, TCP, the lowest port.
   */
  witness(prefer?: PacketConstraint): Packet | null;
  /** The source addresses of the set as a minimal list of CIDRs. */
  sources(): string[];
  /** Current destinations as a minimal list of CIDRs. */
  destinations(): string[];
  /** The destination ports that occur, as disjoint ascending ranges. */
  destinationPorts(): PortRange[];
  /** Ingress interfaces that occur (`null` = host-originated; `*other*` = unlisted names). */
  inInterfaces(): (string | null)[];
  outInterfaces(): string[];
}

/** `certain` ⊆ `possible`. */
export interface TwoSided {
  readonly certain: PacketSet;
  readonly possible: PacketSet;
}

/** A rule, as reports name it. */
export interface RuleRef {
  readonly table: string;
  readonly chain: string;
  /** 1-based; null for a chain policy. */
  readonly index: number | null;
  readonly file: string;
  /** Line of the rule (of the chain declaration for a policy). */
  readonly line: number;
  /** Canonical rule text (empty for a policy). */
  readonly text: string;
}

/** Where a query's ingress is: interface names, `*` for every interface, or null for OUTPUT. */
export type Ingress = string | null | readonly (string | null)[];

export interface ReachQuery {
  readonly ingress: Ingress;
  /** Default: any packet (state NEW). */
  readonly packets?: PacketConstraint;
  /**
   * A NAT rule that would rewrite a packet stops it instead (a `dropped` group naming the rule):
   * the reply of an untracked connection, which conntrack takes for a new one, is not the
   * client's answer once NAT has rewritten it.
   */
  readonly natStops?: boolean;
  /**
   * The packets are replies of connections made before (ESTABLISHED): a match on the
   * connection's tuple (`--ctorigdst`, `ct original proto-dst`) holds or not by the first
   * packet's header, which a reply does not carry, so it stays undecided.
   */
  readonly replies?: boolean;
  /**
   * The packets answer connections whose first packets came in on this interface: where the
   * route back is only assumed, they leave by it (`CompiledRuleset.answerRouting`).
   */
  readonly answersVia?: string;
  /**
   * The packets are connections' later packets in their own direction (state ESTABLISHED):
   * conntrack gives them the NAT their first packets got, so the NAT chains read them as those.
   */
  readonly onward?: boolean;
  /**
   * The NEW packets are connections' later packets that conntrack picks up as new connections
   * (a NOTRACK took their first ones): a TCP one carries ACK, not SYN, so a rule on the flags
   * (`--syn`) reads it otherwise than a connection's first packet.
   */
  readonly pickedUp?: boolean;
}

/** Packets delivered to one place: a local socket (INPUT) or out of an interface (FORWARD). */
export interface DeliveryGroup {
  readonly kind: 'local' | 'forward';
  /** Egress interface for forwarded packets; null for local delivery. */
  readonly outInterface: string | null;
  /** Headers are post-NAT; the original destination is in the conntrack fields. */
  readonly packets: TwoSided;
  /** The rules (outside nat) that accepted them, best effort: the last terminal ACCEPT seen. */
  readonly acceptedBy: readonly RuleRef[];
}

/** Packets stopped at one rule (or policy, or by the lack of a route). */
export interface StopGroup {
  readonly verdict: 'dropped' | 'rejected';
  readonly hook: Hook | null;
  /** null when routing dropped them (no route). */
  readonly rule: RuleRef | null;
  /** What decided: `DROP`, `REJECT icmp-port-unreachable`, `policy DROP`, `no route`. */
  readonly reason: string;
  readonly packets: TwoSided;
}

export interface ReachResult {
  /** Every packet the query asked about (state applied). */
  readonly query: PacketSet;
  readonly delivered: readonly DeliveryGroup[];
  readonly stopped: readonly StopGroup[];
  /**
   * What a rule (or policy) of `stopped` stops, as one set (united when asked: a kube-proxy
   * host's replies meet 2,000 of its REJECT rules).
   */
  readonly stoppedByRules: TwoSided;
  /** Union of `delivered` (post-NAT headers). */
  readonly deliveredAll: TwoSided;
  /**
   * Delivered packets whose post-NAT destination matches (address CIDR, port, proto, kind,
   * out interface), e.g. "everything that reaches container 172.17.0.2:80/tcp".
   */
  deliveredTo(where: {
    readonly address?: string;
    readonly port?: number;
    readonly protocol?: IpProtocol;
    readonly kind?: 'local' | 'forward';
    readonly outInterface?: string;
  }): TwoSided;
  /** Rules whose unmodelled matches made any part of this result uncertain. */
  readonly uncertainRules: readonly RuleRef[];
}

/** The packets that ever reach one rule (from every hook that leads to its chain). */
export interface RuleReach {
  readonly rule: RuleRef;
  /** Hooks through which packets entered the chain in this query. */
  readonly hooks: readonly Hook[];
  /** Hooks through which the chain can be entered at all (its own, or its callers'). */
  readonly entryHooks: readonly Hook[];
  /** Packets reaching the rule (before its match is tested). */
  readonly reach: TwoSided;
  /** Packets the rule's own match selects among those reaching it. */
  readonly matched: TwoSided;
  /**
   * When the rule's match is satisfiable but no packet possibly matches it here (dead or
   * shadowed): the earlier rules of the same chain that take packets it would match (terminal
   * targets, jumps, gotos, RETURN). Empty otherwise.
   */
  readonly coveredBy: readonly RuleRef[];
}

export interface RuleReachQuery {
  /** Restrict to one table. Default: all tables. */
  readonly table?: string;
  /** Default: every ingress, including host-originated traffic. */
  readonly ingress?: Ingress;
  readonly packets?: PacketConstraint;
  /**
   * Walk the packets routing refuses for their source whatever the rules (a martian source, an
   * IPv6 source of too small a scope) as if it let them through: whether a rule no packet
   * reaches would be reached but for the kernel.
   */
  readonly keepRefusedSources?: boolean;
}

/** What `discover` found: the flows, and the parts it could not cut into flows. */
export interface Discovery {
  readonly flows: readonly Flow[];
  /**
   * Each delivered part left out because it holds more distinct values than flows list (as
   * `forwarded without NAT: more than 200000 distinct dst to enumerate`); empty when complete.
   */
  readonly unlisted: readonly string[];
}

/** Which new connections `discover` cuts into flows. */
export interface FlowQuery {
  readonly ingress: Ingress;
  /** Default: tcp, udp and sctp. */
  readonly protocols?: readonly ('tcp' | 'udp' | 'sctp')[];
}

/**
 * One rectangle of what is delivered: every combination of its ingress interfaces, sources,
 * destinations and ports is delivered as `delivery` says, and nothing outside the flows is.
 */
/** What a flow's witness should preferably be; each wish is taken where the flow allows it. */
export interface FlowWitnessPreference {
  /** Source CIDRs, most wanted first. */
  readonly sources?: readonly string[];
  /** Destination addresses (as sent), most wanted first. */
  readonly destinations?: readonly string[];
  /** Lists of destination-port ranges, most wanted first. */
  readonly destinationPorts?: readonly (readonly PortRange[])[];
}

export interface Flow {
  readonly family: Family;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  /** `certain`: whatever the unmodelled matches and unknown facts are; `possible`: under some. */
  readonly certainty: Certainty;
  /** Ingress interface names (`*other*`: an interface nobody named; `veth*`: a wildcard class). */
  readonly ingress: readonly string[];
  /** Source CIDRs. */
  readonly sources: readonly string[];
  /**
   * Source CIDRs taken out of `sources` (then every address): a flow that holds every source
   * but a blocklist's is said this way, not as the hundreds of thousands of CIDRs around it.
   */
  readonly exceptSources?: readonly string[];
  /** Source ports (all of them, unless a rule lets only some through). */
  readonly sourcePorts: readonly PortRange[];
  /** Destination CIDRs as the client sent them. */
  readonly destinations: readonly string[];
  readonly destinationPorts: readonly PortRange[];
  /**
   * Whether that destination is an address of this host: true, false, or null when the snapshot
   * cannot tell and the flow holds either way.
   */
  readonly toHost: boolean | null;
  /** `destinations` are every address the host has (or, with no address list, may have). */
  readonly anyHostAddress: boolean;
  readonly delivery: {
    readonly kind: 'local' | 'forward';
    readonly outInterface: string | null;
    /** Destination after NAT (CIDRs); null for local delivery after NAT (the host itself). */
    readonly addresses: readonly string[] | null;
    readonly ports: readonly PortRange[];
    /** A DNAT or REDIRECT rewrote the destination. */
    readonly translated: boolean;
  };
  /** The flow's packets as delivered (computed when asked). */
  packets(): PacketSet;
  /**
   * Whether conntrack follows the flow's connections: `untracked` where a NOTRACK let every
   * first packet through without one, `mixed` where it did for some (their replies are new
   * connections to conntrack, which NAT may rewrite). Cheap where no delivered packet is untracked.
   */
  tracking(): 'tracked' | 'untracked' | 'mixed';
  /**
   * One packet of the flow as the client sends it (new, mark 0, not yet translated), delivered
   * as the flow says: the preferred source, destination and port where the flow has them.
   * Picked from the rectangle without set operations, so it is cheap on any host.
   */
  witness(prefer?: FlowWitnessPreference): Packet | null;
}

export interface TraceOptions {
  /**
   * How unmodelled matches are decided for the one packet: `match` (default) follows the rule as
   * if it matched, `no-match` as if not. Either way the trace's certainty becomes `possible`.
   */
  readonly unknown?: 'match' | 'no-match';
  /**
   * Whether the answer is walked too (default): the server's reply, or a REJECT's notice. False
   * traces the first packet alone, as discovery walks it.
   */
  readonly answers?: boolean;
}

/** An interface whose IPv6 neighbour discovery the rules stop (`Engine.neighbourDiscovery`). */
export interface NeighbourDiscoveryStop {
  /** The interface class (`*other*` for any interface nobody named). */
  readonly interface: string;
  /** The rules (or chain policies) that may drop or reject some of it. */
  readonly rules: readonly RuleRef[];
  /**
   * Some of it is certainly stopped for a neighbour's link-local address; else only possibly (by
   * matches the engine cannot decide), or only for some prefixes' neighbours.
   */
  readonly certain: boolean;
  /** One neighbour discovery packet stopped there (certainly, where some are). */
  readonly witness: Packet | null;
}

export interface Engine {
  readonly family: Family;
  /**
   * The interface classes packets are told apart by: every name the context or the rules give,
   * one class per `+` wildcard (`veth*`), and `*other*` for every name nobody listed.
   */
  readonly interfaceClasses: readonly string[];
  /** Problems found in the ruleset while building (jump loops, missing chains, unmodelled options). */
  readonly diagnostics: readonly Diagnostic[];
  /** The set described by a constraint (ingress and state included). */
  packets(constraint?: PacketConstraint): PacketSet;
  /**
   * Every packet the constraint allows, at any point of a path: no field is fixed but those it
   * names (`packets` describes new connections as they arrive).
   */
  matching(constraint: PacketConstraint): PacketSet;
  /** Every table, chain and rule one packet meets, NAT, verdict and delivery. */
  trace(packet: Packet, options?: TraceOptions): Trace;
  /** Which packets from an ingress get delivered where, and where the rest are stopped. */
  reach(query: ReachQuery): ReachResult;
  /**
   * Whether some rule may treat a connection's later packets (ESTABLISHED) otherwise than its
   * first one: where none does, they take its way and need no walk of their own.
   */
  laterPacketsMayDiffer(): boolean;
  /**
   * Whether a NOTRACK may take a connection's first packet and not its later ones, which
   * conntrack then picks up as a new connection that NAT may send elsewhere.
   */
  notrackMayTakeFirstOnly(): boolean;
  /** The packets some SNAT or MASQUERADE rule may rewrite, whatever the way to it. */
  sourceNatted(): PacketSet;
  /**
   * Every new TCP/UDP/SCTP connection from the ingress that is accepted and delivered, cut into
   * flows (discovery: what is exposed, whatever any other file says).
   */
  discover(query: FlowQuery): Discovery;
  /**
   * Where the rules stop IPv6 neighbour discovery, per interface (none for IPv4, whose ARP is
   * not IP): what arrives there or leaves by it is then only possibly delivered.
   */
  neighbourDiscovery(): readonly NeighbourDiscoveryStop[];
  /** Packets reaching every rule of every chain (or one table's). */
  ruleReach(query?: RuleReachQuery): RuleReach[];
  /**
   * What a rule's own conditions select, whatever reaches it (table as `tableId` names it,
   * 1-based index); null when there is no such rule. Covers and witnesses are read from it.
   */
  ruleMatch(table: string, chain: string, index: number): TwoSided | null;
  /** Whether no packet could match the rule's own conditions (`ruleMatch`'s possible side). */
  ruleMatchesNothing(table: string, chain: string, index: number): boolean | null;
  /**
   * Whether the rule's own conditions select packets from outside that routing refuses for
   * their source whatever the rules (`RuleReachQuery.keepRefusedSources`); null: no such rule.
   */
  ruleMeetsRefusedSources(table: string, chain: string, index: number): boolean | null;
  /**
   * New connections (any conntrack state and mark, not NATed) as they meet a hook's first chain:
   * arriving ones at PREROUTING, those for the host at INPUT, routed others at FORWARD (with
   * their egress interface), the host's own at OUTPUT, both at POSTROUTING.
   */
  entering(hook: Hook): PacketSet;
  /**
   * Hooks no packet reaches whatever the rules say, because of the context (FORWARD on a host
   * that forwards nothing of this family, or has no route for it).
   */
  readonly silentHooks: readonly Hook[];
  /** BDD nodes allocated so far (for benchmarks). */
  nodeCount(): number;
  /**
   * Frees the engine's BDD store at once. Answers given as plain data (flows, traces, texts)
   * stay valid; a later question throws, and the PacketSets it returned must not be used.
   */
  release(): void;
  /** Recursive steps of BDD operations so far: the work done, whatever the load (benchmarks). */
  bddSteps(): number;
}
