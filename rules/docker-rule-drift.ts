/**
 * docker-rule-drift: Docker-shaped rules for containers that no longer exist (left behind by a
 * crash, a restore of an old dump, live-restore edge cases) and published ports whose rules are
 * missing, as src/docker/ports.ts finds them (findRuleDrift, mapPublishedPorts) in iptables or in
 * Docker's nftables tables. Only judged when the snapshot has the containers file: without it
 * every rule would look stale.
 */
import { findRuleDrift, mapPublishedPorts, type DriftRule } from '../src/docker/ports.ts';
import { defineRule } from '../src/lint/rule.ts';

type MessageIds =
  'staleDnat' | 'staleAccept' | 'staleRaw' | 'notPublished' | 'missingDnat' | 'missingAccept';

const STALE = { dnat: 'staleDnat', accept: 'staleAccept', 'raw-drop': 'staleRaw' } as const;

/** The rule's target as its message names it: `172.17.0.2:80`, `172.17.0.2:80/tcp`. */
function targetOf(d: DriftRule): string {
  const at = d.port === null ? d.address : `${d.address}:${d.port}`;
  return d.kind === 'accept' ? `${at}/${d.protocol ?? 'any'}` : at;
}

export default defineRule<MessageIds, object>({
  meta: {
    id: 'docker-rule-drift',
    type: 'problem',
    severity: 'warning',
    docs: {
      description:
        'Docker-shaped rules for containers that no longer exist, and published ports whose DNAT or accept rules are missing',
      recommended: true,
    },
    messages: {
      staleDnat:
        'DNAT to {{target}} in {{table}}/{{chain}} belongs to no current container: port {{port}} is still forwarded to an address that another container may get next.',
      staleAccept:
        'ACCEPT for {{target}} in {{table}}/{{chain}} belongs to no current container: it opens that port for whichever container gets the address next.',
      staleRaw:
        '{{table}}/{{chain}} drop for {{target}} belongs to no current container (left over from a removed container).',
      notPublished:
        '{{what}} for {{target}} in {{table}}/{{chain}} is left from an earlier port mapping: container {{container}} has the address {{address}} but does not publish port {{port}}, and the rule still lets that port through.',
      missingDnat:
        'Container {{container}} publishes {{address}}:{{port}}/{{protocol}}, but {{where}} has no DNAT to {{target}}: the mapping is not in effect (rules flushed or daemon restarted without them).',
      missingAccept:
        'Container {{container}} publishes {{address}}:{{port}}/{{protocol}}, but {{where}} has no accept for {{target}}: connections forwarded to it are not let through by Docker (rules flushed or edited by hand).',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: false,
  },
  create(context) {
    const { snapshot } = context;
    return {
      end() {
        for (const d of findRuleDrift(snapshot)) {
          const target = targetOf(d);
          const object = { table: d.table, chain: d.rule.chain, address: target };
          if (d.owner === null) {
            context.report({
              messageId: STALE[d.kind],
              data: { target, table: d.table, chain: d.rule.chain, port: d.hostPort ?? '' },
              node: d.rule,
              object,
            });
          } else {
            context.report({
              messageId: 'notPublished',
              data: {
                what: d.kind === 'dnat' ? 'DNAT' : 'ACCEPT',
                target,
                table: d.table,
                chain: d.rule.chain,
                container: d.owner,
                address: d.address,
                port: d.port ?? '',
              },
              node: d.rule,
              object,
            });
          }
        }
        for (const p of mapPublishedPorts(snapshot)) {
          for (const gap of p.gaps) {
            if (gap.kind === 'raw-drop') continue; // direct-container-access judges those
            if (gap.kind === 'dnat' && p.port.hostPort === null) continue;
            context.report({
              messageId: gap.kind === 'dnat' ? 'missingDnat' : 'missingAccept',
              data: {
                container: p.container.name,
                address: p.port.hostIp,
                port: p.port.hostPort ?? p.port.containerPort,
                protocol: p.port.protocol,
                where: gap.where,
                target: `${p.containerAddress ?? '?'}:${p.port.containerPort}`,
              },
              node: p.port,
              object: {
                container: p.container.name,
                port: p.port.hostPort ?? p.port.containerPort,
                protocol: p.port.protocol,
                ...(gap.kind === 'accept' ? { missing: 'accept' } : {}),
              },
            });
          }
        }
      },
    };
  },
});
