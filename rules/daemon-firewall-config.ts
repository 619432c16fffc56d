/**
 * daemon-firewall-config: daemon.json settings (and the one host switch Docker's isolation rests
 * on, bridge-nf-call-iptables) that change what the firewall does, each explained with its
 * effect on this host (only when the host has something it affects).
 */
import type { Setting } from '../src/model/host.ts';
import type { SourceLocation } from '../src/model/diagnostic.ts';
import { fileLocation } from '../src/model/diagnostic.ts';
import { isWildcard } from '../src/docker/bindings.ts';
import { userlandProxyInRules } from '../src/docker/daemon-evidence.ts';
import { filterPlace } from '../src/docker/filter-place.ts';
import { chainIn } from '../src/model/rule-queries.ts';
import { pathRead } from '../src/model/snapshot.ts';
import { bridgedSkipsIptables } from '../src/docker/bridge-netfilter.ts';
import { networkOfEndpoint } from '../src/docker/topology.ts';
import { defineRule } from '../src/lint/rule.ts';

type MessageIds =
  | 'iptablesOff'
  | 'ipWildcard'
  | 'iccOn'
  | 'userlandProxy'
  | 'allowDirectRouting'
  | 'ipForwardNoDrop'
  | 'bridgeNfOff';

export default defineRule<MessageIds, object>({
  meta: {
    id: 'daemon-firewall-config',
    type: 'hardening',
    severity: 'warning',
    docs: {
      description:
        'daemon.json settings that weaken or bypass firewalling: iptables off, ip 0.0.0.0, icc, userland-proxy, allow-direct-routing, ip-forward-no-drop; and bridge-nf-call-iptables off',
      recommended: true,
    },
    messages: {
      iptablesOff:
        '"iptables": false — Docker programs no firewall rules: the {{count}} published port(s) are served by docker-proxy through INPUT, containers get no NAT and Docker isolates nothing.',
      ipWildcard:
        '"ip" is {{value}} — ports published without an address on the default bridge ({{ports}}) listen on every host address, including public ones.',
      iccOn:
        '"icc" is on — the {{count}} containers on the default bridge ({{names}}) can reach every port of each other, published or not.',
      userlandProxy:
        '"userland-proxy" is on — loopback and IPv6 connections to published ports ({{ports}}) are served by docker-proxy through INPUT, not Docker\'s forward rules: {{input}} decides them, {{forward}} does not.',
      allowDirectRouting:
        '"allow-direct-routing": true — Docker adds no raw-table drops, so any host that routes to a container subnet reaches container addresses directly ({{count}} container(s)).',
      bridgeNfOff:
        'What a bridge passes between two of its containers never reaches iptables ({{evidence}}): {{effect}} ({{where}}).',
      ipForwardNoDrop:
        '"ip-forward-no-drop": true with FORWARD policy {{policy}} — Docker never sets FORWARD to DROP, so traffic Docker does not handle is forwarded unless another rule drops it.',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: false,
  },
  create(context) {
    const { host, snapshot } = context;
    const daemonFile = snapshot.files.find((f) => f.role === 'daemon')?.path ?? 'daemon.json';
    // A setting written in daemon.json is located there; a default is located at the first
    // container it affects (a real line in the snapshot), else at daemon.json.
    const where = (
      s: Setting<unknown>,
      affected?: { location: SourceLocation },
    ): { location: SourceLocation } => ({
      location: s.location ?? affected?.location ?? fileLocation(daemonFile),
    });
    const d = host.daemon;
    const place = filterPlace(snapshot.era.era);
    const running = host.containers.filter((c) => c.running);
    const published = running.flatMap((c) =>
      c.published.filter((p) => p.hostPort !== null).map((p) => ({ c, p })),
    );
    const defaultBridge = host.networks.find((n) => n.isDefaultBridge);
    const onDefaultBridge = running.filter(
      (c) =>
        (c.networkMode.kind === 'bridge' && c.networkMode.network === 'bridge') ||
        c.endpoints.some((e) => e.network === 'bridge'),
    );
    return {
      end() {
        if (!d.iptables.value) {
          context.report({
            messageId: 'iptablesOff',
            data: { count: published.length },
            node: where(d.iptables, published[0]?.p),
            object: { setting: 'iptables' },
            severity: 'error',
          });
          // Without Docker's rules the other settings below have no firewall effect.
          return;
        }
        if (isWildcard(d.ip.value)) {
          const ports = onDefaultBridge.flatMap((c) =>
            c.requested
              .filter((r) => r.hostIp === '')
              .map((r) => `${c.name} ${r.hostPort === '' ? '?' : r.hostPort}/${r.protocol}`),
          );
          if (ports.length > 0) {
            context.report({
              messageId: 'ipWildcard',
              data: { value: d.ip.value, ports: ports.join(', ') },
              node: where(d.ip, onDefaultBridge[0]),
              object: { setting: 'ip' },
            });
          }
        }
        if (d.icc.value && (defaultBridge?.icc ?? true) && onDefaultBridge.length >= 2) {
          context.report({
            messageId: 'iccOn',
            data: {
              count: onDefaultBridge.length,
              names: onDefaultBridge.map((c) => c.name).join(', '),
            },
            node: where(d.icc, onDefaultBridge[0]),
            object: { setting: 'icc' },
            severity: 'note',
          });
        }
        // on in daemon.json (or by default) and not off in the rules dockerd runs (a stale
        // daemon.json either way is daemon-config-mismatch's to say)
        const proxyOn =
          d.userlandProxy.value && userlandProxyInRules(snapshot.ipv4)?.value !== false;
        if (proxyOn && published.length > 0) {
          context.report({
            messageId: 'userlandProxy',
            data: {
              ports: published
                .map(({ c, p }) => `${c.name} ${p.hostIp}:${p.hostPort ?? ''}`)
                .join(', '),
              input: place.input,
              forward: place.forward,
            },
            node: where(d.userlandProxy, published[0]?.p),
            object: { setting: 'userland-proxy' },
            severity: 'note',
          });
        }
        const bridged = running.filter((c) =>
          c.endpoints.some((e) => e.ipv4 !== null || e.ipv6 !== null),
        );
        if (d.allowDirectRouting.value && bridged.length > 0) {
          context.report({
            messageId: 'allowDirectRouting',
            data: { count: bridged.length },
            node: where(d.allowDirectRouting, bridged[0]),
            object: { setting: 'allow-direct-routing' },
          });
        }
        // dockerd turns it on; set to 0 later (sysctl --system), or br_netfilter not loaded,
        // bridged traffic skips iptables
        const bypass = (['ipv4', 'ipv6'] as const)
          .map((f) => bridgedSkipsIptables(snapshot, f))
          .filter((b) => b !== null);
        const shared = host.networks
          .filter((n) => n.bridgeName !== null)
          .map((n) => ({
            n,
            on: running.filter((c) => c.endpoints.some((e) => networkOfEndpoint(host, e) === n)),
          }))
          .filter((x) => x.on.length >= 2);
        if (bypass.length > 0 && shared.length > 0) {
          const isolated = shared.filter((x) => !x.n.icc);
          context.report({
            messageId: 'bridgeNfOff',
            data: {
              evidence: bypass.map((b) => b.evidence).join('; '),
              effect:
                isolated.length > 0
                  ? `icc=false on ${isolated.map((x) => x.n.bridgeName ?? x.n.name).join(', ')} isolates nothing, and no DOCKER-USER rule sees that traffic`
                  : 'no DOCKER-USER rule, nor any other, sees that traffic',
              where: shared
                .map((x) => `${x.on.length} containers on ${x.n.bridgeName ?? x.n.name}`)
                .join(', '),
            },
            node: {
              location: fileLocation(
                pathRead(snapshot, bypass[0]?.file ?? 'sysctl') ?? 'sysctl.txt',
              ),
            },
            object: { setting: bypass[0]?.key ?? '' },
            severity: isolated.length > 0 ? 'error' : 'warning',
          });
        }
        if (d.ipForwardNoDrop.value) {
          const policy = chainIn(snapshot.ipv4, 'filter', 'FORWARD')?.policy ?? 'ACCEPT';
          if (policy === 'ACCEPT') {
            context.report({
              messageId: 'ipForwardNoDrop',
              data: { policy },
              node: where(d.ipForwardNoDrop),
              object: { setting: 'ip-forward-no-drop' },
            });
          }
        }
      },
    };
  },
});
