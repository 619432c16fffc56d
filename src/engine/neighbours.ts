/**
 * IPv6 neighbour discovery through the host's own firewall. ARP is not IP, so iptables never sees
 * it; ICMPv6 neighbour solicitations and advertisements are IP packets, and ip6tables and
 * nftables filter them like any other. A host whose INPUT drops them (a DROP policy that lets
 * only TCP in) answers no neighbour on that link, and nothing sent to it there arrives, though
 * every rule the packet itself meets accepts it; one whose OUTPUT or INPUT stops its own
 * resolving of a neighbour forwards nothing out of that interface. Only a neighbour entry held
 * already (a static one, or one cached before the rules changed) carries the packet then.
 *
 * The engine walks the four exchanges an interface's traffic needs, for every interface at
 * once: a neighbour's solicitation of the host arriving and the host's advertisement leaving,
 * the host's solicitation leaving and the neighbour's advertisement arriving. Where a rule may
 * drop or reject some of them, nothing that arrives on that interface or leaves by it is
 * certainly delivered. Neighbour discovery is not tracked by conntrack: the packets are UNTRACKED.
 */
import { FALSE, TRUE, type Bdd } from './bdd.ts';
import type { CompiledRuleset } from './compile.ts';
import type { ContextRoute } from './context.ts';
import type { Pair } from './match.ts';
import { Walk } from './netfilter.ts';
import { OTHER_INTERFACE, PROTO, STATES } from './space.ts';
import { ruleRefText } from './rule-ref.ts';
import type { RuleRef } from './types.ts';
import type { Hook } from '../model/trace.ts';

const SOLICITATION = 135;
const ADVERTISEMENT = 136;
/** Neighbour discovery is sent, and taken in, with this hop limit only (RFC 4861). */
const NEIGHBOUR_HOP_LIMIT = 255;
/** Where a solicitation goes: the target's solicited-node multicast group. */
const SOLICITED_NODES = 'ff02::1:ff00:0/104';
/** Link-local unicast addresses as hosts have them: fe80::/10 with the next 54 bits 0 (RFC 4291). */
const LINK_LOCAL = 'fe80::/64';

export interface NeighbourDoubts {
  /** Packets arriving on, or leaving by, an interface whose neighbour discovery may be stopped. */
  readonly packets: Bdd;
  /** Per such interface class (its name as the engine knows it), what stops it. */
  readonly on: ReadonlyMap<string, NeighbourStop>;
}

export interface NeighbourStop {
  /** The rules that may drop or reject some of its neighbour discovery, certain stops first. */
  readonly rules: readonly RuleRef[];
  /**
   * Whether some of it is certainly stopped for a neighbour's link-local address (else only
   * possibly, by undecided matches, or only for some prefixes' neighbours).
   */
  readonly certain: boolean;
  /** Neighbour discovery packets of one kind stopped there (certainly, where some are). */
  readonly stopped: Bdd;
  /** Their ICMPv6 type: 135, solicitations; 136, advertisements. */
  readonly type: number;
}

const NONE: NeighbourDoubts = { packets: FALSE, on: new Map() };
const known = new WeakMap<CompiledRuleset, NeighbourDoubts>();

/** Where IPv6 neighbour discovery may be stopped by the host's rules (none for IPv4). */
export function neighbourDoubts(nf: CompiledRuleset): NeighbourDoubts {
  if (nf.space.family !== 'ipv6') return NONE;
  let d = known.get(nf);
  if (d === undefined) {
    d = walkNeighbourDiscovery(nf);
    known.set(nf, d);
  }
  return d;
}

function walkNeighbourDiscovery(nf: CompiledRuleset): NeighbourDoubts {
  const s = nf.space;
  const m = s.m;
  const ifs = s.interfaces;
  const none = BigInt(ifs.none);
  const lo = BigInt(ifs.classOf('lo'));
  const cidr = (field: 'src' | 'dst', text: string): Bdd => s.cidr(field, text) ?? FALSE;
  const icmp = (type: number): Bdd =>
    m.and(s.eq('proto', BigInt(PROTO.icmpv6)), s.eq('dport', BigInt(type << 8)));
  // per interface but lo and none (`field` says which side of the packet it is on)
  const perLink = (field: 'iif' | 'oif', set: (i: number) => Bdd): Bdd => {
    let r = FALSE;
    for (let i = 0; i < ifs.names.length; i++)
      if (BigInt(i) !== none && BigInt(i) !== lo)
        r = m.or(r, m.and(s.eq(field, BigInt(i)), set(i)));
    return r;
  };
  // each interface's routes, found once (a host may have hundreds of bridges)
  const byLink = new Map<number, ContextRoute[]>();
  for (const r of nf.context.routes) {
    const i = ifs.classOf(r.device);
    const list = byLink.get(i);
    if (list === undefined) byLink.set(i, [r]);
    else list.push(r);
  }
  const routesOut = (i: number): readonly ContextRoute[] => byLink.get(i) ?? [];
  // a neighbour sends from its link-local address or one in a prefix routed out of the link;
  // with no route known out of the interface, from any address
  const onLink = (field: 'src' | 'dst'): Bdd =>
    perLink(field === 'src' ? 'iif' : 'oif', (i) => {
      const prefixes = routesOut(i).filter((r) => r.destination !== 'default');
      if (prefixes.length === 0) return s.universe;
      return prefixes.reduce(
        (acc, r) => m.or(acc, cidr(field, r.destination)),
        cidr(field, LINK_LOCAL),
      );
    });
  // the host solicits from its link-local address, or from the one it sends from along a route
  // out of the interface (a global neighbour's), where the snapshot says which
  const hostSources = perLink('iif', (i) =>
    routesOut(i).reduce(
      (acc, r) => (r.source === undefined ? acc : m.or(acc, cidr('dst', r.source))),
      cidr('dst', LINK_LOCAL),
    ),
  );
  // never one of the host's own (its duplicate address detection would have refused it)
  const neighbourSources = m.diff(onLink('src'), s.localOn('src'));
  const base = m.and(
    m.and(m.and(s.universe, s.unNatted), s.eq('dnat', 0n)),
    m.and(s.eq('state', BigInt(STATES.indexOf('UNTRACKED'))), s.eq('mark', 0n)),
  );
  const arriving = m.and(base, s.eq('oif', none));
  const leaving = m.and(base, s.eq('iif', none));
  const walk = new Walk(nf, false, { hopLimit: NEIGHBOUR_HOP_LIMIT });
  // What a rule may drop or reject (`p`), or certainly does (`c`), and the rules. Not what the
  // walk leaves uncertain otherwise: the kernel sends neighbour discovery out of the interface
  // itself, where the engine would route it. A stop meets the packets as a MARK left them; each
  // started with mark 0, and the mark is all a rule rewrites on neighbour discovery, so the
  // packets that met it are those of its set with the mark forgotten (random seed nd-299:
  // mangle marked ICMPv6, and INPUT's drop of the client's address, which the client solicits
  // from, went unseen).
  const markless = s.cube('mark');
  const stopped = (hooks: readonly Hook[], set: Bdd): Leg => {
    let cur: Pair = { c: set, p: set };
    const leg: Leg = { c: FALSE, p: FALSE, stops: [] };
    for (const hook of hooks) {
      const r = walk.hook(hook, cur);
      for (const o of r.outcomes) {
        if (o.kind === 'accept') continue;
        const p = m.and(m.exists(o.set.p, markless), set);
        if (p === FALSE) continue;
        const c = m.and(m.exists(o.set.c, markless), set);
        leg.stops.push({ ref: o.ref, c, p });
        leg.p = m.or(leg.p, p);
        leg.c = m.or(leg.c, c);
      }
      cur = r.pass;
    }
    return leg;
  };
  // certainly stopped, as said of an interface: for a neighbour's link-local address, which
  // every neighbour has (a drop of some prefix's sources is not the link's whole exchange)
  const linkLocal = { src: cidr('src', LINK_LOCAL), dst: cidr('dst', LINK_LOCAL) };
  const legs: { leg: Leg; field: 'iif' | 'oif'; wholly: Bdd; type: number }[] = [
    {
      field: 'iif',
      type: SOLICITATION,
      wholly: linkLocal.src,
      leg: stopped(
        ['PREROUTING', 'INPUT'],
        m.and(
          m.and(arriving, icmp(SOLICITATION)),
          m.and(neighbourSources, cidr('dst', SOLICITED_NODES)),
        ),
      ),
    },
    {
      field: 'iif',
      type: ADVERTISEMENT,
      wholly: linkLocal.src,
      leg: stopped(
        ['PREROUTING', 'INPUT'],
        m.and(m.and(arriving, icmp(ADVERTISEMENT)), m.and(neighbourSources, hostSources)),
      ),
    },
    {
      field: 'oif',
      type: SOLICITATION,
      wholly: TRUE,
      leg: stopped(
        ['OUTPUT', 'POSTROUTING'],
        m.and(
          m.and(leaving, icmp(SOLICITATION)),
          m.and(m.not(s.anyOf('oif', [none, lo])), cidr('dst', SOLICITED_NODES)),
        ),
      ),
    },
    {
      field: 'oif',
      type: ADVERTISEMENT,
      wholly: linkLocal.dst,
      leg: stopped(
        ['OUTPUT', 'POSTROUTING'],
        m.and(m.and(leaving, icmp(ADVERTISEMENT)), onLink('dst')),
      ),
    },
  ];
  const classes = new Set(legs.flatMap(({ leg, field }) => s.values(leg.p, field)));
  classes.delete(ifs.none);
  if (classes.size === 0) return NONE;
  const list = [...classes].map(BigInt);
  const on = new Map<string, NeighbourStop>();
  for (const i of classes) {
    const here = legs.map(({ leg, field, wholly, type }) => {
      const only = s.eq(field, BigInt(i));
      return {
        c: m.and(m.and(leg.c, only), wholly),
        p: m.and(leg.p, only),
        stops: leg.stops,
        type,
      };
    });
    // the rules that certainly stop some of it first (a finding names the first)
    const refs = new Map<string, RuleRef>();
    for (const sure of [true, false])
      for (const h of here)
        for (const o of h.stops)
          if (m.intersects(sure ? o.c : o.p, sure ? h.c : h.p)) refs.set(ruleRefText(o.ref), o.ref);
    const certainly = here.find((h) => h.c !== FALSE);
    const possibly = here.find((h) => h.p !== FALSE);
    on.set(ifs.names[i] ?? String(i), {
      rules: [...refs.values()],
      certain: certainly !== undefined,
      stopped: certainly?.c ?? possibly?.p ?? FALSE,
      type: (certainly ?? possibly)?.type ?? SOLICITATION,
    });
  }
  return { packets: m.or(s.anyOf('iif', list), s.anyOf('oif', list)), on };
}

/** One exchange's stops: what a rule may stop (`p`) or certainly stops (`c`), and those rules. */
interface Leg {
  c: Bdd;
  p: Bdd;
  /** Each stop with the packets it may and certainly stops, as they were sent. */
  readonly stops: { readonly ref: RuleRef; readonly c: Bdd; readonly p: Bdd }[];
}

const DOUBT = 'IPv6 neighbour discovery on ';

/** Whether a trace's assumption is that neighbour discovery got through (`neighbourDoubtOn`). */
export function restsOnNeighbours(assumption: string): boolean {
  return assumption.startsWith(DOUBT);
}

function whyText(iface: string, refs: readonly RuleRef[]): string {
  const rules = refs.slice(0, 3).map(ruleRefText).join(', ') + (refs.length > 3 ? ', …' : '');
  return `${DOUBT}${iface} may be stopped by ${rules}: the packet is taken to get through only where the neighbour's link address is known already`;
}

/** Why neighbour discovery on this interface may be stopped, or null when it is not. */
export function neighbourDoubtOn(nf: CompiledRuleset, iface: string | null): string | null {
  if (iface === null) return null;
  const d = neighbourDoubts(nf);
  if (d.on.size === 0) return null;
  const ifs = nf.space.interfaces;
  const cls = ifs.classOf(iface);
  const stop = d.on.get(ifs.names[cls] ?? iface);
  // a class (`*other*`, `veth*`) is said by the name that stands for it, as witnesses are
  const name = iface === OTHER_INTERFACE || iface.endsWith('*') ? ifs.representative(cls) : iface;
  return stop === undefined ? null : whyText(name, stop.rules);
}
