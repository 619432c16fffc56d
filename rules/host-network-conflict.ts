/**
 * host-network-conflict: host-mode containers are plain host processes. Docker does not track
 * their ports, so they collide silently with each other, with published ports and with host
 * listeners; and `-p` on a host-mode container is discarded with only a warning at `docker run`.
 */
import type { Container, Listener, Protocol } from '../src/model/host.ts';
import { familyOfAddress, isWildcard } from '../src/lint/queries.ts';
import { defineRule, ruleDocsUrl } from '../src/lint/rule.ts';

type MessageIds = 'discarded' | 'hostHost' | 'hostPublished' | 'listenerPublished';

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

/** Whether two bound addresses collide as the kernel binds them (wildcard vs specific). */
export function bindsOverlap(a: string, b: string): boolean {
  if (a === '*' || b === '*') return true;
  if (a === b) return true;
  const fa = familyOfAddress(a === '' ? '0.0.0.0' : a);
  const fb = familyOfAddress(b === '' ? '0.0.0.0' : b);
  if (fa !== fb) return false;
  return isWildcard(a) || isWildcard(b);
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
      url: ruleDocsUrl('host-network-conflict'),
    },
    messages: {
      discarded:
        'Container {{container}} uses the host network, so its -p {{mapping}} is discarded: the service listens on host port {{port}}/{{protocol}} directly and only INPUT rules apply to it.',
      hostHost:
        'Host-network containers {{first}} and {{second}} both serve {{port}}/{{protocol}} on the host; the one that starts second fails to bind (Docker does not check).',
      hostPublished:
        'Host-network container {{container}} serves {{port}}/{{protocol}}, which container {{other}} publishes on {{address}}; whichever binds second fails, and DNAT sends remote clients to {{other}}.',
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
        const ports = hostMode.flatMap(hostModePorts);
        for (const [i, a] of ports.entries()) {
          for (const b of ports.slice(i + 1)) {
            if (a.container === b.container || a.port !== b.port || a.protocol !== b.protocol)
              continue;
            context.report({
              messageId: 'hostHost',
              data: {
                first: a.container.name,
                second: b.container.name,
                port: a.port,
                protocol: a.protocol,
              },
              node: b.container,
              object: { container: b.container.name, port: b.port, protocol: b.protocol },
              severity: 'error',
            });
          }
          // One finding per publishing container, with all the addresses it publishes on.
          const owners = new Map<string, string[]>();
          for (const { c, p } of published) {
            if (p.hostPort !== a.port || p.protocol !== a.protocol) continue;
            owners.set(c.name, [...(owners.get(c.name) ?? []), p.hostIp]);
          }
          for (const [other, addresses] of owners) {
            context.report({
              messageId: 'hostPublished',
              data: {
                container: a.container.name,
                port: a.port,
                protocol: a.protocol,
                other,
                address: addresses.join(' and '),
              },
              node: a.container,
              object: { container: a.container.name, port: a.port, protocol: a.protocol },
              severity: 'error',
            });
          }
        }
        // A non-Docker listener on a published port: only meaningful when we know the process.
        const others = host.listeners.filter(
          (l: Listener) => l.kind === 'other' && l.process !== null,
        );
        for (const l of others) {
          for (const { c, p } of published) {
            if (p.hostPort !== l.port || p.protocol !== l.protocol) continue;
            if (!bindsOverlap(l.address, p.hostIp)) continue;
            const hostModeOwner = hostMode.some((h) =>
              hostModePorts(h).some((hp) => hp.port === l.port && hp.protocol === l.protocol),
            );
            if (hostModeOwner) continue; // already reported as hostPublished
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
