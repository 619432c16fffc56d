/**
 * redundant-rule: rules that can match but whose removal changes no verdict: a trailing rule of a
 * built-in chain that does what the chain policy does anyway, and an unconditional RETURN at the
 * end of a user chain. (A rule covered by an earlier one with the same action is reported by
 * shadowed-rule.)
 */
import type { Rule } from '../src/model/ruleset.ts';
import { isDockerChain } from '../src/docker/chains.ts';
import { bridgeNames, mentionsDockerBridge } from '../src/docker/topology.ts';
import { effectiveOptions } from '../src/model/rule-queries.ts';
import { defineRule } from '../src/lint/rule.ts';

type MessageIds = 'sameAsPolicy' | 'trailingReturn';

function plainVerdict(rule: Rule): 'ACCEPT' | 'DROP' | null {
  const k = rule.target?.kind;
  return k === 'ACCEPT' || k === 'DROP' ? k : null;
}

export default defineRule<MessageIds, object>({
  meta: {
    id: 'redundant-rule',
    type: 'suggestion',
    severity: 'note',
    docs: {
      description:
        'Rules whose removal changes nothing: trailing rules equal to the chain policy, trailing unconditional RETURNs',
      recommended: false,
    },
    messages: {
      sameAsPolicy:
        '{{table}}/{{chain}} rule {{index}} ({{verdict}}) is redundant: packets it matches get {{verdict}} from the chain policy anyway.',
      trailingReturn:
        '{{table}}/{{chain}} rule {{index}} is an unconditional RETURN at the end of the chain, which returns anyway.',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: false,
  },
  create(context) {
    const bridges = bridgeNames(context.host);
    return {
      Chain(chain, table) {
        // Docker rewrites its own chains (and ≤28.2 adds a RETURN to DOCKER-USER itself).
        if (isDockerChain(chain.name) || chain.name === 'DOCKER-USER') return;
        const rules = chain.rules;
        if (chain.builtin && chain.policy !== null) {
          for (let i = rules.length - 1; i >= 0; i -= 1) {
            const rule = rules[i] as Rule;
            if (plainVerdict(rule) !== chain.policy) break;
            // Docker's own rules in built-in chains (icc=false drops) are rewritten at restart.
            if (mentionsDockerBridge(rule, bridges)) continue;
            context.report({
              messageId: 'sameAsPolicy',
              data: {
                table: table.name,
                chain: chain.name,
                index: rule.index,
                verdict: chain.policy,
              },
              node: rule,
              object: { table: table.name, chain: chain.name, rule: rule.index },
            });
          }
          return;
        }
        const last = rules[rules.length - 1];
        if (
          !chain.builtin &&
          last !== undefined &&
          last.target?.kind === 'RETURN' &&
          effectiveOptions(last).length === 0
        ) {
          context.report({
            messageId: 'trailingReturn',
            data: { table: table.name, chain: chain.name, index: last.index },
            node: last,
            object: { table: table.name, chain: chain.name, rule: last.index },
          });
        }
      },
    };
  },
});
