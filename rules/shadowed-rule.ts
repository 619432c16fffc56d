/**
 * shadowed-rule: rules no packet can reach because earlier rules in the same chain take every
 * packet they match, named with the rules that cover them and whether their action differs.
 * Structural coverage (every condition of the earlier rule implied by the later one) needs no
 * engine; with the engine, rules no packet reaches at all are reported too.
 */
import { silenceCause } from '../src/docker/context.ts';
import { findChain } from '../src/model/ruleset.ts';
import { damagedLines, isDamaged } from '../src/analysis/damaged-lines.ts';
import { isDockerChain } from '../src/docker/chains.ts';
import { defineRule } from '../src/lint/rule.ts';
import { actionKey, traceShowsCover } from '../src/analysis/covers.ts';
import { ruleWitness, witnessHook } from '../src/analysis/rule-witness.ts';
import { shadowsIn } from '../src/analysis/shadowing.ts';
import type { Hook, Packet, TraceStep } from '../src/model/trace.ts';

type MessageIds = 'shadowed' | 'contradictory' | 'unreachable';

export interface Options {
  /** Largest ruleset (in rules) on which the engine's per-rule reach sets are computed. */
  readonly engineRuleLimit: number;
  /** Most rule-to-rule comparisons spent looking for covers in one chain. */
  readonly comparisonLimit: number;
  /** Most witness packets traced through the engine per run (each walks the whole ruleset). */
  readonly traceLimit: number;
}

export default defineRule<MessageIds, Options>({
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
        '{{table}}/{{chain}} rule {{index}} ({{action}}) never matches: its own conditions contradict each other ({{reason}}), so no packet matches it (rule {{cover}} above it covers it trivially){{differs}}.',
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
    requiresEngine: false,
  },
  create(context) {
    const { engine } = context;
    const damaged = damagedLines(context.snapshot);
    const limitedFor = new Set<object>();
    const silentSaid = new Set<string>();
    let traced = 0;
    return {
      Chain(chain, table, ruleset) {
        if (isDockerChain(chain.name)) return;
        const reported = new Set<number>();
        let hook: Hook | undefined;
        const found = shadowsIn(
          chain,
          context.options.comparisonLimit,
          (rule) => !isDamaged(rule, damaged),
        );
        if (found.stoppedAt !== null) {
          context.limited(
            `${table.name}/${chain.name} (${ruleset.family}): checking for shadowed rules stopped at rule ${found.stoppedAt.index} of ${chain.rules.length} after ${context.options.comparisonLimit} rule comparisons (option comparisonLimit); rules from ${found.stoppedAt.index} on were not checked.`,
          );
        }
        for (const { rule: later, cover } of found.shadows) {
          reported.add(later.index);
          const same = actionKey(cover.target) === actionKey(later.target);
          const witness = ruleWitness(later, (hook ??= witnessHook(table, chain.name)), {
            family: ruleset.family,
            host: context.host,
            localAddresses: engine?.localAddresses(ruleset.family) ?? [],
          });
          const packet: Packet | null = witness.kind === 'packet' ? witness.packet : null;
          // The engine's trace is attached only when it shows the cover taking the packet, so a
          // finding never carries a trace that tells a different story than its message.
          let trace: readonly TraceStep[] = [];
          if (packet !== null && engine !== null) {
            traced += 1;
            if (traced <= context.options.traceLimit) {
              const steps = engine.trace(packet)?.steps ?? [];
              if (traceShowsCover(steps, table.name, chain.name, cover.index, later.index)) {
                trace = steps;
              }
            } else if (traced === context.options.traceLimit + 1) {
              context.limited(
                `shadowed-rule traced ${context.options.traceLimit} witness packets (option traceLimit); later shadowed findings carry a witness without its trace.`,
              );
            }
          }
          context.report({
            messageId: witness.kind === 'contradictory' ? 'contradictory' : 'shadowed',
            data: {
              table: table.name,
              chain: chain.name,
              index: later.index,
              action:
                later.target === null
                  ? 'no target'
                  : later.target.kind === 'jump'
                    ? `jump ${later.target.chain}`
                    : later.target.kind,
              cover: cover.index,
              coverText: cover.text,
              reason: witness.kind === 'packet' ? '' : witness.reason,
              differs: same
                ? ' with the same action, so removing it changes nothing'
                : ", and with a different action, so this rule's intent never takes effect",
            },
            node: later,
            object: { table: table.name, chain: chain.name, rule: later.index },
            severity: same ? 'note' : 'warning',
            witness: packet,
            trace,
            related: [{ message: `rule ${cover.index} covers it`, location: cover.location }],
          });
        }
        // The engine's "reached by no packet" holds on every host the snapshot allows (what it
        // does not know about addresses and routes stays possible), so it is proof either way.
        if (engine === null || table.name !== 'filter') return;
        // Per-rule reach sets cost the engine a walk of every path into the table; past this size
        // the structural check alone runs, and the report says so.
        const size = ruleset.tables.reduce(
          (n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0),
          0,
        );
        if (size > context.options.engineRuleLimit) {
          if (!limitedFor.has(ruleset)) {
            limitedFor.add(ruleset);
            context.limited(
              `the engine's reach check for rules that no packet reaches was skipped on this ${size}-rule ${ruleset.family} ruleset (limit ${context.options.engineRuleLimit}, option engineRuleLimit); structural shadowing was checked.`,
            );
          }
          return;
        }
        if (findChain(table, chain.name) === undefined) return;
        for (const rule of chain.rules) {
          if (reported.has(rule.index)) continue;
          const r = engine.ruleReach(ruleset.family, table.name, chain.name, rule.index);
          if (r === null || r.reach !== 'never') continue;
          if (r.silentHooks.length > 0) {
            // no packet reaches these hooks on this host at all: say so once, not per rule
            const key = `${ruleset.family}/${r.silentHooks.join(',')}`;
            if (!silentSaid.has(key)) {
              silentSaid.add(key);
              context.limited(
                `no packet reaches ${r.silentHooks.join(', ')} on this host (${silenceCause(context.snapshot, ruleset.family)}), so the rules of ${ruleset.file} on that path are reached by none; they were not checked for shadowing.`,
                chain.location,
              );
            }
            continue;
          }
          context.report({
            messageId: 'unreachable',
            data: {
              table: table.name,
              chain: chain.name,
              index: rule.index,
              action: rule.target?.kind ?? 'no target',
            },
            node: rule,
            object: { table: table.name, chain: chain.name, rule: rule.index },
            related: r.coveredBy.flatMap((n) => {
              const c = chain.rules[n - 1];
              return c === undefined
                ? []
                : [{ message: `rule ${n} takes its packets`, location: c.location }];
            }),
          });
        }
      },
    };
  },
});
