/** Lookups joining containers, endpoints and networks of a snapshot. */
import type { Container, DockerHost, Endpoint, Network, PublishedPort } from '../model/host.ts';
import type { Family, Rule } from '../model/ruleset.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { firewallOf } from '../model/snapshot.ts';
import { familyOfAddress } from './bindings.ts';
import { isDockerChain } from './chains.ts';
import { ruleEvidence } from './rule-evidence.ts';

/** The network a container's mode names (its primary network), if known. */
export function primaryNetwork(host: DockerHost, c: Container): Network | undefined {
  const mode = c.networkMode;
  if (mode.kind !== 'bridge' && mode.kind !== 'network') return undefined;
  return host.networks.find((n) => n.name === mode.network || n.id === mode.network);
}

export function networkOfEndpoint(host: DockerHost, e: Endpoint): Network | undefined {
  return host.networks.find(
    (n) => (e.networkId !== null && n.id === e.networkId) || n.name === e.network,
  );
}

/** The endpoint ports are published through: the one on the mode's network, else the first. */
export function publishingEndpoint(c: Container): Endpoint | undefined {
  const mode = c.networkMode;
  const name = mode.kind === 'bridge' || mode.kind === 'network' ? mode.network : null;
  return c.endpoints.find((e) => e.network === name) ?? c.endpoints[0];
}

export function endpointAddress(e: Endpoint, family: Family): string | null {
  return family === 'ipv4' ? e.ipv4 : e.ipv6;
}

/**
 * The Linux bridge of an endpoint's network. Without a networks file the default bridge is
 * still known to be docker0; user networks are then unknown.
 */
export function bridgeOfEndpoint(host: DockerHost, e: Endpoint): string | null {
  const network = networkOfEndpoint(host, e);
  if (network !== undefined) return network.bridgeName;
  return e.network === 'bridge' ? 'docker0' : null;
}

/** Every address of a container, over all its endpoints. */
export function containerAddresses(c: Container): string[] {
  return c.endpoints.flatMap((e) => [e.ipv4, e.ipv6].filter((a): a is string => a !== null));
}

/** The family a published port is bound in (its host address's). */
export function publishedFamily(p: PublishedPort): Family {
  return familyOfAddress(p.hostIp);
}

/** Docker bridge interface names of the host's networks. */
export function bridgeNames(host: DockerHost): Set<string> {
  return new Set(
    host.networks.map((n) => n.bridgeName).filter((b): b is string => b !== null && b !== ''),
  );
}

/**
 * Docker's bridges on this host from every piece of evidence: networks.json, the bridges the
 * rules tie to container subnets and addresses, and docker0 when a container uses the default
 * network.
 */
export function dockerBridges(snapshot: Snapshot, family: Family): Set<string> {
  const out = bridgeNames(snapshot.host);
  const ev = ruleEvidence(firewallOf(snapshot, family));
  for (const f of [...ev.subnets, ...ev.containers]) if (f.bridge !== null) out.add(f.bridge);
  if (snapshot.host.containers.some((c) => c.endpoints.some((e) => e.network === 'bridge')))
    out.add('docker0');
  return out;
}

/** True when the rule names a Docker bridge interface: Docker wrote it for that network. */
export function mentionsDockerBridge(rule: Rule, bridges: ReadonlySet<string>): boolean {
  return rule.core.some(
    (o) => o.type === 'interface' && (bridges.has(o.name) || o.name === 'docker0'),
  );
}

/**
 * Whether Docker programs ip6tables on this host: the daemon says so, or the IPv6 dump has
 * Docker's chains (the dump is what the kernel runs, whatever the config file claims).
 */
export function dockerProgramsIpv6(snapshot: Snapshot): boolean {
  if (snapshot.host.daemon.ip6tables.value) return true;
  const v6 = snapshot.ipv6;
  return v6 !== null && v6.tables.some((t) => t.chains.some((c) => isDockerChain(c.name)));
}
