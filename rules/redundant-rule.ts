/**
 * redundant-rule: rules that can match but whose removal changes no verdict: a trailing rule of a
 * built-in chain (an nftables base chain) that does what the chain policy does anyway, and an
 * unconditional RETURN at the end of a user chain (an nftables regular chain). An nftables rule
 * that also does something else first (`log … drop`, `meta mark set 1 accept`) is not redundant.
 * Docker's own chains and its `docker-bridges` tables are left out: Docker rewrites them. (A rule
 * covered by an earlier one with the same action is reported by shadowed-rule.)
 */
import type { Rule } from '../src/model/ruleset.ts';
import { tableId } from '../src/model/ruleset.ts';
import { isDockerNftTable } from '../src/docker/nft-layout.ts';
import { isDockerChain } from '../src/docker/chains.ts';
import { dockerBridges, mentionsDockerBridge } from '../src/docker/topology.ts';
import { effectiveOptions, ruleLabel } from '../src/model/rule-queries.ts';
import { defineRule } from '../src/lint/rule.ts';

type MessageIds = 'sameAsPolicy' | 'trailingReturn';

function plainVerdict(rule: Rule): 'ACCEPT' | 'DROP' | null {
  if ((rule.steps ?? []).length > 0) return null;
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
    const bridges = new Set([
      ...dockerBridges(context.snapshot, 'ipv4'),
      ...dockerBridges(context.snapshot, 'ipv6'),
    ]);
    return {
      Chain(chain, table) {
        // Docker rewrites its own chains (and ≤28.2 adds a RETURN to DOCKER-USER itself).
        if (isDockerChain(chain.name) || chain.name === 'DOCKER-USER' || isDockerNftTable(table))
          return;
        const tid = tableId(table);
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
                table: tid,
                chain: chain.name,
                index: ruleLabel(rule),
                verdict: chain.policy,
              },
              node: rule,
              object: { table: tid, chain: chain.name, rule: rule.index },
            });
          }
          return;
        }
        const last = rules[rules.length - 1];
        if (
          !chain.builtin &&
          last !== undefined &&
          last.target?.kind === 'RETURN' &&
          effectiveOptions(last).length === 0 &&
          (last.steps ?? []).length === 0
        ) {
          context.report({
            messageId: 'trailingReturn',
            data: { table: tid, chain: chain.name, index: ruleLabel(last) },
            node: last,
            object: { table: tid, chain: chain.name, rule: last.index },
          });
        }
      },
    };
  },
});
