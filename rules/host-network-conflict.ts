/**
 * host-network-conflict: host-mode containers are plain host processes. Docker does not track
 * their ports, so they collide silently with each other, with published ports and with host
 * listeners; and `-p` on a host-mode container is discarded with only a warning at `docker run`.
 */
import type { SourceLocation } from '../src/model/diagnostic.ts';
import type { Container, Listener, Protocol } from '../src/model/host.ts';
import { bindingsOverlap } from '../src/docker/bindings.ts';
import { defineRule, listOf } from '../src/lint/rule.ts';

type MessageIds = 'discarded' | 'hostHost' | 'hostPublished' | 'listenerPublished';

/** A container publishing a host port, on one or more addresses. */
interface Publisher {
  readonly name: string;
  readonly addresses: string[];
  readonly location: SourceLocation;
}

/** Other parties listed as related locations, at most this many (the message counts them all). */
const MAX_RELATED = 20;

interface HostPort {
  readonly container: Container;
  readonly port: number;
  readonly protocol: Protocol;
}

/** Ports a host-mode container means to serve: its exposed ports and its (discarded) requests. */
function hostModePorts(c: Container): HostPort[] {
  const seen = new Set<string>();
  const out: HostPort[] = [];
  for (const p of [
    ...c.exposed,
    ...c.requested.map((r) => ({ port: r.containerPort, protocol: r.protocol })),
  ]) {
    const key = `${p.port}/${p.protocol}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ container: c, port: p.port, protocol: p.protocol });
  }
  return out;
}

export default defineRule<MessageIds, object>({
  meta: {
    id: 'host-network-conflict',
    type: 'problem',
    severity: 'warning',
    docs: {
      description:
        'Host-network containers colliding with each other, with published ports or host listeners, and -p settings discarded in host mode',
      recommended: true,
    },
    messages: {
      discarded:
        'Container {{container}} uses the host network, so its -p {{mapping}} is discarded: the service listens on host port {{port}}/{{protocol}} directly and only INPUT rules apply to it.',
      hostHost:
        'Host-network containers {{containers}} {{each}} serve {{port}}/{{protocol}} on the host; {{loser}} fails to bind (Docker does not check).',
      hostPublished:
        'Host-network {{hosts}} {{serves}} {{port}}/{{protocol}}, which {{publishers}}; whichever binds second fails, and DNAT sends remote clients to {{targets}}.',
      listenerPublished:
        'Host process {{process}} listens on {{listen}}, and container {{other}} publishes {{address}}:{{port}}/{{protocol}}: remote clients reach the container (DNAT runs before local delivery) while local clients reach {{process}}.',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: false,
  },
  create(context) {
    const { host } = context;
    const running = host.containers.filter((c) => c.running);
    const hostMode = running.filter((c) => c.networkMode.kind === 'host');
    const published = running
      .filter((c) => c.networkMode.kind !== 'host')
      .flatMap((c) => c.published.filter((p) => p.hostPort !== null).map((p) => ({ c, p })));
    return {
      Container(c) {
        if (c.networkMode.kind !== 'host') return;
        for (const r of c.requested) {
          context.report({
            messageId: 'discarded',
            data: {
              container: c.name,
              mapping: `${r.hostIp === '' ? '' : `${r.hostIp}:`}${r.hostPort}:${r.containerPort}/${r.protocol}`,
              port: r.containerPort,
              protocol: r.protocol,
            },
            node: r,
            object: { container: c.name, port: r.containerPort, protocol: r.protocol },
          });
        }
      },
      end() {
        // One finding per port: every host-mode container serving it and every container
        // publishing it, however many (pairs of them would grow with the square).
        const byPort = new Map<string, { port: number; protocol: Protocol; hosts: Container[] }>();
        for (const c of hostMode) {
          for (const hp of hostModePorts(c)) {
            const key = `${hp.port}/${hp.protocol}`;
            const group = byPort.get(key) ?? { port: hp.port, protocol: hp.protocol, hosts: [] };
            group.hosts.push(c);
            byPort.set(key, group);
          }
        }
        const publishers = new Map<string, Map<string, Publisher>>();
        for (const { c, p } of published) {
          const key = `${p.hostPort}/${p.protocol}`;
          const owners = publishers.get(key) ?? new Map<string, Publisher>();
          const owner = owners.get(c.name) ?? { name: c.name, addresses: [], location: p.location };
          owner.addresses.push(p.hostIp);
          owners.set(c.name, owner);
          publishers.set(key, owners);
        }
        for (const [key, { port, protocol, hosts }] of byPort) {
          const owners = [...(publishers.get(key)?.values() ?? [])];
          const [first] = hosts;
          if (first === undefined || (hosts.length < 2 && owners.length === 0)) continue;
          const related = [
            ...hosts.slice(1).map((h) => ({
              message: `also serves ${key} on the host: host-network container ${h.name}`,
              location: h.location,
            })),
            ...owners.map((o) => ({
              message: `publishes ${key}: container ${o.name}`,
              location: o.location,
            })),
          ].slice(0, MAX_RELATED);
          const names = hosts.map((h) => h.name);
          context.report(
            owners.length === 0
              ? {
                  messageId: 'hostHost',
                  data: {
                    containers: listOf(names),
                    each: hosts.length === 2 ? 'both' : `all ${hosts.length}`,
                    loser:
                      hosts.length === 2
                        ? 'the one that starts second'
                        : 'each one that starts after the first',
                    port,
                    protocol,
                  },
                  node: first,
                  object: { port, protocol },
                  severity: 'error',
                  related,
                }
              : {
                  messageId: 'hostPublished',
                  data: {
                    hosts: `${hosts.length === 1 ? 'container' : 'containers'} ${listOf(names)}`,
                    serves: hosts.length === 1 ? 'serves' : 'serve',
                    publishers:
                      owners.length === 1
                        ? `container ${owners[0]?.name ?? ''} publishes on ${owners[0]?.addresses.join(' and ') ?? ''}`
                        : `containers ${listOf(owners.map((o) => `${o.name} (on ${o.addresses.join(' and ')})`))} publish`,
                    targets: listOf(owners.map((o) => o.name)),
                    port,
                    protocol,
                  },
                  node: first,
                  object: { port, protocol },
                  severity: 'error',
                  related,
                },
          );
        }
        // A non-Docker listener on a published port: only meaningful when we know the process.
        const others = host.listeners.filter(
          (l: Listener) => l.kind === 'other' && l.process !== null,
        );
        for (const l of others) {
          for (const { c, p } of published) {
            if (p.hostPort !== l.port || p.protocol !== l.protocol) continue;
            if (!bindingsOverlap(l.address, p.hostIp)) continue;
            // A host-mode container on this port: already reported as hostPublished.
            if (byPort.has(`${l.port}/${l.protocol}`)) continue;
            context.report({
              messageId: 'listenerPublished',
              data: {
                process: l.process?.name ?? 'unknown',
                listen: `${l.address}:${l.port}`,
                other: c.name,
                address: p.hostIp,
                port: l.port,
                protocol: l.protocol,
              },
              node: l,
              object: { container: c.name, port: l.port, protocol: l.protocol, address: l.address },
            });
          }
        }
      },
    };
  },
});
