/**
 * direct-container-access: a neighbour that routes a container subnet via this host (or sends to
 * the host's MAC) reaches container addresses without any DNAT: ports published only on
 * 127.0.0.1 or a specific address, and ports never published. Docker ≤27 has no raw-table drop
 * for this (moby#45610); FORWARD policy ACCEPT, `nat-unprotected` and `routed` gateway modes and
 * `allow-direct-routing` open it on later versions too. What is reachable is the engine's
 * discovered exposures forwarded without NAT; containers.json only names them.
 */
import { isLoopback, isWildcard } from '../src/docker/bindings.ts';
import { ruleEvidence, type MappingFact } from '../src/docker/rule-evidence.ts';
import { normalizeAddress } from '../src/docker/rules.ts';
import { dockerBridges } from '../src/docker/topology.ts';
import { exposureLocation, exposureObject } from '../src/analysis/exposure-object.ts';
import { interfaceText, isEveryPort, portsText } from '../src/analysis/exposure-text.ts';
import { subtractPorts } from '../src/analysis/exposures.ts';
import type { Exposure } from '../src/model/audit.ts';
import type { Container, Network } from '../src/model/host.ts';
import type { Family, PortRange, Ruleset } from '../src/model/ruleset.ts';
import { firewallOf, type Snapshot } from '../src/model/snapshot.ts';
import { chainIn, inRange } from '../src/model/rule-queries.ts';
import { cidrWithin } from '../src/analysis/address-sets.ts';
import { defineRule } from '../src/lint/rule.ts';
import { bareAddress } from '../src/model/address-text.ts';

type MessageIds = 'restrictedPublish' | 'restrictedMapping' | 'unpublished' | 'subnet';

/** The settings that are known to leave container addresses open, said as the reason. */
function reason(
  snapshot: Snapshot,
  ruleset: Ruleset | null,
  network: Network | undefined,
  family: Family,
): string {
  const mode = family === 'ipv4' ? network?.gatewayModeV4 : network?.gatewayModeV6;
  if (mode === 'nat-unprotected') return "the network's gateway mode is nat-unprotected";
  if (mode === 'routed') return "the network's gateway mode is routed";
  if (snapshot.host.daemon.allowDirectRouting.value) return 'the daemon sets allow-direct-routing';
  if (snapshot.era.era === 'classic') {
    if (chainIn(ruleset, 'filter', 'FORWARD')?.policy === 'ACCEPT')
      return 'Docker ≤27 adds no raw-table drop, and the FORWARD policy is ACCEPT';
    return 'Docker ≤27 adds no raw-table drop for direct access';
  }
  return 'no rule on its path drops it';
}

/** Ports a container publishes only on specific addresses (not on every address), by protocol. */
function restrictedPorts(
  c: Container,
  family: Family,
): { port: number; protocol: string; on: string[] }[] {
  const byPort = new Map<string, string[]>();
  for (const p of c.published) {
    if (!isWildcard(p.hostIp) && (p.hostIp.includes(':') ? 'ipv6' : 'ipv4') !== family) continue;
    const key = `${p.containerPort}/${p.protocol}`;
    byPort.set(key, [...(byPort.get(key) ?? []), p.hostIp]);
  }
  return [...byPort]
    .filter(([, on]) => !on.some(isWildcard))
    .map(([key, on]) => {
      const [port, protocol] = key.split('/');
      return { port: Number(port), protocol: protocol ?? 'tcp', on };
    });
}

/** `any tcp or udp port; ports 80, 443/sctp`: what a forwarding path reaches, by protocol. */
function pathPorts(parts: readonly { e: Exposure; extra: PortRange[] }[]): string {
  const every = [...new Set(parts.filter((x) => isEveryPort(x.e.ports)).map((x) => x.e.protocol))];
  const some = parts
    .filter((x) => !isEveryPort(x.e.ports))
    .map((x) => `ports ${portsText(x.extra)}/${x.e.protocol}`);
  const any =
    every.length === 0
      ? []
      : [
          `any ${[every.slice(0, -1).join(', '), every.at(-1)].filter((t) => t !== '').join(' or ')} port`,
        ];
  return [...any, ...some].join('; ');
}

export default defineRule<MessageIds, object, true>({
  meta: {
    id: 'direct-container-access',
    type: 'problem',
    severity: 'warning',
    docs: {
      description:
        'Container addresses (incl. ports published only on 127.0.0.1) reachable by routing straight to them',
      recommended: true,
    },
    messages: {
      restrictedPublish:
        'Container {{container}} port {{port}}/{{protocol}} is published only on {{publishedOn}}, yet a neighbour routing to {{address}} reaches it directly ({{why}}).',
      restrictedMapping:
        'Container port {{address}}:{{port}}/{{protocol}} is mapped only on {{publishedOn}}, yet a neighbour routing to {{address}} reaches it directly ({{why}}).',
      unpublished:
        'Container {{container}} at {{address}} accepts connections to {{what}} from a neighbour that routes to it ({{why}}).',
      subnet:
        'Container addresses {{addresses}}{{on}} accept connections to {{what}} from a neighbour that routes to them ({{why}}).',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: true,
  },
  create(context) {
    const { host, snapshot } = context;
    // forwarded without NAT to a container or onto one of Docker's bridges
    const bridges = {
      ipv4: dockerBridges(snapshot, 'ipv4'),
      ipv6: dockerBridges(snapshot, 'ipv6'),
    };
    const routed = context.exposures.filter(
      (e) =>
        e.kind === 'routed' &&
        (e.target.kind === 'container' ||
          e.target.network !== null ||
          (e.target.outInterface !== null && bridges[e.family].has(e.target.outInterface))),
    );
    // Container ports published on every host address, by family, protocol and container
    // address (one /32 or /128): reaching them directly adds nothing to what the published port
    // already gives. For a named container the container list says which ports these are; for
    // one only the rules show, the discovered published exposures do, and the ports Docker opens
    // without a mapping (the routed gateway mode) are published as the container's own.
    const keyOf = (family: Family, protocol: string, cidr: string) =>
      `${family}|${protocol}|${normalizeAddress(bareAddress(cidr))}`;
    const publishedKey = (e: Exposure): string | null => {
      const [only, ...more] = e.target.addresses;
      const full = e.family === 'ipv4' ? '/32' : '/128';
      return only?.endsWith(full) === true && more.length === 0
        ? keyOf(e.family, e.protocol, only)
        : null;
    };
    const publishedEverywhere = new Map<string, number[]>();
    for (const e of context.exposures) {
      const key = publishedKey(e);
      if (e.kind !== 'published' || !e.anyHostAddress || key === null) continue;
      const ports = publishedEverywhere.get(key) ?? [];
      for (const r of e.target.ports) for (let p = r.from; p <= r.to; p++) ports.push(p);
      publishedEverywhere.set(key, ports);
    }
    // and, by the same key, the host addresses each container port is mapped on when the rules
    // bind it to some only (127.0.0.1, say)
    const boundMappings = new Map<string, MappingFact[]>();
    for (const family of ['ipv4', 'ipv6'] as const) {
      const ev = ruleEvidence(firewallOf(snapshot, family));
      for (const f of ev.routedPorts) {
        const key = keyOf(family, f.protocol, f.address);
        publishedEverywhere.set(key, [...(publishedEverywhere.get(key) ?? []), f.port]);
      }
      for (const m of ev.mappings) {
        if (m.hostAddress === null) continue;
        const key = keyOf(family, m.protocol, m.address);
        boundMappings.set(key, [...(boundMappings.get(key) ?? []), m]);
      }
    }
    const evidence = (e: Exposure) => ({
      witness: e.witness,
      trace: e.trace,
      certainty: e.certainty,
      assumptions: e.assumptions,
    });
    // The row is a rectangle of packets: its witness moved to another of its ports is one of
    // them too, traced again so the trace is that packet's.
    const evidenceAt = (e: Exposure, port: number) => {
      const w = e.witness;
      if (w === null || w.destinationPort === port) return evidence(e);
      const witness = { ...w, destinationPort: port };
      return {
        witness,
        trace: context.engine.trace(witness)?.steps ?? [],
        certainty: e.certainty,
        assumptions: e.assumptions,
      };
    };
    return {
      end() {
        if (!host.daemon.iptables.value) return;
        const named = new Set<Exposure>();
        for (const c of host.containers) {
          if (!c.running || c.networkMode.kind === 'host' || c.networkMode.kind === 'none')
            continue;
          for (const endpoint of c.endpoints) {
            for (const family of ['ipv4', 'ipv6'] as const) {
              const address = family === 'ipv4' ? endpoint.ipv4 : endpoint.ipv6;
              if (address === null || isLoopback(address)) continue;
              const mine = routed.filter(
                (e) =>
                  e.family === family && e.target.addresses.some((a) => cidrWithin(address, a)),
              );
              if (mine.length === 0) continue;
              for (const e of mine) named.add(e);
              const network = host.networks.find(
                (n) => n.name === endpoint.network || n.id === endpoint.networkId,
              );
              const ruleset = family === 'ipv4' ? snapshot.ipv4 : snapshot.ipv6;
              const why = reason(snapshot, ruleset, network, family);
              // ports published on specific addresses only, that routing reaches anyway
              for (const r of restrictedPorts(c, family)) {
                const e = mine.find((x) => x.protocol === r.protocol && inRange(r.port, x.ports));
                if (e === undefined) continue;
                context.report({
                  messageId: 'restrictedPublish',
                  data: {
                    container: c.name,
                    port: r.port,
                    protocol: r.protocol,
                    publishedOn: r.on.join(', '),
                    address,
                    why,
                  },
                  node: c,
                  object: { container: c.name, port: r.port, protocol: r.protocol, address },
                  severity: r.on.every(isLoopback) ? 'error' : 'warning',
                  ...evidenceAt(e, r.port),
                });
              }
              // and the rest: ports routing reaches that are not published on every address,
              // one finding per container and family whatever the protocols
              const everywhere = (protocol: string): number[] =>
                c.published
                  .filter((p) => isWildcard(p.hostIp) && p.protocol === protocol)
                  .map((p) => p.containerPort);
              const parts = mine.flatMap((e) => {
                const extra = subtractPorts(e.ports, [
                  ...everywhere(e.protocol),
                  ...restrictedPorts(c, family)
                    .filter((r) => r.protocol === e.protocol)
                    .map((r) => r.port),
                ]);
                return extra.length === 0 ? [] : [{ e, extra }];
              });
              const first = parts.find((x) => x.e.certainty === 'certain') ?? parts[0];
              if (first === undefined) continue;
              const what = parts
                .map((x) =>
                  isEveryPort(x.e.ports)
                    ? `any ${x.e.protocol} port, published or not`
                    : `${x.e.protocol} ports ${portsText(x.extra)}`,
                )
                .join('; ');
              context.report({
                messageId: 'unpublished',
                data: { container: c.name, address, what, why },
                node: c,
                object: { container: c.name, protocol: first.e.protocol, address },
                ...evidence(first.e),
              });
            }
          }
        }
        // addresses no container list names: the Docker networks' subnets and containers the
        // rules show, one finding per forwarding path
        const paths = new Map<
          string,
          { why: string; parts: { e: Exposure; extra: PortRange[] }[] }
        >();
        const reportedMappings = new Set<string>();
        for (const e of routed) {
          if (named.has(e)) continue;
          const pub = publishedKey(e);
          const everywhere = pub === null ? [] : (publishedEverywhere.get(pub) ?? []);
          // container ports the rules map on some host addresses only (127.0.0.1, say)
          const restricted = new Map<number, string[]>();
          for (const m of pub === null ? [] : (boundMappings.get(pub) ?? []))
            if (
              m.hostAddress !== null &&
              inRange(m.containerPort, e.ports) &&
              !everywhere.includes(m.containerPort)
            )
              restricted.set(m.containerPort, [
                ...(restricted.get(m.containerPort) ?? []),
                m.hostAddress,
              ]);
          const network = host.networks.find((n) => n.name === e.target.network);
          const ruleset = e.family === 'ipv4' ? snapshot.ipv4 : snapshot.ipv6;
          const why = reason(snapshot, ruleset, network, e.family);
          for (const [port, on] of restricted) {
            const address = bareAddress(e.target.addresses[0] ?? '');
            const id = `${e.family}|${e.protocol}|${address}|${String(port)}`;
            if (reportedMappings.has(id)) continue;
            reportedMappings.add(id);
            context.report({
              messageId: 'restrictedMapping',
              data: {
                address,
                port,
                protocol: e.protocol,
                publishedOn: [...new Set(on)].join(', '),
                why,
              },
              node: { location: exposureLocation(e, snapshot) },
              object: { port, protocol: e.protocol, address },
              severity: on.every(isLoopback) ? 'error' : 'warning',
              ...evidenceAt(e, port),
            });
          }
          const extra = subtractPorts(e.ports, [...everywhere, ...restricted.keys()]);
          if (extra.length === 0) continue;
          const key = `${e.family}|${e.target.addresses.join(',')}|${e.target.outInterface ?? ''}`;
          const path = paths.get(key);
          if (path === undefined) paths.set(key, { why, parts: [{ e, extra }] });
          else path.parts.push({ e, extra });
        }
        // one finding per forwarding path, whatever the protocols
        for (const { why, parts } of paths.values()) {
          // named by the path's first row (as before protocols were joined), proved by a
          // certain one where there is one
          const e = parts[0]?.e;
          const proof = (parts.find((x) => x.e.certainty === 'certain') ?? parts[0])?.e;
          if (e === undefined || proof === undefined) continue;
          context.report({
            messageId: 'subnet',
            data: {
              addresses: e.target.addresses.join(', '),
              on:
                e.target.outInterface === null
                  ? ''
                  : ` on ${interfaceText(e.target.outInterface, true)}`,
              what: pathPorts(parts),
              why,
            },
            node: { location: exposureLocation(e, snapshot) },
            object: exposureObject(e),
            ...evidence(proof),
          });
        }
      },
    };
  },
});
