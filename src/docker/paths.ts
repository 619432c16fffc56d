/**
 * The paths a container's inbound traffic takes through the chains, per rule-layout era, and its
 * network mode as the chain view writes it.
 */
import type { Container, DockerHost, LayoutEra } from '../model/host.ts';

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
  const drivers = subject.endpoints.map(
    (e) =>
      host.networks.find((n) => n.name === e.network || n.id === e.networkId)?.driver ?? 'bridge',
  );
  if (drivers.length > 0 && drivers.every((d) => d === 'macvlan' || d === 'ipvlan')) {
    return ["own address on the parent network: not through this host's INPUT or FORWARD"];
  }
  const forward =
    era === 'classic'
      ? 'filter FORWARD → DOCKER-USER → DOCKER-ISOLATION-STAGE-1 → DOCKER'
      : era === 'v28'
        ? 'filter FORWARD → DOCKER-USER → DOCKER-FORWARD → DOCKER-CT / DOCKER-ISOLATION-STAGE-1 / DOCKER-BRIDGE → DOCKER'
        : era === 'v29'
          ? 'filter FORWARD → DOCKER-USER → DOCKER-FORWARD → DOCKER-CT / DOCKER-INTERNAL / DOCKER-BRIDGE → DOCKER'
          : 'filter FORWARD';
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
