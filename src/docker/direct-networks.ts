/**
 * macvlan and ipvlan networks: a container on one has its own address on the network of a host
 * interface (the parent). Frames for it are handed to the container's own device below the
 * host's IP stack, so the host's netfilter — iptables and nftables, INPUT, FORWARD, DOCKER-USER,
 * ufw — never sees them, and Docker writes no rule for such networks: `-p` does nothing there.
 * Measured in network namespaces (docs/rules/unfiltered-network.md): a macvlan container
 * answered a neighbour while the host's INPUT and FORWARD dropped everything and DOCKER-USER
 * dropped all from the parent, and the host's raw table counted no packet.
 *
 * Not every such network is reachable from outside: ipvlan's l3s mode runs the host's netfilter
 * hooks for its traffic, and a network with no parent (or an internal one) hangs off a dummy
 * link Docker makes, which no neighbour is on.
 */
import type { Container, DockerHost, Endpoint, Network } from '../model/host.ts';
import { isVlanDriver } from '../model/host.ts';
import { networkOfEndpoint } from './topology.ts';

/** A macvlan or ipvlan network, and whether the parent's neighbours reach its containers. */
export interface VlanNetwork {
  readonly network: Network;
  readonly driver: 'macvlan' | 'ipvlan';
  /** `bridge`, `private`, `vepa`, `passthru` (macvlan); `l2`, `l3`, `l3s` (ipvlan). */
  readonly mode: string;
  /** The host interface the containers' devices hang off (`eth0`, `eth0.10`); null: none. */
  readonly parent: string | null;
  /**
   * `direct`: the parent's neighbours reach the containers, the host's firewall never sees it;
   * `host-netfilter`: ipvlan l3s, whose traffic passes the host's netfilter hooks (not modelled);
   * `isolated`: no parent, or internal — a dummy link Docker makes, which no neighbour is on.
   */
  readonly reach: 'direct' | 'host-netfilter' | 'isolated';
}

/** A network whose containers the parent's neighbours reach without the host's firewall. */
export type DirectNetwork = VlanNetwork & { readonly reach: 'direct'; readonly parent: string };

/** Docker's defaults when the network does not name a mode (moby's macvlan and ipvlan drivers). */
const DEFAULT_MODE = { macvlan: 'bridge', ipvlan: 'l2' } as const;

/** The network as a macvlan or ipvlan one, or null for any other driver. */
export function vlanNetwork(n: Network): VlanNetwork | null {
  if (!isVlanDriver(n.driver)) return null;
  const given = n.options['parent'];
  const parent = given === undefined || given === '' ? null : given;
  const mode = n.options[`${n.driver}_mode`] ?? DEFAULT_MODE[n.driver];
  const reach =
    parent === null || n.internal
      ? 'isolated'
      : n.driver === 'ipvlan' && mode === 'l3s'
        ? 'host-netfilter'
        : 'direct';
  return { network: n, driver: n.driver, mode, parent, reach };
}

function isDirect(v: VlanNetwork | null): v is DirectNetwork {
  return v !== null && v.reach === 'direct' && v.parent !== null;
}

/** A container's endpoints on macvlan and ipvlan networks (a `container:` mode one has none). */
export function vlanEndpoints(
  host: DockerHost,
  c: Container,
): { readonly endpoint: Endpoint; readonly vlan: VlanNetwork }[] {
  const out: { endpoint: Endpoint; vlan: VlanNetwork }[] = [];
  for (const endpoint of c.endpoints) {
    const n = networkOfEndpoint(host, endpoint);
    const vlan = n === undefined ? null : vlanNetwork(n);
    if (vlan !== null) out.push({ endpoint, vlan });
  }
  return out;
}

/** A container's endpoints on direct networks. */
export function directEndpoints(
  host: DockerHost,
  c: Container,
): { readonly endpoint: Endpoint; readonly direct: DirectNetwork }[] {
  return vlanEndpoints(host, c).flatMap(({ endpoint, vlan }) =>
    isDirect(vlan) ? [{ endpoint, direct: vlan }] : [],
  );
}
