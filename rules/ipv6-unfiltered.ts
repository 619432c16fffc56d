/**
 * ipv6-unfiltered: the IPv6 side of a container without the filtering its IPv4 side has:
 * ip6tables off (or no ip6tables dump at all) with IPv6 containers, a DOCKER-USER that filters
 * IPv4 but is missing or empty in ip6tables, and docker-proxy relaying IPv6 clients to IPv4-only
 * containers (so ip6tables' DOCKER-USER and the IPv4 FORWARD filter both miss them).
 */
import type { Container } from '../src/model/host.ts';
import { hostAddressFor, newConnection, remoteClient } from '../src/analysis/packets.ts';
import { isWildcard } from '../src/docker/bindings.ts';
import { externalInterfaces } from '../src/docker/interfaces.ts';
import { dockerProgramsIpv6 } from '../src/docker/topology.ts';
import { chainIn, effectiveOptions } from '../src/model/rule-queries.ts';
import { defineRule, ruleDocsUrl } from '../src/lint/rule.ts';

type MessageIds = 'ip6tablesOff' | 'userChainGap' | 'proxied';

function v6Containers(containers: readonly Container[]): Container[] {
  return containers.filter((c) => c.running && c.endpoints.some((e) => e.ipv6 !== null));
}

export default defineRule<MessageIds, object>({
  meta: {
    id: 'ipv6-unfiltered',
    type: 'problem',
    severity: 'warning',
    docs: {
      description:
        'Containers reachable over IPv6 without the filtering their IPv4 side has (ip6tables off, DOCKER-USER missing in ip6tables, IPv6 proxied to IPv4)',
      recommended: true,
      url: ruleDocsUrl('ipv6-unfiltered'),
    },
    messages: {
      ip6tablesOff:
        "IPv6 containers ({{names}}) but {{why}}: Docker adds no IPv6 NAT or filter rules, so their addresses are routable from outside subject only to the host's own ip6tables FORWARD policy ({{policy}}).",
      userChainGap:
        'DOCKER-USER filters IPv4 ({{v4count}} rule(s)) but ip6tables {{gap}}: the same published ports over IPv6 ({{ports}}) are not filtered.',
      proxied:
        'docker-proxy listens on [::]:{{port}} for IPv4-only container {{container}}: IPv6 clients are relayed through INPUT to {{target}}, bypassing DOCKER-USER and FORWARD filtering.',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: false,
  },
  create(context) {
    const { host, snapshot, engine } = context;
    /**
     * An IPv6 client's connection to the proxied port and its trace; null when the engine shows
     * INPUT stopping it (then the relay is filtered after all). Without a host IPv6 address the
     * claim stays possible.
     */
    const relayProof = (port: number, protocol: 'tcp' | 'udp' | 'sctp') => {
      const local = engine?.localAddresses('ipv6') ?? [];
      const destination = hostAddressFor(host, 'ipv6', '::', local);
      if (engine === null || !local.includes(destination))
        return { certainty: 'possible' as const };
      const witness = newConnection(
        'ipv6',
        protocol,
        remoteClient('ipv6', host),
        destination,
        port,
        externalInterfaces(host, 'ipv6')[0] ?? 'eth0',
      );
      const trace = engine.trace(witness);
      if (trace === null) return { witness, certainty: 'possible' as const };
      if (trace.verdict !== 'accepted' || trace.delivery?.kind !== 'local') return null;
      return { witness, trace: trace.steps, certainty: trace.certainty };
    };
    return {
      end() {
        if (!host.daemon.iptables.value) return;
        const v6 = v6Containers(host.containers);
        const ipv6File = snapshot.files.find((f) => f.role === 'ip6tables');
        const haveV6Dump = snapshot.ipv6 !== null;
        const programs = dockerProgramsIpv6(snapshot);
        if (v6.length > 0 && (!programs || !haveV6Dump)) {
          const why = !programs
            ? '"ip6tables" is off in the daemon'
            : 'no ip6tables dump was captured';
          const policy = chainIn(snapshot.ipv6, 'filter', 'FORWARD')?.policy ?? 'unknown';
          const setting = host.daemon.ip6tables;
          context.report({
            messageId: 'ip6tablesOff',
            data: { names: v6.map((c) => c.name).join(', '), why, policy },
            node:
              setting.location !== undefined
                ? { location: setting.location }
                : (v6[0] as Container),
            object: { setting: 'ip6tables' },
            severity: policy === 'DROP' ? 'warning' : 'error',
          });
        }
        const v4User = chainIn(snapshot.ipv4, 'filter', 'DOCKER-USER');
        const v4Rules = (v4User?.rules ?? []).filter(
          (r) => !(r.target?.kind === 'RETURN' && effectiveOptions(r).length === 0),
        );
        const v6Published = v6.flatMap((c) =>
          c.published
            .filter((p) => p.hostPort !== null && (p.hostIp === '::' || p.hostIp.includes(':')))
            .map((p) => `${c.name} [${p.hostIp}]:${p.hostPort ?? ''}`),
        );
        if (haveV6Dump && programs && v4Rules.length > 0 && v6Published.length > 0) {
          const v6User = chainIn(snapshot.ipv6, 'filter', 'DOCKER-USER');
          const v6Rules = (v6User?.rules ?? []).filter(
            (r) => !(r.target?.kind === 'RETURN' && effectiveOptions(r).length === 0),
          );
          if (v6User === undefined || v6Rules.length === 0) {
            const forward = chainIn(snapshot.ipv6, 'filter', 'FORWARD');
            const node = v6User ??
              forward ?? {
                location: { file: ipv6File?.path ?? 'ip6tables-save.txt', line: 1, column: 1 },
              };
            context.report({
              messageId: 'userChainGap',
              data: {
                v4count: v4Rules.length,
                gap: v6User === undefined ? 'has no DOCKER-USER chain' : 'has an empty DOCKER-USER',
                ports: v6Published.join(', '),
              },
              node,
              object: { table: 'filter', chain: 'DOCKER-USER' },
            });
          }
        }
        // IPv6 → IPv4 relay: docker-proxy on [::]:P for a container without an IPv6 address.
        if (!host.daemon.userlandProxy.value) return;
        for (const c of host.containers) {
          if (!c.running || c.endpoints.some((e) => e.ipv6 !== null)) continue;
          for (const p of c.published) {
            if (
              p.hostPort === null ||
              !(p.hostIp === '::' || (p.hostIp.includes(':') && isWildcard(p.hostIp)))
            )
              continue;
            const target = c.endpoints.find((e) => e.ipv4 !== null)?.ipv4;
            if (target === undefined || target === null) continue;
            const listener = host.listeners.find(
              (l) =>
                l.port === p.hostPort &&
                l.protocol === p.protocol &&
                (l.address === '::' || l.address === '*'),
            );
            const proof = relayProof(p.hostPort, p.protocol);
            if (proof === null) continue;
            context.report({
              messageId: 'proxied',
              data: { port: p.hostPort, container: c.name, target: `${target}:${p.containerPort}` },
              node: listener ?? p,
              object: { container: c.name, port: p.hostPort, protocol: p.protocol, address: '::' },
              severity: 'note',
              ...proof,
            });
          }
        }
      },
    };
  },
});
