/**
 * The engine's view of the host (`NetworkContext`, src/engine/context.ts) built from a snapshot:
 * interfaces, local addresses and forwarding routes for one family. What is missing from the
 * snapshot is filled in the way `loadSnapshot` states in its assumptions.
 */
import type { NetworkContext, ContextRoute } from '../engine/context.ts';
import type { Family } from '../model/ruleset.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { dnatDestination, hostAddress, ruleAddress, rulesOf } from './rules.ts';

/** The external interface assumed when the snapshot has no ip-addr.json. */
export const ASSUMED_EXTERNAL_INTERFACE = 'eth0';

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

export function buildNetworkContext(snapshot: Snapshot, family: Family): NetworkContext {
  const host = snapshot.host;
  const bridges = host.networks.flatMap((n) => (n.bridgeName === null ? [] : [n.bridgeName]));
  const haveInterfaces = host.interfaces.length > 0;
  const interfaces = haveInterfaces
    ? unique(host.interfaces.map((i) => i.name))
    : unique([
        'lo',
        ...bridges,
        ...(bridges.includes('docker0') ? [] : ['docker0']),
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
  return unique([family === 'ipv4' ? '127.0.0.1' : '::1', ...gateways, ...dnatAddresses]);
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
  routes.push({ destination: 'default', device: ASSUMED_EXTERNAL_INTERFACE });
  return routes;
}
