/**
 * The LintEngine port implemented over the symbolic engine (one `Engine` per family). Only this
 * file knows the engine's query shapes; rules ask their questions through the port.
 */
import { matchCovers } from '../analysis/covers.ts';
import { ruleWitness } from '../analysis/rule-witness.ts';
import type { NetworkContext } from '../engine/context.ts';
import type { Engine, RuleReach as EngineRuleReach, TwoSided } from '../engine/types.ts';
import type { Family } from '../model/ruleset.ts';
import type { Packet, Trace } from '../model/trace.ts';
import type { LintEngine, RuleReach } from './engine.ts';

export function adaptEngines(
  engines: readonly { readonly engine: Engine; readonly context: NetworkContext }[],
): LintEngine {
  const byFamily = new Map<Family, Engine>(engines.map((e) => [e.engine.family, e.engine]));
  const contexts = new Map<Family, NetworkContext>(
    engines.map((e) => [e.engine.family, e.context]),
  );
  // Each table's reach, by chain and rule index: a rule asks for its own, a chain for each rule.
  const reachCache = new Map<string, Map<string, EngineRuleReach[]>>();
  // Exposures and several rules trace the same witness packets; a trace walks the whole ruleset
  // (seconds per hundred on a 100k-rule host), and the engine answers a packet the same each time.
  const traceCache = new Map<string, Trace | null>();

  const ruleReachOf = (
    engine: Engine,
    table: string,
    chain: string,
    index: number,
    keepRefusedSources = false,
  ): EngineRuleReach | undefined => {
    const key = `${engine.family}/${table}/${keepRefusedSources}`;
    let byChain = reachCache.get(key);
    if (byChain === undefined) {
      byChain = new Map();
      for (const r of engine.ruleReach({ table, keepRefusedSources })) {
        let rules = byChain.get(r.rule.chain);
        if (rules === undefined) byChain.set(r.rule.chain, (rules = []));
        if (r.rule.index !== null && rules[r.rule.index] === undefined) rules[r.rule.index] = r;
      }
      reachCache.set(key, byChain);
    }
    return byChain.get(chain)?.[index];
  };

  // A chain of thousands of rules asks about each rule's match many times: by chain, then index.
  const matchCache = new Map<string, (TwoSided | null | undefined)[]>();
  const matchesOf = (
    engine: Engine,
    table: string,
    chain: string,
  ): ((index: number) => TwoSided | null) => {
    const key = `${engine.family}\u0000${table}\u0000${chain}`;
    let matches = matchCache.get(key);
    if (matches === undefined) matchCache.set(key, (matches = []));
    const known = matches;
    return (index) => {
      let m = known[index];
      if (m === undefined) known[index] = m = engine.ruleMatch(table, chain, index);
      return m;
    };
  };

  return {
    families: [...byFamily.keys()],
    covers(family, table, chain, earlier, later) {
      const engine = byFamily.get(family);
      if (engine === undefined) return false;
      const matchOf = matchesOf(engine, table, chain);
      const a = matchOf(earlier);
      const b = a === null ? null : matchOf(later);
      return a !== null && b !== null && matchCovers(a, b);
    },
    matchesNothing(family, table, chain, index) {
      return byFamily.get(family)?.ruleMatchesNothing(table, chain, index) ?? true;
    },
    ruleWitness(family, ruleset, table, chain, index, prefer) {
      const engine = byFamily.get(family);
      if (engine === undefined) return { kind: 'unknown', reason: 'no engine for the family' };
      return ruleWitness(engine, ruleset, table, chain, index, prefer);
    },
    neighbourDiscovery(family) {
      return (byFamily.get(family)?.neighbourDiscovery() ?? []).map((n) => ({
        interface: n.interface,
        rules: n.rules.map((r) => ({
          table: r.table,
          chain: r.chain,
          index: r.index,
          location: { file: r.file, line: r.line, column: 1 },
        })),
        certain: n.certain,
        witness: n.witness,
      }));
    },
    localAddresses(family) {
      return contexts.get(family)?.localAddresses ?? [];
    },
    trace(packet: Packet): Trace | null {
      const key = JSON.stringify(packet);
      const cached = traceCache.get(key);
      if (cached !== undefined) return cached;
      const trace = byFamily.get(packet.family)?.trace(packet) ?? null;
      traceCache.set(key, trace);
      return trace;
    },
    ruleReach(family, table, chain, index): RuleReach | null {
      const engine = byFamily.get(family);
      if (engine === undefined) return null;
      const r = ruleReachOf(engine, table, chain, index);
      if (r === undefined) return null;
      const reach = r.matched.possible.isEmpty
        ? 'never'
        : r.matched.certain.isEmpty
          ? 'possible'
          : 'certain';
      // reached, but for the kernel's refusal of what it would get: a second walk, asked only
      // of an unreached rule that matches such packets
      const refusedSources =
        reach === 'never' &&
        engine.ruleMeetsRefusedSources(table, chain, index) === true &&
        ruleReachOf(engine, table, chain, index, true)?.matched.possible.isEmpty === false;
      const silent = engine.silentHooks;
      const contextOnly =
        reach === 'never' &&
        r.entryHooks.length > 0 &&
        r.entryHooks.every((h) => silent.includes(h));
      return {
        reach,
        // The engine's earlier rules whose packets intersect this one's match (from packet sets).
        coveredBy:
          reach === 'never' ? r.coveredBy.flatMap((c) => (c.index === null ? [] : [c.index])) : [],
        redundant: false,
        silentHooks: contextOnly ? r.entryHooks : [],
        refusedSources,
      };
    },
  };
}
