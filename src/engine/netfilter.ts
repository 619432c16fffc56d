/**
 * The symbolic netfilter path: chains walked over two-sided packet sets, tables in hook order,
 * NAT rewriting, routing from the context. One `Walk` answers one query; it records what reaches
 * every rule and memoises a chain's effect per input set (a chain entered twice with the same
 * set is not walked twice).
 */
import { FALSE, TRUE, type Bdd } from './bdd.ts';
import { addressValue } from './addr.ts';
import { EMPTY, type Pair } from './match.ts';
import {
  MAX_JUMP_DEPTH,
  type CompiledChain,
  type CompiledRuleset,
  type CompiledRule,
  type Routing,
  type RuleRun,
} from './compile.ts';
import type { PipelineEntry } from './pipeline.ts';
import type { FieldName, HeaderSpace } from './space.ts';
import type { RuleRef } from './types.ts';
import type { Hook } from '../model/trace.ts';
import {
  untracks,
  type NatRange,
  type PortRange,
  type Target,
  type VmapEntry,
} from '../model/ruleset.ts';

export type OutcomeKind = 'accept' | 'drop' | 'reject';

export interface Outcome {
  readonly kind: OutcomeKind;
  readonly hook: Hook;
  readonly set: Pair;
  readonly ref: RuleRef;
  readonly reason: string;
  /** An accept by a NAT target: the connection got its NAT binding here. */
  readonly nat?: true;
  /**
   * A NAT accept's packets as they came (`set` holds them rewritten), kept where the walk makes
   * the rewrite a possible stop (`ReachQuery.natStops`): a stop speaks of the packet it met.
   */
  readonly sent?: Pair;
  /**
   * The union of this accept's set and those of the other plain accepts of its run segment,
   * which all carry this same object: what the chain accepted there, without uniting them.
   */
  readonly together?: Pair;
}

/**
 * Appends the items one by one. A spread into `push` passes them as call arguments, and a
 * chain whose jumps lead to 130,000 outcomes (a big kube-proxy host's NAT accepts) overflowed
 * the stack: discovery failed and no exposure was listed.
 */
export function append<T>(to: T[], items: readonly T[]): void {
  for (const x of items) to.push(x);
}

export function union(s: HeaderSpace, a: Pair, b: Pair): Pair {
  if (a.p === FALSE) return b;
  if (b.p === FALSE) return a;
  return { c: s.m.or(a.c, b.c), p: s.m.or(a.p, b.p) };
}

/** Union of many two-sided sets, each side in one walk (BddManager.orAll). */
export function unionAll(s: HeaderSpace, sets: readonly Pair[]): Pair {
  const live = sets.filter((x) => x.p !== FALSE);
  if (live.length <= 1) return live[0] ?? EMPTY;
  if (live.length === 2) return union(s, live[0] ?? EMPTY, live[1] ?? EMPTY);
  const c = s.m.orAll(live.map((x) => x.c));
  return live.every((x) => x.c === x.p) ? { c, p: c } : { c, p: s.m.orAll(live.map((x) => x.p)) };
}

export function andSet(s: HeaderSpace, a: Pair, b: Bdd): Pair {
  const c = s.m.and(a.c, b);
  return a.c === a.p ? { c, p: c } : { c, p: s.m.and(a.p, b) };
}

/** Every packet, certainly: the gate of a chain that sees all of them. */
const ALL: Pair = { c: TRUE, p: TRUE };

function mapPair(a: Pair, f: (x: Bdd) => Bdd): Pair {
  const c = f(a.c);
  return a.c === a.p ? { c, p: c } : { c, p: f(a.p) };
}

interface NatTarget {
  readonly cube: Bdd;
  readonly cubeWithPort: Bdd;
  /** The new destination (with its host bit) and the DNAT flag. */
  readonly value: Bdd;
  /** The same, less addresses that may or may not be the host's. */
  readonly valueCertain: Bdd;
  readonly ports: Bdd | null;
  /** `value` and `valueCertain` with the new port (FALSE when the range keeps the port). */
  readonly valueWithPort: Bdd;
  readonly valueCertainWithPort: Bdd;
  /**
   * `value` and `valueCertain` with the range's first port, where the range has more than one
   * and the kernel's pick is known (`natPort`): what a port outside the range becomes.
   */
  readonly valueWithFirst: Bdd;
  readonly valueCertainWithFirst: Bdd;
  /** Whether the port is picked as `natPort` says: a range of several ports, no base. */
  readonly keepsInRange: boolean;
}

/** A set, or a function that builds it when read (a walk records many sets few ever read). */
export type LazyPair = Pair | (() => Pair);

export function built(set: LazyPair): Pair {
  return typeof set === 'function' ? set() : set;
}

export interface RuleVisits {
  readonly hooks: Set<Hook>;
  /** One entry per visit. */
  readonly reach: LazyPair[];
  /** One entry per visit that matched something (never an empty possible side). */
  readonly matched: (Pair | LaterMatch)[];
}

/**
 * What matched a rule that passes every packet on unchanged (no target, LOG, …): nothing in the
 * walk needs the set, so it is built when read; whether its certain side is empty is known.
 */
export interface LaterMatch {
  readonly build: () => Pair;
  readonly certainEmpty: boolean;
}

export function diffSet(s: HeaderSpace, a: Pair, b: Bdd): Pair {
  const c = s.m.diff(a.c, b);
  return a.c === a.p ? { c, p: c } : { c, p: s.m.diff(a.p, b) };
}

interface ChainResult {
  readonly returned: Pair;
  readonly outcomes: readonly Outcome[];
}

/** A chain walked from a hook with a set whose possible side is known from the memo's key. */
interface ChainVisit {
  readonly hook: Hook;
  readonly looped: boolean;
  /** Entered from a base chain before conntrack (`Walk.enteredBefore`). */
  readonly before: boolean;
  readonly c: Bdd;
  readonly result: ChainResult;
}

export class Walk {
  /** Per rule (when recording): the hooks, the sets that reached it and those it matched. */
  readonly reached = new Map<CompiledRule, RuleVisits>();
  readonly uncertain = new Set<CompiledRule>();
  /** Per chain and input set (its possible side), the walks made of it. */
  private readonly memo = new Map<CompiledChain, Map<Bdd, ChainVisit[]>>();
  private readonly nf: CompiledRuleset;
  private readonly s: HeaderSpace;
  private readonly record: boolean;

  /** Walk every chain rule by rule, ignoring runs (the reference the run walk is tested against). */
  private readonly plain: boolean;

  /**
   * Whether the caller reads which rule accepted what (the accepts among the outcomes). A walk
   * that needs only what passes (discovery) takes a run segment's accepts as their union.
   */
  private readonly attributes: boolean;

  /** Whether a NAT rewrite is also a possible stop (`ReachQuery.natStops`). */
  private readonly natStops: boolean;

  /** The packets are replies (`ReachQuery.replies`): a match on the tuple is undecided. */
  private readonly replies: boolean;
  /** Where the walk's packets are routed (`ReachQuery.answersVia`; `runPath` reads it too). */
  readonly routing: Routing;
  /**
   * The packets are connections' later packets in their own direction (`ReachQuery.onward`,
   * ESTABLISHED): the NAT chains read them as their first packets (NEW), whose NAT conntrack
   * gives them.
   */
  private readonly onward: boolean;
  /**
   * The NEW packets are connections' later packets conntrack picks up as new ones
   * (`ReachQuery.pickedUp`): their TCP flags are not a SYN's.
   */
  private readonly pickedUp: boolean;
  /** The hop limit every packet of the walk carries, where it is fixed (`MatchEnv.hopLimit`). */
  private readonly hopLimit: number | undefined;
  private readonly widened = new Map<CompiledRule, Pair>();
  private readonly widenedLooped = new Map<CompiledRule, Pair>();

  /**
   * Walking the hook that receives the host's own packet again over loopback (`natDone`): it
   * keeps the connection conntrack gave it in OUTPUT, so iptables' raw table reads that
   * connection (`CompiledRuleset.trackedMatch`) and a NOTRACK leaves it tracked (the kernel's
   * notrack skips a packet that has one).
   */
  private looped = false;
  /**
   * The base chain being walked runs before conntrack: an nftables chain it calls that is also
   * called from after conntrack reads the packet as this caller does (as the kernel does).
   */
  private enteredBefore = false;

  /**
   * Walking a base chain that passes every packet (`PipelineEntry.passesEvery`): a match it
   * cannot decide makes nothing uncertain, and a shared chain's walk is not remembered (a later
   * walk of it from another chain would miss the doubts it holds).
   */
  private settled = false;

  constructor(
    nf: CompiledRuleset,
    record: boolean,
    options: {
      readonly plain?: boolean;
      readonly attributes?: boolean;
      readonly natStops?: boolean;
      readonly replies?: boolean;
      readonly routing?: Routing;
      readonly onward?: boolean;
      readonly pickedUp?: boolean;
      readonly hopLimit?: number;
    } = {},
  ) {
    this.nf = nf;
    this.s = nf.space;
    this.record = record;
    this.plain = options.plain ?? false;
    this.attributes = options.attributes ?? true;
    this.natStops = options.natStops ?? false;
    this.replies = options.replies ?? false;
    this.routing = options.routing ?? nf.routing;
    this.onward = options.onward ?? false;
    this.pickedUp = options.pickedUp ?? false;
    this.hopLimit = options.hopLimit;
  }

  /** The stops a NAT chain read on later packets as their first (`onward`), as later packets. */
  private later(outcomes: Outcome[], asFirst: boolean): Outcome[] {
    if (!asFirst) return outcomes;
    return outcomes.map((o) =>
      o.kind === 'accept' ? o : { ...o, set: this.withState(o.set, 'ESTABLISHED') },
    );
  }

  /**
   * A later packet as its connection's first (`onward`: NEW, its DNAT state not yet set, as
   * the NAT chain met it), or back: the packets' state set.
   */
  private withState(pair: Pair, state: 'NEW' | 'ESTABLISHED'): Pair {
    const s = this.s;
    const value = state === 'NEW' ? s.m.and(s.isNew, s.eq('dnat', 0n)) : s.isEstablished;
    const fields: FieldName[] = state === 'NEW' ? ['state', 'dnat'] : ['state'];
    const c = s.assign(pair.c, fields, value);
    return { c, p: pair.c === pair.p ? c : s.assign(pair.p, fields, value) };
  }

  /**
   * A rule's match as this walk reads it: for replies, one on the connection's tuple holds or
   * not by their connection's first packet, which they do not carry: undecided unless NEW
   * (before conntrack there is no connection to read: `connectionless` decides).
   */
  private matchOf(rule: CompiledRule): Pair {
    const pickedUp = this.pickedUp ? this.nf.pickedUpMatch(rule) : null;
    if (pickedUp !== null) return pickedUp;
    const byHopLimit =
      this.hopLimit === undefined ? null : this.nf.hopLimitMatch(rule, this.hopLimit);
    if (byHopLimit !== null) return byHopLimit;
    const side = this.nf.conntrackSide(rule.ref.table, rule.ref.chain);
    // a chain called from both sides of conntrack is read as the base chain walked calls it
    const both = side === 'both';
    const before = side === 'before' || (both && this.enteredBefore);
    const tracked = this.looped && before;
    const match = tracked
      ? this.nf.trackedMatch(rule)
      : both
        ? before
          ? this.nf.rawMatch(rule)
          : this.nf.trackedMatch(rule)
        : rule.match;
    if (!this.replies || !rule.readsTuple || (before && !tracked)) return match;
    // (a chain of both sides read after conntrack: as `trackedMatch` reads, both ways)
    const after = tracked || both;
    const widened = after ? this.widenedLooped : this.widened;
    let w = widened.get(rule);
    if (w === undefined) {
      const m = this.s.m;
      const isNew = this.s.isNew;
      w = {
        c: m.and(match.c, isNew),
        p: m.or(match.p, m.diff(this.nf.untupledMatch(rule, after).p, isNew)),
      };
      widened.set(rule, w);
    }
    return w;
  }

  /**
   * Walk one base chain of the hook's pipeline: what passes without a NAT binding (`rest`), the
   * NAT accepts one by one (`natted`, in walk order), and what stops.
   */
  table(
    hook: Hook,
    entry: PipelineEntry,
    input: Pair,
  ): { rest: Pair; natted: Pair[]; outcomes: Outcome[] } {
    const chain = this.nf.chain(entry.tableId, entry.chain.name);
    if (chain === undefined || input.p === FALSE) return { rest: input, natted: [], outcomes: [] };
    this.enteredBefore = this.nf.beforeConntrack(entry.tableId, entry.chain.name);
    const r = this.chain(hook, chain, input, []);
    const outcomes = [...r.outcomes];
    if (r.returned.p !== FALSE) {
      const policy = chain.chain.policy ?? 'ACCEPT';
      outcomes.push({
        kind: policy === 'ACCEPT' ? 'accept' : 'drop',
        hook,
        set: r.returned,
        ref: chain.policyRef,
        reason: `policy ${policy}`,
      });
    }
    const natted: Pair[] = [];
    const others: Pair[] = [];
    // a segment's accepts count once, as their union (on a 1,000-rule ACCEPT chain, uniting
    // them one by one was a tenth of a cold process)
    const together = new Set<Pair>();
    const doubts: Outcome[] = [];
    for (const o of outcomes) {
      if (o.kind !== 'accept') continue;
      if (o.nat === true && this.natStops)
        // it may leave as sent (a MASQUERADE to the address it has) or not: possibly stopped
        doubts.push({
          kind: 'drop',
          hook,
          set: { c: FALSE, p: (o.sent ?? o.set).p },
          ref: o.ref,
          reason: `${o.reason} rewrites it as a new connection`,
        });
      if (o.nat === true) natted.push(o.set);
      else if (o.together === undefined) others.push(o.set);
      else if (!together.has(o.together)) {
        together.add(o.together);
        others.push(o.together);
      }
    }
    return {
      rest: unionAll(this.s, others),
      natted,
      outcomes: [
        ...outcomes.filter((o) => o.kind !== 'accept' || (entry.attributes && this.attributes)),
        ...doubts,
      ],
    };
  }

  /** The base chains of a hook in priority order (see `hookParts`), what passes as one set. */
  hook(
    hook: Hook,
    input: Pair,
    natDone = false,
  ): { pass: Pair; outcomes: Outcome[]; unrouted: Pair } {
    const r = this.hookParts(hook, input, Infinity, natDone);
    return { pass: unionAll(this.s, r.parts), outcomes: r.outcomes, unrouted: r.unrouted };
  }

  /**
   * The base chains of a hook in priority order. An accept ends only its own chain (the next
   * one still sees the packet), a drop is final. NAT chains see the first packet of a
   * connection only, and only until one of them gives it a binding; ingress and egress chains
   * only packets on their devices.
   *
   * What passes comes as parts whose union it is: the NAT accepts in groups of at most
   * `natGroup` consecutive ones, apart from the rest. A netfilter verdict is per packet, so the
   * later hooks may walk each part alone; and uniting the thousands of DNAT pieces of a
   * kube-proxy host is the costliest step of a walk (each endpoint's hairpin mark splits the
   * united set under the source, see docs/performance.md), while pieces of one service, adjacent
   * in walk order, unite cheaply. `unrouted`: what OUTPUT's NAT left without a route (the kernel
   * drops it there).
   */
  hookParts(
    hook: Hook,
    input: Pair,
    natGroup: number,
    natDone = false,
  ): { parts: Pair[]; outcomes: Outcome[]; unrouted: Pair } {
    const s = this.s;
    const m = s.m;
    const entries = this.nf.pipeline[hook];
    let unrouted = EMPTY;
    let parts = [input];
    // `natDone`: the connection got its NAT bindings on an earlier hook (the host's own packet
    // coming back in over loopback), so no NAT chain here sees it
    let bound = natDone ? ALL : EMPTY;
    this.looped = natDone;
    const outcomes: Outcome[] = [];
    // the last NAT chain of the hook (found once: a hook may hold thousands of base chains)
    let lastNat = -1;
    entries.forEach((e, k) => {
      if (e.type === 'nat') lastNat = k;
    });
    entries.forEach((entry, k) => {
      let gate: Pair = entry.stage === 'hook' ? ALL : this.nf.deviceGate(entry);
      // a later packet (`onward`) meets the NAT chains as its connection's first one
      const asFirst = this.onward && entry.type === 'nat';
      if (entry.type === 'nat') {
        const first = asFirst ? s.isEstablished : s.isNew;
        gate = {
          c: m.and(gate.c, m.diff(first, bound.p)),
          p: m.and(gate.p, m.diff(first, bound.c)),
        };
      }
      // the NAT bindings made here matter only to a later NAT chain of the same hook
      const laterNat = lastNat > k;
      const next: Pair[] = [];
      for (const cur of parts) {
        const enter = gate === ALL ? cur : { c: m.and(cur.c, gate.c), p: m.and(cur.p, gate.p) };
        if (entry.passesEvery) {
          // every packet passes as it came: the walk is read only for who matched and accepted
          // (a NAT chain's rewrites are read where they are stops)
          if (
            this.record ||
            (entry.attributes && this.attributes) ||
            (this.natStops && entry.type === 'nat')
          ) {
            this.settled = true;
            try {
              const seen = asFirst ? this.withState(enter, 'NEW') : enter;
              append(outcomes, this.later(this.table(hook, entry, seen).outcomes, asFirst));
            } finally {
              this.settled = false;
            }
          }
          next.push(cur);
          continue;
        }
        const bypass =
          gate === ALL ? EMPTY : { c: m.diff(cur.c, gate.p), p: m.diff(cur.p, gate.c) };
        let r = this.table(hook, entry, asFirst ? this.withState(enter, 'NEW') : enter);
        if (asFirst)
          r = {
            ...r,
            outcomes: this.later(r.outcomes, true),
            rest: this.withState(r.rest, 'ESTABLISHED'),
            natted: r.natted.map((x) => this.withState(x, 'ESTABLISHED')),
          };
        append(outcomes, r.outcomes);
        next.push(union(s, r.rest, bypass));
        for (let i = 0; i < r.natted.length; i += natGroup)
          next.push(unionAll(s, r.natted.slice(i, i + natGroup)));
        if (entry.type === 'nat' && laterNat) bound = union(s, bound, unionAll(s, r.natted));
      }
      parts = next.filter((p) => p.p !== FALSE);
      if (hook === 'OUTPUT' && entry.type === 'nat') {
        // What a DNAT sent elsewhere is routed again, and dropped without a route (the kernel
        // re-routes only a packet whose destination NAT changed: random seed nd-230, the host's
        // neighbour solicitation, sent straight out of its interface to a multicast group no
        // route names, was dropped here, and an OUTPUT rule rejecting it was never met). The
        // hook's later chains still see the interface first routed to (the kernel's hook state
        // keeps it), POSTROUTING the new one (`runPath` routes again after the hook).
        const changed = s.eq('dnat', 1n);
        parts = parts.map((p) => {
          const moved = { c: m.and(p.c, changed), p: m.and(p.p, changed) };
          if (moved.p === FALSE) return p;
          const kept = this.nf.routable(moved, this.routing);
          const lost = { c: m.diff(moved.c, kept.p), p: m.diff(moved.p, kept.c) };
          if (lost.p === FALSE) return p;
          unrouted = union(s, unrouted, lost);
          return { c: m.diff(p.c, lost.p), p: m.diff(p.p, lost.c) };
        });
      }
    });
    return { parts, outcomes, unrouted };
  }

  private chain(
    hook: Hook,
    chain: CompiledChain,
    input: Pair,
    stack: readonly CompiledChain[],
  ): ChainResult {
    // A repeated visit with the same set records nothing new either. Only a chain several rules
    // jump to is remembered: another is entered again with the same set only when its caller
    // is, and the caller's memo answers then (kube-proxy's 39,000 endpoint chains, each entered
    // once, made as many maps and no hit).
    let sets: Map<Bdd, ChainVisit[]> | undefined;
    if (this.nf.sharedChain(chain)) {
      sets = this.memo.get(chain);
      if (sets === undefined) this.memo.set(chain, (sets = new Map<Bdd, ChainVisit[]>()));
    }
    const seen = sets?.get(input.p);
    const looped = this.looped;
    const before = this.enteredBefore;
    const hit = seen?.find(
      (x) => x.hook === hook && x.looped === looped && x.before === before && x.c === input.c,
    );
    if (hit !== undefined) return hit.result;
    const outcomes: Outcome[] = [];
    const returned: Pair[] = [];
    let cur = input;
    const inner = [...stack, chain];
    for (const run of chain.runs) {
      // a run's keys are the rules' own matches: not what a rule reads otherwise (`matchOf`)
      const side = this.nf.conntrackSide(chain.table, chain.chain.name);
      const reread =
        (this.replies && run.readsTuple) || (looped && side === 'before') || side === 'both';
      if (run.to - run.from > 1 && !this.plain && !reread) {
        if (cur.p === FALSE) break;
        cur = this.run(hook, chain, run, cur, inner, outcomes, returned);
        continue;
      }
      for (let i = run.from; i < run.to && cur.p !== FALSE; i++) {
        const rule = chain.rules[i];
        if (rule === undefined) continue;
        if (this.record) this.visit(rule, hook, cur);
        const step = this.step(hook, chain, rule, cur, inner);
        if (step === null) continue;
        append(outcomes, step.outcomes);
        returned.push(step.returned);
        cur = step.next;
      }
    }
    returned.push(cur);
    const result = { returned: unionAll(this.s, returned), outcomes };
    if (this.settled) return result;
    if (seen !== undefined) seen.push({ hook, looped, before, c: input.c, result });
    else sets?.set(input.p, [{ hook, looped, before, c: input.c, result }]);
    return result;
  }

  /**
   * A run of rules with disjoint keys (see RuleRun): the arriving set is split once by the
   * run's key union, each rule walks only the part inside its own key, and the rest passes
   * untouched. What reaches a rule is what the rule-by-rule walk would give it; each rule's
   * match and target see exactly the same packets, so the results are the same sets.
   */
  private run(
    hook: Hook,
    chain: CompiledChain,
    run: RuleRun,
    cur: Pair,
    stack: readonly CompiledChain[],
    outcomes: Outcome[],
    returned: Pair[],
  ): Pair {
    const s = this.s;
    const hit = andSet(s, cur, run.keys);
    if (hit.p === FALSE) {
      if (this.record) for (let i = run.from; i < run.to; i++) this.visitRule(chain, i, hook, cur);
      return cur;
    }
    const rest = hit.c === cur.c && hit.p === cur.p ? EMPTY : diffSet(s, cur, run.keys);
    const count = run.to - run.from;
    // per rule of the run: the part inside its key, and what continues after it
    const parts: LazyPair[] = new Array<LazyPair>(count).fill(EMPTY);
    const nexts: Pair[] = new Array<Pair>(count).fill(EMPTY);
    // The part's outline, the first test of each segment (made for several segments), and of
    // each rule where it told some segments apart (on a chain the part meets all over, testing
    // every rule costs more than it saves).
    const m = s.m;
    const outline = run.segments.length > 1 ? this.nf.outline(hit.p) : TRUE;
    const meets = run.segments.map(
      (seg) => outline === TRUE || m.intersects(outline, this.nf.keyOutline(seg.keys)),
    );
    const ruleOutlines = meets.includes(false);
    for (const [k, seg] of run.segments.entries()) {
      if (meets[k] === false) continue;
      const h = run.segments.length === 1 ? hit : andSet(s, hit, seg.keys);
      if (h.p === FALSE) continue;
      if (seg.accepts && !this.attributes) {
        // All of h is accepted (the segment's parts together are h), and no one asks by which
        // rule: the ~1,000 per-rule parts of an ACCEPT list were nearly all of the BDD work of
        // a small host's discovery. A recording walk notes each rule's part, built when read.
        // (The outcome carries the union to `table`, which keeps no accept of such a walk: the
        // segment's first rule stands for it there.)
        const first = chain.rules[seg.from];
        if (first !== undefined)
          outcomes.push({
            kind: 'accept',
            hook,
            set: h,
            ref: first.ref,
            reason: 'ACCEPT',
            together: h,
          });
        if (this.record)
          this.acceptedLater(chain, seg, hit, run.from, parts, ruleOutlines ? outline : TRUE);
        continue;
      }
      for (let i = seg.from; i < seg.to; i++) {
        const rule = chain.rules[i];
        if (rule === undefined) continue;
        // the rule's key lies inside its segment's: h ∧ key = hit ∧ key, and hit (not split by
        // segment) has fewer nodes along the key's path than h
        if (ruleOutlines && !m.intersects(outline, this.nf.keyOutline(rule.key))) continue;
        const part = andSet(s, hit, rule.key);
        if (part.p === FALSE) continue;
        parts[i - run.from] = part;
        if (seg.accepts) {
          // what `step` gives a plain accept inside its key: all of its part is accepted, and
          // the segment's parts together are h
          if (this.record) this.matchedBy(rule, part);
          outcomes.push({
            kind: 'accept',
            hook,
            set: part,
            ref: rule.ref,
            reason: 'ACCEPT',
            together: h,
          });
          continue;
        }
        const step = this.step(hook, chain, rule, part, stack, true);
        if (step === null) {
          nexts[i - run.from] = part;
          continue;
        }
        append(outcomes, step.outcomes);
        returned.push(step.returned);
        nexts[i - run.from] = step.next;
      }
    }
    if (this.record) this.visitRun(chain, run, hook, rest, parts, nexts);
    return unionAll(s, [rest, ...nexts]);
  }

  private readonly markOnly = new Map<CompiledRule, Bdd | null>();

  /**
   * The packets a rule leaves as they are when all it can do is set mark bits (MARK, or a jump
   * to a chain of unconditional MARK rules such as kube-proxy's KUBE-MARK-MASQ): those whose
   * bits already hold what it sets. null for a rule that can do anything else.
   */
  private leftAsTheyAre(chain: CompiledChain, rule: CompiledRule): Bdd | null {
    let fixed = this.markOnly.get(rule);
    if (fixed === undefined) {
      const t = rule.rule.steps === undefined ? rule.rule.target : null;
      const sub = t?.kind === 'jump' && !t.goto ? this.nf.chain(chain.table, t.chain) : undefined;
      fixed =
        t?.kind === 'MARK' ? this.markFixed(t) : sub === undefined ? null : this.chainFixed(sub);
      this.markOnly.set(rule, fixed);
    }
    return fixed;
  }

  /** What a chain of unconditional MARK rules leaves as it is; null for any other chain. */
  private chainFixed(sub: CompiledChain): Bdd | null {
    let fixed = TRUE;
    for (const r of sub.rules) {
      const t = r.rule.target;
      const always = r.match.c === TRUE && r.match.p === TRUE && r.rule.steps === undefined;
      if (!always || t?.kind !== 'MARK') return null;
      fixed = this.s.m.and(fixed, this.markFixed(t));
    }
    return fixed;
  }

  /**
   * One rule applied to the packets reaching it: null when it matches none of them, else what
   * continues, what returns to the calling chain and what stops. `inKey`: every packet of `cur`
   * is inside the rule's key (a run's part), so a rule whose exact match is its key matches them
   * all without an AND.
   */
  private step(
    hook: Hook,
    chain: CompiledChain,
    rule: CompiledRule,
    cur: Pair,
    stack: readonly CompiledChain[],
    inKey = false,
  ): { next: Pair; returned: Pair; outcomes: Outcome[] } | null {
    const m = this.s.m;
    const mt = this.matchOf(rule);
    if (!this.record && !this.plain && mt.c === mt.p) {
      // splitting the set only to unite it again unchanged made a third of a kube-proxy
      // endpoint chain's nodes (the hairpin mark on packets that carry it already)
      const fixed = this.leftAsTheyAre(chain, rule);
      if (fixed !== null && m.subset(cur.p, fixed))
        return { next: cur, returned: EMPTY, outcomes: [] };
    }
    // a rule that passes every packet on as it came (no target, LOG, …) splits nothing: what
    // matched it is asked only by a recording walk (built when read), and whether it matched
    // uncertainly (the plain walk, the reference, builds it as any other)
    const passes = !this.plain && passesOn(rule);
    if (passes && mt.c === mt.p) {
      if (this.record && m.intersects(cur.p, mt.c)) {
        this.visits(rule).matched.push({
          build: () => mapPair(cur, (x) => m.and(x, mt.c)),
          certainEmpty: !m.intersects(cur.c, mt.c),
        });
      }
      return null;
    }
    const matched: Pair =
      inKey && mt.c === mt.p && mt.c === rule.key
        ? cur
        : cur.c === cur.p && mt.c === mt.p
          ? mapPair(cur, (x) => m.and(x, mt.c))
          : { c: m.and(cur.c, mt.c), p: m.and(cur.p, mt.p) };
    if (matched.p === FALSE) return null;
    if (this.record) this.matchedBy(rule, matched);
    if (mt.c !== mt.p && !m.subset(matched.p, mt.c)) this.doubt(rule);
    if (passes) return null;
    // everything that reached an exact rule matched it: nothing is missed
    const missed: Pair =
      mt.c === mt.p
        ? matched.p === cur.p
          ? EMPTY
          : mapPair(cur, (x) => m.diff(x, mt.c))
        : { c: m.diff(cur.c, mt.p), p: m.diff(cur.p, mt.c) };
    return this.apply(hook, chain, rule, cur, matched, missed, stack);
  }

  /** A rule's undecided match made part of the result uncertain. */
  private doubt(rule: CompiledRule): void {
    if (!this.settled) this.uncertain.add(rule);
  }

  /** Record (for ruleReach) that `cur` reached a rule through `hook`. */
  private visit(rule: CompiledRule, hook: Hook, cur: LazyPair): void {
    const r = this.visits(rule);
    r.hooks.add(hook);
    r.reach.push(cur);
  }

  private visits(rule: CompiledRule): RuleVisits {
    let r = this.reached.get(rule);
    if (r === undefined) {
      r = { hooks: new Set(), reach: [], matched: [] };
      this.reached.set(rule, r);
    }
    return r;
  }

  private visitRule(chain: CompiledChain, i: number, hook: Hook, cur: Pair): void {
    const rule = chain.rules[i];
    if (rule !== undefined) this.visit(rule, hook, cur);
  }

  private matchedBy(rule: CompiledRule, matched: Pair): void {
    this.visits(rule).matched.push(matched);
  }

  /**
   * A recording walk's notes on an ACCEPT segment whose accepts no one attributes: each rule's
   * part of the run's set (what it matched), built when read, and whether its certain side is
   * empty, known now.
   */
  private acceptedLater(
    chain: CompiledChain,
    seg: RuleRun['segments'][number],
    hit: Pair,
    from: number,
    parts: LazyPair[],
    outline: Bdd,
  ): void {
    const s = this.s;
    const m = s.m;
    for (let i = seg.from; i < seg.to; i++) {
      const rule = chain.rules[i];
      if (rule === undefined) continue;
      if (outline !== TRUE && !m.intersects(outline, this.nf.keyOutline(rule.key))) continue;
      if (!m.intersects(hit.p, rule.key)) continue;
      let part: Pair | undefined;
      const build = (): Pair => (part ??= andSet(s, hit, rule.key));
      parts[i - from] = build;
      this.visits(rule).matched.push({ build, certainEmpty: !m.intersects(hit.c, rule.key) });
    }
  }

  /**
   * What reached each rule of a walked run, as the rule-by-rule walk would have it: the packets
   * outside every key, the parts of this rule and the later ones, and what continued after the
   * earlier ones. Built only when asked (a big set minus each earlier key is the quadratic cost
   * the run avoids); whether it is empty is known now.
   */
  private visitRun(
    chain: CompiledChain,
    run: RuleRun,
    hook: Hook,
    rest: Pair,
    parts: readonly LazyPair[],
    nexts: readonly Pair[],
  ): void {
    const s = this.s;
    const count = run.to - run.from;
    // partsFrom[i]: some part of rule i or later is non-empty (one built when read always is)
    const partsFrom = new Array<boolean>(count + 1).fill(false);
    for (let i = count - 1; i >= 0; i--) {
      const part = parts[i];
      partsFrom[i] =
        (partsFrom[i + 1] ?? false) || typeof part === 'function' || (part?.p ?? FALSE) !== FALSE;
    }
    let nextsBefore = false;
    for (let i = 0; i < count; i++) {
      if (rest.p !== FALSE || (partsFrom[i] ?? false) || nextsBefore) {
        const rule = chain.rules[run.from + i];
        if (rule === undefined) continue;
        // the rule-by-rule walk records a rule with a single matched set per visit: its own part
        const k = i;
        this.visit(rule, hook, () =>
          unionAll(s, [rest, ...parts.slice(k).map(built), ...nexts.slice(0, k)]),
        );
      } else break;
      nextsBefore ||= (nexts[i]?.p ?? FALSE) !== FALSE;
    }
  }

  /**
   * A matched rule's effect: its target, after the statements and conditions of its steps
   * (nftables: `meta mark set 1 ip saddr 10.0.0.0/8 accept`). A failing step condition sends the
   * packet on to the next rule with the changes made so far.
   */
  private apply(
    hook: Hook,
    chain: CompiledChain,
    rule: CompiledRule,
    cur: Pair,
    matched: Pair,
    missed: Pair,
    stack: readonly CompiledChain[],
  ): { next: Pair; returned: Pair; outcomes: Outcome[] } {
    const steps = rule.rule.steps;
    if (steps === undefined) {
      return this.target(hook, chain, rule, rule.rule.target, cur, matched, missed, stack);
    }
    const s = this.s;
    const m = s.m;
    let at = matched;
    let out = missed;
    let returned = EMPTY;
    const outcomes: Outcome[] = [];
    for (const step of steps) {
      if (at.p === FALSE) break;
      if (step.kind === 'match') {
        const mt = this.nf.encodeOptions(step.module.options);
        if (mt.c !== mt.p && m.intersects(at.p, m.diff(mt.p, mt.c))) this.doubt(rule);
        out = union(s, out, { c: m.diff(at.c, mt.p), p: m.diff(at.p, mt.c) });
        at = { c: m.and(at.c, mt.c), p: m.and(at.p, mt.p) };
      } else {
        const r = this.target(hook, chain, rule, step.target, at, at, EMPTY, stack);
        append(outcomes, r.outcomes);
        returned = union(s, returned, r.returned);
        at = r.next;
      }
    }
    const r = this.target(hook, chain, rule, rule.rule.target, union(s, out, at), at, out, stack);
    return {
      next: r.next,
      returned: union(s, returned, r.returned),
      outcomes: [...outcomes, ...r.outcomes],
    };
  }

  /**
   * nftables verdict map: each element's packets take its verdict; packets whose key is in no
   * element go on with the next rule. An element decided by state the engine cannot see (a
   * `numgen` key) is only possibly taken; a map whose contents are unknown possibly accepts,
   * drops or goes on.
   */
  private vmap(
    hook: Hook,
    chain: CompiledChain,
    rule: CompiledRule,
    entries: readonly VmapEntry[] | null,
    matched: Pair,
    missed: Pair,
    stack: readonly CompiledChain[],
  ): { next: Pair; returned: Pair; outcomes: Outcome[] } {
    const s = this.s;
    const m = s.m;
    if (entries === null) {
      this.doubt(rule);
      const maybe = { c: FALSE, p: matched.p };
      return {
        next: union(s, missed, maybe),
        returned: EMPTY,
        outcomes: [
          { kind: 'accept', hook, set: maybe, ref: rule.ref, reason: 'vmap' },
          { kind: 'drop', hook, set: maybe, ref: rule.ref, reason: 'vmap' },
        ],
      };
    }
    const nexts = [missed];
    const returned: Pair[] = [];
    const outcomes: Outcome[] = [];
    // what no element takes: certainly outside every element's possible set
    let noneC = matched.c;
    let noneP = matched.p;
    for (const entry of entries) {
      const k = this.nf.encodeOptions(entry.when);
      if (k.c !== k.p && m.intersects(matched.p, m.diff(k.p, k.c))) this.doubt(rule);
      noneC = m.diff(noneC, k.p);
      noneP = m.diff(noneP, k.c);
      const sub: Pair = { c: m.and(matched.c, k.c), p: m.and(matched.p, k.p) };
      if (sub.p === FALSE) continue;
      const r = this.target(hook, chain, rule, entry.verdict, sub, sub, EMPTY, stack);
      nexts.push(r.next);
      returned.push(r.returned);
      append(outcomes, r.outcomes);
    }
    nexts.push({ c: noneC, p: noneP });
    return { next: unionAll(s, nexts), returned: unionAll(s, returned), outcomes };
  }

  private target(
    hook: Hook,
    chain: CompiledChain,
    rule: CompiledRule,
    target: Target | null,
    cur: Pair,
    matched: Pair,
    missed: Pair,
    stack: readonly CompiledChain[],
  ): { next: Pair; returned: Pair; outcomes: Outcome[] } {
    const s = this.s;
    // `cur`: the set that reached the rule (what continues when the target changes nothing)
    // packets that are uncertain at this rule continue only "possibly" when the target changes them
    const through = (changed: Pair): Pair => union(s, changed, missed);
    const stop = (kind: OutcomeKind, set: Pair, reason: string): Outcome => ({
      kind,
      hook,
      set,
      ref: rule.ref,
      reason,
    });
    const natted = (set: Pair, reason: string): Outcome => ({
      ...stop('accept', set, reason),
      nat: true,
      ...(this.natStops ? { sent: matched } : {}),
    });
    if (passesUnchanged(target)) return { next: cur, returned: EMPTY, outcomes: [] };
    switch (target.kind) {
      case 'ACCEPT':
        return { next: missed, returned: EMPTY, outcomes: [stop('accept', matched, 'ACCEPT')] };
      case 'DROP':
        return { next: missed, returned: EMPTY, outcomes: [stop('drop', matched, 'DROP')] };
      case 'REJECT':
        return {
          next: missed,
          returned: EMPTY,
          outcomes: [stop('reject', matched, `REJECT ${target.rejectWith}`.trim())],
        };
      case 'QUEUE':
      case 'NFQUEUE': {
        // userspace decides: possibly accepted, possibly dropped, certainly neither
        const maybe = { c: FALSE, p: matched.p };
        return {
          next: missed,
          returned: EMPTY,
          outcomes: [stop('accept', maybe, target.kind), stop('drop', maybe, target.kind)],
        };
      }
      case 'RETURN':
        if (chain.chain.builtin) return { next: missed, returned: matched, outcomes: [] };
        return { next: missed, returned: matched, outcomes: [] };
      case 'jump': {
        const sub = this.nf.jumpTarget(chain.table, target);
        if (sub === undefined || stack.includes(sub)) {
          // diagnosed at compile time; the kernel would refuse this ruleset
          return { next: { c: missed.c, p: cur.p }, returned: EMPTY, outcomes: [] };
        }
        if (stack.length > MAX_JUMP_DEPTH) {
          // too deep to follow (diagnosed): the chain may accept, drop or return its packets
          this.doubt(rule);
          const maybe = { c: FALSE, p: matched.p };
          return {
            next: { c: missed.c, p: cur.p },
            returned: EMPTY,
            outcomes: [stop('accept', maybe, 'not followed'), stop('drop', maybe, 'not followed')],
          };
        }
        const r = this.chain(hook, sub, matched, stack);
        if (target.goto) return { next: missed, returned: r.returned, outcomes: [...r.outcomes] };
        return { next: union(s, missed, r.returned), returned: EMPTY, outcomes: [...r.outcomes] };
      }
      case 'DNAT':
        return {
          next: missed,
          returned: EMPTY,
          outcomes: [
            natted(this.dnatPair(matched, target.to, picksRandomly(target.flags)), natText(target)),
          ],
        };
      case 'REDIRECT': {
        const to: NatRange[] = [{ addresses: null, ports: target.ports }];
        // where the address the kernel gives is not known, the packets are only possibly there
        const into = this.nf.redirectTo();
        const set = this.dnatPair(
          {
            c: s.assign(matched.c, ['dst', 'loc'], into.c),
            p: s.assign(matched.p, ['dst', 'loc'], into.p),
          },
          to,
          picksRandomly(target.flags),
        );
        return { next: missed, returned: EMPTY, outcomes: [natted(set, natText(target))] };
      }
      case 'SNAT':
      case 'MASQUERADE':
        // the source is kept as sent: reports speak of the client's address
        return {
          next: missed,
          returned: EMPTY,
          outcomes: [natted(matched, natText(target))],
        };
      case 'TPROXY':
        return { next: missed, returned: EMPTY, outcomes: [stop('accept', matched, 'TPROXY')] };
      case 'MARK':
        return {
          next: through(mapPair(matched, (x) => this.mark(x, target.value, target.mask))),
          returned: EMPTY,
          outcomes: [],
        };
      case 'NOTRACK':
        if (this.looped) return { next: cur, returned: EMPTY, outcomes: [] };
        return {
          next: through(mapPair(matched, (x) => s.assign(x, ['state'], s.isUntracked))),
          returned: EMPTY,
          outcomes: [],
        };
      case 'CT':
        if (!this.looped && untracks(target)) {
          return {
            next: through(mapPair(matched, (x) => s.assign(x, ['state'], s.isUntracked))),
            returned: EMPTY,
            outcomes: [],
          };
        }
        return { next: cur, returned: EMPTY, outcomes: [] };
      case 'CONNMARK':
        if (target.options.some((o) => /restore-mark/.test(o.option))) {
          // the connection mark is not modelled: the packet mark becomes any value
          return {
            next: through(mapPair(matched, (x) => s.m.exists(x, s.cube('mark')))),
            returned: EMPTY,
            outcomes: [],
          };
        }
        return { next: cur, returned: EMPTY, outcomes: [] };
      case 'vmap':
        return this.vmap(hook, chain, rule, target.entries, matched, missed, stack);
    }
  }

  /**
   * DNAT on a two-sided set. A new address that may or may not be the host's (its address list
   * is incomplete) leaves the certain side: where the packet goes next depends on it.
   */
  dnatPair(set: Pair, to: readonly NatRange[], random = false): Pair {
    const p = this.dnat(set.p, to, false, random);
    return {
      c: set.c === set.p && !this.natUncertain(to, random) ? p : this.dnat(set.c, to, true, random),
      p,
    };
  }

  private natUncertain(to: readonly NatRange[], random: boolean): boolean {
    return (
      to.length > 1 ||
      to.some(
        (r) =>
          this.natTarget(r).valueCertain !== this.natTarget(r).value ||
          severalAddresses(r) ||
          (severalPorts(r.ports) && (random || r.portBase !== undefined)),
      )
    );
  }

  /**
   * Rewrite destination (and port) to any of the ranges; the originals stay in odst/odport.
   * `random`: the target picks a range's port at random (`--random`, `--random-fully`).
   */
  dnat(set: Bdd, to: readonly NatRange[], certain = false, random = false): Bdd {
    if (!knownPick(to, random)) return this.rewrite(set, to, certain, random);
    // packets already sent to the one address keep it, and with it their route and whether it
    // is the host's: the kernel routes a packet again only where NAT changed its address
    const same = to[0] === undefined ? undefined : this.sameAddress(to[0]);
    const kept = same === undefined ? FALSE : this.s.m.and(set, same.dst);
    const out =
      kept === FALSE
        ? this.rewrite(set, to, certain)
        : this.s.m.or(
            this.rewrite(this.s.m.diff(set, kept), to, certain),
            this.rewrite(kept, same?.portOnly ?? [], certain),
          );
    return this.keptTuples(out);
  }

  private readonly sameAddresses = new WeakMap<
    NatRange,
    { dst: Bdd; portOnly: readonly NatRange[] } | undefined
  >();

  /** A one-address range's destination and the same range less its address (built once). */
  private sameAddress(r: NatRange): { dst: Bdd; portOnly: readonly NatRange[] } | undefined {
    if (this.sameAddresses.has(r)) return this.sameAddresses.get(r);
    const value = r.addresses === null ? null : addressValue(r.addresses.from, this.s.family);
    const same =
      value === null
        ? undefined
        : { dst: this.s.eq('dst', value), portOnly: [{ ...r, addresses: null }] };
    this.sameAddresses.set(r, same);
    return same;
  }

  /**
   * Every packet of `set` rewritten to any of the ranges. A range of several ports gives the
   * port `natPort` says where the pick is known; where it is random or moved by a base offset,
   * any port of the range, possibly (the certain side keeps none of those packets), as are the
   * addresses of several ranges, or of a range of several, which the kernel picks by a hash.
   */
  private rewrite(set: Bdd, to: readonly NatRange[], certain: boolean, random = false): Bdd {
    const s = this.s;
    const m = s.m;
    if (certain && to.length > 1) return FALSE;
    let out = FALSE;
    for (const r of to) {
      if (certain && severalAddresses(r)) continue;
      const t = this.natTarget(r);
      const value = certain ? t.valueCertain : t.value;
      // one quantification and one conjunction per protocol class (ports only where they exist)
      const withPorts = t.ports === null ? FALSE : m.and(set, s.portProtocols);
      const rest = withPorts === FALSE ? set : m.diff(set, withPorts);
      if (rest !== FALSE) out = m.or(out, m.existsAnd(rest, t.cube, value));
      if (withPorts === FALSE || t.ports === null) continue;
      if (t.keepsInRange && !random) {
        // a port in the range is kept, any other becomes the range's first
        const kept = m.and(withPorts, t.ports);
        if (kept !== FALSE) out = m.or(out, m.existsAnd(kept, t.cube, value));
        const moved = kept === FALSE ? withPorts : m.diff(withPorts, t.ports);
        const first = certain ? t.valueCertainWithFirst : t.valueWithFirst;
        if (moved !== FALSE) out = m.or(out, m.existsAnd(moved, t.cubeWithPort, first));
      } else if (!certain || !severalPorts(r.ports)) {
        const withPort = certain ? t.valueCertainWithPort : t.valueWithPort;
        out = m.or(out, m.existsAnd(withPorts, t.cubeWithPort, withPort));
      }
    }
    return out;
  }

  /**
   * The kernel sets a connection's DNAT status only where NAT changed its tuple (random seed
   * 293: a REDIRECT to the address and port a datagram had left `--ctstate DNAT` unmatched):
   * the packets a rewrite whose pick is known (`knownPick`) left as they were lose the DNAT bit.
   * (Among several addresses the kernel picks by hash; the walks and the interpreter keep it.)
   */
  private keptTuples(out: Bdd): Bdd {
    if (out === FALSE) return out;
    const s = this.s;
    const m = s.m;
    // the address and port alone (`dnat` kept a packet's host bit where its address stayed)
    this.sameTuple ??= m.and(s.fieldEq('dst', 'odst'), s.fieldEq('dport', 'odport'));
    const kept = m.and(out, this.sameTuple);
    if (kept === FALSE) return out;
    this.dnatCube ??= s.cube('dnat');
    return m.or(m.diff(out, kept), m.and(m.exists(kept, this.dnatCube), s.eq('dnat', 0n)));
  }

  private dnatCube: Bdd | undefined;
  private sameTuple: Bdd | undefined;

  private readonly natTargets = new WeakMap<NatRange, NatTarget>();
  private dstUniverse: Bdd | undefined;

  /** A NAT range's sets, built once per rule (a 100k-rule host DNATs the same rule repeatedly). */
  private natTarget(r: NatRange): NatTarget {
    const hit = this.natTargets.get(r);
    if (hit !== undefined) return hit;
    const s = this.s;
    const m = s.m;
    let value = s.eq('dnat', 1n);
    let valueCertain = value;
    let fields: ('dst' | 'loc' | 'dnat')[] = ['dnat'];
    if (r.addresses !== null) {
      const lo = addressValue(r.addresses.from, s.family);
      const hi = addressValue(r.addresses.to, s.family);
      if (lo !== null && hi !== null) {
        // the new address brings its own "is the host's" bit (the universe ties them; its
        // projection on the destination is built once, not once per DNAT rule)
        this.dstUniverse ??= m.exists(s.universe, s.cubeExcept('dst', 'loc'));
        value = m.and(value, m.and(s.range('dst', lo, hi), this.dstUniverse));
        valueCertain = m.diff(value, s.unknownOn('dst'));
        fields = ['dst', 'loc', 'dnat'];
      }
    }
    const ports =
      r.ports === null ? null : s.range('dport', BigInt(r.ports.from), BigInt(r.ports.to));
    const first =
      r.ports === null || r.ports.from === r.ports.to || r.portBase !== undefined
        ? null
        : s.eq('dport', BigInt(r.ports.from));
    const t = {
      cube: s.cube(...fields),
      cubeWithPort: s.cube(...fields, 'dport'),
      value,
      valueCertain,
      ports,
      valueWithPort: ports === null ? FALSE : m.and(value, ports),
      valueCertainWithPort: ports === null ? FALSE : m.and(valueCertain, ports),
      valueWithFirst: first === null ? FALSE : m.and(value, first),
      valueCertainWithFirst: first === null ? FALSE : m.and(valueCertain, first),
      keepsInRange: first !== null,
    };
    this.natTargets.set(r, t);
    return t;
  }

  /**
   * The variables of the tracked mark bits MARK --set-xmark value/mask sets (inside the mask)
   * and flips (outside it, where the value has a 1).
   */
  private markBitsOf(value: number, mask: number): { set: number[]; flipped: number[] } {
    const s = this.s;
    const set: number[] = [];
    const flipped: number[] = [];
    s.field('mark').vars.forEach((v, i) => {
      const bit = s.markBits[i] ?? 0;
      if (((mask >>> bit) & 1) === 1) set.push(v);
      else if (((value >>> bit) & 1) === 1) flipped.push(v);
    });
    return { set, flipped };
  }

  /** The packets a MARK target leaves unchanged (on the tracked bits). */
  private markFixed(t: { readonly value: number; readonly mask: number }): Bdd {
    const bits = this.markBitsOf(t.value, t.mask);
    if (bits.flipped.length > 0) return FALSE;
    if (bits.set.length === 0) return TRUE;
    return this.s.masked('mark', BigInt(t.value >>> 0), BigInt(t.mask >>> 0));
  }

  /** MARK --set-xmark value/mask: mark = (mark & ~mask) ^ value. */
  mark(set: Bdd, value: number, mask: number): Bdd {
    const s = this.s;
    const m = s.m;
    const { set: maskBits, flipped: flipBits } = this.markBitsOf(value, mask);
    let x = set;
    if (maskBits.length > 0) {
      x = m.and(
        m.exists(x, m.cube(maskBits)),
        s.masked('mark', BigInt(value >>> 0), BigInt(mask >>> 0)),
      );
    }
    for (const v of flipBits) {
      const pos = m.literal(v, true);
      const neg = m.literal(v, false);
      x = m.or(m.and(pos, m.restrict(x, neg)), m.and(neg, m.restrict(x, pos)));
    }
    return x;
  }
}

function natText(t: Target): string {
  if (t.kind === 'DNAT' || t.kind === 'SNAT') {
    const parts = t.to.map((r) => {
      const a =
        r.addresses === null
          ? ''
          : r.addresses.from === r.addresses.to
            ? r.addresses.from
            : `${r.addresses.from}-${r.addresses.to}`;
      const wrapped = a.includes(':') ? `[${a}]` : a;
      const p =
        r.ports === null
          ? ''
          : r.ports.from === r.ports.to
            ? `:${r.ports.from}`
            : `:${r.ports.from}-${r.ports.to}`;
      return `${wrapped}${p}`;
    });
    return `${t.kind} ${parts.join(' ')}`.trim();
  }
  if (t.kind === 'REDIRECT' || t.kind === 'MASQUERADE') {
    const p =
      t.ports === null
        ? ''
        : t.ports.from === t.ports.to
          ? ` ${t.ports.from}`
          : ` ${t.ports.from}-${t.ports.to}`;
    return `${t.kind}${p}`;
  }
  return t.kind;
}

/**
 * The port NAT gives a connection's first packet from a port range, as the kernel picks it with
 * no other connection in the way (nf_nat's `get_unique_tuple`): a port in the range is kept,
 * any other becomes the range's first; with a base (`:P-Q/BASE`), a port moves by its offset
 * from the base. Null where the pick is random (`--random`, `--random-fully`).
 */
export function natPort(
  range: PortRange,
  port: number,
  base: number | undefined,
  random: boolean,
): number | null {
  const size = range.to - range.from + 1;
  if (base !== undefined) return range.from + (((port - base) & 0xffff) % size);
  if (random && size > 1) return null;
  return port >= range.from && port <= range.to ? port : range.from;
}

/** Whether a NAT range holds several addresses, among which the kernel picks by a hash. */
export function severalAddresses(r: NatRange): boolean {
  return r.addresses !== null && r.addresses.from !== r.addresses.to;
}

/** Whether NAT ports name a range of several (one port, or none, is no choice). */
function severalPorts(ports: PortRange | null): boolean {
  return ports !== null && ports.from !== ports.to;
}

/** Whether a NAT target's flags make it pick its port at random. */
export function picksRandomly(flags: readonly string[]): boolean {
  return flags.some((f) => f.includes('random'));
}

/**
 * Whether NAT to these ranges gives a connection one known address and port: one range, of
 * one address (or none), whose port `natPort` picks. The kernel picks among several addresses
 * or ranges by a hash of the connection.
 */
export function knownPick(to: readonly NatRange[], random: boolean): boolean {
  const r = to.length === 1 ? to[0] : undefined;
  return r !== undefined && !severalAddresses(r) && !(random && severalPorts(r.ports));
}

export { natText };
export { TRUE };

/** Targets after which every packet goes on to the next rule as it came. */
const PASSING_KINDS = ['CONTINUE', 'LOG', 'NFLOG', 'TCPMSS', 'CHECKSUM', 'extension'] as const;
const PASSING: ReadonlySet<string> = new Set(PASSING_KINDS);
type PassingTarget = Extract<Target, { kind: (typeof PASSING_KINDS)[number] }>;

/** Whether every packet goes on after the target as it came (no target counts as one). */
function passesUnchanged(t: Target | null): t is PassingTarget | null {
  return t === null || PASSING.has(t.kind);
}

/** A rule whose packets, matched or not, all go on to the next rule unchanged (`target`). */
function passesOn(rule: CompiledRule): boolean {
  return rule.rule.steps === undefined && passesUnchanged(rule.rule.target);
}
