/**
 * input-rule-bypassed: the "Docker bypasses ufw" problem. An INPUT-side DROP or REJECT (a rule,
 * ufw's chains, or INPUT's DROP policy — or the same in an operator's nftables input base chain)
 * looks like it blocks a published port, but the packets are DNATed in PREROUTING and forwarded:
 * INPUT never sees them. The published ports are the
 * engine's discovered exposures (DNATed and forwarded, sent to an address of the host), so the
 * finding needs no container list: the rules alone show it.
 */
import { exposureObject } from '../src/analysis/exposure-object.ts';
import {
  destinationText,
  intersectPorts,
  portsOverlap,
  portsText,
  targetName,
} from '../src/analysis/exposure-text.ts';
import type { Exposure } from '../src/model/audit.ts';
import type { Chain, Rule, Table } from '../src/model/ruleset.ts';
import { findTable, tableId } from '../src/model/ruleset.ts';
import { isDockerNftTable } from '../src/docker/nft-layout.ts';
import { dstPorts, protocolName, reachableChains } from '../src/model/rule-queries.ts';
import { defineRule } from '../src/lint/rule.ts';

type MessageIds = 'ruleBypassed' | 'policyBypassed';

function isBlocking(rule: Rule): boolean {
  return rule.target?.kind === 'DROP' || rule.target?.kind === 'REJECT';
}

/** A published port the host forwards after DNAT, sent to (what may be) an address of the host. */
function isForwardedPublish(e: Exposure): boolean {
  return e.kind === 'published' && e.target.outInterface !== null && e.toHost !== false;
}

export default defineRule<MessageIds, object, true>({
  meta: {
    id: 'input-rule-bypassed',
    type: 'problem',
    severity: 'error',
    docs: {
      description:
        'INPUT-side DROP/REJECT rules and policies (ufw included) that published ports bypass through DNAT and FORWARD',
      recommended: true,
    },
    messages: {
      ruleBypassed:
        '{{chain}} rule {{action}}s {{port}}/{{protocol}}, but connections to that published port are DNATed to {{container}} ({{target}}) and forwarded: this rule never sees them.',
      policyBypassed:
        '{{chain}} policy {{policy}} does not protect published ports: {{ports}} reach containers through {{forward}} instead.',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: true,
  },
  create(context) {
    const published = context.exposures.filter(isForwardedPublish);
    const evidence = (e: Exposure) => ({
      witness: e.witness,
      trace: e.trace,
      certainty: e.certainty,
      assumptions: e.assumptions,
    });
    /**
     * The blocking rules of the chains an input chain reaches, and its policy. `name` is how the
     * findings name a chain, `forward` where the packets go instead.
     */
    const check = (
      table: Table,
      input: Chain,
      mine: readonly Exposure[],
      name: (chain: Chain) => string,
      forward: string,
    ): void => {
      const inputChains = reachableChains(table, input.name);
      const tid = tableId(table);
      for (const chain of table.chains) {
        if (!inputChains.has(chain.name)) continue;
        for (const rule of chain.rules) {
          if (!isBlocking(rule)) continue;
          const ports = dstPorts(rule);
          if (ports === null) continue;
          const proto = protocolName(rule);
          for (const e of mine) {
            if (!portsOverlap(ports, e.ports) || (proto !== null && proto !== e.protocol)) continue;
            const hit = intersectPorts(e.ports, ports);
            context.report({
              messageId: 'ruleBypassed',
              data: {
                chain: name(chain),
                action: rule.target?.kind === 'REJECT' ? 'reject' : 'drop',
                port: portsText(hit),
                protocol: e.protocol,
                container: targetName(e),
                target: `${portsText(e.target.ports)}/${e.protocol}`,
              },
              node: rule,
              object: {
                table: tid,
                chain: chain.name,
                rule: rule.index,
                ...exposureObject(e),
              },
              ...evidence(e),
            });
          }
        }
      }
      if (input.policy === 'DROP' || endsWithBlock(input)) {
        const first = mine[0];
        if (first === undefined) return;
        context.report({
          messageId: 'policyBypassed',
          data: {
            chain: name(input),
            // as the listing writes it: `policy drop;` in nftables
            policy:
              table.nft === undefined
                ? (input.policy ?? 'DROP')
                : (input.policy ?? 'DROP').toLowerCase(),
            ports: mine.map((e) => `${destinationText(e)} → ${targetName(e)}`).join(', '),
            forward,
          },
          node: input,
          // about the chain, not about whichever port is listed first
          object: { table: tid, chain: input.name },
          ...evidence(first),
        });
      }
    };
    return {
      Ruleset(ruleset) {
        const mine = published.filter((e) => e.family === ruleset.family);
        if (mine.length === 0) return;
        const filter = findTable(ruleset, 'filter');
        const input = filter?.chains.find((c) => c.name === 'INPUT');
        if (filter !== undefined && input !== undefined) {
          check(filter, input, mine, (c) => c.name, 'FORWARD');
        }
        // An operator's nftables input chains (nftables.conf, firewalld): the same bypass.
        for (const table of ruleset.tables) {
          if (table.nft === undefined || table.nft.iptablesNft || isDockerNftTable(table)) continue;
          for (const base of table.chains) {
            if (base.base?.hook !== 'input' || base.base.type !== 'filter') continue;
            check(table, base, mine, (c) => `${tableId(table)}/${c.name}`, 'the forward hook');
          }
        }
      },
    };
  },
});

/** INPUT ending in an unconditional DROP/REJECT (or a jump to a ufw-style reject chain) acts as a policy. */
function endsWithBlock(chain: Chain): boolean {
  const last = chain.rules[chain.rules.length - 1];
  return (
    last !== undefined && isBlocking(last) && last.core.length === 0 && last.matches.length === 0
  );
}
