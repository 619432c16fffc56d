/**
 * docker-rule-drift: Docker-shaped rules for containers that no longer exist (left behind by a
 * crash, a restore of an old dump, live-restore edge cases) and published ports whose rules are
 * missing. Only judged when the snapshot has the containers file: without it every rule would
 * look stale.
 */
import type { Container, PublishedPort } from '../src/model/host.ts';
import type { Rule, Ruleset } from '../src/model/ruleset.ts';
import { isLoopback, isWildcard } from '../src/docker/bindings.ts';
import { dnatRules } from '../src/docker/rules.ts';
import { containerAddresses, dockerProgramsIpv6, publishedFamily } from '../src/docker/topology.ts';
import { chainIn, dstAddress, dstPorts, inRange, protocolName } from '../src/model/rule-queries.ts';
import { defineRule, ruleDocsUrl } from '../src/lint/rule.ts';

type MessageIds = 'staleDnat' | 'staleAccept' | 'staleRaw' | 'missingDnat';

function bare(cidr: string): string {
  const i = cidr.indexOf('/');
  return i < 0 ? cidr : cidr.slice(0, i);
}

function dnatServes(ruleset: Ruleset, c: Container, p: PublishedPort): boolean {
  const addrs = containerAddresses(c);
  return dnatRules(ruleset).some(
    (d) =>
      d.toAddress !== null &&
      addrs.includes(d.toAddress) &&
      (d.toPort ?? p.containerPort) === p.containerPort &&
      (d.protocol === null || d.protocol === p.protocol) &&
      (d.hostPorts === null || (p.hostPort !== null && inRange(p.hostPort, d.hostPorts))),
  );
}

export default defineRule<MessageIds, object>({
  meta: {
    id: 'docker-rule-drift',
    type: 'problem',
    severity: 'warning',
    docs: {
      description:
        'Docker-shaped rules for containers that no longer exist, and published ports whose DNAT rules are missing',
      recommended: true,
      url: ruleDocsUrl('docker-rule-drift'),
    },
    messages: {
      staleDnat:
        'DNAT to {{target}} in nat/{{chain}} belongs to no current container: port {{port}} is still forwarded to an address that another container may get next.',
      staleAccept:
        'ACCEPT for {{target}} in filter/{{chain}} belongs to no current container: it opens that port for whichever container gets the address next.',
      staleRaw:
        'raw/PREROUTING drop for {{target}} belongs to no current container (left over from a removed container).',
      missingDnat:
        'Container {{container}} publishes {{address}}:{{port}}/{{protocol}}, but the {{family}} nat table has no DNAT to {{target}}: the mapping is not in effect (rules flushed or daemon restarted without them).',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: false,
  },
  create(context) {
    const { snapshot, host } = context;
    const haveContainers = snapshot.files.some(
      (f) => f.role === 'containers' && f.status === 'read',
    );
    const running = host.containers.filter((c) => c.running);
    const known = new Set(running.flatMap(containerAddresses));
    const active = haveContainers && host.daemon.iptables.value && snapshot.era.era !== 'nftables';

    const checkStale = (rule: Rule, messageId: MessageIds, target: string, port?: number): void => {
      context.report({
        messageId,
        data: { target, chain: rule.chain, port: port ?? '' },
        node: rule,
        object: { table: rule.table, chain: rule.chain, address: target },
      });
    };

    return {
      Ruleset(ruleset) {
        if (!active) return;
        for (const d of dnatRules(ruleset)) {
          if (d.rule.chain !== 'DOCKER' || d.toAddress === null) continue;
          if (isLoopback(d.toAddress) || known.has(d.toAddress)) continue;
          const target = d.toPort === null ? d.toAddress : `${d.toAddress}:${d.toPort}`;
          checkStale(d.rule, 'staleDnat', target, d.hostPorts?.[0]?.from);
        }
        const docker = chainIn(ruleset, 'filter', 'DOCKER');
        for (const rule of docker?.rules ?? []) {
          if (rule.target?.kind !== 'ACCEPT') continue;
          const d = dstAddress(rule);
          if (d === null || !(d.endsWith('/32') || d.endsWith('/128'))) continue;
          // Legacy --link holes carry a source container too; the destination is what matters.
          if (known.has(bare(d))) continue;
          const ports = dstPorts(rule);
          const target = ports === null ? bare(d) : `${bare(d)}:${ports[0]?.from ?? ''}`;
          checkStale(rule, 'staleAccept', `${target}/${protocolName(rule) ?? 'any'}`);
        }
        const raw = chainIn(ruleset, 'raw', 'PREROUTING');
        for (const rule of raw?.rules ?? []) {
          if (rule.target?.kind !== 'DROP') continue;
          const d = dstAddress(rule);
          if (d === null || dstPorts(rule) !== null) continue; // per-port loopback drops are not per container
          const a = bare(d);
          if (isLoopback(a) || known.has(a) || !(d.endsWith('/32') || d.endsWith('/128'))) continue;
          checkStale(rule, 'staleRaw', a);
        }
      },
      PublishedPort(p, c) {
        if (!active || !c.running || p.hostPort === null) return;
        if (c.networkMode.kind === 'host') return;
        const family = publishedFamily(p);
        const ruleset = family === 'ipv4' ? snapshot.ipv4 : snapshot.ipv6;
        if (ruleset === null) return;
        if (family === 'ipv6' && !dockerProgramsIpv6(snapshot)) return;
        const addrs = containerAddresses(c).filter((a) => (family === 'ipv6') === a.includes(':'));
        // IPv4-only container published on [::]: docker-proxy serves it, no ip6tables DNAT expected.
        if (addrs.length === 0) return;
        if (dnatServes(ruleset, c, p)) return;
        context.report({
          messageId: 'missingDnat',
          data: {
            container: c.name,
            address: isWildcard(p.hostIp) ? p.hostIp : p.hostIp,
            port: p.hostPort,
            protocol: p.protocol,
            family,
            target: `${addrs[0] ?? '?'}:${p.containerPort}`,
          },
          node: p,
          object: { container: c.name, port: p.hostPort, protocol: p.protocol },
        });
      },
    };
  },
});
