/**
 * The engine's view of the host (`NetworkContext`, src/engine/context.ts) built from a snapshot:
 * interfaces, local addresses and forwarding routes for one family. What is missing from the
 * snapshot is filled in the way `loadSnapshot` states in its assumptions.
 */
import type { NetworkContext, ContextRoute } from '../engine/context.ts';
import type { Family } from '../model/ruleset.ts';
import type { Snapshot } from '../model/snapshot.ts';
import ipaddr from 'ipaddr.js';
import { dnatDestination, hostAddress, ruleAddress, rulesOf } from './rules.ts';
import { bridgeOfEndpoint } from './topology.ts';

/** The external interface assumed when the snapshot has no ip-addr.json. */
export const ASSUMED_EXTERNAL_INTERFACE = 'eth0';

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

export function buildNetworkContext(snapshot: Snapshot, family: Family): NetworkContext {
  const host = snapshot.host;
  const bridges = host.networks.flatMap((n) => (n.bridgeName === null ? [] : [n.bridgeName]));
  const haveInterfaces = host.interfaces.length > 0;
  // Interfaces the rules name are added either way: the engine needs every name a rule tests.
  const interfaces = haveInterfaces
    ? unique([...host.interfaces.map((i) => i.name), ...interfacesInRules(snapshot, family)])
    : unique([
        'lo',
        ...bridges,
        'docker0',
        ...interfacesInRules(snapshot, family),
        ASSUMED_EXTERNAL_INTERFACE,
      ]);
  const localAddresses = haveInterfaces
    ? unique(
        host.interfaces.flatMap((i) =>
          i.addresses.filter((a) => a.family === family).map((a) => a.address),
        ),
      )
    : inferredLocalAddresses(snapshot, family);
  const routes =
    host.routes.length > 0
      ? routesFromSnapshot(snapshot, family)
      : inferredRoutes(snapshot, family);
  return { family, interfaces, localAddresses, routes };
}

/** Bridge gateways, loopback, and the specific addresses DNAT rules match on. */
function inferredLocalAddresses(snapshot: Snapshot, family: Family): string[] {
  const gateways = snapshot.host.networks.flatMap((n) =>
    n.subnets.filter((s) => s.family === family && s.gateway !== null).map((s) => s.gateway ?? ''),
  );
  const rs = family === 'ipv4' ? snapshot.ipv4 : snapshot.ipv6;
  const dnatAddresses = rulesOf(rs, 'nat', 'DOCKER')
    .filter((r) => dnatDestination(r) !== null)
    .flatMap((r) => {
      const a = hostAddress(ruleAddress(r, 'dst'));
      return a === null ? [] : [a];
    });
  const endpointGateways = snapshot.host.containers.flatMap((c) =>
    c.endpoints.flatMap((e) => {
      const g = family === 'ipv4' ? e.gateway : e.gatewayV6;
      return g === null ? [] : [g];
    }),
  );
  return unique([
    family === 'ipv4' ? '127.0.0.1' : '::1',
    ...gateways,
    ...endpointGateways,
    ...dnatAddresses,
  ]);
}

/** Interface names the rules mention (`-i`/`-o`, without `+` wildcards), so the engine knows them. */
function interfacesInRules(snapshot: Snapshot, family: Family): string[] {
  const rs = family === 'ipv4' ? snapshot.ipv4 : snapshot.ipv6;
  if (rs === null) return [];
  return rs.tables.flatMap((t) =>
    t.chains.flatMap((c) =>
      c.rules.flatMap((r) =>
        r.core.flatMap((o) => (o.type === 'interface' && !o.wildcard ? [o.name] : [])),
      ),
    ),
  );
}

/** The subnet of an address with its prefix length, e.g. 172.17.0.2/16 → 172.17.0.0/16. */
function subnetOf(address: string, prefix: number): string | null {
  try {
    const parsed = ipaddr.parse(address);
    const bytes = parsed.toByteArray();
    for (let bit = prefix; bit < bytes.length * 8; bit += 1) {
      const i = Math.floor(bit / 8);
      bytes[i] = (bytes[i] ?? 0) & ~(0x80 >> (bit % 8));
    }
    return `${ipaddr.fromByteArray(bytes).toString()}/${prefix}`;
  } catch {
    return null;
  }
}

function routesFromSnapshot(snapshot: Snapshot, family: Family): ContextRoute[] {
  return snapshot.host.routes
    .filter(
      (r) => r.family === family && r.device !== null && (r.table === 'main' || r.table === '254'),
    )
    .filter((r) => r.type === 'unicast')
    .map((r) => ({ destination: r.destination, device: r.device ?? '' }));
}

function inferredRoutes(snapshot: Snapshot, family: Family): ContextRoute[] {
  const routes: ContextRoute[] = [];
  for (const n of snapshot.host.networks) {
    if (n.bridgeName === null) continue;
    for (const s of n.subnets)
      if (s.family === family) routes.push({ destination: s.cidr, device: n.bridgeName });
  }
  // Without a networks file, container endpoints still tell their subnet; the bridge is known
  // for the default network (docker0).
  for (const c of snapshot.host.containers) {
    for (const e of c.endpoints) {
      const bridge = bridgeOfEndpoint(snapshot.host, e);
      const address = family === 'ipv4' ? e.ipv4 : e.ipv6;
      const prefix = family === 'ipv4' ? e.ipv4PrefixLength : e.ipv6PrefixLength;
      if (bridge === null || address === null || prefix === null) continue;
      const subnet = subnetOf(address, prefix);
      if (subnet !== null && !routes.some((r) => r.destination === subnet)) {
        routes.push({ destination: subnet, device: bridge });
      }
    }
  }
  routes.push({ destination: 'default', device: externalInterface(snapshot, family) });
  return routes;
}

/**
 * The interface the default route most likely uses: an up, non-loopback, non-bridge, non-veth
 * interface with a global address of the family; eth0 when ip-addr.json says nothing.
 */
export function externalInterface(snapshot: Snapshot, family: Family): string {
  const candidate = snapshot.host.interfaces.find(
    (i) =>
      i.up &&
      !['loopback', 'bridge', 'veth'].includes(i.kind ?? '') &&
      i.addresses.some((a) => a.family === family && (a.scope === 'global' || a.scope === null)),
  );
  return candidate?.name ?? ASSUMED_EXTERNAL_INTERFACE;
}
