/**
 * A ruleset and its network context compiled once into BDDs: the header space (with the interface
 * domain built from the context and every interface name the rules mention), each rule's
 * two-sided match, local addresses, the routing relation, and the diagnostics found on the way
 * (jump loops, jumps to missing chains, addresses of the wrong family).
 */
import { FALSE, TRUE, type Bdd } from './bdd.ts';
import { parseCidr } from './addr.ts';
import { encodeOption, encodeRule, portsSet, type MatchEnv, type Pair } from './match.ts';
import {
  buildInterfaceDomain,
  HeaderSpace,
  OTHER_INTERFACE,
  type FieldName,
  type Prefix,
} from './space.ts';
import type { NetworkContext } from './context.ts';
import type { RuleRef } from './types.ts';
import { diagnostic, type Diagnostic } from '../model/diagnostic.ts';
import { hookPipeline, type Pipeline, type PipelineEntry } from './pipeline.ts';
import {
  allOptions,
  everyOption,
  ruleActions,
  tableId,
  type Chain,
  type MatchOption,
  type Rule,
  type Ruleset,
} from '../model/ruleset.ts';

export interface CompiledRule {
  readonly rule: Rule;
  readonly ref: RuleRef;
  readonly match: Pair;
  readonly unknown: readonly MatchOption[];
  /** Key-group bucket of the rule's required destination (-1: none) and destination port. */
  readonly dstBucket: number;
  readonly dportBucket: number;
}

/** Buckets per key; a rule's bucket is a hash of the value it requires. */
export const BUCKETS = 32;
/** Chains shorter than this are walked rule by rule (the bucket tests would cost more). */
const MIN_GROUPED = 24;

/**
 * A chain's key groups: per bucket, the union of the destinations (destination ports) that the
 * bucket's rules require with a plain `-d` (`--dport`). A packet set disjoint from a bucket skips
 * all its rules with one test instead of one per rule (kube-proxy and Docker chains are thousands
 * of `-d`/`--dport` rules). Sound because within a chain the walked set's destination and port
 * only shrink (they change only in terminal NAT targets).
 */
export interface KeyGroups {
  readonly dst: readonly Bdd[];
  readonly dport: readonly Bdd[];
}

export interface CompiledChain {
  readonly table: string;
  readonly chain: Chain;
  readonly rules: readonly CompiledRule[];
  readonly policyRef: RuleRef;
  readonly groups: KeyGroups;
}

interface CompiledRoute extends Prefix {
  readonly device: string;
  readonly assumed: boolean;
}

/** How a rule is printed in references and traces (the canonical printer when available). */
export type RulePrinter = (rule: Rule) => string;

export class CompiledRuleset {
  readonly ruleset: Ruleset;
  readonly context: NetworkContext;
  readonly space: HeaderSpace;
  readonly diagnostics: Diagnostic[] = [];
  readonly env: MatchEnv;
  /** dst → oif for forwarded packets (longest prefix wins). */
  readonly routeRelation: Bdd;
  /** Destinations whose route (the longest matching prefix) is observed or derived, not assumed. */
  readonly certainlyRouted: Bdd;
  /** The base chains of every hook, in the order the kernel runs them. */
  readonly pipeline: Pipeline;
  private readonly chains = new Map<string, CompiledChain>();
  private readonly routedCache = new Map<FieldName, Bdd>();
  private readonly routes: readonly CompiledRoute[];

  constructor(ruleset: Ruleset, context: NetworkContext, print: RulePrinter) {
    this.ruleset = ruleset;
    this.context = context;
    const family = ruleset.family;
    const listed = new Set<string>(context.interfaces);
    const prefixes = new Set<string>();
    // a route out of an interface nobody named goes to the class of every unlisted name
    for (const r of context.routes) if (r.device !== OTHER_INTERFACE) listed.add(r.device);
    listed.add('lo');
    for (const t of ruleset.tables) {
      for (const c of t.chains) {
        for (const d of c.base?.devices ?? []) listed.add(d);
        for (const r of c.rules) {
          for (const o of everyOption(r)) {
            if (o.type !== 'interface') continue;
            if (o.wildcard) prefixes.add(o.name);
            else listed.add(o.name);
          }
        }
      }
    }
    const loopback = family === 'ipv4' ? '127.0.0.0/8' : '::1/128';
    const prefixesOf = (texts: readonly string[]): Prefix[] =>
      texts.flatMap((text) => {
        // a local address may come with its prefix; only the address itself is local
        const addr = text.includes('/') && text !== loopback ? (text.split('/')[0] ?? text) : text;
        const c = parseCidr(addr, family);
        return c === null ? [] : [c];
      });
    const complete = context.localAddressesComplete ?? true;
    this.space = new HeaderSpace(family, buildInterfaceDomain(listed, prefixes), {
      local: prefixesOf([...context.localAddresses, loopback]),
      complete,
      foreign: complete
        ? []
        : (context.foreignAddresses ?? []).flatMap((t) => {
            const c = parseCidr(t, family);
            return c === null ? [] : [c];
          }),
    });
    const routes: CompiledRoute[] = [];
    for (const r of context.routes) {
      const c = parseCidr(
        r.destination === 'default' ? (family === 'ipv4' ? '0.0.0.0/0' : '::/0') : r.destination,
        family,
      );
      if (c !== null) routes.push({ ...c, device: r.device, assumed: r.provenance === 'assumed' });
    }
    routes.sort((a, b) => b.length - a.length);
    this.routes = routes;
    const built = this.buildRoutes();
    this.routeRelation = built.relation;
    this.certainlyRouted = built.certain;
    const connmarkZero = !ruleset.tables.some((t) =>
      t.chains.some((c) => c.rules.some((r) => ruleActions(r).some((a) => a.kind === 'CONNMARK'))),
    );
    this.env = {
      space: this.space,
      local: (f) => this.local(f),
      unknown: (f) =>
        f === 'src' || f === 'dst' || f === 'odst' ? this.space.unknownOn(f) : FALSE,
      routed: (f) => this.routed(f),
      connmarkZero,
    };
    for (const t of ruleset.tables) {
      const id = tableId(t);
      for (const c of t.chains) {
        const policyRef: RuleRef = {
          table: id,
          chain: c.name,
          index: null,
          file: c.location.file,
          line: c.location.line,
          text: '',
        };
        const grouped = c.rules.length >= MIN_GROUPED;
        const dstGroups: Bdd[] = grouped ? new Array<Bdd>(BUCKETS).fill(FALSE) : [];
        const dportGroups: Bdd[] = grouped ? new Array<Bdd>(BUCKETS).fill(FALSE) : [];
        const rules = c.rules.map((rule): CompiledRule => {
          const enc = encodeRule(this.env, rule);
          const key = grouped ? this.ruleKeys(rule) : { dst: null, dport: null };
          const dstBucket = key.dst === null ? -1 : key.dst.bucket;
          const dportBucket = key.dport === null ? -1 : key.dport.bucket;
          const m = this.space.m;
          if (key.dst !== null)
            dstGroups[dstBucket] = m.or(dstGroups[dstBucket] ?? FALSE, key.dst.set);
          if (key.dport !== null)
            dportGroups[dportBucket] = m.or(dportGroups[dportBucket] ?? FALSE, key.dport.set);
          return {
            rule,
            ref: {
              table: id,
              chain: c.name,
              index: rule.index,
              file: rule.location.file,
              line: rule.location.line,
              text: print(rule),
            },
            match: enc.match,
            unknown: enc.unknown,
            dstBucket,
            dportBucket,
          };
        });
        this.chains.set(`${id}\u0000${c.name}`, {
          table: id,
          chain: c,
          rules,
          policyRef,
          groups: { dst: dstGroups, dport: dportGroups },
        });
      }
    }
    this.checkJumps();
    const { pipeline, notes } = hookPipeline(ruleset);
    this.pipeline = pipeline;
    this.diagnostics.push(...notes);
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

  /** The destination / destination-port sets a rule requires outright (non-negated options). */
  private ruleKeys(rule: Rule): {
    dst: { set: Bdd; bucket: number } | null;
    dport: { set: Bdd; bucket: number } | null;
  } {
    let dst: { set: Bdd; bucket: number } | null = null;
    let dport: { set: Bdd; bucket: number } | null = null;
    for (const o of allOptions(rule)) {
      if (o.negated) continue;
      if (o.type === 'address' && o.field === 'dst' && o.value.prefixLength !== null) {
        const a = parseCidr(o.value.address, this.space.family);
        if (a === null) continue;
        const set = this.space.prefix('dst', a.value, o.value.prefixLength);
        dst = { set, bucket: Number(a.value % BigInt(BUCKETS)) };
      } else if (o.type === 'port' && o.field === 'dst' && o.ranges.length > 0) {
        dport = {
          set: portsSet(this.space, 'dport', o.ranges),
          bucket: (o.ranges[0]?.from ?? 0) % BUCKETS,
        };
      }
    }
    return { dst, dport };
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

  chain(table: string, name: string): CompiledChain | undefined {
    return this.chains.get(`${table}\u0000${name}`);
  }

  /** Addresses known to be the host's (loopback included), on an address field. */
  local(field: FieldName): Bdd {
    return field === 'src' || field === 'dst' || field === 'odst'
      ? this.space.localOn(field)
      : FALSE;
  }

  /** Addresses some route covers, on a field. */
  routed(field: FieldName): Bdd {
    let r = this.routedCache.get(field);
    if (r === undefined) {
      r = FALSE;
      for (const x of this.routes)
        r = this.space.m.or(r, this.space.prefix(field, x.value, x.length));
      this.routedCache.set(field, r);
    }
    return r;
  }

  /** The routing relation (longest prefix wins) and where it rests on no assumed route. */
  private buildRoutes(): { relation: Bdd; certain: Bdd } {
    const s = this.space;
    const m = s.m;
    let remaining = TRUE;
    let relation = FALSE;
    let certain = FALSE;
    for (const r of this.routes) {
      const region = m.and(s.prefix('dst', r.value, r.length), remaining);
      if (region === FALSE) continue;
      relation = m.or(relation, m.and(region, s.eq('oif', BigInt(s.interfaces.classOf(r.device)))));
      if (!r.assumed) certain = m.or(certain, region);
      remaining = m.diff(remaining, region);
    }
    return { relation, certain };
  }

  /**
   * Route packets away from the host (loc = 0): the egress interface from the destination. The
   * certain side keeps only packets whose route is not assumed.
   */
  route(pair: Pair): Pair {
    const m = this.space.m;
    const oifCube = this.space.cube('oif');
    const go = (x: Bdd): Bdd => m.and(m.exists(x, oifCube), this.routeRelation);
    const p = go(pair.p);
    const c = pair.c === pair.p ? p : go(pair.c);
    return { c: m.and(c, this.certainlyRouted), p };
  }

  /** Set the egress interface from the destination: the host's own → lo, else its route. */
  reroute(pair: Pair): Pair {
    const s = this.space;
    const m = s.m;
    const lo = s.eq('oif', BigInt(s.interfaces.classOf('lo')));
    const own = s.eq('loc', 1n);
    const one = (x: Bdd, certain: boolean): Bdd => {
      const free = m.exists(x, s.cube('oif'));
      const away = m.and(m.diff(free, own), this.routeRelation);
      return m.or(m.and(m.and(free, own), lo), certain ? m.and(away, this.certainlyRouted) : away);
    };
    return { c: one(pair.c, true), p: one(pair.p, false) };
  }

  /**
   * REDIRECT's new destination, an address of the host (loc = 1): the ingress interface's own
   * address for arriving packets, which the context does not name, so any of the host's
   * non-loopback addresses (or any that may be the host's); loopback for host-originated ones.
   */
  redirectTo(): Bdd {
    const s = this.space;
    const m = s.m;
    const loopback = s.cidr('dst', s.family === 'ipv4' ? '127.0.0.0/8' : '::1') ?? FALSE;
    const own = m.diff(m.or(this.local('dst'), s.unknownOn('dst')), loopback);
    const none = s.eq('iif', BigInt(s.interfaces.none));
    const loop = s.cidr('dst', s.family === 'ipv4' ? '127.0.0.1' : '::1') ?? FALSE;
    const to = m.or(m.diff(own === FALSE ? loop : own, none), m.and(none, loop));
    return m.and(to, s.eq('loc', 1n));
  }

  /** Diagnose jumps to missing chains and jump loops (which the kernel refuses to load). */
  private checkJumps(): void {
    for (const t of this.ruleset.tables) {
      const id = tableId(t);
      const graph = new Map<string, { to: string; rule: Rule }[]>();
      for (const c of t.chains) {
        const edges: { to: string; rule: Rule }[] = [];
        for (const r of c.rules) {
          for (const a of ruleActions(r)) {
            if (a.kind !== 'jump') continue;
            if (this.chain(id, a.chain) === undefined) {
              this.diagnostics.push(
                diagnostic(
                  'jump-to-missing-chain',
                  'error',
                  `${id}/${c.name} rule ${r.index} jumps to chain ${a.chain}, which does not exist; the jump is treated as possibly returning`,
                  r.location,
                ),
              );
            } else edges.push({ to: a.chain, rule: r });
          }
        }
        graph.set(c.name, edges);
      }
      const state = new Map<string, 1 | 2>();
      const visit = (name: string): void => {
        state.set(name, 1);
        for (const e of graph.get(name) ?? []) {
          const st = state.get(e.to);
          if (st === 1) {
            this.diagnostics.push(
              diagnostic(
                'jump-loop',
                'error',
                `${id}/${name} rule ${e.rule.index} jumps to ${e.to}, closing a loop of chain jumps; the kernel refuses such a ruleset and the engine does not follow it`,
                e.rule.location,
              ),
            );
          } else if (st === undefined) visit(e.to);
        }
        state.set(name, 2);
      };
      for (const c of t.chains) if (!state.has(c.name)) visit(c.name);
    }
  }
}
