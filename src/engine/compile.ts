/**
 * A ruleset and its network context compiled once into BDDs: the header space (with the interface
 * domain built from the context and every interface name the rules mention), each rule's
 * two-sided match, local addresses, the routing relation, and the diagnostics found on the way
 * (jump loops, jumps to missing chains, addresses of the wrong family).
 */
import { FALSE, TRUE, type Bdd, type BddManager } from './bdd.ts';
import { parseCidr } from './addr.ts';
import { encodeOption, encodeRule, type MatchEnv, type Pair } from './match.ts';
import {
  buildInterfaceDomain,
  HeaderSpace,
  OTHER_INTERFACE,
  type FieldName,
  type Prefix,
} from './space.ts';
import type { NetworkContext, RouteLocalnet } from './context.ts';
import type { RuleRef } from './types.ts';
import { conntrackSides, type ConntrackSide } from './before-conntrack.ts';
import { reversePathSet, type ReversePathMode } from './reverse-path.ts';
import { rpFilterSets } from './rp-filter.ts';
import {
  acceptLocal,
  interfaceSwitch,
  isDeadEnd,
  routesAndDeadEnds,
  routingOf,
  type DeadEnd,
  type Group,
  type Route,
} from './routing.ts';
import { diagnostic, type Diagnostic } from '../model/diagnostic.ts';
import { DST_NAT_PRIORITY, hookPipeline, type Pipeline, type PipelineEntry } from './pipeline.ts';
import {
  allOptions,
  forEveryOption,
  ruleActions,
  tableId,
  type Chain,
  type Family,
  type MatchOption,
  type Rule,
  type Ruleset,
  type Target,
} from '../model/ruleset.ts';
import { bareAddress } from '../model/address-text.ts';
import type { DeadEndType } from '../model/host.ts';
import { connmarkAlwaysZero } from '../model/rule-queries.ts';

export interface CompiledRule {
  readonly rule: Rule;
  readonly ref: RuleRef;
  readonly match: Pair;
  readonly unknown: readonly MatchOption[];
  /** Superset of the possible match on fields the chain walk never changes (see EncodedRule). */
  readonly key: Bdd;
  /**
   * Its match reads the connection's tuple (`--ctorigdst`, `ct original proto-dst`, …): read
   * off the packet for a connection's first one only (a reply does not carry its first's).
   */
  readonly readsTuple: boolean;
}

/**
 * Consecutive rules of a chain whose keys are pairwise disjoint. A packet meets at most one of
 * them, and what continues past one of them keeps its key (only terminal NAT rewrites keyed
 * fields), so the run is walked by splitting the arriving set once by the union of the keys:
 * each rule sees only its own part, and the packets outside every key pass the run untouched
 * with one difference instead of one per rule. Segments of about √n rules carry their own key
 * union, so a set meeting few keys tests few rules. This is a partition of packet sets, for the
 * symbolic walk; the concrete interpreter and the cover search use the one index of rules by
 * their written values instead (rule-index.ts), which rests on the same fact about keyed fields.
 */
export interface RuleRun {
  /** Rules [from, to) of the chain. */
  readonly from: number;
  readonly to: number;
  readonly keys: Bdd;
  /** Some rule of the run reads the connection's tuple (`CompiledRule.readsTuple`). */
  readonly readsTuple: boolean;
  readonly segments: readonly RunSegment[];
}

/** About √n consecutive rules of a run, with the union of their keys. */
export interface RunSegment {
  readonly from: number;
  readonly to: number;
  readonly keys: Bdd;
  /**
   * Every rule is a plain ACCEPT whose match is its key: the segment accepts exactly what
   * meets its keys, and the walk takes the rules' sets together as that.
   */
  readonly accepts: boolean;
}

export interface CompiledChain {
  readonly table: string;
  readonly chain: Chain;
  readonly rules: readonly CompiledRule[];
  readonly policyRef: RuleRef;
  /** The rules in order, as runs; a rule outside any run of several is a run of one. */
  readonly runs: readonly RuleRun[];
}

/**
 * Nested jumps the walk and the trace follow; what a deeper chain does is only possible (and
 * diagnosed). The kernel's nftables allows 16; iptables-legacy more, yet no real ruleset
 * nests near this, and the walks recurse per jump.
 */
export const MAX_JUMP_DEPTH = 256;

/** Chains shorter than this are walked rule by rule. */
const MIN_RUN_CHAIN = 16;
/** Fewer disjoint rules than this in a row are walked rule by rule. */
const MIN_RUN = 4;

/**
 * Where packets away from the host leave: the routing relation (dst → oif, longest prefix wins)
 * and the destinations whose route rests on no assumption.
 */
export interface Routing {
  readonly relation: Bdd;
  readonly certain: Bdd;
}

/** How a rule is printed in references and traces (the canonical printer when available). */
export type RulePrinter = (rule: Rule) => string;

export class CompiledRuleset {
  readonly ruleset: Ruleset;
  readonly context: NetworkContext;
  readonly space: HeaderSpace;
  readonly diagnostics: Diagnostic[] = [];
  readonly env: MatchEnv;
  /** `env` for the chains that run before conntrack (`beforeConntrack`). */
  private readonly rawEnv: MatchEnv;
  /** `env` for an nftables chain called from both sides of conntrack. */
  private readonly eitherEnv: MatchEnv;
  private readonly sides: (table: string, chain: string) => ConntrackSide;
  /** The host's routes: dst → oif, and where no assumed route decides. */
  readonly routing: Routing;
  /** Per interface: the routing of answers to connections that came in on it (`answerRouting`). */
  private readonly answerRoutings = new Map<string, Routing>();
  /** Every field but the destination (its projection names a set's destinations). */
  private readonly notDstCube: Bdd;
  /** Every field but the out-interface and the destination (see `outline`). */
  private readonly notOutlineCube: Bdd;
  private readonly keyOutlines = new Map<Bdd, Bdd>();
  /** The base chains of every hook, in the order the kernel runs them. */
  readonly pipeline: Pipeline;
  /** By table id, then chain name: no key text made per lookup (the walk asks at every jump). */
  private readonly chains = new Map<string, Map<string, CompiledChain>>();
  private readonly routedCache = new Map<FieldName, Bdd>();
  /** Chains more than one rule jumps to (`sharedChain`). */
  private readonly shared = new Set<CompiledChain>();
  /** Each jump's chain, by the jump (`jumpTarget`): the walk follows 100,000s of them. */
  private readonly jumps = new WeakMap<Target, CompiledChain>();
  /** Longest prefix first, the dead ends among them (routing.ts `routesAndDeadEnds`). */
  private readonly routes: readonly (Route | DeadEnd)[];
  private readonly untupled = new Map<CompiledRule, Pair>();
  private readonly untupledTracked = new Map<CompiledRule, Pair>();
  private readonly tracked = new Map<CompiledRule, Pair>();
  private readonly raw = new Map<CompiledRule, Pair>();
  private readonly pickedUp = new Map<CompiledRule, Pair | null>();
  private readonly byHopLimit = new Map<number, Map<CompiledRule, Pair | null>>();

  constructor(ruleset: Ruleset, context: NetworkContext, print: RulePrinter) {
    this.ruleset = ruleset;
    this.context = context;
    const family = ruleset.family;
    const listed = new Set<string>(context.interfaces);
    const prefixes = new Set<string>();
    // a route out of an interface nobody named goes to the class of every unlisted name
    for (const r of context.routes) if (r.device !== OTHER_INTERFACE) listed.add(r.device);
    // each named alone: what arrives there is not forwarded (`unforwarded`)
    for (const name of context.unforwardedFrom ?? []) listed.add(name);
    listed.add('lo');
    // one pass over every option of every rule: the interfaces named and the mark bits tested
    let markMask = 0;
    const read = (o: MatchOption): void => {
      if (o.type === 'interface') {
        if (o.wildcard) prefixes.add(o.name);
        else listed.add(o.name);
      } else if (o.type === 'mark' && o.of === 'packet') markMask |= o.mask;
    };
    let rules = 0;
    // the elements of nftables sets, which the rules' sets are built from, like rules
    let elements = 0;
    for (const t of ruleset.tables) {
      for (const set of t.nft?.sets ?? []) elements += set.elements;
      for (const c of t.chains) {
        for (const d of c.base?.devices ?? []) listed.add(d);
        for (const r of c.rules) forEveryOption(r, read);
        rules += c.rules.length;
      }
    }
    const loopback = family === 'ipv4' ? '127.0.0.0/8' : '::1/128';
    const prefixesOf = (texts: readonly string[]): Prefix[] =>
      texts.flatMap((text) => {
        // a local address may come with its prefix; only the address itself is local
        const addr = text === loopback ? text : bareAddress(text);
        const c = parseCidr(addr, family);
        return c === null ? [] : [c];
      });
    const complete = context.localAddressesComplete ?? true;
    this.space = new HeaderSpace(
      family,
      buildInterfaceDomain(listed, prefixes),
      {
        local: [
          ...prefixesOf([...context.localAddresses, loopback]),
          ...(context.localPrefixes ?? []).flatMap((p) => parseCidr(p, family) ?? []),
        ],
        complete,
        // with the groups, never the host's (routing.ts `Routing.foreign`)
        foreign: routingOf(context).foreign ?? [],
      },
      // the packet-mark bits some rule tests (`-m mark`, `meta mark`): the only ones tracked
      maskBits(markMask),
      rules * NODES_PER_RULE,
      nodeBudget(rules + elements),
    );
    this.routes = routesAndDeadEnds(routingOf(context));
    this.routing = this.buildRoutes();
    this.notDstCube = this.space.cubeExcept('dst');
    this.notOutlineCube = this.space.m.exists(this.notDstCube, this.space.cube('oif'));
    const connmarkZero = connmarkAlwaysZero(ruleset);
    this.env = {
      space: this.space,
      local: (f) => this.local(f),
      unknown: (f) =>
        f === 'src' || f === 'dst' || f === 'odst' ? this.space.unknownOn(f) : FALSE,
      routed: (f) => this.routed(f),
      deadEnds: (f, type) => this.deadEnds(f, type),
      broadcasts: (f) => this.groups(f, 'broadcast'),
      reversePath: (mode) => this.reversePath(mode),
      connmarkZero,
      encoded: new Map(),
    };
    // iptables' raw table and nftables chains on its side run before conntrack (their own
    // remembered options: they mean another thing there)
    this.rawEnv = { ...this.env, beforeConntrack: true, encoded: new Map() };
    this.eitherEnv = { ...this.env, beforeConntrack: 'either', encoded: new Map() };
    this.sides = conntrackSides(ruleset);
    for (const t of ruleset.tables) {
      const id = tableId(t);
      for (const c of t.chains) {
        const env = this.envOf(id, c.name);
        const policyRef: RuleRef = {
          table: id,
          chain: c.name,
          index: null,
          file: c.location.file,
          line: c.location.line,
          text: '',
        };
        const rules = c.rules.map((rule): CompiledRule => {
          const enc = encodeRule(env, rule);
          // a dump's line is nearly always already the canonical text: that one string is kept,
          // not a printed copy of every rule (~45 MB live on a 100k-rule host)
          const printed = print(rule);
          return {
            rule,
            ref: {
              table: id,
              chain: c.name,
              index: rule.index,
              file: rule.location.file,
              line: rule.location.line,
              text: printed === rule.text ? rule.text : printed,
            },
            match: enc.match,
            unknown: enc.unknown,
            // an nftables rule's later steps and verdict maps act past its first match: never keyed
            key: rule.steps !== undefined || rule.target?.kind === 'vmap' ? TRUE : enc.key,
            readsTuple: readsTuple(rule),
          };
        });
        let named = this.chains.get(id);
        if (named === undefined) this.chains.set(id, (named = new Map<string, CompiledChain>()));
        named.set(c.name, {
          table: id,
          chain: c,
          rules,
          policyRef,
          runs: buildRuns(this.space, rules),
        });
      }
    }
    this.checkJumps();
    const { pipeline, notes } = hookPipeline(ruleset);
    this.pipeline = pipeline;
    this.diagnostics.push(...notes);
  }

  /**
   * Whether a chain's rules are read before conntrack: iptables' raw table (priority -300), an
   * nftables chain on PREROUTING or OUTPUT below -200 and what only it calls (before-conntrack.ts).
   */
  beforeConntrack(table: string, chain: string): boolean {
    return this.sides(table, chain) === 'before';
  }

  /** A chain's side of conntrack (before-conntrack.ts `conntrackSides`). */
  conntrackSide(table: string, chain: string): ConntrackSide {
    return this.sides(table, chain);
  }

  /** How a chain's rules are read: before conntrack, after, or either way (`ConntrackSide`). */
  private envOf(table: string, chain: string): MatchEnv {
    const side = this.sides(table, chain);
    return side === 'before' ? this.rawEnv : side === 'both' ? this.eitherEnv : this.env;
  }

  /**
   * A rule of a table read before conntrack as it reads a packet that already has its
   * connection: the host's own, received again over loopback.
   */
  trackedMatch(rule: CompiledRule): Pair {
    return this.matchIn(this.tracked, this.env, rule);
  }

  /**
   * A rule of an nftables chain called from both sides of conntrack as a walk entered before
   * it reads it: no connection yet (its `match` leaves what it reads of one undecided).
   */
  rawMatch(rule: CompiledRule): Pair {
    return this.matchIn(this.raw, this.rawEnv, rule);
  }

  /** A rule's match read in `env`, built once (`cache`). */
  private matchIn(cache: Map<CompiledRule, Pair>, env: MatchEnv, rule: CompiledRule): Pair {
    let pair = cache.get(rule);
    if (pair === undefined) {
      pair = encodeRule(env, rule.rule).match;
      cache.set(rule, pair);
    }
    return pair;
  }

  /**
   * A rule's match as it reads connections' later packets that conntrack picks up as new ones
   * (`MatchEnv.pickedUp`) where it tests TCP flags (they are a later packet's, not a SYN's);
   * null where it does not.
   */
  pickedUpMatch(rule: CompiledRule): Pair | null {
    return this.matchWith(this.pickedUp, rule, (o) => o.type === 'tcp-flags', { pickedUp: true });
  }

  /**
   * A rule's match on packets of one hop limit (`MatchEnv.hopLimit`: neighbour discovery's
   * 255) where it tests the hop limit; null for the others, whose match is `match`.
   */
  hopLimitMatch(rule: CompiledRule, hopLimit: number): Pair | null {
    let byRule = this.byHopLimit.get(hopLimit);
    if (byRule === undefined) {
      byRule = new Map();
      this.byHopLimit.set(hopLimit, byRule);
    }
    const readsHopLimit = (o: MatchOption): boolean => o.type === 'ttl' && o.family === 'ipv6';
    return this.matchWith(byRule, rule, readsHopLimit, { hopLimit });
  }

  /**
   * A rule's match in its table's environment with `extra` set, where one of its options is
   * what `extra` decides (`reads`); null for the others, whose match is `match`. Kept in `cache`.
   */
  private matchWith(
    cache: Map<CompiledRule, Pair | null>,
    rule: CompiledRule,
    reads: (o: MatchOption) => boolean,
    extra: Pick<MatchEnv, 'pickedUp' | 'hopLimit'>,
  ): Pair | null {
    let pair = cache.get(rule);
    if (pair === undefined) {
      const r = rule.rule;
      pair = allOptions(r).some(reads)
        ? encodeRule({ ...this.envOf(rule.ref.table, rule.ref.chain), ...extra }, r).match
        : null;
      cache.set(rule, pair);
    }
    return pair;
  }

  /**
   * A rule's match with its options on the connection's tuple left out (each holds then): what
   * a reply, which does not carry its connection's first packet, may match
   * (`CompiledRule.readsTuple`; asked only of those rules). `tracked`: as `trackedMatch` reads.
   */
  untupledMatch(rule: CompiledRule, tracked = false): Pair {
    const cache = tracked ? this.untupledTracked : this.untupled;
    let pair = cache.get(rule);
    if (pair === undefined) {
      const keep = (options: readonly MatchOption[]): MatchOption[] =>
        options.filter((o) => !isTupleOption(o));
      const r = rule.rule;
      pair = encodeRule(tracked ? this.env : this.envOf(rule.ref.table, rule.ref.chain), {
        ...r,
        core: keep(r.core),
        matches: r.matches.map((mod) => ({ ...mod, options: keep(mod.options) })),
      }).match;
      cache.set(rule, pair);
    }
    return pair;
  }

  /**
   * Which packets an ingress (egress) chain sees: those arriving on (leaving through) its
   * devices; every packet only possibly when the listing does not name them.
   */
  deviceGate(entry: PipelineEntry): Pair {
    const s = this.space;
    if (entry.devices === null) return { c: FALSE, p: TRUE };
    const field = entry.stage === 'ingress' ? 'iif' : 'oif';
    const on = s.anyOf(
      field,
      entry.devices.map((d) => BigInt(s.interfaces.classOf(d))),
    );
    return { c: on, p: on };
  }

  private sourceRead: boolean | undefined;

  /**
   * Whether some rule reads a packet's source address. Where none does, a packet whose source
   * the snapshot does not give meets every rule as it would with the right one.
   */
  readsSource(): boolean {
    return (this.sourceRead ??= this.someRuleReads(this.space.cube('src'), [
      ...this.chains.keys(),
    ]));
  }

  private sourceNat: Bdd | undefined;

  /**
   * The packets some SNAT or MASQUERADE rule may rewrite, its path aside (a superset: the
   * conditions of the jumps to it are not read).
   */
  sourceNatMatches(): Bdd {
    if (this.sourceNat !== undefined) return this.sourceNat;
    const m = this.space.m;
    let out = FALSE;
    for (const chains of this.chains.values())
      for (const chain of chains.values())
        for (const r of chain.rules)
          if (ruleActions(r.rule).some((t) => t.kind === 'SNAT' || t.kind === 'MASQUERADE'))
            out = m.or(out, r.match.p);
    return (this.sourceNat = out);
  }

  private readonly destinationReads = new Map<string, boolean>();

  /**
   * Whether some rule of a table PREROUTING walks before its NAT tells the host's address on
   * `device` from `taken`, the address a walk gave a reply arriving there in its place: the one
   * MASQUERADE picked there, which the snapshot does not give. It lies in a prefix routed to
   * `device` (anywhere, where none is known) and is no address known not to be the host's.
   */
  readsDestinationBeforeNat(device: string | null, taken: bigint): boolean {
    const key = `${device ?? ''}|${taken}`;
    let hit = this.destinationReads.get(key);
    if (hit === undefined) {
      const s = this.space;
      const m = s.m;
      let near = FALSE;
      for (const r of this.context.routes)
        if (r.device === device && r.provenance !== 'assumed' && r.destination !== 'default')
          near = m.or(near, s.cidr('dst', r.destination) ?? FALSE);
      let candidates = near === FALSE ? TRUE : near;
      for (const f of this.context.foreignAddresses ?? [])
        candidates = m.diff(candidates, s.cidr('dst', f) ?? FALSE);
      // the reply arrives on the device, addressed to the host
      const arriving = s.eq('iif', BigInt(s.interfaces.classOf(device ?? '')));
      candidates = m.and(m.and(m.or(candidates, s.eq('dst', taken)), s.eq('loc', 1n)), arriving);
      const early = this.pipeline.PREROUTING.filter((e) => e.priority < DST_NAT_PRIORITY);
      hit = this.someRuleReads(
        s.cube('dst', 'loc'),
        [...new Set(early.map((e) => e.tableId))],
        candidates,
      );
      this.destinationReads.set(key, hit);
    }
    return hit;
  }

  /**
   * Whether some rule of these tables reads the variables of `cube` (telling apart values of
   * them inside `region`): its match, its later steps' conditions or its verdict map's keys.
   */
  private someRuleReads(cube: Bdd, tables: readonly string[], region: Bdd = TRUE): boolean {
    const m = this.space.m;
    // some values inside the region match and others do not, the rest of the packet the same
    const parts = (b: Bdd): boolean =>
      m.intersects(m.exists(m.and(b, region), cube), m.exists(m.diff(region, b), cube));
    const reads = (x: Pair): boolean => parts(x.c) || parts(x.p);
    const keyed = (t: Target | null): boolean =>
      t?.kind === 'vmap' && (t.entries ?? []).some((e) => reads(this.encodeOptions(e.when)));
    const ruleReads = (r: CompiledRule): boolean =>
      reads(r.match) ||
      keyed(r.rule.target) ||
      (r.rule.steps ?? []).some((step) =>
        step.kind === 'match' ? reads(this.encodeOptions(step.module.options)) : keyed(step.target),
      );
    return tables.some((id) =>
      [...(this.chains.get(id)?.values() ?? [])].some((c) => c.rules.some(ruleReads)),
    );
  }

  private readonly optionSets = new WeakMap<readonly MatchOption[], Pair>();

  /**
   * Options that all hold, as a two-sided set, built once per list: the conditions of a rule's
   * later steps and of a verdict map's elements.
   */
  encodeOptions(options: readonly MatchOption[]): Pair {
    let hit = this.optionSets.get(options);
    if (hit === undefined) {
      const m = this.space.m;
      let c = TRUE;
      let p = TRUE;
      for (const o of options) {
        const e = encodeOption(this.env, o);
        c = m.and(c, e.c);
        p = m.and(p, e.p);
      }
      hit = { c, p };
      this.optionSets.set(options, hit);
    }
    return hit;
  }

  /**
   * A set seen only through its out-interfaces and destinations: where two outlines do not
   * meet, neither do the sets. Testing a long run's segments and rules this way first is
   * cheaper than and-ing their keys with a set whose sources, marks and states all lie above
   * its destinations.
   */
  outline(set: Bdd): Bdd {
    return this.space.m.exists(set, this.notOutlineCube);
  }

  /** The outline of a compiled key (a rule's or a run segment's), made once. */
  keyOutline(keys: Bdd): Bdd {
    let r = this.keyOutlines.get(keys);
    if (r === undefined) {
      r = this.outline(keys);
      this.keyOutlines.set(keys, r);
    }
    return r;
  }

  chain(table: string, name: string): CompiledChain | undefined {
    return this.chains.get(table)?.get(name);
  }

  /**
   * Whether more than one rule jumps to the chain: only such a chain can be entered again with
   * the same set without its caller being entered again too (see `Walk.chain`'s memo).
   */
  sharedChain(chain: CompiledChain): boolean {
    return this.shared.has(chain);
  }

  /** The chain a jump or goto of this table goes to (found once, when the jumps are checked). */
  jumpTarget(table: string, target: Target & { kind: 'jump' }): CompiledChain | undefined {
    return this.jumps.get(target) ?? this.chain(table, target.chain);
  }

  /** Addresses known to be the host's (loopback included), on an address field. */
  local(field: FieldName): Bdd {
    return field === 'src' || field === 'dst' || field === 'odst'
      ? this.space.localOn(field)
      : FALSE;
  }

  /** Addresses a route takes somewhere (not those a dead end decides), on a field. */
  routed(field: FieldName): Bdd {
    let r = this.routedCache.get(field);
    if (r === undefined) {
      r =
        routingOf(this.context).deadEnds.length === 0
          ? this.space.prefixSet(field, this.routes)
          : this.regions(field, (x) => !isDeadEnd(x));
      this.routedCache.set(field, r);
    }
    return r;
  }

  private unforwardedSet: Bdd | undefined;

  /**
   * Packets that came in on an interface whose own IPv4 `forwarding` is off
   * (`NetworkContext.unforwardedFrom`): never forwarded. None on nearly every host. Made once.
   */
  unforwarded(): Bdd {
    if (this.unforwardedSet === undefined) {
      const s = this.space;
      this.unforwardedSet = (this.context.unforwardedFrom ?? []).reduce(
        (set, name) => s.m.or(set, s.eq('iif', BigInt(s.interfaces.classOf(name)))),
        FALSE,
      );
    }
    return this.unforwardedSet;
  }

  private readonly deadEndSets = new Map<string, Bdd>();

  /** Addresses a dead end of the type decides, on a field (none on most hosts). */
  deadEnds(field: FieldName, type: DeadEndType): Bdd {
    const key = `${field} ${type}`;
    let r = this.deadEndSets.get(key);
    if (r === undefined) {
      r = routingOf(this.context).deadEnds.some((d) => d.type === type)
        ? this.regions(field, (x) => isDeadEnd(x) && x.type === type)
        : FALSE;
      this.deadEndSets.set(key, r);
    }
    return r;
  }

  /** The longest-prefix regions of the routes and dead ends that `keep` holds for, united. */
  private regions(field: FieldName, keep: (r: Route | DeadEnd) => boolean): Bdd {
    const m = this.space.m;
    let out = FALSE;
    for (const [region, r] of this.space.longestPrefixRegions(field, this.routes))
      if (keep(r)) out = m.or(out, region);
    return out;
  }

  private readonly groupSets = new Map<string, Bdd>();

  /**
   * Destinations the kernel never forwards (routing.ts `Routing.groups`), or those of one kind,
   * on `field`: the multicast groups, and IPv4's limited broadcast with the broadcast address of
   * each prefix the host has (what addrtype calls BROADCAST: the local table's broadcast routes;
   * a prefix the snapshot does not show has one that is not known here). Made once each.
   */
  groups(field: FieldName, kind?: Group['kind']): Bdd {
    const key = `${field} ${kind ?? ''}`;
    let set = this.groupSets.get(key);
    if (set === undefined) {
      const all = routingOf(this.context).groups;
      set = this.space.prefixSet(
        field,
        kind === undefined ? all : all.filter((g) => g.kind === kind),
      );
      this.groupSets.set(key, set);
    }
    return set;
  }

  private scopedSet: Bdd | undefined;

  /** Sources the kernel never forwards from (routing.ts `Routing.scopedSources`), on `src`. */
  scopedSources(): Bdd {
    this.scopedSet ??= this.space.prefixSet('src', routingOf(this.context).scopedSources);
    return this.scopedSet;
  }

  private martianSets: MartianSources | undefined;

  /**
   * IPv4 packets that arrived on another interface than lo whose source routing refuses
   * (routing.ts `Routing.martianSources`): `dropped`, whatever the switches or by the kernel's
   * default (one of the host's own addresses where `accept_local` is off, a loopback source
   * where `route_localnet` is off, as observed or taken; a broadcast or loopback source where
   * the kernel checks every source, `NetworkContext.sourcesChecked`); `doubtful`, a loopback
   * source where `route_localnet` is possibly on. IPv6: none. Made once.
   */
  martianSources(): MartianSources {
    if (this.martianSets !== undefined) return this.martianSets;
    const s = this.space;
    const m = s.m;
    const routing = routingOf(this.context);
    if (routing.martianSources.length === 0) {
      this.martianSets = { dropped: FALSE, doubtful: FALSE };
      return this.martianSets;
    }
    const on = this.localnetInterfaces('iif');
    const arrived = this.fromOutside();
    const own = this.ownSources();
    const martian = s.prefixSet('src', routing.martianSources);
    const group = m.diff(martian, own);
    const loopback = m.diff(s.loopbackOn('src'), group);
    const refusesOwn = this.acceptLocalInterfaces().refused;
    let dropped = m.or(
      m.or(m.and(arrived, group), m.and(own, refusesOwn)),
      m.and(loopback, on.dropped),
    );
    // every source checked by its route back (`NetworkContext.sourcesChecked`): a broadcast
    // route refuses, a local route where accept_local is off
    if (this.context.sourcesChecked === true)
      dropped = m.or(
        dropped,
        m.and(arrived, m.or(this.groups('src', 'broadcast'), m.and(loopback, refusesOwn))),
      );
    const doubtful = m.diff(m.and(loopback, on.unknown), dropped);
    this.martianSets = { dropped, doubtful };
    return this.martianSets;
  }

  private ownSet: Bdd | undefined;

  /** The host's own addresses (routing.ts `Routing.ownSources`) on `src`. Made once. */
  private ownSources(): Bdd {
    this.ownSet ??= this.space.prefixSet('src', routingOf(this.context).ownSources);
    return this.ownSet;
  }

  private acceptLocalSets: { refused: Bdd; accepted: Bdd } | undefined;

  /**
   * The interfaces other than lo as `iif`'s values, by `accept_local` (`acceptLocal`):
   * `accepted` where it is on, `refused` where it is off, as observed or taken. Made once.
   */
  acceptLocalInterfaces(): { refused: Bdd; accepted: Bdd } {
    if (this.acceptLocalSets !== undefined) return this.acceptLocalSets;
    const s = this.space;
    const m = s.m;
    const ifs = s.interfaces;
    let refused = FALSE;
    let accepted = FALSE;
    ifs.names.forEach((name, i) => {
      if (name === 'lo') return;
      const at = s.eq('iif', BigInt(i));
      const exact = ifs.representative(i) === name;
      if (acceptLocal(this.context.acceptLocal, name, exact) === 'on')
        accepted = m.or(accepted, at);
      else refused = m.or(refused, at);
    });
    this.acceptLocalSets = { refused, accepted };
    return this.acceptLocalSets;
  }

  private reversePathSets: MartianSources | undefined;

  /**
   * IPv4 packets from outside that reverse path filtering drops after PREROUTING, where
   * `rp_filter` is on (rp-filter.ts): `dropped` by the switch as known or taken, `doubtful`
   * where the route back is only assumed. None where it is off or not known. Made once.
   */
  reversePathFiltered(): MartianSources {
    this.reversePathSets ??= rpFilterSets(this.space, routingOf(this.context), this.context, {
      broadcastSources: this.groups('src', 'broadcast'),
      groupDestinations: this.groups('dst'),
      ownSources: this.ownSources(),
      acceptLocal: this.acceptLocalInterfaces().accepted,
    });
    return this.reversePathSets;
  }

  private unreceivedSet: Bdd | undefined;

  /**
   * IPv6 packets that arrived on another interface than lo from a source or to a destination
   * the kernel drops before PREROUTING (routing.ts `Routing.unreceivedSources`,
   * `unreceivedDestinations`). IPv4: none. Made once.
   */
  unreceived(): Bdd {
    if (this.unreceivedSet === undefined) {
      const s = this.space;
      const routing = routingOf(this.context);
      const sources = routing.unreceivedSources;
      const destinations = routing.unreceivedDestinations;
      this.unreceivedSet =
        sources.length === 0 && destinations.length === 0
          ? FALSE
          : s.m.and(
              s.m.or(s.prefixSet('src', sources), s.prefixSet('dst', destinations)),
              this.fromOutside(),
            );
    }
    return this.unreceivedSet;
  }

  private refusedSet: Bdd | undefined;

  /**
   * Every packet from outside routing refuses whatever the rules: a martian source (possibly),
   * one reverse path filtering drops, an IPv6 source or destination dropped on arrival, a
   * source never forwarded (on any destination: a rule's match is read wherever it may be), a
   * loopback destination where `route_localnet` is (possibly) off. Made once.
   */
  refusedSources(): Bdd {
    if (this.refusedSet === undefined) {
      const m = this.space.m;
      const martians = this.martianSources();
      const filtered = this.reversePathFiltered();
      const scoped = m.and(this.scopedSources(), this.fromOutside());
      const loopback = this.loopbackArrivals();
      this.refusedSet = m.or(
        m.or(m.or(martians.dropped, martians.doubtful), m.or(filtered.dropped, filtered.doubtful)),
        m.or(m.or(loopback.dropped, loopback.unknown), m.or(this.unreceived(), scoped)),
      );
    }
    return this.refusedSet;
  }

  /** Every interface but lo as `iif`'s values: what arrived from outside the host. */
  private fromOutside(): Bdd {
    const on = this.localnetInterfaces('iif');
    return this.space.m.or(this.space.m.or(on.routed, on.dropped), on.unknown);
  }

  private readonly reversePaths = new Map<string, Pair>();

  /** `fib saddr . iif oif exists`, iptables' rpfilter (reverse-path.ts), made once per mode. */
  private reversePath(mode: ReversePathMode): Pair {
    const key = `${mode.loose} ${mode.acceptLocal}`;
    let r = this.reversePaths.get(key);
    if (r === undefined) {
      r = reversePathSet(this.space, routingOf(this.context), mode);
      this.reversePaths.set(key, r);
    }
    return r;
  }

  /** The routing relation (longest prefix wins) and where it rests on no assumed route. */
  private buildRoutes(): Routing {
    const s = this.space;
    const m = s.m;
    let relation = FALSE;
    let certain = FALSE;
    for (const [region, r] of s.longestPrefixRegions('dst', this.routes)) {
      // a dead end routes nowhere: its destinations have no out-interface
      if (isDeadEnd(r)) continue;
      relation = m.or(relation, m.and(region, s.eq('oif', BigInt(s.interfaces.classOf(r.device)))));
      if (!r.assumed) certain = m.or(certain, region);
    }
    return { relation, certain };
  }

  /**
   * The routing of answers to connections whose first packets came in on `via`: where the route
   * back is only assumed (no routes listed, a default taken), they leave by that interface, as
   * the interpreter's answers do; an assumed default route says nothing about where the sender
   * is, and the way its packet came is. Routes the snapshot gives decide as they do.
   */
  answerRouting(via: string): Routing {
    const viaClass = this.space.interfaces.classOf(via);
    const key = String(viaClass);
    let r = this.answerRoutings.get(key);
    if (r === undefined) {
      const s = this.space;
      const m = s.m;
      const { relation, certain } = this.routing;
      const routed = this.routed('dst');
      const guessed = m.diff(routed, certain);
      r =
        guessed === FALSE
          ? this.routing
          : {
              relation: m.or(
                m.and(relation, certain),
                m.and(guessed, s.eq('oif', BigInt(viaClass))),
              ),
              certain: routed,
            };
      this.answerRoutings.set(key, r);
    }
    return r;
  }

  /**
   * Route packets away from the host (loc = 0): the egress interface from the destination. The
   * certain side keeps only packets whose route is not assumed.
   */
  route(pair: Pair, routing: Routing = this.routing): Pair {
    const m = this.space.m;
    const oifCube = this.space.cube('oif');
    const dstCube = this.space.cube('dst');
    let routedAll = true;
    // the relation narrowed to the set's own destinations first: and-ing it whole walks the
    // set once per egress interface of the host, most of which none of its packets take
    const go = (x: Bdd): Bdd => {
      const free = m.exists(x, oifCube);
      const dsts = m.exists(free, this.notDstCube);
      routedAll &&= m.subset(dsts, routing.certain);
      const relation = m.and(routing.relation, dsts);
      // When the set's destinations all leave by the same interfaces (a part of a kube-proxy
      // host is one service's endpoints), the relation adds only the out-interface, which sits
      // above all but the mark and in-interface: and-ing that rebuilds only those few nodes,
      // where and-ing the relation rebuilt the set down to its destination bits.
      const oifs = m.exists(relation, dstCube);
      return m.and(free, m.and(oifs, dsts) === relation ? oifs : relation);
    };
    const p = go(pair.p);
    const c = pair.c === pair.p ? p : go(pair.c);
    // every destination certainly routed: the certain side is unchanged (and-ing walks it all)
    return { c: routedAll ? c : m.and(c, routing.certain), p };
  }

  private loopbackSets: LoopbackArrivals | undefined;

  /**
   * Packets with a loopback destination (after PREROUTING) that arrived on an interface other
   * than lo, by what routing does with them: the kernel drops them as martians unless
   * `route_localnet` is on for the interface (IPv4; IPv6 has no such switch). `routed`: on;
   * `dropped`: off, as observed or as taken (the kernel's default, where the context does not
   * say); `unknown`: possibly on. Made once.
   */
  loopbackArrivals(): LoopbackArrivals {
    if (this.loopbackSets !== undefined) return this.loopbackSets;
    const s = this.space;
    const m = s.m;
    const loopback = s.loopbackOn('dst');
    const on = this.localnetInterfaces('iif');
    const routed = m.and(loopback, on.routed);
    const dropped = m.and(loopback, on.dropped);
    const unknown = m.and(loopback, on.unknown);
    this.loopbackSets = { routed, dropped, unknown, any: m.or(m.or(routed, dropped), unknown) };
    return this.loopbackSets;
  }

  /**
   * The interfaces other than lo as `field`'s values, by what their `route_localnet` does with a
   * loopback address (`loopbackRouting`): `dropped` holds those where it is off, as observed or
   * taken (the kernel's default).
   */
  private localnetInterfaces(field: 'iif' | 'oif'): { routed: Bdd; dropped: Bdd; unknown: Bdd } {
    const s = this.space;
    const m = s.m;
    const localnet = s.family === 'ipv4' ? this.context.routeLocalnet : undefined;
    const ifs = s.interfaces;
    let routed = FALSE;
    let dropped = FALSE;
    let unknown = FALSE;
    ifs.names.forEach((name, i) => {
      if (name === 'lo') return;
      const how = loopbackRouting(s.family, localnet, name, ifs.representative(i) === name);
      const at = s.eq(field, BigInt(i));
      if (how === 'routed') routed = m.or(routed, at);
      else if (how === 'unknown') unknown = m.or(unknown, at);
      else dropped = m.or(dropped, at);
    });
    return { routed, dropped, unknown };
  }

  /** Set the egress interface from the destination: the host's own → lo, else its route. */
  reroute(pair: Pair, routing: Routing = this.routing): Pair {
    const s = this.space;
    const m = s.m;
    const lo = s.eq('oif', BigInt(s.interfaces.classOf('lo')));
    const own = s.eq('loc', 1n);
    const one = (x: Bdd, certain: boolean): Bdd => {
      const free = m.exists(x, s.cube('oif'));
      const away = m.and(m.diff(free, own), routing.relation);
      return m.or(m.and(m.and(free, own), lo), certain ? m.and(away, routing.certain) : away);
    };
    return { c: one(pair.c, true), p: one(pair.p, false) };
  }

  /**
   * The packets that have a route: to the host's own destination, or a route's. A NAT in OUTPUT
   * that leaves a packet without one makes the kernel drop it there, as it does one from a
   * loopback source that the NAT sends away (`loopbackSources`). As in `reroute`, the certain
   * side keeps only packets whose route is not assumed.
   */
  routable(pair: Pair, routing: Routing = this.routing): Pair {
    const s = this.space;
    const m = s.m;
    const own = s.eq('loc', 1n);
    const away = this.loopbackSources(routing);
    return {
      c: m.diff(m.and(pair.c, m.or(own, routing.certain)), away.any),
      p: m.diff(m.and(pair.p, m.or(own, this.routed('dst'))), away.dropped),
    };
  }

  private readonly loopbackSourceSets = new WeakMap<Routing, LoopbackSources>();

  /**
   * The host's own IPv4 packets from a loopback source (127.0.0.0/8) whose route leaves by
   * another interface than lo: the kernel does not route them unless `route_localnet` is on for
   * that interface (random seed 3215: nat OUTPUT's DNAT of 127.0.0.1:8080 to a container, and
   * the connection timed out). `dropped`: off there, as observed or taken (the kernel's
   * default); `any` adds where it is possibly on. IPv6 sends them: none. Made once per routing.
   */
  loopbackSources(routing: Routing = this.routing): LoopbackSources {
    const known = this.loopbackSourceSets.get(routing);
    if (known !== undefined) return known;
    const s = this.space;
    const m = s.m;
    let sets: LoopbackSources = { dropped: FALSE, any: FALSE };
    if (s.family === 'ipv4') {
      const on = this.localnetInterfaces('oif');
      const from = m.diff(s.loopbackOn('src'), s.eq('loc', 1n));
      const via = (oifs: Bdd): Bdd =>
        oifs === FALSE
          ? FALSE
          : m.and(from, m.exists(m.and(routing.relation, oifs), s.cube('oif')));
      const dropped = via(on.dropped);
      sets = { dropped, any: m.or(dropped, via(on.unknown)) };
    }
    this.loopbackSourceSets.set(routing, sets);
    return sets;
  }

  /**
   * REDIRECT's new destination, an address of the host (loc = 1): loopback for host-originated
   * packets; for arriving ones the first address of their interface, where the context lists it
   * (`redirectAddresses`), else possibly any of the host's non-loopback addresses (or any that
   * may be the host's), certainly none of them.
   */
  redirectTo(): Pair {
    if (this.redirectSets !== undefined) return this.redirectSets;
    const s = this.space;
    const m = s.m;
    const none = s.eq('iif', BigInt(s.interfaces.none));
    const loop = s.cidr('dst', s.family === 'ipv4' ? '127.0.0.1' : '::1') ?? FALSE;
    // the host's own packets go to its loopback address; one that arrives, to the first address
    // of its interface (none: the kernel drops it), where the snapshot lists it
    let exact = m.and(none, loop);
    let placed = none;
    for (const r of this.context.redirectAddresses ?? []) {
      const i = s.interfaces.names.indexOf(r.interface);
      if (i < 0 || s.interfaces.classOf(r.interface) !== i) continue;
      const on = s.eq('iif', BigInt(i));
      placed = m.or(placed, on);
      const to = r.address === null ? null : s.cidr('dst', r.address);
      if (to !== null && to !== undefined) exact = m.or(exact, m.and(on, to));
    }
    // elsewhere it is one of the host's addresses, which one not known: possibly any
    const own = m.diff(m.or(this.local('dst'), s.unknownOn('dst')), s.loopbackOn('dst'));
    const anyOwn = m.diff(own === FALSE ? loop : own, placed);
    const loc = s.eq('loc', 1n);
    this.redirectSets = { c: m.and(exact, loc), p: m.and(m.or(exact, anyOwn), loc) };
    return this.redirectSets;
  }

  private redirectSets: Pair | undefined;

  /**
   * Diagnose jumps to missing chains, jump loops (which the kernel refuses to load) and jumps
   * nested deeper than the walks follow.
   */
  private checkJumps(): void {
    // By chain number, in typed arrays: a kube-proxy table has ~40,000 chains and ~100,000
    // jumps, and maps keyed by chain names or chain objects made this a quarter of the compile.
    type Edge = { readonly to: number; readonly rule: Rule; loop: boolean };
    for (const t of this.ruleset.tables) {
      const id = tableId(t);
      const chains: CompiledChain[] = [];
      const numberOf = new Map<string, number>();
      for (const c of t.chains) {
        const compiled = this.chain(id, c.name);
        if (compiled === undefined || numberOf.has(c.name)) continue;
        numberOf.set(c.name, chains.length);
        chains.push(compiled);
      }
      const graph: Edge[][] = chains.map(() => []);
      const jumpedTo = new Uint8Array(chains.length);
      for (const [from, chain] of chains.entries()) {
        const edges = graph[from] as Edge[];
        for (const r of chain.chain.rules) {
          for (const a of ruleActions(r)) {
            if (a.kind !== 'jump') continue;
            const to = numberOf.get(a.chain);
            if (to === undefined) {
              this.diagnostics.push(
                diagnostic(
                  'jump-to-missing-chain',
                  'error',
                  `${id}/${chain.chain.name} rule ${r.index} jumps to chain ${a.chain}, which does not exist; the jump is treated as possibly returning`,
                  r.location,
                ),
              );
              continue;
            }
            const target = chains[to] as CompiledChain;
            if (jumpedTo[to] === 1) this.shared.add(target);
            jumpedTo[to] = 1;
            this.jumps.set(a, target);
            edges.push({ to, rule: r, loop: false });
          }
        }
      }
      const name = (n: number): string => (chains[n] as CompiledChain).chain.name;
      // Depth first, with a stack of its own (a table may nest thousands of chains): an edge
      // to a chain still open closes a loop; the chains in the order they are closed, reversed,
      // are the jumps' order without the loops.
      const OPEN = 1;
      const CLOSED = 2;
      const state = new Uint8Array(chains.length);
      const closed: number[] = [];
      const open: number[] = [];
      const next: number[] = [];
      for (let c = 0; c < chains.length; c++) {
        if (state[c] !== 0) continue;
        state[c] = OPEN;
        open.push(c);
        next.push(0);
        while (open.length > 0) {
          const top = open[open.length - 1] as number;
          const at = next[next.length - 1] as number;
          const e = graph[top]?.[at];
          if (e === undefined) {
            state[top] = CLOSED;
            closed.push(top);
            open.pop();
            next.pop();
            continue;
          }
          next[next.length - 1] = at + 1;
          if (state[e.to] === OPEN) {
            e.loop = true;
            this.diagnostics.push(
              diagnostic(
                'jump-loop',
                'error',
                `${id}/${name(top)} rule ${e.rule.index} jumps to ${name(e.to)}, closing a loop of chain jumps; the kernel refuses such a ruleset and the engine does not follow it`,
                e.rule.location,
              ),
            );
          } else if (state[e.to] === 0) {
            state[e.to] = OPEN;
            open.push(e.to);
            next.push(0);
          }
        }
      }
      // the longest chain of jumps leading to each chain: past MAX_JUMP_DEPTH, not followed
      const depth = new Int32Array(chains.length);
      for (let i = closed.length - 1; i >= 0; i--) {
        const c = closed[i] as number;
        const d = depth[c] as number;
        for (const e of graph[c] as Edge[]) {
          if (e.loop) continue;
          if (d >= MAX_JUMP_DEPTH) {
            this.diagnostics.push(
              diagnostic(
                'jump-too-deep',
                'error',
                `${id}/${name(c)} rule ${e.rule.index} jumps to ${name(e.to)}, ${d + 1} jumps deep; the engine follows at most ${MAX_JUMP_DEPTH} nested jumps: what a deeper chain does to its packets (accept, drop or return) is only possible`,
                e.rule.location,
              ),
            );
            break;
          }
          depth[e.to] = Math.max(depth[e.to] as number, d + 1);
        }
        if (d >= MAX_JUMP_DEPTH) break;
      }
    }
  }
}

/** Split a chain into runs of rules with pairwise disjoint keys (greedily, in order). */
export function buildRuns(s: HeaderSpace, rules: readonly CompiledRule[]): RuleRun[] {
  const m = s.m;
  const runs: RuleRun[] = [];
  const single = (i: number): void => {
    runs.push({
      from: i,
      to: i + 1,
      keys: TRUE,
      segments: [],
      readsTuple: rules[i]?.readsTuple ?? false,
    });
  };
  if (rules.length < MIN_RUN_CHAIN) {
    rules.forEach((_, i) => single(i));
    return runs;
  }
  let from = 0;
  // the union of the run's first j keys at [j]: each is made on the way to the next anyway
  let unions: Bdd[] = [FALSE];
  const close = (to: number): void => {
    if (to - from >= MIN_RUN) runs.push(run(m, rules, from, to, unions));
    else for (let i = from; i < to; i++) single(i);
  };
  rules.forEach((rule, i) => {
    const last = unions[unions.length - 1] ?? FALSE;
    const joined = rule.key === TRUE ? null : m.unionIfDisjoint(last, rule.key);
    if (joined !== null) {
      unions.push(joined);
      return;
    }
    close(i);
    from = i;
    unions = [FALSE, rule.key];
    if (rule.key === TRUE) {
      single(i);
      from = i + 1;
      unions = [FALSE];
    }
  });
  close(rules.length);
  return runs;
}

/**
 * A run of rules [from, to) and its segments. The keys are disjoint, so a segment's union is
 * the difference of two of the run's growing unions: one operation that makes only the result's
 * nodes, where uniting the segment's keys again walked every one of them (on a 1,000-rule chain,
 * 100,000 union-walk states for nothing the growing unions did not already hold).
 */
function run(
  m: BddManager,
  rules: readonly CompiledRule[],
  from: number,
  to: number,
  unions: readonly Bdd[],
): RuleRun {
  const size = Math.max(1, Math.round(Math.sqrt(to - from)));
  const segments: RunSegment[] = [];
  const union = (i: number): Bdd => unions[i - from] ?? FALSE;
  for (let a = from; a < to; a += size) {
    const b = Math.min(to, a + size);
    segments.push({
      from: a,
      to: b,
      keys: m.diff(union(b), union(a)),
      accepts: rules.slice(a, b).every(isPlainAccept),
    });
  }
  return {
    from,
    to,
    keys: union(to),
    segments,
    readsTuple: rules.slice(from, to).some((r) => r.readsTuple),
  };
}

/** An option on the connection's tuple (original or reply address or port). */
function isTupleOption(o: MatchOption): boolean {
  return o.type === 'ct-address' || o.type === 'ct-port';
}

/** Whether a rule's first match reads the connection's tuple (`CompiledRule.readsTuple`). */
function readsTuple(rule: Rule): boolean {
  return (
    rule.core.some(isTupleOption) || rule.matches.some((mod) => mod.options.some(isTupleOption))
  );
}

/** An ACCEPT with nothing to its match but its key (no uncertain or changing option). */
function isPlainAccept(r: CompiledRule): boolean {
  return (
    r.rule.steps === undefined &&
    r.rule.target?.kind === 'ACCEPT' &&
    r.match.c === r.match.p &&
    r.match.c === r.key
  );
}

/** See `CompiledRuleset.loopbackSources`. */
export interface LoopbackSources {
  readonly dropped: Bdd;
  readonly any: Bdd;
}

/** See `CompiledRuleset.martianSources`. */
export interface MartianSources {
  readonly dropped: Bdd;
  readonly doubtful: Bdd;
}

/** See `CompiledRuleset.loopbackArrivals`. */
export interface LoopbackArrivals {
  readonly routed: Bdd;
  readonly dropped: Bdd;
  readonly unknown: Bdd;
  /** All three. */
  readonly any: Bdd;
}

/**
 * What routing does with a loopback destination arriving on this interface (`exact`: the name is
 * one interface, not a class of several): IPv6 drops it; IPv4 routes it when `route_localnet` is
 * on for all interfaces or this one, and drops it when both are off. Otherwise it is not known:
 * `taken-off` (the kernel's default) or `unknown` (possibly routed), as the context says.
 */
export function loopbackRouting(
  family: Family,
  localnet: RouteLocalnet | undefined,
  name: string,
  exact: boolean,
): 'routed' | 'dropped' | 'taken-off' | 'unknown' {
  if (family === 'ipv6') return 'dropped';
  const on = interfaceSwitch(localnet, name, exact);
  if (on !== null) return on ? 'routed' : 'dropped';
  return localnet?.unknown === 'possible' ? 'unknown' : 'taken-off';
}

/**
 * Roughly how many BDD nodes an analysis makes per rule: about 260 on the generated kube-proxy
 * hosts (27.2M after the whole audit of 104k rules; the table is a power of two, so up to twice
 * this fits). Only sizes the unique table: a guess too low means the table grows as it always
 * could, too high costs memory it touches (at 512 the 104k host's table was 256 MB, not 128).
 */
const NODES_PER_RULE = 256;

/**
 * The most BDD nodes one ruleset's analysis may make: four times the usual per rule (or set
 * element), at least 8M (128 MB of store), at most 64M (1 GB). The 104k-rule host makes 27.2M;
 * a handful of rules matching bits of several fields apart can ask for billions
 * (`BddLimitError`).
 */
function nodeBudget(items: number): number {
  return Math.min(1 << 26, Math.max(1 << 23, items * NODES_PER_RULE * 4));
}

/** The bits set in a 32-bit mask, highest first. */
function maskBits(mask: number): number[] {
  const bits: number[] = [];
  for (let b = 31; b >= 0; b--) if (((mask >>> b) & 1) === 1) bits.push(b);
  return bits;
}
