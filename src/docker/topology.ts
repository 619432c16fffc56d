/** Lookups joining containers, endpoints and networks of a snapshot. */
import type { Container, DockerHost, Endpoint, Network } from '../model/host.ts';
import type { Family } from '../model/ruleset.ts';

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
