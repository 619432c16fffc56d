/**
 * docker-user-port-mismatch: in FORWARD and DOCKER-USER a published port's packets already carry
 * the container's address and port (DNAT ran in PREROUTING). A rule there that names the host
 * port or a host address matches something that no longer exists; `--ctorigdstport` and
 * `--ctorigdst` match the original values.
 */
import type { Container, PublishedPort } from '../src/model/host.ts';
import type { Rule, Ruleset, Table } from '../src/model/ruleset.ts';
import { findTable } from '../src/model/ruleset.ts';
import { hostAddressFor, newConnection, remoteClient } from '../src/analysis/packets.ts';
import { isDockerChain } from '../src/docker/chains.ts';
import { externalInterfaces } from '../src/docker/interfaces.ts';
import { containerAddresses } from '../src/docker/topology.ts';
import {
  dstAddress,
  dstPorts,
  inRange,
  matchesOriginalDestination,
  protocolName,
  reachableChains,
} from '../src/model/rule-queries.ts';
import { defineRule, ruleDocsUrl } from '../src/lint/rule.ts';

type MessageIds = 'hostPort' | 'hostAddress';

function bare(cidr: string): string {
  const i = cidr.indexOf('/');
  return i < 0 ? cidr : cidr.slice(0, i);
}

/** Chains whose rules see forwarded packets after DNAT: FORWARD, DOCKER-USER and what they jump to. */
function forwardSideChains(filter: Table): Set<string> {
  const out = new Set<string>();
  for (const name of reachableChains(filter, 'FORWARD')) {
    if (!isDockerChain(name)) out.add(name);
  }
  return out;
}

export default defineRule<MessageIds, object>({
  meta: {
    id: 'docker-user-port-mismatch',
    type: 'problem',
    severity: 'error',
    docs: {
      description:
        'DOCKER-USER or FORWARD rules that match a published host port or host address, which no longer exist after DNAT',
      recommended: true,
      url: ruleDocsUrl('docker-user-port-mismatch'),
    },
    messages: {
      hostPort:
        "{{chain}} rule matches --dport {{port}}, the host port of {{container}}'s mapping {{port}}→{{containerPort}}; after DNAT the packet carries port {{containerPort}}, so this rule never matches it. Use -m conntrack --ctorigdstport {{port}} --ctdir ORIGINAL.",
      hostAddress:
        '{{chain}} rule matches -d {{address}}, a host address that published ports are DNATed away from (to {{container}} at {{target}}); use -m conntrack --ctorigdst {{address}}.',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: false,
  },
  create(context) {
    const { host, engine } = context;
    const running = host.containers.filter((c) => c.running && c.networkMode.kind !== 'host');
    const mappings = running.flatMap((c) =>
      c.published
        .filter((p) => p.hostPort !== null && p.hostPort !== p.containerPort)
        .map((p) => ({ c, p })),
    );
    const localAddresses = new Set(
      host.interfaces.flatMap((i) => i.addresses.map((a) => a.address)),
    );

    const witnessFor = (ruleset: Ruleset, rule: Rule, c: Container, p: PublishedPort) => {
      const family = ruleset.family;
      const iface = externalInterfaces(host, family)[0] ?? 'eth0';
      const dst = dstAddress(rule);
      const destination =
        dst !== null
          ? bare(dst)
          : hostAddressFor(host, family, p.hostIp, engine?.localAddresses(family));
      const packet = newConnection(
        family,
        p.protocol,
        remoteClient(family, host),
        destination,
        p.hostPort ?? p.containerPort,
        iface,
      );
      const trace = engine?.trace(packet) ?? null;
      return {
        witness: packet,
        trace: trace?.steps ?? [],
        certainty: trace?.certainty ?? ('certain' as const),
        container: c,
      };
    };

    return {
      Ruleset(ruleset) {
        const filter = findTable(ruleset, 'filter');
        if (filter === undefined) return;
        const chains = forwardSideChains(filter);
        for (const chain of filter.chains) {
          if (!chains.has(chain.name)) continue;
          for (const rule of chain.rules) {
            if (matchesOriginalDestination(rule)) continue;
            const ports = dstPorts(rule);
            const proto = protocolName(rule);
            if (ports !== null) {
              const hit = mappings.find(
                ({ p }) =>
                  p.hostPort !== null &&
                  inRange(p.hostPort, ports) &&
                  !inRange(p.containerPort, ports) &&
                  (proto === null || proto === p.protocol) &&
                  (p.hostIp.includes(':') ? 'ipv6' : 'ipv4') === ruleset.family,
              );
              if (hit !== undefined) {
                const w = witnessFor(ruleset, rule, hit.c, hit.p);
                context.report({
                  messageId: 'hostPort',
                  data: {
                    chain: chain.name,
                    port: hit.p.hostPort ?? 0,
                    container: hit.c.name,
                    containerPort: hit.p.containerPort,
                  },
                  node: rule,
                  object: {
                    table: 'filter',
                    chain: chain.name,
                    rule: rule.index,
                    port: hit.p.hostPort ?? 0,
                  },
                  witness: w.witness,
                  trace: w.trace,
                  certainty: w.certainty,
                });
                continue;
              }
            }
            const dst = dstAddress(rule);
            if (dst === null) continue;
            const address = bare(dst);
            if (!localAddresses.has(address)) continue;
            const target = running.find((c) =>
              c.published.some(
                (p) =>
                  p.hostPort !== null &&
                  (p.hostIp === address || p.hostIp === '0.0.0.0' || p.hostIp === '::'),
              ),
            );
            const port = target?.published.find((p) => p.hostPort !== null);
            if (target === undefined || port === undefined) continue;
            const w = witnessFor(ruleset, rule, target, port);
            context.report({
              messageId: 'hostAddress',
              data: {
                chain: chain.name,
                address,
                container: target.name,
                target: `${containerAddresses(target)[0] ?? '?'}:${port.containerPort}`,
              },
              node: rule,
              object: { table: 'filter', chain: chain.name, rule: rule.index, address },
              witness: w.witness,
              trace: w.trace,
              certainty: w.certainty,
            });
          }
        }
      },
    };
  },
});
