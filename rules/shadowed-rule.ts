/**
 * shadowed-rule: rules no packet can reach because earlier rules in the same chain take every
 * packet they match, named with the rules that cover them and whether their action differs.
 * Structural coverage (every condition of the earlier rule implied by the later one) needs no
 * engine; with the engine, rules no packet reaches at all are reported too.
 */
import { findChain } from '../src/model/ruleset.ts';
import { damagedLines, isDamaged, isDockerChainName } from '../src/lint/queries.ts';
import { defineRule, ruleDocsUrl } from '../src/lint/rule.ts';
import { actionKey, decides, ruleCovers } from '../src/lint/subsume.ts';

type MessageIds = 'shadowed' | 'unreachable';

export interface Options {
  /** Largest ruleset (in rules) on which the engine's per-rule reach sets are computed. */
  readonly engineRuleLimit: number;
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
      url: ruleDocsUrl('shadowed-rule'),
    },
    messages: {
      shadowed:
        '{{table}}/{{chain}} rule {{index}} ({{action}}) never matches: rule {{cover}} above it ({{coverText}}) takes every packet it would match{{differs}}.',
      unreachable:
        '{{table}}/{{chain}} rule {{index}} ({{action}}) is reached by no packet: the rules before it (or the chains that lead here) leave nothing for it.',
    },
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: { engineRuleLimit: { type: 'integer', minimum: 0 } },
    },
    defaultOptions: { engineRuleLimit: 3000 },
    requiresEngine: false,
  },
  create(context) {
    const { engine } = context;
    const damaged = damagedLines(context.snapshot);
    const limitedFor = new Set<object>();
    return {
      Chain(chain, table, ruleset) {
        if (isDockerChainName(chain.name)) return;
        const reported = new Set<number>();
        const broken = chain.rules.map((r) => isDamaged(r, damaged));
        for (const [i, later] of chain.rules.entries()) {
          let cover: (typeof chain.rules)[number] | undefined;
          for (let j = 0; j < i && cover === undefined; j += 1) {
            const e = chain.rules[j];
            if (e === undefined || broken[j] === true || !decides(e.target)) continue;
            if (ruleCovers(e, later)) cover = e;
          }
          if (cover === undefined) continue;
          reported.add(later.index);
          const same = actionKey(cover.target) === actionKey(later.target);
          context.report({
            messageId: 'shadowed',
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
              differs: same
                ? ' with the same action, so removing it changes nothing'
                : ", and with a different action, so this rule's intent never takes effect",
            },
            node: later,
            object: { table: table.name, chain: chain.name, rule: later.index },
            severity: same ? 'note' : 'warning',
            related: [{ message: `rule ${cover.index} covers it`, location: cover.location }],
          });
        }
        // Reach sets depend on the host's addresses (addrtype LOCAL, routing): without ip-addr.json
        // they rest on guesses, and a "never reached" claim would not be proof.
        const addressesKnown = context.snapshot.files.some(
          (f) => f.role === 'ip-addr' && f.status === 'read',
        );
        if (engine === null || !addressesKnown || table.name !== 'filter') return;
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
