/**
 * The host's external interfaces: where a remote client's packets arrive. Ranked: the devices of
 * the family's default routes, then up interfaces (not loopback, bridge or veth) with a global
 * address of the family, then the other such interfaces; eth0 when the snapshot names none.
 */
import type { DockerHost } from '../model/host.ts';
import type { Family } from '../model/ruleset.ts';
import type { Snapshot } from '../model/snapshot.ts';

/** The external interface named in traces when the snapshot has no ip-addr.json. */
export const ASSUMED_EXTERNAL_INTERFACE = 'eth0';

/** Interfaces a remote client's packet can arrive on, most likely first. */
export function externalInterfaces(host: DockerHost, family: Family): string[] {
  const bridges = new Set(
    host.networks.map((n) => n.bridgeName).filter((b): b is string => b !== null && b !== ''),
  );
  const out: string[] = [];
  const add = (name: string): void => {
    if (!out.includes(name)) out.push(name);
  };
  for (const r of host.routes) {
    if (r.family !== family || r.destination !== 'default') continue;
    // a multipath default route's every next hop
    for (const d of r.device === null ? (r.nexthops ?? []) : [r.device]) add(d);
  }
  const candidates = host.interfaces.filter(
    (i) =>
      i.name !== 'lo' &&
      !bridges.has(i.name) &&
      !i.name.startsWith('veth') &&
      !['loopback', 'bridge', 'veth'].includes(i.kind ?? ''),
  );
  for (const i of candidates) {
    const global = i.addresses.some(
      (a) => a.family === family && (a.scope === 'global' || a.scope === null),
    );
    if (i.up && global) add(i.name);
  }
  for (const i of candidates) add(i.name);
  return out.length > 0 ? out : [ASSUMED_EXTERNAL_INTERFACE];
}

/** The interface the default route most likely uses. */
export function externalInterface(snapshot: Snapshot, family: Family): string {
  return externalInterfaces(snapshot.host, family)[0] ?? ASSUMED_EXTERNAL_INTERFACE;
}
