/**
 * shadowed-rule: rules no packet can reach because earlier rules in the same chain take every
 * packet they match, named with the rules that cover them and whether their action differs.
 * Covers and witnesses come from the engine's packet sets (the rules' own match sets, searched
 * through the cover index); on rulesets the engine can afford to walk, rules no packet reaches at
 * all (covered by several rules together, or never led to) are reported too — in iptables' filter
 * table, and in nftables chains hooked (directly or through jumps and verdict maps) only to
 * filter-type input, forward or output base chains, where every base chain of the hook runs in
 * priority order and an `accept` ends only its own. Docker's own chains (iptables DOCKER-*, the
 * nftables `docker-bridges` tables) are Docker's to rewrite and are not judged, but they take
 * packets from the operator's chains like any other.
 */
import { silenceCause } from '../src/docker/context.ts';
import { externalInterfaces } from '../src/docker/interfaces.ts';
import { isDockerNftTable } from '../src/docker/nft-layout.ts';
import { tableFamilies } from '../src/model/firewall.ts';
import type { Chain, Family, Rule, Ruleset, Table } from '../src/model/ruleset.ts';
import { findChain, tableId } from '../src/model/ruleset.ts';
import { firewallOf } from '../src/model/snapshot.ts';
import { ruleCount, ruleLabel } from '../src/model/rule-queries.ts';
import type { SourceLocation } from '../src/model/diagnostic.ts';
import { damagedLines, isDamaged } from '../src/analysis/damaged-lines.ts';
import { isDockerChain } from '../src/docker/chains.ts';
import { defineRule, listOf } from '../src/lint/rule.ts';
import { actionKey, traceShowsCover } from '../src/analysis/covers.ts';
import { hostAddressFor } from '../src/analysis/packets.ts';
import type { RuleWitness } from '../src/analysis/rule-witness.ts';
import {
  engineJudged,
  hasLaterMatch,
  matchesOnlyUnmodelled,
  routedHooks,
  shadowsIn,
} from '../src/analysis/shadowing.ts';
import type { Packet, TraceStep } from '../src/model/trace.ts';

type MessageIds = 'shadowed' | 'contradictory' | 'unreachable';

interface RelatedLocation {
  readonly message: string;
  readonly location: SourceLocation;
}

export interface Options {
  /** Largest ruleset (in rules) on which the engine's per-rule reach sets are computed. */
  readonly engineRuleLimit: number;
  /** Most rule-to-rule cover questions asked of the engine in one chain. */
  readonly comparisonLimit: number;
  /** Most witness packets traced through the engine per run (each walks the whole ruleset). */
  readonly traceLimit: number;
}

export default defineRule<MessageIds, Options, true>({
  meta: {
    id: 'shadowed-rule',
    type: 'problem',
    severity: 'warning',
    docs: {
      description:
        'Rules no packet can reach, with the earlier rules that cover them and whether their action differs',
      recommended: true,
    },
    messages: {
      shadowed:
        '{{table}}/{{chain}} rule {{index}} ({{action}}) never matches: rule {{cover}} above it ({{coverText}}) takes every packet it would match{{differs}}.',
      contradictory:
        '{{table}}/{{chain}} rule {{index}} ({{action}}) never matches: no packet meets all of its own conditions, so rule {{cover}} above it covers it trivially{{differs}}.',
      unreachable:
        '{{table}}/{{chain}} rule {{index}} ({{action}}) is reached by no packet: the rules before it (or the chains that lead here) leave nothing for it.',
    },
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        engineRuleLimit: { type: 'integer', minimum: 0 },
        comparisonLimit: { type: 'integer', minimum: 0 },
        traceLimit: { type: 'integer', minimum: 0 },
      },
    },
    defaultOptions: { engineRuleLimit: 3000, comparisonLimit: 2_000_000, traceLimit: 1000 },
    requiresEngine: true,
  },
  create(context) {
    const { engine } = context;
    const damaged = damagedLines(context.snapshot);
    const limitedFor = new Set<object>();
    const silentSaid = new Set<string>();
    let traced = 0;
    let routesSaid = false;
    // rules unreached only because routing refuses what they match, by ruleset: said once each
    const kernelChecks = new Map<Ruleset, { labels: string[]; location: SourceLocation }>();
    const routesKnown = context.snapshot.files.some(
      (f) => f.role === 'ip-route' && f.status === 'read',
    );
    const judged = new WeakMap<Table, ReadonlySet<string>>();
    const judgedIn = (table: Table): ReadonlySet<string> => {
      let set = judged.get(table);
      if (set === undefined) {
        set = engineJudged(table);
        judged.set(table, set);
      }
      return set;
    };
    /** The witness family of a rule: the one it names (`meta nfproto`, inet `ip saddr`), else the ruleset's. */
    const familyOf = (rule: Rule, ruleset: Ruleset): Family =>
      rule.core
        .concat(rule.matches.flatMap((m) => m.options))
        .flatMap((o) => (o.type === 'family' && !o.negated ? [o.family] : []))[0] ?? ruleset.family;
    /** A packet the rule's own conditions select where its chain is entered (the engine's sets). */
    const witnessOf = (rule: Rule, chain: Chain, table: Table, ruleset: Ruleset): RuleWitness => {
      const family = familyOf(rule, ruleset);
      return engine.ruleWitness(family, ruleset, table, chain.name, rule.index, {
        inInterfaces: externalInterfaces(context.host, family),
        hostAddress: hostAddressFor(
          context.host,
          family,
          family === 'ipv4' ? '0.0.0.0' : '::',
          engine.localAddresses(family),
        ),
        remoteAddress: family === 'ipv4' ? '198.51.100.20' : '2001:db8:fffd::20',
      });
    };
    const traceOf = (packet: Packet | null): readonly TraceStep[] | null => {
      if (packet === null) return null;
      traced += 1;
      if (traced <= context.options.traceLimit) return engine.trace(packet)?.steps ?? null;
      if (traced === context.options.traceLimit + 1) {
        context.limited(
          `shadowed-rule traced ${context.options.traceLimit} witness packets (option traceLimit); later shadowed findings carry a witness without its trace.`,
        );
      }
      return null;
    };
    return {
      Chain(chain, table, ruleset) {
        if (isDockerChain(chain.name) || isDockerNftTable(table)) return;
        const tid = tableId(table);
        const reported = new Set<number>();
        // A table both families see (inet) covers a rule only where it does in each.
        const families = tableFamilies(table, ruleset).filter((f) => engine.families.includes(f));
        const found = shadowsIn(
          chain,
          ruleset.family,
          context.options.comparisonLimit,
          (earlier, later) =>
            families.length > 0 &&
            families.every((f) => engine.covers(f, tid, chain.name, earlier.index, later.index)),
          (rule) => families.some((f) => engine.matchesNothing(f, tid, chain.name, rule.index)),
          // a damaged line is not known to match what it says; an nftables rule with a match
          // after a statement may still not take the packet
          (rule) => !isDamaged(rule, damaged) && !hasLaterMatch(rule),
        );
        if (found.stoppedAt !== null) {
          context.limited(
            `${tid}/${chain.name} (${ruleset.family}): checking for shadowed rules stopped at rule ${found.stoppedAt.index} of ${chain.rules.length} after ${context.options.comparisonLimit} rule comparisons (option comparisonLimit); rules from ${found.stoppedAt.index} on were not checked.`,
          );
        }
        for (const { rule: later, cover } of found.shadows) {
          reported.add(later.index);
          const same = actionKey(cover.target) === actionKey(later.target);
          const witness = witnessOf(later, chain, table, ruleset);
          const packet: Packet | null = witness.kind === 'packet' ? witness.packet : null;
          // The engine's trace is attached only when it shows the cover taking the packet, so a
          // finding never carries a trace that tells a different story than its message.
          const steps = traceOf(packet) ?? [];
          const trace = traceShowsCover(steps, tid, chain.name, cover.index, later.index)
            ? steps
            : [];
          context.report({
            messageId: witness.kind === 'contradictory' ? 'contradictory' : 'shadowed',
            data: {
              table: tid,
              chain: chain.name,
              index: ruleLabel(later),
              action:
                later.target === null
                  ? 'no target'
                  : later.target.kind === 'jump'
                    ? `jump ${later.target.chain}`
                    : later.target.kind,
              cover: ruleLabel(cover),
              coverText: cover.text,
              differs: same
                ? ' with the same action, so removing it changes nothing'
                : ", and with a different action, so this rule's intent never takes effect",
            },
            node: later,
            object: { table: tid, chain: chain.name, rule: later.index },
            severity: same ? 'note' : 'warning',
            witness: packet,
            trace,
            related: [{ message: `rule ${ruleLabel(cover)} covers it`, location: cover.location }],
          });
        }
        // The engine's "reached by no packet" holds on every host the snapshot allows (what it
        // does not know about addresses and routes stays possible), so it is proof either way.
        if (!judgedIn(table).has(chain.name)) return;
        // Per-rule reach sets cost the engine a walk of every path into the table; past this size
        // the structural check alone runs, and the report says so.
        const size = ruleCount(ruleset);
        if (size > context.options.engineRuleLimit) {
          if (!limitedFor.has(ruleset)) {
            limitedFor.add(ruleset);
            context.limited(
              `the engine's reach check for rules that no packet reaches was skipped on this ${size}-rule ${ruleset.family} ruleset (limit ${context.options.engineRuleLimit}, option engineRuleLimit); rules covered by one earlier rule were still found.`,
            );
          }
          return;
        }
        // A table both families see (inet) holds a rule no packet reaches only if none of either does.
        for (const rule of chain.rules) {
          if (reported.has(rule.index) || matchesOnlyUnmodelled(rule, ruleset.family)) continue;
          const reaches = families.map((f) => engine.ruleReach(f, tid, chain.name, rule.index));
          if (reaches.length === 0 || reaches.some((r) => r === null || r.reach !== 'never'))
            continue;
          const silent = reaches.find((r) => (r?.silentHooks.length ?? 0) > 0);
          if (silent !== undefined && silent !== null) {
            // no packet reaches these hooks on this host at all: say so once, not per rule
            const key = `${ruleset.family}/${silent.silentHooks.join(',')}`;
            if (!silentSaid.has(key)) {
              silentSaid.add(key);
              context.limited(
                `no packet reaches ${silent.silentHooks.join(', ')} on this host (${silenceCause(context.snapshot, ruleset.family)}), so the rules of ${ruleset.file} on that path are reached by none; they were not checked for shadowing.`,
                chain.location,
              );
            }
            continue;
          }
          if (reaches.every((r) => r?.refusedSources === true)) {
            const said = kernelChecks.get(ruleset);
            const label = `${tid}/${chain.name} rule ${ruleLabel(rule)}`;
            if (said === undefined)
              kernelChecks.set(ruleset, { labels: [label], location: rule.location });
            else said.labels.push(label);
            continue;
          }
          const coveredBy = [...new Set(reaches.flatMap((r) => r?.coveredBy ?? []))].sort(
            (a, b) => a - b,
          );
          const related: RelatedLocation[] = coveredBy.flatMap((n) => {
            const c = chain.rules[n - 1];
            return c === undefined
              ? []
              : [{ message: `rule ${ruleLabel(c)} takes its packets`, location: c.location }];
          });
          // No rule of its own chain takes them: a packet it would match, traced, shows which
          // rule of which table and chain (another base chain, Docker's) stops it first.
          const guessedRoutes = !routesKnown && routedHooks(table, chain.name);
          const stop =
            coveredBy.length === 0 || guessedRoutes
              ? stoppedBefore(rule, chain, table, ruleset)
              : null;
          // Without ip-route.json the routes are partly assumed (what leaves by an interface no
          // route names is not known), so on a path routing decides only a stop before routing
          // proves the rule unreached.
          if (guessedRoutes && stop?.beforeRouting !== true) {
            if (!routesSaid) {
              routesSaid = true;
              context.limited(
                'no ip-route.json: the routes are assumed, so rules on the forward and output paths are judged unreachable only when a packet they match is stopped before routing.',
                chain.location,
              );
            }
            continue;
          }
          if (stop !== null) related.push(stop.related);
          context.report({
            messageId: 'unreachable',
            data: {
              table: tid,
              chain: chain.name,
              index: ruleLabel(rule),
              action: rule.target?.kind ?? 'no target',
            },
            node: rule,
            object: { table: tid, chain: chain.name, rule: rule.index },
            related,
            ...(stop === null ? {} : { witness: stop.packet, trace: stop.trace }),
          });
        }
      },
      end() {
        for (const [ruleset, { labels, location }] of kernelChecks) {
          const one = labels.length === 1;
          const sysctls = context.snapshot.host.sysctls;
          const rpFilter =
            (sysctls.rpFilter ?? 0) > 0 ||
            [...sysctls.rpFilterByInterface.values()].some((v) => v > 0);
          const sources =
            ruleset.family === 'ipv4'
              ? `a loopback, multicast or limited-broadcast source, one of the host's own addresses${rpFilter ? ', one reverse path filtering (rp_filter) drops' : ''} or a loopback destination where route_localnet is off`
              : 'a loopback or multicast source, a loopback destination, or, to be forwarded, a link-local or unspecified source';
          context.limited(
            `${listOf(labels, 5)} ${one ? 'is' : 'are'} reached by no packet only because routing drops, whatever the rules, what ${one ? 'it' : 'they'} would see (a packet from outside with ${sources}): ${one ? 'it repeats' : 'they repeat'} the kernel's own check, and ${one ? 'is' : 'are'} not reported as unreachable.`,
            location,
          );
        }
      },
    };

    /**
     * A packet `rule`'s own conditions accept, entering where its chain is hooked, traced to the
     * rule that drops or rejects it before it gets there; null when no such packet is found or
     * its trace reaches the rule after all (then the finding claims nothing more).
     */
    function stoppedBefore(
      rule: Rule,
      chain: Chain,
      table: Table,
      ruleset: Ruleset,
    ): {
      packet: Packet;
      trace: readonly TraceStep[];
      related: RelatedLocation;
      beforeRouting: boolean;
    } | null {
      const family = familyOf(rule, ruleset);
      const w = witnessOf(rule, chain, table, ruleset);
      if (w.kind !== 'packet') return null;
      const steps = traceOf(w.packet);
      const last = steps?.[steps.length - 1];
      if (steps === null || last === undefined) return null;
      const tid = tableId(table);
      if (steps.some((s) => s.table === tid && s.chain === chain.name && s.rule === rule.index))
        return null;
      if (!/^(DROP|REJECT|policy DROP)/.test(last.action)) return null;
      const where = firewallTable(last.table, family);
      const stopper = where === undefined ? undefined : findChain(where, last.chain);
      const stopRule = last.rule === null ? undefined : stopper?.rules[last.rule - 1];
      const location = stopRule?.location ?? stopper?.location;
      if (location === undefined) return null;
      const name =
        stopRule === undefined
          ? `the policy of ${last.table}/${last.chain}`
          : `${last.table}/${last.chain} rule ${ruleLabel(stopRule)}`;
      const verb = last.action.includes('REJECT') ? 'rejects' : 'drops';
      return {
        packet: w.packet,
        trace: steps,
        related: { message: `${name} ${verb} its packets first`, location },
        beforeRouting: last.hook === 'PREROUTING',
      };
    }

    function firewallTable(id: string, family: Family): Table | undefined {
      return firewallOf(context.snapshot, family)?.tables.find((t) => tableId(t) === id);
    }
  },
});
