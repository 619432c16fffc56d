/**
 * The paths a container's inbound traffic takes through the chains, per rule-layout era, and its
 * network mode as the chain view writes it.
 */
import type { Container, DockerHost, LayoutEra } from '../model/host.ts';
import { DOCKER_NFT_CHAINS, DOCKER_NFT_TABLE, forwardInChain } from './nft-layout.ts';
import { type VlanNetwork, vlanNetwork } from './direct-networks.ts';
import { bridgeOfEndpoint, networkOfEndpoint } from './topology.ts';

/** The network mode, with a `container:` mode's namespace owner resolved. */
export function networkModeText(c: Container, host: DockerHost): string {
  const m = c.networkMode;
  switch (m.kind) {
    case 'bridge':
      return m.network === 'bridge' ? 'bridge (default)' : `bridge ${m.network}`;
    case 'host':
      return 'host';
    case 'none':
      return 'none';
    case 'container': {
      const target = host.containers.find((x) => x.id === m.resolved || x.name === m.resolved);
      return `container:${m.ref} → ${m.resolved === null ? 'unresolved' : (target?.name ?? m.resolved)}`;
    }
    case 'network':
      return `${m.driver ?? 'network'} ${m.network}`;
  }
}

/** The chains inbound traffic to the container meets, one line per kind of traffic. */
export function containerPaths(c: Container, host: DockerHost, era: LayoutEra): string[] {
  let subject = c;
  const m = c.networkMode;
  if (m.kind === 'container') {
    const target = host.containers.find((x) => x.id === m.resolved || x.name === m.resolved);
    if (target === undefined)
      return ["unknown: the shared namespace's container is not in the snapshot"];
    subject = target;
  }
  const mode = subject.networkMode;
  if (mode.kind === 'host')
    return ['inbound: filter INPUT only (a host process; Docker adds no rules)'];
  if (mode.kind === 'none') return ['none: loopback only'];
  const vlans = subject.endpoints.map((e) => {
    const n = networkOfEndpoint(host, e);
    return n === undefined ? null : vlanNetwork(n);
  });
  if (vlans.length > 0 && vlans.every((v) => v !== null)) return vlans.map(vlanPath);
  const forward =
    era === 'classic'
      ? 'filter FORWARD → DOCKER-USER → DOCKER-ISOLATION-STAGE-1 → DOCKER'
      : era === 'v28'
        ? 'filter FORWARD → DOCKER-USER → DOCKER-FORWARD → DOCKER-CT / DOCKER-ISOLATION-STAGE-1 / DOCKER-BRIDGE → DOCKER'
        : era === 'v29'
          ? 'filter FORWARD → DOCKER-USER → DOCKER-FORWARD → DOCKER-CT / DOCKER-INTERNAL / DOCKER-BRIDGE → DOCKER'
          : 'filter FORWARD';
  if (era === 'nftables') return nftPaths(subject, host);
  const out: string[] = [];
  const published = subject.published.filter((p) => p.hostPort !== null);
  if (published.length > 0) {
    const ports = published
      .map((p) => `${p.hostIp}:${p.hostPort ?? ''}→${p.containerPort}/${p.protocol}`)
      .join(', ');
    out.push(
      `published (${ports}): ${era === 'classic' || era === 'v28' || era === 'v29' ? 'raw PREROUTING → ' : ''}nat PREROUTING → DOCKER (DNAT) → ${forward}`,
    );
  }
  out.push(
    `direct to its address: ${era === 'v28' || era === 'v29' ? 'raw PREROUTING (drop unless from its bridge) → ' : ''}${forward}`,
  );
  if (
    published.some((p) => p.hostIp === '::' || p.hostIp === '0.0.0.0') &&
    host.daemon.userlandProxy.value
  ) {
    out.push(
      'from the host via 127.0.0.1, and IPv6 to an IPv4-only container: docker-proxy → filter INPUT',
    );
  }
  return out;
}

/** Ports as `0.0.0.0:8080→80/tcp`, for a path line. */
function publishedText(c: Container): string | null {
  const published = c.published.filter((p) => p.hostPort !== null);
  if (published.length === 0) return null;
  return published
    .map((p) => `${p.hostIp}:${p.hostPort ?? ''}→${p.containerPort}/${p.protocol}`)
    .join(', ');
}

/**
 * Docker 29's nftables backend: Docker's chains in its `docker-bridges` tables, the bridge's
 * forward chain reached through the `filter-FORWARD` verdict map. There is no DOCKER-USER: an
 * operator's own base chains on the same hooks run beside Docker's, by priority.
 */
function nftPaths(c: Container, host: DockerHost): string[] {
  const bridges = [
    ...new Set(c.endpoints.map((e) => bridgeOfEndpoint(host, e)).filter((b) => b !== null)),
  ];
  const into =
    bridges.length === 0
      ? 'filter-forward-in__<bridge>'
      : bridges.map((b) => forwardInChain(b)).join(' / ');
  const forward = `${DOCKER_NFT_CHAINS.forward} → ${into}`;
  const t = DOCKER_NFT_TABLE;
  const out: string[] = [];
  const ports = publishedText(c);
  if (ports !== null) {
    out.push(
      `published (${ports}): ${t} ${DOCKER_NFT_CHAINS.raw} → nat-PREROUTING → ${DOCKER_NFT_CHAINS.dnat} (dnat) → ${forward}, with the operator's base chains on each hook by priority`,
    );
  }
  out.push(
    `direct to its address: ${t} ${DOCKER_NFT_CHAINS.raw} (drop unless from its bridge) → ${forward} (drop unless published)`,
  );
  if (
    c.published.some((p) => p.hostIp === '::' || p.hostIp === '0.0.0.0') &&
    host.daemon.userlandProxy.value
  ) {
    out.push(
      'from the host via 127.0.0.1, and IPv6 to an IPv4-only container: docker-proxy → input hook',
    );
  }
  return out;
}

/** How traffic reaches a container on a macvlan or ipvlan network, one line per network. */
function vlanPath(v: VlanNetwork): string {
  const name = `${v.driver} ${v.network.name}`;
  switch (v.reach) {
    case 'direct':
      return `own address on ${v.parent ?? ''}'s network (${name}): not through this host's firewall`;
    case 'host-netfilter':
      return `${name}, l3s mode: through this host's netfilter hooks (not modelled)`;
    case 'isolated':
      return `${name}: ${v.parent === null ? 'no parent interface' : 'internal'}, not reachable from outside the host`;
  }
}
