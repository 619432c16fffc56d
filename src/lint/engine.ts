/**
 * What lint rules and the exposure builder ask of the packet engine, as one small port. The
 * adapter in `engine-adapter.ts` implements it over `src/engine/`; tests may implement it over
 * anything that answers the same questions. Keeping the port narrow means a rule never depends
 * on how the engine represents packet sets.
 */
import type { Family } from '../model/ruleset.ts';
import type { Certainty, Packet, Trace } from '../model/trace.ts';

/** Which packets from one ingress reach a destination, as CIDRs of sources. */
export interface SourceReach {
  readonly interface: string;
  /** Sources that certainly reach, as CIDRs (may be empty). */
  readonly certain: readonly string[];
  /** Sources that possibly reach (an unmodelled match decides), as CIDRs. */
  readonly possible: readonly string[];
}

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
}

/** Where delivered packets must end up to count (post-NAT): a container socket or a host one. */
export interface DeliveryTarget {
  readonly kind: 'local' | 'forward';
  readonly address?: string;
  readonly port?: number;
}

export interface ReachQuestion {
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly destination: string;
  readonly port: number;
  readonly targets: readonly DeliveryTarget[];
}

export interface LintEngine {
  /** Families the snapshot has a ruleset for. */
  readonly families: readonly Family[];
  /** Addresses the engine treats as the host's own (routing delivers them to INPUT). */
  localAddresses(family: Family): readonly string[];
  /** The trace of one new connection through the ruleset of the packet's family. */
  trace(packet: Packet): Trace | null;
  /**
   * For each query, the sources per ingress interface whose new connections to
   * `destination:port/protocol` are accepted and delivered to one of its `targets`. Answered in
   * one engine pass per interface for the whole batch. Null when the engine cannot answer.
   */
  sourcesReaching(
    family: Family,
    interfaces: readonly string[],
    queries: readonly ReachQuestion[],
  ): (readonly SourceReach[])[] | null;
  /** How a rule can be reached; null when the engine cannot answer for that chain. */
  ruleReach(family: Family, table: string, chain: string, index: number): RuleReach | null;
}
