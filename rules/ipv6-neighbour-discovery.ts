/**
 * ipv6-neighbour-discovery: IPv6 finds a neighbour's link address with ICMPv6 neighbour
 * solicitations and advertisements, which ip6tables and nftables filter like any other packet
 * (IPv4's ARP never meets iptables). An INPUT whose DROP policy lets only TCP in answers no
 * neighbour: nothing sent to the host over IPv6 on that link arrives, nor anything it would
 * forward, though every rule the packet itself meets accepts it. The engine walks those
 * exchanges per interface (src/engine/neighbours.ts); a rule that certainly stops them for a
 * neighbour's link-local address is reported with the interfaces and one stopped packet. What is
 * only possibly stopped (a match the engine cannot decide) is not: the exposures it touches are
 * possible and say why.
 */
import { interfaceText } from '../src/analysis/exposure-text.ts';
import type { NeighbourDiscoveryBlock } from '../src/lint/engine.ts';
import { defineRule, listOf } from '../src/lint/rule.ts';
import type { Packet } from '../src/model/trace.ts';

type MessageIds = 'stopped';

type StopRule = NeighbourDiscoveryBlock['rules'][number];

function ruleName(r: StopRule): string {
  return r.index === null
    ? `${r.table} ${r.chain}'s policy`
    : `${r.table} ${r.chain} rule ${r.index}`;
}

export default defineRule<MessageIds, object, true>({
  meta: {
    id: 'ipv6-neighbour-discovery',
    type: 'problem',
    severity: 'warning',
    docs: {
      description:
        "IPv6 neighbour discovery stopped by the host's own rules: over IPv6 nothing reaches the host, or what it forwards, on those interfaces",
      recommended: true,
    },
    messages: {
      stopped:
        '{{rule}} stops IPv6 neighbour discovery on {{interfaces}}: the host answers no neighbour there, or resolves none, so IPv6 to it and through it gets there only while a neighbour entry is held. Let ICMPv6 neighbour solicitations and advertisements (types 135 and 136) through before it.',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: true,
  },
  create(context) {
    return {
      end() {
        const engine = context.engine;
        if (!engine.families.includes('ipv6')) return;
        // one finding per stopping rule, with every interface it stops
        const byRule = new Map<
          string,
          { rule: StopRule; others: StopRule[]; interfaces: string[]; witnesses: Packet[] }
        >();
        for (const block of engine.neighbourDiscovery('ipv6')) {
          const [rule, ...others] = block.rules;
          if (!block.certain || rule === undefined) continue;
          const key = `${rule.table}/${rule.chain}/${rule.index ?? 'policy'}`;
          const group = byRule.get(key) ?? { rule, others, interfaces: [], witnesses: [] };
          byRule.set(key, group);
          group.interfaces.push(block.interface);
          if (block.witness !== null) group.witnesses.push(block.witness);
        }
        for (const { rule, others, interfaces, witnesses } of byRule.values()) {
          // the witness whose trace ends at this rule (the trace routes a multicast
          // solicitation as any destination, and may forward it where the kernel does not:
          // that trace is not shown)
          const traced = witnesses.map((w) => ({ w, trace: engine.trace(w) }));
          const shown = traced.find(({ trace }) => {
            const last = trace?.steps.at(-1);
            return (
              trace?.verdict !== 'accepted' &&
              last !== undefined &&
              last.table === rule.table &&
              last.chain === rule.chain &&
              last.rule === rule.index
            );
          });
          context.report({
            messageId: 'stopped',
            data: {
              rule: ruleName(rule),
              interfaces: listOf(interfaces.map((i) => interfaceText(i))),
            },
            node: { location: rule.location },
            object: {
              table: rule.table,
              chain: rule.chain,
              ...(rule.index === null ? {} : { rule: rule.index }),
            },
            witness: shown?.w ?? witnesses[0] ?? null,
            ...(shown?.trace === undefined || shown.trace === null
              ? {}
              : { trace: shown.trace.steps }),
            related: others.map((r) => ({
              message: `${ruleName(r)} stops some of it too`,
              location: r.location,
            })),
          });
        }
      },
    };
  },
});
