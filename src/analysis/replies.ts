/**
 * Whether what goes back for an exposure's connections gets back. Discovery walks the first
 * packet of each connection; the server's replies (state ESTABLISHED, meeting no NAT chain) pass
 * the hooks in their own direction, and a rule there may stop them: a DOCKER-USER rule that drops
 * every packet not from the LAN drops the containers' replies to the LAN as well, an OUTPUT
 * policy DROP without an ESTABLISHED rule the host's own. A client connects when the reply to
 * its port gets back; one whose replies never do is not reached (for TCP: the connection is
 * never made), one whose replies get back only to some of its ports or under an unknown is only
 * possibly reached. A NOTRACK that lets a first packet through without a connection leaves its
 * replies without one: a UDP reply is a new connection, walked as one, which a NAT rule may
 * rewrite; a TCP handshake's answer is INVALID (meeting no NAT), and the server's later packets
 * a new connection that a NAT rule may rewrite, which leaves the client connected but without
 * answers: only possibly reached. (`dockwall trace` walks the one reply of the packet it
 * traces: engine/interpret.ts.)
 */
import type {
  Engine,
  Flow,
  PacketConstraint,
  PacketSet,
  RuleRef,
  StopGroup,
  TwoSided,
} from '../engine/index.ts';
import { ruleRefText } from '../engine/rule-ref.ts';
import type { NetworkContext } from '../engine/context.ts';
import { portsText } from './exposure-text.ts';
import { bareAddress, everyAddress } from '../model/address-text.ts';
import type { Family, PortRange } from '../model/ruleset.ts';
import {
  cidrRange,
  cidrsToRanges,
  intersect,
  normalise,
  portsToRanges,
  rangesToCidrs,
  rangesToPorts,
  subtract,
  type Ranges,
} from './regions.ts';

/** One ingress of a row: its clients, as far as they can be answered. */
export interface ReplySources {
  readonly interface: string;
  /** The row's sources there (its clients among them are worked out here, `answeredSources`). */
  readonly sources: readonly string[];
  /** The source ports the row's first packets may have (none: any). */
  readonly sourcePorts: readonly PortRange[];
}

/** What the replies of one ingress of a row do. */
export interface ReplyFate {
  /** Sources no reply gets back to (CIDRs): not clients of the row. */
  readonly lost: readonly string[];
  /**
   * Sources a reply gets back to only under something the snapshot does not show, or only to
   * some of their ports where others' get back to all.
   */
  readonly doubtful: readonly string[];
  /** The client ports no reply gets back to, whichever client sends from them. */
  readonly lostPorts: readonly PortRange[];
  /** Whether any client is left there (a source a reply may get back to). */
  readonly clients: boolean;
}

export interface RowReplies {
  /** Per ingress interface. */
  readonly fates: ReadonlyMap<string, ReplyFate>;
  /** The rules (and NOTRACK) that stop some of the row's replies: `table/chain#index`, sorted. */
  readonly stoppers: readonly string[];
}

const refText = (r: RuleRef | null, reason: string): string =>
  r === null ? reason : ruleRefText(r);

/** Where a row's replies come in: the delivery's out interface, or the host itself (null). */
function replyIngress(flow: Flow): string | null {
  return flow.delivery.kind === 'local' ? null : flow.delivery.outInterface;
}

/** The set, or null when it is empty. */
function nonEmpty(x: PacketSet): PacketSet | null {
  return x.isEmpty ? null : x;
}

/** A row's clients on one ingress, and their set and ranges once asked for. */
interface Clients {
  readonly cidrs: readonly string[];
  to?: PacketSet;
  ranges?: Ranges;
}

/** A later packet's connection as its client sent it (`onwardFates`). */
const ONWARD = [
  'inInterface',
  'protocol',
  'source',
  'sourcePort',
  'originalDestination',
  'originalDestinationPort',
  'originalLocal',
  'translated',
] as const;

/** A reply's connection: the client (its destination) and the row's address and port. */
const CONNECTION = ['source', 'sourcePort', 'destination', 'destinationPort'] as const;

/** Replies the host sends of its own (to connections it took), or those it forwards. */
type Side = 'host' | 'forwarded';

function sideOf(flow: Flow): Side {
  return replyIngress(flow) === null ? 'host' : 'forwarded';
}

/** What one side's rows deliver to, and where and how their replies come in. */
interface Senders {
  addresses: Set<string> | null;
  /** By `from:to`. */
  readonly ports: Map<string, PortRange>;
  readonly ingresses: Set<string | null>;
  readonly protocols: Set<Flow['protocol']>;
}

/** At most this many sender prefixes narrow a reply walk. */
const FEW_SENDERS = 64;

/**
 * The replies a walk is of: those of tracked connections (ESTABLISHED); of untracked ones, new
 * connections to conntrack that NAT may rewrite (UDP replies, a TCP server's later packets); or
 * the handshake's answers of untracked TCP connections, INVALID to conntrack.
 */
type ReplyKind = 'tracked' | 'untracked' | 'handshake';
const REPLY_STATES: Record<ReplyKind, 'ESTABLISHED' | 'NEW' | 'INVALID'> = {
  tracked: 'ESTABLISHED',
  untracked: 'NEW',
  handshake: 'INVALID',
};

/** One side's replies, walked once: what gets out, what a rule stops, what is untracked. */
interface Path {
  /** Its walk's key: the side, the kind of reply and, where routes are assumed, the way back. */
  readonly key: string;
  /** Every reply the walk asked about. */
  readonly query: PacketSet;
  /** Replies that leave the host (possibly). */
  readonly forwarded: PacketSet;
  readonly stops: readonly StopGroup[];
  /** Everything they stop (possibly), as one set. */
  readonly stopped: PacketSet;
  readonly untracked: PacketSet | null;
  /** Every reply a NOTRACK took, delivered or stopped after it (possibly); null when none. */
  readonly untrackedAny: PacketSet | null;
}

/** The later packets of connections from one ingress, walked once: the rules that stop some. */
interface OnwardPath {
  /** Every later packet the walk asked about. */
  readonly query: PacketSet;
  readonly stops: readonly StopGroup[];
  /** Everything they stop, as one set. */
  readonly stopped: TwoSided;
}

/** Two checks' fates of one row: a client lost to either is lost, doubtful to either doubtful. */
function mergedFates(
  a: RowReplies | null,
  b: RowReplies | null,
  family: Family,
): RowReplies | null {
  if (a === null || b === null) return a ?? b;
  const fates = new Map(a.fates);
  for (const [ingress, y] of b.fates) {
    const x = fates.get(ingress);
    if (x === undefined) {
      fates.set(ingress, y);
      continue;
    }
    const lost = normalise([...cidrsToRanges(x.lost, family), ...cidrsToRanges(y.lost, family)]);
    fates.set(ingress, {
      lost: rangesToCidrs(lost, family),
      doubtful: rangesToCidrs(
        subtract(normalise(cidrsToRanges([...x.doubtful, ...y.doubtful], family)), lost),
        family,
      ),
      lostPorts: x.lostPorts,
      clients: x.clients && y.clients,
    });
  }
  return { fates, stoppers: [...new Set([...a.stoppers, ...b.stoppers])].sort() };
}

/**
 * Whether a stop meets a reply before conntrack undoes its connection's SNAT, at NAT's priority:
 * iptables' raw and mangle PREROUTING and OUTPUT, and any nftables chain there (its priority is
 * not in the reference).
 */
function beforeUnsnat(st: StopGroup): boolean {
  if (st.hook !== 'PREROUTING' && st.hook !== 'OUTPUT') return false;
  const table = st.rule?.table ?? '';
  return table === 'raw' || table === 'mangle' || table.includes(' ');
}

/** Reply checks for one engine: each reply path walked once, every row's replies read from it. */
export class ReplyCheck {
  private readonly engine: Engine;
  private readonly context: NetworkContext;
  private readonly family: Family;
  private readonly paths = new Map<string, Path>();
  /**
   * Per side (the host's own replies, or those it forwards): what the rows deliver to (null
   * addresses: the host itself, any of them), where their replies come in, on which protocols:
   * the replies the walks ask about.
   */
  private readonly senders = new Map<Side, Senders>();
  /** The rows told of (`expect`). */
  private readonly told = new WeakSet<Flow>();
  /**
   * Per ingress and row sources: the clients among them (see `answeredSources`), and the packets
   * sent to them as a set, made when a path with stops first needs it.
   */
  private readonly clients = new Map<string, Clients>();
  /** The later packets of the rows' connections, walked once (`onwardPath`). */
  private onward: OnwardPath | null = null;
  /** The ingresses the rows told of have clients on (`Flow.ingress`). */
  private readonly onwardIngresses = new Set<string>();
  private readonly onwardRows = new WeakMap<Flow, PacketSet>();
  /** Replies from a row's delivered address and ports, as sets (rows share them). */
  private readonly rowSets = new Map<string, PacketSet>();
  /** Per reply path and clients: what the path's stops and NOTRACKs hold of replies to them. */
  private readonly toClients = new Map<
    string,
    { readonly stopped: PacketSet | null; readonly untracked: PacketSet | null }
  >();

  /**
   * Whether a route is only assumed (no routes listed): the replies to each ingress's clients are
   * then walked on their own, leaving the way the clients' packets came (`ReachQuery.answersVia`).
   */
  private readonly guessedRoutes: boolean;

  constructor(engine: Engine, context: NetworkContext) {
    this.engine = engine;
    this.context = context;
    this.family = context.family;
    this.guessedRoutes = context.routes.some(
      (r) => r.provenance === 'assumed' && r.doubt === undefined,
    );
    this.doubtedRoutes = context.routes.flatMap((r) =>
      r.doubt === undefined
        ? []
        : [
            {
              ranges: cidrsToRanges(
                [r.destination === 'default' ? everyAddress(this.family) : r.destination],
                this.family,
              ),
              why: r.doubt,
            },
          ],
    );
    this.doubtedAll = normalise(this.doubtedRoutes.flatMap((d) => d.ranges));
  }

  /**
   * The prefixes whose route may be overridden (`ContextRoute.doubt`: policy rules, a multipath
   * route's other next hops): the replies to clients there may leave by another way.
   */
  private readonly doubtedRoutes: readonly {
    readonly ranges: Ranges;
    readonly why: readonly string[];
  }[];
  /** Their prefixes together. */
  private readonly doubtedAll: Ranges;

  /** The fate of a row's clients whose route back may be overridden: doubtful. */
  private policyDoubts(from: readonly ReplySources[]): RowReplies | null {
    if (this.doubtedRoutes.length === 0) return null;
    const family = this.family;
    const fates = new Map<string, ReplyFate>();
    const names = new Set<string>();
    for (const f of from) {
      const clients = cidrsToRanges(this.clientsOf(f.interface, f.sources).cidrs, family);
      const doubtful = intersect(clients, this.doubtedAll);
      if (doubtful.length === 0) continue;
      fates.set(f.interface, doubtfulOnly(doubtful, family));
      for (const d of this.doubtedRoutes)
        if (intersect(doubtful, d.ranges).length > 0) for (const n of d.why) names.add(n);
    }
    return fates.size === 0
      ? null
      : { fates, stoppers: [`${[...names].sort().join(', ')} may route the replies otherwise`] };
  }

  /** A row's clients on one ingress: the same few source lists over and over, worked out once. */
  private clientsOf(ingress: string, sources: readonly string[]): Clients {
    const key = `${ingress}|${sources.join(',')}`;
    let c = this.clients.get(key);
    if (c === undefined) {
      c = { cidrs: answeredSources(sources, ingress, this.context, this.family) };
      this.clients.set(key, c);
    }
    return c;
  }

  /** The packets sent to a row's clients, as a set, made once. */
  private toSet(c: Clients): PacketSet {
    return (c.to ??= this.engine.matching({ destinations: c.cidrs }));
  }

  /**
   * The rows to be checked, told before the first check: the replies are then walked for what
   * the rows can have only (a walk of every reply was most of a small host's check).
   */
  expect(flows: readonly Flow[]): void {
    for (const f of flows) {
      if (this.told.has(f)) continue;
      this.told.add(f);
      // an ingress the later packets' walk has not walked: walked again when next asked
      for (const i of f.ingress)
        if (i !== '*' && !this.onwardIngresses.has(i)) {
          this.onwardIngresses.add(i);
          this.onward = null;
        }
      const side = sideOf(f);
      let s = this.senders.get(side);
      if (s === undefined) {
        s = { addresses: new Set(), ports: new Map(), ingresses: new Set(), protocols: new Set() };
        this.senders.set(side, s);
      }
      if (!addSenders(s, f)) continue;
      // a side walked before this row was told of: walked again when next asked, and what
      // was read from its walk read again
      for (const key of this.paths.keys())
        if (key.startsWith(`${side} `)) {
          this.paths.delete(key);
          this.toClients.clear();
        }
    }
  }

  /**
   * The replies of a row's side of one kind (`REPLY_STATES`) to the clients of one ingress,
   * walked the first time a row asks. One walk from every place such replies come in, on every
   * protocol: the 23 bridges of a big host differ only in the interface, and one walk of them
   * all costs about what one of them did. Where routes are assumed, one per ingress of clients:
   * their replies leave the way the clients' packets came.
   */
  private path(flow: Flow, kind: ReplyKind, from: ReplySources): Path {
    const side = sideOf(flow);
    const via = this.guessedRoutes ? from.interface : null;
    const key = via === null ? `${side} ${kind}` : `${side} ${kind} ${via}`;
    let path = this.paths.get(key);
    if (path === undefined) {
      const senders = this.senders.get(side) as Senders;
      // only the replies the rows can have: from what the rows deliver to (a few senders: a
      // kube host's thousands of pod addresses cost more to say than to walk)
      const few = senders.addresses === null || senders.addresses.size <= FEW_SENDERS;
      const ingresses = [...senders.ingresses];
      const r = this.engine.reach({
        ingress: ingresses,
        packets: {
          states: [REPLY_STATES[kind]],
          protocols: kind === 'handshake' ? ['tcp'] : [...senders.protocols],
          inInterfaces: ingresses,
          ...(few && senders.addresses !== null ? { sources: [...senders.addresses] } : {}),
          ...(few ? { sourcePorts: [...senders.ports.values()] } : {}),
          // a reply carries its connection's DNAT state (`--ctstate DNAT` reads it)
          ...(kind === 'tracked' ? { dnat: [false, true] } : {}),
        },
        natStops: kind === 'untracked',
        // a TCP one is the server's later packets (ACK), not a SYN
        pickedUp: kind === 'untracked',
        replies: kind === 'tracked',
        ...(via === null ? {} : { answersVia: via }),
      });
      const untracked = r.deliveredAll.possible.and({ states: ['UNTRACKED'] });
      const none = r.deliveredAll.possible.minus(r.deliveredAll.possible);
      const stops = r.stopped.filter((st) => st.rule !== null && !st.packets.possible.isEmpty);
      const untrackedAny = stops.reduce(
        (u, st) => u.or(st.packets.possible.and({ states: ['UNTRACKED'] })),
        untracked,
      );
      path = {
        key,
        query: r.query,
        forwarded: r.delivered
          .filter((g) => g.kind === 'forward')
          .reduce((u, g) => u.or(g.packets.possible), none),
        // routing's own stops (no route back) are the sources `answeredSources` leaves out
        stops,
        stopped: r.stoppedByRules.possible,
        untracked: untracked.isEmpty ? null : untracked,
        untrackedAny: untrackedAny.isEmpty ? null : untrackedAny,
      };
      this.paths.set(key, path);
    }
    return path;
  }

  /**
   * The fate of a row's connections, null when what goes back for them gets back and what
   * follows their first packets goes on (most hosts): the answers (`answers`) and the clients'
   * later packets (`onwardFates`).
   */
  check(flow: Flow, from: readonly ReplySources[]): RowReplies | null {
    return mergedFates(
      mergedFates(this.answers(flow, from), this.onwardFates(flow, from), this.family),
      mergedFates(this.pickedUp(flow, from), this.policyDoubts(from), this.family),
      this.family,
    );
  }

  /**
   * The fate of a TCP row some of whose first packets a NOTRACK let through, where the NOTRACK
   * may take the SYN alone: conntrack picks the client's ACK up as a new connection, which NAT
   * may send elsewhere (random seeds 658 and 1362: to a container, whose reset ended the
   * connection). The walks read a first packet as a SYN, so they cannot follow the ACK: every
   * client of the row is doubtful, never certain.
   */
  private pickedUp(flow: Flow, from: readonly ReplySources[]): RowReplies | null {
    if (flow.protocol !== 'tcp' || flow.tracking() === 'tracked') return null;
    if (!this.engine.notrackMayTakeFirstOnly()) return null;
    const fates = new Map<string, ReplyFate>();
    for (const f of from)
      fates.set(f.interface, { lost: [], doubtful: f.sources, lostPorts: [], clients: true });
    const why =
      'a NOTRACK that may take the SYN alone (conntrack picks the later packets up as a new connection, which NAT may send elsewhere)';
    return { fates, stoppers: [why] };
  }

  /**
   * The fate of a row's replies, null when every reply on its path gets back. A row whose
   * first packets a NOTRACK let through is answered by new connections; where only some are, a
   * client is lost only where both kinds of reply are, and doubtful where one is.
   */
  private answers(flow: Flow, from: readonly ReplySources[]): RowReplies | null {
    // a walk that never asked about this row's replies would find nothing to stop them
    this.expect([flow]);
    const tracking = flow.tracking();
    const tracked = tracking === 'untracked' ? null : this.fatesOn(flow, 'tracked', from);
    if (tracking === 'tracked') return tracked;
    const untracked =
      flow.protocol === 'tcp'
        ? this.untrackedTcp(flow, from)
        : this.fatesOn(flow, 'untracked', from);
    const why =
      flow.protocol === 'tcp'
        ? "NOTRACK of the first packets (the handshake's answers are INVALID, the server's later packets new connections)"
        : 'NOTRACK of the first packets (their replies are new connections)';
    if (tracking === 'untracked')
      return untracked === null
        ? null
        : { fates: untracked.fates, stoppers: [...untracked.stoppers, why].sort() };
    if (tracked === null && untracked === null) return null;
    const fates = new Map<string, ReplyFate>();
    const family = this.family;
    const none: ReplyFate = { lost: [], doubtful: [], lostPorts: [], clients: true };
    for (const f of from) {
      const a = tracked?.fates.get(f.interface) ?? none;
      const b = untracked?.fates.get(f.interface) ?? none;
      if (a === none && b === none) continue;
      const lostA = cidrsToRanges(a.lost, family);
      const lostB = cidrsToRanges(b.lost, family);
      const portsA = portsToRanges(a.lostPorts);
      const portsB = portsToRanges(b.lostPorts);
      // a port lost to one kind of reply only: every client sending from it is doubtful
      const halfLost = subtract(portsA, portsB).length > 0 || subtract(portsB, portsA).length > 0;
      const clients = a.clients || b.clients;
      fates.set(f.interface, {
        lost: rangesToCidrs(intersect(lostA, lostB), family),
        doubtful: rangesToCidrs(
          normalise([
            ...cidrsToRanges([...a.doubtful, ...b.doubtful], family),
            ...subtract(lostA, lostB),
            ...subtract(lostB, lostA),
            ...(halfLost
              ? subtract(cidrsToRanges(f.sources, family), normalise([...lostA, ...lostB]))
              : []),
          ]),
          family,
        ),
        lostPorts: rangesToPorts(intersect(portsA, portsB)),
        clients,
      });
    }
    const stoppers = [...(tracked?.stoppers ?? []), ...(untracked?.stoppers ?? []), why];
    return { fates, stoppers: [...new Set(stoppers)].sort() };
  }

  /**
   * The replies of an untracked TCP row: a client whose handshake's answer is lost is not
   * reached; one whose answer gets back but whose server's later packets may be stopped or
   * rewritten is connected without answers, which makes it doubtful, not lost (its data still
   * reaches the server).
   */
  private untrackedTcp(flow: Flow, from: readonly ReplySources[]): RowReplies | null {
    const handshake = this.fatesOn(flow, 'handshake', from);
    const later = this.fatesOn(flow, 'untracked', from);
    if (later === null) return handshake;
    const family = this.family;
    const fates = new Map(handshake?.fates ?? []);
    for (const f of from) {
      const b = later.fates.get(f.interface);
      if (b === undefined) continue;
      const a = fates.get(f.interface) ?? { lost: [], doubtful: [], lostPorts: [], clients: true };
      const lost = cidrsToRanges(a.lost, family);
      // a client port whose later packets are lost: every client is doubtful
      const affected =
        b.lostPorts.length > 0
          ? cidrsToRanges(f.sources, family)
          : cidrsToRanges([...b.lost, ...b.doubtful], family);
      fates.set(f.interface, {
        ...a,
        doubtful: rangesToCidrs(
          subtract(normalise([...cidrsToRanges(a.doubtful, family), ...affected]), lost),
          family,
        ),
      });
    }
    const stoppers = [...(handshake?.stoppers ?? []), ...later.stoppers];
    return { fates, stoppers: [...new Set(stoppers)].sort() };
  }

  /**
   * The later packets of connections (ESTABLISHED, in their own direction), walked once from
   * every ingress the rows told of have clients on (a host naming a dozen interfaces walked
   * each alone in about what one walk of them all costs): where a rule on the state stops
   * what a first packet passed. An ingress not told of is added and the walk made again.
   */
  private onwardPath(ingress: string): OnwardPath {
    if (!this.onwardIngresses.has(ingress)) {
      this.onwardIngresses.add(ingress);
      this.onward = null;
    }
    if (this.onward === null) {
      const ingresses = [...this.onwardIngresses];
      const r = this.engine.reach({
        ingress: ingresses,
        packets: {
          states: ['ESTABLISHED'],
          protocols: ['tcp', 'udp', 'sctp'],
          inInterfaces: ingresses,
          // a later packet carries its connection's DNAT state from the start
          dnat: [false, true],
        },
        onward: true,
      });
      this.onward = {
        query: r.query,
        stops: r.stopped.filter((st) => st.rule !== null && !st.packets.possible.isEmpty),
        stopped: r.stoppedByRules,
      };
    }
    return this.onward;
  }

  private readonly snatRows = new WeakMap<Flow, Ranges>();

  /** The row's clients a SNAT or MASQUERADE may rewrite the packets of (`Engine.sourceNatted`). */
  private snatClients(flow: Flow): Ranges {
    let r = this.snatRows.get(flow);
    if (r === undefined) {
      const hit = flow.packets().and(this.engine.sourceNatted());
      r = hit.isEmpty ? [] : cidrsToRanges(hit.sources(), this.family);
      this.snatRows.set(flow, r);
    }
    return r;
  }

  private readonly beforeNat = new WeakMap<Path, PacketSet | null>();
  private readonly untrackedAtHost = new WeakMap<Path, PacketSet | null>();
  /** Packets to an address of the host other than loopback (`stoppedBeforeNat`), made once. */
  private toHost: PacketSet | undefined;

  private hostDestinations(): PacketSet {
    const loopback = this.family === 'ipv4' ? '127.0.0.0/8' : '::1/128';
    return (this.toHost ??= this.engine
      .matching({ localDestination: [true] })
      .minus(this.engine.matching({ destinations: [loopback] })));
  }

  /**
   * The replies of a path a NOTRACK took where they are addressed to an address of the host
   * other than loopback (SNAT's, as MASQUERADE's is): conntrack then never undoes the SNAT, and
   * the reply stays the host's (random seed 10002: raw's `-d 192.0.2.0/24 -m addrtype !
   * --dst-type UNICAST -j CT --notrack` took a MASQUERADEd client's SYN-ACK at the bridge's
   * address, and INPUT rejected it). Null when none; made once per path.
   */
  private untrackedBeforeNat(path: Path): PacketSet | null {
    let set = this.untrackedAtHost.get(path);
    if (set === undefined) {
      const hit = path.untrackedAny?.and(this.hostDestinations()) ?? null;
      set = hit === null || hit.isEmpty ? null : hit;
      this.untrackedAtHost.set(path, set);
    }
    return set;
  }

  /**
   * The replies of a path a stop before conntrack's NAT may stop where they are addressed to an
   * address of the host other than loopback (which no SNAT gives), as one set; null when none.
   * Made once per path.
   */
  private stoppedBeforeNat(path: Path): PacketSet | null {
    let set = this.beforeNat.get(path);
    if (set === undefined) {
      const toHost = this.hostDestinations();
      set = null;
      for (const st of path.stops) {
        if (!beforeUnsnat(st) || !st.packets.possible.meets(toHost)) continue;
        const hit = st.packets.possible.and(toHost);
        set = set === null ? hit : set.or(hit);
      }
      this.beforeNat.set(path, set);
    }
    return set;
  }

  /**
   * A row's replies of one kind from what it delivers to, to any address: the place they come
   * in, the protocol, the DNAT state, the sources and ports (the clients' ports where the row
   * keeps them). Rows share them.
   */
  private rowReplies(
    flow: Flow,
    kind: ReplyKind,
    from: ReplySources,
    own: readonly string[] | null,
  ): PacketSet {
    const d = flow.delivery;
    // (the walk holds every place replies come in and every protocol: the row's own only)
    const row: PacketConstraint = {
      inInterfaces: [replyIngress(flow)],
      protocols: [flow.protocol],
      // random seed 343: a DOCKER-USER REJECT of `--ctstate DNAT` not from ext0 met the
      // replies of the published port
      dnat: [kind === 'tracked' && d.translated],
      ...(own === null ? {} : { sources: own }),
      sourcePorts: d.ports,
      ...(from.sourcePorts.length === 0 ? {} : { destinationPorts: from.sourcePorts }),
    };
    const key = JSON.stringify(row);
    let set = this.rowSets.get(key);
    if (set === undefined) {
      set = this.engine.matching(row);
      this.rowSets.set(key, set);
    }
    return set;
  }

  /**
   * A row's delivered packets as connections (`ONWARD`), from any ingress, made once per row:
   * the row's flow stands for the flows of its other ingresses too, which its own packets do not
   * hold (random seed 4340: a row from ext0 and four bridges, its flow's packets from the
   * bridges alone, was never checked for ext0's clients, whose later packets INPUT rejected).
   */
  private onwardRow(flow: Flow): PacketSet {
    let r = this.onwardRows.get(flow);
    if (r === undefined) {
      r = flow.packets().projected(ONWARD.filter((h) => h !== 'inInterface'));
      this.onwardRows.set(flow, r);
    }
    return r;
  }

  /**
   * The fate of a row's clients whose later packets (after the first, in its direction) a rule
   * may stop where the first one passed (random seeds 248 and 267: a mangle PREROUTING DROP of
   * state ESTABLISHED let each handshake through and stopped the rest). A TCP client none of
   * whose later packets goes on is not reached: its connection carries nothing; one some of
   * whose may be stopped is only possibly reached, as is a UDP client (its first datagram
   * arrives). Only walked where some rule may part the two (`laterPacketsMayDiffer`).
   */
  private onwardFates(flow: Flow, from: readonly ReplySources[]): RowReplies | null {
    if (!this.engine.laterPacketsMayDiffer() || flow.tracking() === 'untracked') return null;
    const family = this.family;
    const fates = new Map<string, ReplyFate>();
    const stoppers = new Set<string>();
    for (const f of from) {
      const path = this.onwardPath(f.interface);
      if (path.stops.length === 0) continue;
      const clients = this.clientsOf(f.interface, f.sources).cidrs;
      if (clients.length === 0) continue;
      // the row's connections as their clients send them (the stops meet them after NAT too,
      // where the original destination is kept): what the row delivers, on this ingress
      // (only fields of `ONWARD` are narrowed: it stays a projection)
      const row = this.onwardRow(flow).and({
        inInterfaces: [f.interface],
        sources: clients,
        ...(f.sourcePorts.length === 0 ? {} : { sourcePorts: f.sourcePorts }),
      });
      const hit = path.stopped.possible.and(row);
      if (hit.isEmpty) continue;
      const sent = path.query.and(row).projected(ONWARD);
      const stopped = path.stopped.certain.and(row).projected(ONWARD);
      const asked = cidrsToRanges(clients, family);
      const goesOn = cidrsToRanges(sent.minus(stopped).sources(), family);
      const lost = flow.protocol === 'tcp' ? subtract(asked, goesOn) : [];
      fates.set(f.interface, {
        lost: rangesToCidrs(lost, family),
        doubtful: rangesToCidrs(subtract(cidrsToRanges(hit.sources(), family), lost), family),
        lostPorts: [],
        clients: subtract(asked, lost).length > 0,
      });
      for (const st of path.stops)
        if (st.packets.possible.meets(row))
          stoppers.add(`${refText(st.rule, st.reason)} (the clients' later packets)`);
    }
    return fates.size === 0 ? null : { fates, stoppers: [...stoppers].sort() };
  }

  /** The fate of a row's replies of one kind, null when every reply gets back. */
  private fatesOn(flow: Flow, kind: ReplyKind, from: readonly ReplySources[]): RowReplies | null {
    const family = this.family;
    const d = flow.delivery;
    const stays = (): boolean =>
      d.addresses !== null &&
      subtract(cidrsToRanges(d.addresses, family), cidrsToRanges(flow.destinations, family))
        .length === 0;
    // the replies come from the delivered address and port (the host's, any of them, when local)
    const own = d.addresses !== null ? d.addresses : d.translated ? null : flow.destinations;
    const fates = new Map<string, ReplyFate>();
    const stoppers = new Set<string>();
    for (const f of from) {
      const path = this.path(flow, kind, f);
      // a NOTRACK on the way back: conntrack never sees the reply, so a DNAT is not undone and
      // the client gets its answer from an address it did not send to
      // (where the row also holds packets the DNAT left where they were, sent to the delivered
      // address itself, only some of its connections are broken)
      const lost = d.translated ? path.untracked : null;
      if (path.stops.length === 0 && path.untracked === null) continue;
      const c = this.clientsOf(f.interface, f.sources);
      const clients = c.cidrs;
      if (clients.length === 0) continue;
      // most rows: no stop and no NOTRACK meets their replies (one step, no projection)
      const key = `${path.key}|${f.interface}|${f.sources.join(',')}`;
      let near = this.toClients.get(key);
      if (near === undefined) {
        const to = this.toSet(c);
        near = {
          stopped: path.stops.length === 0 ? null : nonEmpty(path.stopped.and(to)),
          untracked: path.untracked === null ? null : nonEmpty(path.untracked.and(to)),
        };
        this.toClients.set(key, near);
      }
      // Clients a SNAT may rewrite the connections of: their replies come back to the address
      // that SNAT gave, not to the client the walk addresses them to, until conntrack undoes it
      // at NAT's priority. A stop before that may meet the kernel's replies and not the walk's
      // (random seed 3737: raw's `--sport 1:1024 -m addrtype --dst-type LOCAL -j DROP` dropped
      // the replies SNATed to the host's address), or the walk's and not the kernel's (random
      // seed 2055: a mangle PREROUTING drop of what is not the host's): where one meets the
      // row's replies to an address of the host (SNAT's, as MASQUERADE's is: `stoppedBeforeNat`)
      // or the walk's replies to the clients (below), those clients are doubtful.
      let natted: Ranges = [];
      const snatted = (): void => {
        natted = intersect(cidrsToRanges(clients, family), this.snatClients(flow));
        if (natted.length > 0)
          stoppers.add('a SNAT of some connections, whose replies the walk does not address to it');
      };
      const beforeNat = this.stoppedBeforeNat(path);
      // a NOTRACK of the replies keeps conntrack from undoing the SNAT as well: the reply stays
      // addressed to the SNAT's address (random seed 6813: raw's `-s 192.0.2.2/32 -p tcp -j CT
      // --notrack` kept a MASQUERADEd client's SYN-ACK at the bridge's address)
      const replies = (): PacketSet => this.rowReplies(flow, kind, f, own);
      if (
        beforeNat?.meets(replies()) === true ||
        near.untracked?.meets(replies()) === true ||
        this.untrackedBeforeNat(path)?.meets(replies()) === true
      )
        snatted();
      if (near.stopped === null && (lost === null || near.untracked === null)) {
        if (natted.length > 0) fates.set(f.interface, doubtfulOnly(natted, family));
        continue;
      }
      const set = this.rowReplies(flow, kind, f, own);
      if (
        near.stopped?.meets(set) !== true &&
        (lost === null || near.untracked === null || !near.untracked.meets(set))
      ) {
        if (natted.length > 0) fates.set(f.interface, doubtfulOnly(natted, family));
        continue;
      }
      // the row's replies to its clients (both sets kept: clients' sets are long CIDR lists)
      const mine = set.and(this.toSet(c));
      // where a reply leaves is routing's (answeredSources took out the sources routed
      // elsewhere; with no route known, it goes back the way the packet came)
      let out = path.forwarded.and(mine);
      if (lost !== null && !stays()) out = out.minus(lost);
      // a client connects when the reply to its port gets back: possibly, where some reply is
      // delivered; certainly, where one is and no rule may stop any of its replies. A connection
      // is the client's address and port and the row's address and port it reached: each must
      // be answered, whatever its route or the rules made of its replies' other fields (random
      // seed 851: a mark a mangle rule on the TCP flags may have changed, which DOCKER-USER
      // read). Whether the client's address is the host's is a fact of the host, kept apart.
      const withHost = [...CONNECTION, 'local'] as const;
      let sure = (lost === null ? out : out.minus(lost)).projected(withHost);
      if (path.stops.length > 0) sure = sure.minus(path.stopped.and(mine).projected(withHost));
      const possiblyBack = out.projected(CONNECTION);
      const asked = (c.ranges ??= cidrsToRanges(clients, family));
      const reached = intersect(asked, cidrsToRanges(out.destinations(), family));
      // client ports no reply gets back to, whoever sends from them to whatever of the row (an
      // OUTPUT rule on port 25): the row's source ports without them; where the row's own
      // addresses or ports, or the clients, differ, those clients are doubtful
      let lostPorts: PortRange[] = [];
      let uneven: Ranges = [];
      if (reached.length > 0) {
        const all = subtract(asked, reached).length === 0;
        const some = path.query.and(mine);
        const asks = (
          all ? some : some.and({ destinations: rangesToCidrs(reached, family) })
        ).projected(CONNECTION);
        const never = asks.minus(possiblyBack);
        if (!never.isEmpty) {
          const ports = never.destinationPorts();
          // (projected again: a port constraint also says the protocol has ports)
          if (never.equals(asks.and({ destinationPorts: ports }).projected(CONNECTION)))
            lostPorts = ports;
          else uneven = cidrsToRanges(never.destinations(), family);
        }
      }
      const failing = cidrsToRanges(
        possiblyBack.minus(sure.projected(CONNECTION)).destinations(),
        family,
      );
      if (
        natted.length === 0 &&
        path.stops.some((st) => beforeUnsnat(st) && st.packets.possible.meets(mine))
      )
        snatted();
      const unanswered = subtract(asked, reached);
      const doubtful = normalise([
        ...intersect(reached, normalise([...failing, ...uneven])),
        ...natted,
      ]);
      const natLost = intersect(unanswered, natted);
      const fate: ReplyFate = {
        lost: rangesToCidrs(subtract(unanswered, natted), family),
        doubtful: rangesToCidrs(doubtful, family),
        lostPorts,
        clients: reached.length > 0 || natLost.length > 0,
      };
      if (fate.lost.length === 0 && fate.doubtful.length === 0 && lostPorts.length === 0) continue;
      fates.set(f.interface, fate);
      for (const s of path.stops) {
        if (s.packets.possible.meets(mine)) stoppers.add(refText(s.rule, s.reason));
      }
      if (lost !== null && lost.meets(mine)) stoppers.add('NOTRACK of the replies to a DNAT');
    }
    return fates.size === 0 ? null : { fates, stoppers: [...stoppers].sort() };
  }
}

/** The fate of clients whose replies are only doubtful. */
function doubtfulOnly(clients: Ranges, family: Family): ReplyFate {
  return { lost: [], doubtful: rangesToCidrs(clients, family), lostPorts: [], clients: true };
}

/**
 * A row's sources that could be clients: those the host answers by the interface they came in
 * on. A source the host routes elsewhere (a container's own address, sent from outside), one of
 * the host's own addresses, or one no answer can go to (loopback, multicast, broadcast,
 * unspecified, or no route at all) is a spoofer that never sees an answer, whatever the rules
 * do with it.
 */
export function answeredSources(
  sources: readonly string[],
  ingress: string,
  context: NetworkContext,
  family: Family,
): string[] {
  const mine = (device: string): boolean =>
    device === ingress || (ingress.endsWith('*') && device.startsWith(ingress.slice(0, -1)));
  const routes = context.routes;
  const special =
    family === 'ipv4'
      ? ['0.0.0.0/8', '127.0.0.0/8', '224.0.0.0/3']
      : ['::/128', '::1/128', 'ff00::/8'];
  const never = [
    ...routes
      // a route policy routing may override may be the ingress's as well (`ContextRoute.doubt`)
      .filter((r) => r.destination !== 'default' && !mine(r.device) && r.doubt === undefined)
      .map((r) => r.destination),
    ...context.localAddresses.map((a) => bareAddress(a)),
    ...(context.localPrefixes ?? []),
    ...(context.broadcastAddresses ?? []),
    ...special,
  ];
  let left = subtract(cidrsToRanges(sources, family), cidrsToRanges(never, family));
  // nor where a dead end decides (a blackhole's prefix less the longer routes inside it)
  const dead = (context.deadEnds ?? []).map((d) =>
    d.destination === 'default' ? everyAddress(family) : d.destination,
  );
  if (dead.length > 0)
    left = subtract(
      left,
      subtract(
        cidrsToRanges(dead, family),
        cidrsToRanges(
          routes
            .filter(
              (r) => r.destination !== 'default' && longerThanEvery(r.destination, dead, family),
            )
            .map((r) => r.destination),
          family,
        ),
      ),
    );
  // no default route: only what a route covers can be answered
  if (!routes.some((r) => r.destination === 'default'))
    left = intersect(
      left,
      cidrsToRanges(
        routes.filter((r) => r.destination !== 'default').map((r) => r.destination),
        family,
      ),
    );
  return rangesToCidrs(left, family);
}

/** Whether a route's prefix is longer than every prefix of a list that holds it. */
function longerThanEvery(cidr: string, list: readonly string[], family: Family): boolean {
  const r = cidrRange(cidr, family);
  if (r === null) return false;
  return list.every((d) => {
    const x = cidrRange(d, family);
    return x === null || r[0] < x[0] || r[1] > x[1] || r[1] - r[0] < x[1] - x[0];
  });
}

/** The assumption of a row whose replies get back only under an unknown, or not at all (UDP). */
export function repliesText(
  stoppers: readonly string[],
  doubtful: readonly string[],
  stopped: readonly string[],
  stoppedPorts: readonly PortRange[],
): string {
  const which = (xs: readonly string[]): string =>
    xs.length <= 3 ? xs.join(', ') : `${xs.length} source blocks`;
  const by = stoppers.join(', ') || 'the reply path';
  const parts = [
    ...(doubtful.length === 0
      ? []
      : [
          `replies to ${which(doubtful)} get back only to some of their ports, from some of the addresses and ports they reach, or under what the snapshot does not show`,
        ]),
    ...(stopped.length === 0
      ? []
      : [`answers to ${which(stopped)} are stopped, though their datagrams arrive`]),
    ...(stoppedPorts.length === 0
      ? []
      : [
          `answers to a client's ports ${portsText(rangesToPorts(portsToRanges(stoppedPorts)))} are stopped, though its datagrams arrive`,
        ]),
  ];
  return `${parts.join('; ')} (${by}): dockwall walks the first packet of each connection, and one whose replies are stopped is never made`;
}

/**
 * Adds what a row's replies come from to a side's senders; false when it held them already (a
 * row's flows united for one ingress, whose own flows were told: nothing to walk again).
 */
function addSenders(s: Senders, f: Flow): boolean {
  let added = false;
  const d = f.delivery;
  if (d.addresses === null) {
    added = s.addresses !== null;
    s.addresses = null;
  } else if (s.addresses !== null)
    for (const a of d.addresses)
      if (!s.addresses.has(a)) {
        s.addresses.add(a);
        added = true;
      }
  for (const p of d.ports) {
    const key = `${p.from}:${p.to}`;
    if (!s.ports.has(key)) {
      s.ports.set(key, p);
      added = true;
    }
  }
  const ingress = replyIngress(f);
  if (!s.ingresses.has(ingress)) {
    s.ingresses.add(ingress);
    added = true;
  }
  if (!s.protocols.has(f.protocol)) {
    s.protocols.add(f.protocol);
    added = true;
  }
  return added;
}
