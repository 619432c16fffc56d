/**
 * What lint rules ask of the packet engine beyond the exposure table, as one small port. The
 * adapter in `engine-adapter.ts` implements it over `src/engine/`; tests may implement it over
 * anything that answers the same questions. Keeping the port narrow means a rule never depends
 * on how the engine represents packet sets.
 */
import type { RuleWitness, WitnessPreference } from '../analysis/rule-witness.ts';
import type { Family, Ruleset, Table } from '../model/ruleset.ts';
import type { SourceLocation } from '../model/diagnostic.ts';
import type { Certainty, Packet, Trace } from '../model/trace.ts';

/** How a single rule can ever be reached by packets, for shadowed/redundant analysis. */
export interface RuleReach {
  /** `never`: no packet reaches the rule and matches it; `possible`/`certain` otherwise. */
  readonly reach: 'never' | Certainty;
  /** Earlier rules (1-based indexes in the same chain) that together take every packet it matches. */
  readonly coveredBy: readonly number[];
  /** Removing the rule changes no verdict (set by engines that can tell). */
  readonly redundant: boolean;
  /**
   * The hooks that lead to the rule receive no packet whatever the rules say (the host forwards
   * nothing of this family, or has no route for it): the context, not the rules, leaves it
   * unreached. Empty otherwise.
   */
  readonly silentHooks: readonly string[];
  /**
   * Unreached only because routing refuses, whatever the rules, the packets it would get (a
   * martian source: loopback, multicast or the host's own address from outside; one reverse
   * path filtering drops; an IPv6 source of too small a scope): a rule that repeats the
   * kernel's own check.
   */
  readonly refusedSources: boolean;
}

/** An interface whose IPv6 neighbour discovery the rules stop. */
export interface NeighbourDiscoveryBlock {
  /** The interface class (`*other*` for any interface nobody named). */
  readonly interface: string;
  /** The rules (index null: the chain's policy) that may drop or reject some of it. */
  readonly rules: readonly {
    readonly table: string;
    readonly chain: string;
    readonly index: number | null;
    readonly location: SourceLocation;
  }[];
  /** Some of it is certainly stopped; else only possibly (matches the engine cannot decide). */
  readonly certain: boolean;
  /** One neighbour discovery packet stopped there. */
  readonly witness: Packet | null;
}

export interface LintEngine {
  /** Families the snapshot has a ruleset for. */
  readonly families: readonly Family[];
  /** Addresses the engine treats as the host's own (routing delivers them to INPUT). */
  localAddresses(family: Family): readonly string[];
  /** Interfaces whose IPv6 neighbour discovery the rules stop (none for IPv4). */
  neighbourDiscovery(family: Family): readonly NeighbourDiscoveryBlock[];
  /** The trace of one new connection through the ruleset of the packet's family. */
  trace(packet: Packet): Trace | null;
  /** How a rule can be reached; null when the engine cannot answer for that chain. */
  ruleReach(family: Family, table: string, chain: string, index: number): RuleReach | null;
  /**
   * Whether rule `earlier` takes every packet rule `later` of the same chain could match, from
   * the rules' own match sets (1-based indexes; false when the engine does not know them).
   */
  covers(family: Family, table: string, chain: string, earlier: number, later: number): boolean;
  /** Whether the engine finds no packet the rule's own conditions select (true when unknown). */
  matchesNothing(family: Family, table: string, chain: string, index: number): boolean;
  /** A packet the rule's own conditions select where its chain is entered, or why there is none. */
  ruleWitness(
    family: Family,
    ruleset: Ruleset,
    table: Table,
    chain: string,
    index: number,
    prefer?: WitnessPreference,
  ): RuleWitness;
}
