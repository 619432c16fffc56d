/**
 * The exposure table: every published port and host listener that a packet from outside the
 * host reaches, with the sources per ingress interface, a witness packet and its trace. Built
 * from the Docker model (what could be exposed) and proved with the engine (what is).
 */
import type { Exposure, ExposureTarget, ReachableFrom } from '../model/audit.ts';
import type { DockerHost, Protocol } from '../model/host.ts';
import type { Family } from '../model/ruleset.ts';
import type { Certainty, Packet, Trace } from '../model/trace.ts';
import type { DeliveryTarget, LintEngine, SourceReach } from './engine.ts';
import { cidrWithin } from './policy.ts';
import {
  containerAddresses,
  externalInterfaces,
  familyOfAddress,
  hostAddressFor,
  isLoopback,
  isWildcard,
  newConnection,
  remoteClient,
} from './queries.ts';

interface Candidate {
  readonly family: Family;
  readonly protocol: Protocol;
  readonly bound: string;
  readonly port: number;
  readonly target: ExposureTarget;
}

/** A source for the witness from a CIDR of sources that reach: a remote client when any will do. */
function sourceFrom(cidr: string, family: Family, host: DockerHost): string {
  const remote = remoteClient(family, host);
  if (cidrWithin(remote, cidr)) return remote;
  const i = cidr.indexOf('/');
  return i < 0 ? cidr : cidr.slice(0, i);
}

function candidates(host: DockerHost): Candidate[] {
  const out: Candidate[] = [];
  for (const c of host.containers) {
    if (!c.running || c.networkMode.kind === 'host') continue;
    for (const p of c.published) {
      if (isLoopback(p.hostIp)) continue;
      if (p.hostPort === null) {
        // Routed gateway mode: no host port, the container address itself is the service.
        const family: Family = p.hostIp.includes(':') ? 'ipv6' : 'ipv4';
        const address = containerAddresses(c).find((a) => familyOfAddress(a) === family);
        if (address === undefined) continue;
        out.push({
          family,
          protocol: p.protocol,
          bound: address,
          port: p.containerPort,
          target: { kind: 'container', name: c.name, address, port: p.containerPort },
        });
        continue;
      }
      const family: Family = p.hostIp === '' ? 'ipv4' : familyOfAddress(p.hostIp);
      const addrs = containerAddresses(c);
      const address = addrs.find((a) => familyOfAddress(a) === family) ?? addrs[0] ?? 'unknown';
      out.push({
        family,
        protocol: p.protocol,
        bound: p.hostIp,
        port: p.hostPort,
        target: { kind: 'container', name: c.name, address, port: p.containerPort },
      });
    }
  }
  // A host-network container's sockets are host listeners; name the container when its ports say so.
  const hostMode = host.containers.filter((c) => c.running && c.networkMode.kind === 'host');
  const ownerOf = (port: number, protocol: Protocol): string | null => {
    const c = hostMode.find((h) =>
      [
        ...h.exposed,
        ...h.requested.map((r) => ({ port: r.containerPort, protocol: r.protocol })),
      ].some((p) => p.port === port && p.protocol === protocol),
    );
    return c === undefined ? null : `${c.name} (host network)`;
  };
  for (const l of host.listeners) {
    if (l.kind === 'docker-proxy' || l.kind === 'dockerd' || isLoopback(l.address)) continue;
    const families: Family[] =
      l.address === '*'
        ? ['ipv4', 'ipv6']
        : [familyOfAddress(l.address === '' ? '0.0.0.0' : l.address)];
    for (const family of families) {
      out.push({
        family,
        protocol: l.protocol,
        bound: l.address,
        port: l.port,
        target: {
          kind: 'host',
          name: ownerOf(l.port, l.protocol) ?? l.process?.name ?? null,
          address: l.address,
          port: l.port,
        },
      });
    }
  }
  return out;
}

function toReachable(reach: readonly SourceReach[]): {
  from: ReachableFrom[];
  certainty: Certainty;
} {
  const from = reach
    .map((r) => ({ interface: r.interface, sources: [...r.certain, ...r.possible] }))
    .filter((r) => r.sources.length > 0);
  const certainty: Certainty = reach.some((r) => r.certain.length > 0) ? 'certain' : 'possible';
  return { from, certainty };
}

/** The witness, its trace and the sources for one planned exposure; null when nothing reaches it. */
function prove(
  host: DockerHost,
  engine: LintEngine,
  plan: Planned,
  reach: readonly SourceReach[] | null,
): Exposure | null {
  const { cand, destination, ifaces } = plan;
  let trace: Trace | null;
  let witness: Packet;
  if (reach === null) {
    // The engine cannot enumerate sources: prove one remote client and say only that.
    witness = newConnection(
      cand.family,
      cand.protocol,
      remoteClient(cand.family, host),
      destination,
      cand.port,
      ifaces[0] ?? 'eth0',
    );
    trace = engine.trace(witness);
    if (trace === null || trace.verdict !== 'accepted') return null;
  } else {
    const first = reach.find((r) => r.certain.length > 0) ?? reach[0];
    const source = first?.certain[0] ?? first?.possible[0];
    if (first === undefined || source === undefined) return null;
    witness = newConnection(
      cand.family,
      cand.protocol,
      sourceFrom(source, cand.family, host),
      destination,
      cand.port,
      first.interface,
    );
    trace = engine.trace(witness);
  }
  const reachable =
    reach === null
      ? {
          from: [{ interface: witness.inInterface ?? '*', sources: [witness.source] }],
          certainty: trace?.certainty ?? 'possible',
        }
      : toReachable(reach);
  if (reachable.from.length === 0) return null;
  return {
    family: cand.family,
    protocol: cand.protocol,
    hostAddress: displayBound(cand.bound, cand.family),
    hostPort: cand.port,
    target: cand.target,
    reachableFrom: reachable.from,
    certainty: trace?.certainty === 'possible' ? 'possible' : reachable.certainty,
    witness,
    trace: trace?.steps ?? [],
  };
}

function displayBound(bound: string, family: Family): string {
  if (bound === '' || bound === '*') return family === 'ipv4' ? '0.0.0.0' : '::';
  return bound;
}

interface Planned {
  readonly cand: Candidate;
  readonly destination: string;
  readonly ifaces: readonly string[];
  readonly targets: readonly DeliveryTarget[];
}

/** Exposures in a stable order: family, protocol, host port, host address, target. */
export function computeExposures(host: DockerHost, engine: LintEngine): Exposure[] {
  const planned: Planned[] = [];
  const seen = new Set<string>();
  for (const cand of candidates(host)) {
    if (!engine.families.includes(cand.family)) continue;
    const local = engine.localAddresses(cand.family);
    const destination = hostAddressFor(host, cand.family, cand.bound, local);
    // Without any address of this family the host could be reached at, there is nothing to prove.
    if (isWildcard(cand.bound) && !local.includes(destination)) continue;
    const key = `${cand.family}|${cand.protocol}|${displayBound(cand.bound, cand.family)}|${cand.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const targets: DeliveryTarget[] =
      cand.target.kind === 'container'
        ? [
            { kind: 'forward', address: cand.target.address, port: cand.target.port },
            { kind: 'local', port: cand.port },
          ]
        : [{ kind: 'local', port: cand.port }];
    planned.push({ cand, destination, ifaces: externalInterfaces(host, cand.family), targets });
  }
  const out: Exposure[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    const mine = planned.filter((p) => p.cand.family === family);
    if (mine.length === 0) continue;
    const ifaces = mine[0]?.ifaces ?? [];
    const answers = engine.sourcesReaching(
      family,
      ifaces,
      mine.map((p) => ({
        protocol: p.cand.protocol,
        destination: p.destination,
        port: p.cand.port,
        targets: p.targets,
      })),
    );
    mine.forEach((plan, i) => {
      const exposure = prove(host, engine, plan, answers === null ? null : (answers[i] ?? []));
      if (exposure !== null) out.push(exposure);
    });
  }
  return out.sort(
    (a, b) =>
      a.family.localeCompare(b.family) ||
      a.protocol.localeCompare(b.protocol) ||
      a.hostPort - b.hostPort ||
      a.hostAddress.localeCompare(b.hostAddress) ||
      (a.target.name ?? '').localeCompare(b.target.name ?? ''),
  );
}
