/**
 * direct-container-access: a neighbour that routes a container subnet via this host (or sends to
 * the host's MAC) reaches container addresses without any DNAT: ports published only on
 * 127.0.0.1 or a specific address, and ports never published. Docker ≤27 has no raw-table drop
 * for this (moby#45610); FORWARD policy ACCEPT, `nat-unprotected` and `routed` gateway modes and
 * `allow-direct-routing` open it on later versions too.
 */
import type { Container, Network } from '../src/model/host.ts';
import type { Family, Ruleset } from '../src/model/ruleset.ts';
import type { Certainty, Packet, TraceStep } from '../src/model/trace.ts';
import { newConnection, remoteClient } from '../src/analysis/packets.ts';
import { isLoopback, isWildcard } from '../src/docker/bindings.ts';
import { externalInterfaces } from '../src/docker/interfaces.ts';
import { chainIn } from '../src/model/rule-queries.ts';
import { defineRule, ruleDocsUrl } from '../src/lint/rule.ts';

type MessageIds = 'restrictedPublish' | 'unpublished';

interface Probe {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  /** Set for a port published only on a specific address. */
  readonly publishedOn: string | null;
}

function probesFor(c: Container, family: Family): Probe[] {
  const out: Probe[] = [];
  const byPort = new Map<string, string[]>();
  for (const p of c.published) {
    if ((p.hostIp.includes(':') ? 'ipv6' : 'ipv4') !== family && !isWildcard(p.hostIp)) continue;
    const key = `${p.containerPort}/${p.protocol}`;
    byPort.set(key, [...(byPort.get(key) ?? []), p.hostIp]);
  }
  for (const [key, addrs] of byPort) {
    if (addrs.some(isWildcard)) continue; // already public on every address
    const [port, protocol] = key.split('/') as [string, 'tcp' | 'udp' | 'sctp'];
    out.push({ port: Number(port), protocol, publishedOn: addrs.join(', ') });
  }
  const published = new Set(c.published.map((p) => `${p.containerPort}/${p.protocol}`));
  const unpublished = c.exposed.find((e) => !published.has(`${e.port}/${e.protocol}`));
  // With no exposed port to name, any port shows it (the filter does not look at ports).
  out.push(
    unpublished === undefined
      ? { port: 1, protocol: 'tcp', publishedOn: null }
      : { port: unpublished.port, protocol: unpublished.protocol, publishedOn: null },
  );
  return out;
}

/** Without the engine: the settings that are known to leave container addresses open. */
function structuralReason(
  ruleset: Ruleset,
  era: string,
  network: Network | undefined,
  allowDirectRouting: boolean,
  probe: Probe,
): string | null {
  const mode = ruleset.family === 'ipv4' ? network?.gatewayModeV4 : network?.gatewayModeV6;
  if (mode === 'nat-unprotected') return "the network's gateway mode is nat-unprotected";
  if (allowDirectRouting) return 'the daemon sets allow-direct-routing';
  if (era === 'classic') {
    if (probe.publishedOn !== null) return 'Docker ≤27 adds no raw-table drop for direct access';
    const forward = chainIn(ruleset, 'filter', 'FORWARD');
    if (forward?.policy === 'ACCEPT')
      return 'Docker ≤27 leaves unpublished ports to the FORWARD policy, which is ACCEPT';
  }
  return null;
}

export default defineRule<MessageIds, object>({
  meta: {
    id: 'direct-container-access',
    type: 'problem',
    severity: 'warning',
    docs: {
      description:
        'Container addresses (incl. ports published only on 127.0.0.1) reachable by routing straight to them',
      recommended: true,
      url: ruleDocsUrl('direct-container-access'),
    },
    messages: {
      restrictedPublish:
        'Container {{container}} port {{port}}/{{protocol}} is published only on {{publishedOn}}, yet a neighbour routing to {{address}} reaches it directly ({{why}}).',
      unpublished:
        'Container {{container}} at {{address}} accepts connections to {{what}} from a neighbour that routes to it ({{why}}).',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: false,
  },
  create(context) {
    const { host, snapshot, engine } = context;
    return {
      Ruleset(ruleset) {
        if (!host.daemon.iptables.value) return;
        const family = ruleset.family;
        const iface = externalInterfaces(host, family)[0] ?? 'eth0';
        for (const c of host.containers) {
          if (!c.running || c.networkMode.kind === 'host' || c.networkMode.kind === 'none')
            continue;
          for (const e of c.endpoints) {
            const address = family === 'ipv4' ? e.ipv4 : e.ipv6;
            if (address === null || isLoopback(address)) continue;
            const network = host.networks.find((n) => n.name === e.network || n.id === e.networkId);
            if (network !== undefined && network.driver !== 'bridge') continue;
            if (network?.internal === true) continue;
            for (const probe of probesFor(c, family)) {
              const packet: Packet = newConnection(
                family,
                probe.protocol,
                remoteClient(family, host),
                address,
                probe.port,
                iface,
              );
              let why: string | null;
              let trace: readonly TraceStep[] = [];
              let certainty: Certainty = 'possible';
              const t = engine?.trace(packet) ?? null;
              if (t !== null) {
                if (t.verdict !== 'accepted' || t.delivery?.kind !== 'forward') continue;
                why =
                  structuralReason(
                    ruleset,
                    snapshot.era.era,
                    network,
                    host.daemon.allowDirectRouting.value,
                    probe,
                  ) ?? 'no rule on its path drops it';
                trace = t.steps;
                certainty = t.certainty;
              } else {
                why = structuralReason(
                  ruleset,
                  snapshot.era.era,
                  network,
                  host.daemon.allowDirectRouting.value,
                  probe,
                );
                if (why === null) continue;
              }
              context.report({
                messageId: probe.publishedOn === null ? 'unpublished' : 'restrictedPublish',
                data: {
                  container: c.name,
                  port: probe.port,
                  protocol: probe.protocol,
                  publishedOn: probe.publishedOn ?? '',
                  // Port 1 stands for "any port" when the container names no unpublished one.
                  what:
                    probe.port === 1 && !c.exposed.some((x) => x.port === 1)
                      ? `any port, published or not (tested: 1/${probe.protocol})`
                      : `unpublished port ${probe.port}/${probe.protocol}`,
                  address,
                  why,
                },
                node: c,
                object: { container: c.name, port: probe.port, protocol: probe.protocol, address },
                severity:
                  probe.publishedOn !== null && probe.publishedOn.split(', ').every(isLoopback)
                    ? 'error'
                    : 'warning',
                witness: packet,
                trace,
                certainty,
              });
            }
          }
        }
      },
    };
  },
});
