/**
 * The exposure table: what a client outside the host reaches, discovered by the engine over all
 * packets (`Engine.discover`), then named from the Docker model. The engine says which new
 * connections from the external interfaces are delivered where; nothing here decides
 * reachability. Names come afterwards: a container from containers.json (or the rules Docker
 * wrote for it), a process from listeners.txt, a network from networks.json — otherwise the row
 * says what it is ("unknown container 172.17.0.2:80 on docker0", "host port 22/tcp, listener
 * unknown"). So a NodePort, a hand-written DNAT or REDIRECT, a port open in INPUT and forwarding
 * to other networks appear whatever the snapshot lists.
 */
import {
  bindingFamilies,
  bindingReceives,
  isLinkLocal,
  isLoopback,
  isWildcard,
} from '../docker/bindings.ts';
import { addressDescriber, networkSubnets, type AddressDescription } from '../docker/address.ts';
import { effectiveUserlandProxy } from '../docker/daemon-evidence.ts';
import { ruleEvidence, type MappingFact } from '../docker/rule-evidence.ts';
import { dockerBridges } from '../docker/topology.ts';
import { filterBackend } from '../docker/filter-place.ts';
import { parseDockerVersion } from '../docker/version.ts';
import { ReplyCheck, repliesText, type ReplyFate } from './replies.ts';
import type { Flow, PacketSet } from '../engine/types.ts';
import { inRange } from '../model/rule-queries.ts';
import { cidrInside, cidrsId, parseCidr, type Cidr } from './address-sets.ts';
import {
  cidrsToRanges,
  intersect,
  normalise,
  portsToRanges,
  rangesToCidrs,
  rangesToPorts,
  subtract,
} from './regions.ts';
import type { Exposure, ExposureTarget, ReachableFrom } from '../model/audit.ts';
import { diagnostic, fileLocation, type Diagnostic } from '../model/diagnostic.ts';
import type { Container, Listener } from '../model/host.ts';
import type { Family, PortRange } from '../model/ruleset.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { anchorFile, firewallOf, wasRead } from '../model/snapshot.ts';
import type { Packet, Trace } from '../model/trace.ts';
import type { FamilyEngine, SnapshotEngines } from './engines.ts';
import { bareAddress, everyAddress, hostPrefix } from '../model/address-text.ts';
import { compareText } from '../model/text-order.ts';

export interface ExposureOptions {
  /** Exposures beyond this many are listed without a trace (a diagnostic says so). */
  readonly traceLimit?: number;
}

const DEFAULT_TRACE_LIMIT = 2000;

/** Sources a witness is preferably sent from: a documentation address outside the host. */
const REMOTE: Readonly<Record<Family, string>> = {
  ipv4: '203.0.113.0/24',
  ipv6: '2001:db8::/32',
};

/**
 * Interfaces whose traffic comes from inside the host: loopback, Docker's bridges, veths and
 * other bridges. Everything else — named or not — is outside.
 */
function internalInterfaces(snapshot: Snapshot, family: Family): Set<string> {
  const out = dockerBridges(snapshot, family);
  out.add('lo');
  for (const i of snapshot.host.interfaces)
    if (i.kind === 'loopback' || i.kind === 'bridge' || i.kind === 'veth') out.add(i.name);
  return out;
}

function isExternal(name: string, internal: ReadonlySet<string>): boolean {
  if (internal.has(name)) return false;
  // wildcard classes of container-side names (veth…, docker…, br-…)
  if (name.endsWith('*')) return !/^(veth|docker|br-)/.test(name);
  return true;
}

function portsText(ports: readonly PortRange[]): string {
  return ports.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`)).join(',');
}

/** `ranges` less the single ports in `minus`. */
export function subtractPorts(ranges: readonly PortRange[], minus: readonly number[]): PortRange[] {
  const out: PortRange[] = [];
  const cut = [...new Set(minus)].sort((a, b) => a - b);
  for (const r of ranges) {
    let from = r.from;
    for (const p of cut) {
      if (p < from || p > r.to) continue;
      if (p > from) out.push({ from, to: p - 1 });
      from = p + 1;
    }
    if (from <= r.to) out.push({ from, to: r.to });
  }
  return out;
}

/** The single address of a /32 or /128 CIDR, else null. */
function singleAddress(cidrs: readonly string[]): string | null {
  const only = cidrs.length === 1 ? cidrs[0] : undefined;
  if (only === undefined) return null;
  const slash = only.indexOf('/');
  const len = slash < 0 ? '' : only.slice(slash + 1);
  return len === '32' || len === '128' ? only.slice(0, slash) : null;
}

/**
 * The sources of one ingress of a row that reach it from the same source ports, as its flows
 * give them. Flows whose source ports differ stay apart: united, a rule that lets most sources
 * in only from ports below 1024 read as if every source reached from any port.
 */
interface FromEntry {
  readonly interface: string;
  readonly sources: Set<string>;
  /** The except lists of flows that hold every source but those (`Flow.exceptSources`). */
  readonly excepts: (readonly string[])[];
  readonly sourcePorts: readonly PortRange[];
}

/**
 * An ingress' sources as a row lists them: the union of its flows' sources. Where a flow holds
 * every source but some, the union is every source but those no flow holds.
 */
function fromOf(family: Family, e: FromEntry): ReachableFrom {
  const iface = e.interface;
  const ports = e.sourcePorts.length > 0 ? { sourcePorts: e.sourcePorts } : {};
  const [first, ...more] = e.excepts;
  if (first === undefined) return { interface: iface, sources: [...e.sources], ...ports };
  // most often every flow of the ingress leaves out the same list (the engine's, merged)
  const same =
    e.sources.size === 0 &&
    more.every((l) => l.length === first.length && l.every((c, i) => c === first[i]));
  let except = first;
  if (!same) {
    let left = cidrsToRanges(first, family);
    for (const list of more) left = intersect(left, cidrsToRanges(list, family));
    left = subtract(left, cidrsToRanges([...e.sources], family));
    except = rangesToCidrs(left, family);
  }
  return {
    interface: iface,
    sources: [everyAddress(family)],
    ...(except.length > 0 ? { exceptSources: except } : {}),
    ...ports,
  };
}

/** A row before naming: one flow key, its ingresses and sources merged. */
interface Row {
  readonly family: Family;
  readonly flow: Flow;
  readonly kind: Exposure['kind'];
  readonly ports: readonly PortRange[];
  readonly from: Map<string, FromEntry>;
  readonly flows: Flow[];
  readonly certainty: Exposure['certainty'];
  /** Why a certain flow is only possible here (it needs an interface nobody named). */
  readonly assumption: string | null;
}

function rowKey(f: Flow, certainty: Exposure['certainty']): string {
  return [
    certainty,
    f.protocol,
    String(f.toHost),
    f.destinations.join(','),
    portsText(f.destinationPorts),
    f.delivery.kind,
    f.delivery.outInterface ?? '',
    f.delivery.addresses?.join(',') ?? '',
    portsText(f.delivery.ports),
    String(f.delivery.translated),
  ].join('|');
}

/** A class of interface names nobody listed (`*other*`, `veth*`). */
function isUnnamed(name: string): boolean {
  return name === '*other*' || name.endsWith('*');
}

/**
 * `named`: external interfaces the rules name while the snapshot has no interface list. Then
 * whether the host has any other interface is unknown, and what only such an interface lets in
 * is possible. (With no external name at all, "any other interface" is simply the external one.)
 */
function rowsOf(
  family: Family,
  flows: readonly Flow[],
  internal: ReadonlySet<string>,
  named: readonly string[],
): Row[] {
  const rows = new Map<string, Row>();
  for (const f of flows) {
    const ingress = f.ingress.filter((i) => isExternal(i, internal));
    if (ingress.length === 0) continue;
    const unnamedOnly = named.length > 0 && ingress.every(isUnnamed);
    const certainty = unnamedOnly ? 'possible' : f.certainty;
    const key = rowKey(f, certainty);
    let row = rows.get(key);
    if (row === undefined) {
      row = {
        family,
        flow: f,
        kind: f.delivery.kind === 'local' ? 'host' : f.delivery.translated ? 'published' : 'routed',
        ports: f.destinationPorts,
        from: new Map(),
        flows: [],
        certainty,
        assumption: unnamedOnly
          ? `the host has an interface besides ${named.join(', ')} (the snapshot lists none; the rules name only these)`
          : null,
      };
      rows.set(key, row);
    }
    row.flows.push(f);
    const anyPort =
      f.sourcePorts.length === 1 && f.sourcePorts[0]?.from === 0 && f.sourcePorts[0].to === 65535;
    const sourcePorts = anyPort ? [] : f.sourcePorts;
    for (const i of ingress) {
      const key = `${i}\u0000${portsText(sourcePorts)}`;
      let entry = row.from.get(key);
      if (entry === undefined) {
        entry = { interface: i, sources: new Set<string>(), excepts: [], sourcePorts };
        row.from.set(key, entry);
      }
      if (f.exceptSources !== undefined) entry.excepts.push(f.exceptSources);
      else for (const s of f.sources) entry.sources.add(s);
    }
  }
  return [...rows.values()];
}

/** What names a family's delivered addresses, indexed once per table. */
interface Namer {
  readonly describe: (address: string) => AddressDescription;
  /** Container addresses Docker's rules show. */
  readonly ruleContainers: ReadonlySet<string>;
  /** The first network with a subnet holding every address (by its first address), or null. */
  readonly networkHolding: (addresses: readonly string[]) => string | null;
}

function namerOf(snapshot: Snapshot, family: Family): Namer {
  // subnets and addresses parsed once: a big host's forwarded rows list hundreds of addresses,
  // each tested against every network's subnets
  const subnets = networkSubnets(snapshot, family);
  const parsed = new Map<string, Cidr | null>();
  const addressOf = (text: string): Cidr | null => {
    let a = parsed.get(text);
    if (a === undefined) {
      a = parseCidr(bareAddress(text));
      parsed.set(text, a);
    }
    return a;
  };
  return {
    describe: addressDescriber(snapshot, family),
    ruleContainers: new Set(
      ruleEvidence(firewallOf(snapshot, family)).containers.map((c) => c.address),
    ),
    networkHolding: (addresses) => {
      // read as the subnets ask: a rules-only snapshot has none to ask about a thousand prefixes
      const held = subnets.find(({ range }) =>
        addresses.every((text) => {
          const a = addressOf(text);
          return a !== null && range !== null && cidrInside(a, range);
        }),
      );
      return held?.network ?? null;
    },
  };
}

/** The container a delivered address belongs to, from containers.json or Docker's own rules. */
function nameForwarded(namer: Namer, f: Flow): ExposureTarget {
  const addresses = f.delivery.addresses ?? [];
  // one literal per target (property order as the report prints it): spreading a shared base
  // into each of 41,000 targets cost several microseconds apiece
  const target = (
    kind: ExposureTarget['kind'],
    name: string | null,
    network: string | null,
    namedFrom: ExposureTarget['namedFrom'],
  ): ExposureTarget => ({
    addresses,
    ports: f.delivery.ports,
    outInterface: f.delivery.outInterface,
    listening: null,
    proxiedBy: null,
    kind,
    name,
    network,
    namedFrom,
  });
  const single = singleAddress(addresses);
  if (single !== null) {
    const d = namer.describe(single);
    if (d.kind === 'container')
      return target('container', d.name ?? null, d.network ?? null, 'containers.json');
    if (namer.ruleContainers.has(single))
      return target('container', null, d.network ?? null, 'rules');
    return target('other', null, d.network ?? null, null);
  }
  // a subnet or several addresses: the network whose subnet holds them, when known
  const network = namer.networkHolding(addresses);
  return target('other', network, network, network === null ? null : 'networks.json');
}

/** A host-network container whose ports say it owns the listener's port. */
function hostModeOwner(containers: readonly Container[], l: Listener): Container | undefined {
  return containers.find(
    (c) =>
      c.running &&
      c.networkMode.kind === 'host' &&
      [
        ...c.exposed,
        ...c.requested.map((r) => ({ port: r.containerPort, protocol: r.protocol })),
      ].some((p) => p.port === l.port && p.protocol === l.protocol),
  );
}

/** Host ports containers publish for a family and protocol (not bound to loopback). */
function publishedPorts(
  containers: readonly Container[],
  family: Family,
  protocol: string,
): number[] {
  const out = new Set<number>();
  for (const c of containers) {
    if (!c.running || c.networkMode.kind === 'host') continue;
    for (const p of c.published)
      if (p.hostPort !== null && p.protocol === protocol && !isLoopback(p.hostIp))
        if (
          p.hostIp === '' ||
          bindingReceives(p.hostIp, family, family === 'ipv4' ? '0.0.0.0' : '::')
        )
          out.add(p.hostPort);
  }
  return [...out].sort((a, b) => a - b);
}

/** The container a docker-proxy on a host port relays to (from containers.json). */
function proxiedContainer(
  containers: readonly Container[],
  family: Family,
  protocol: string,
  port: number,
): { c: Container; containerPort: number } | null {
  for (const c of containers) {
    if (!c.running || c.networkMode.kind === 'host') continue;
    for (const p of c.published) {
      if (p.hostPort !== port || p.protocol !== protocol || isLoopback(p.hostIp)) continue;
      if (
        p.hostIp !== '' &&
        !bindingReceives(p.hostIp, family, family === 'ipv4' ? '0.0.0.0' : '::')
      )
        continue;
      return { c, containerPort: p.containerPort };
    }
  }
  return null;
}

interface HostPart {
  readonly ports: readonly PortRange[];
  readonly target: ExposureTarget;
  /** What naming the part rests on when it is inferred, not observed: it is then only possible. */
  readonly assumption?: string;
}

/**
 * Without containers.json, the host ports Docker's rules map to a container on every address:
 * with docker-proxy on, Docker also listens on them, so what reaches the host on such a port
 * is relayed to the container (IPv6 clients of an IPv4-only container, sources the DNAT leaves
 * out). The container of this family's mapping, else of the other family's.
 */
function proxiedByRules(
  snapshot: Snapshot,
  proxyOn: boolean,
  family: Family,
  protocol: string,
): Map<number, MappingFact> {
  const out = new Map<number, MappingFact>();
  const containersRead = wasRead(snapshot, 'containers');
  if (containersRead || !proxyOn) return out;
  const other: Family = family === 'ipv4' ? 'ipv6' : 'ipv4';
  for (const f of [family, other])
    for (const m of ruleEvidence(firewallOf(snapshot, f)).mappings)
      if (m.hostAddress === null && m.protocol === protocol && !out.has(m.hostPort))
        out.set(m.hostPort, m);
  return out;
}

function ruleProxyTarget(m: MappingFact): ExposureTarget {
  return {
    kind: 'container',
    name: null,
    // the container's own address, of the family its mapping is in
    addresses: [hostPrefix(m.address)],
    ports: [{ from: m.containerPort, to: m.containerPort }],
    outInterface: null,
    network: null,
    listening: true,
    proxiedBy: 'docker-proxy',
    namedFrom: 'rules',
  };
}

/**
 * A row delivered to the host, split by what listens: one part per listener (a process, a
 * host-network container, a docker-proxy relaying to a container), and the rest of the ports
 * open with nothing listening — or, without listeners.txt, the ports docker-proxy serves for a
 * published port (from containers.json, else possibly from Docker's mappings in the rules) and
 * the rest with the listener unknown.
 */
function nameLocal(snapshot: Snapshot, row: Row, listenersKnown: boolean): HostPart[] {
  const f = row.flow;
  const host: Omit<ExposureTarget, 'name' | 'listening' | 'namedFrom'> = {
    kind: 'host',
    addresses: [],
    ports: f.delivery.ports,
    outInterface: null,
    network: null,
    proxiedBy: null,
  };
  const containers = snapshot.host.containers;
  if (!listenersKnown) {
    // With docker-proxy on, a published port the rules do not DNAT for this family (IPv6 on an
    // IPv4-only network, say) is served by docker-proxy on the host: containers.json says which.
    const parts: HostPart[] = [];
    const taken: number[] = [];
    const proxy = effectiveUserlandProxy(snapshot);
    if (proxy.on) {
      for (const port of publishedPorts(containers, row.family, f.protocol)) {
        if (!inRange(port, f.delivery.ports) || taken.includes(port)) continue;
        const proxied = proxiedContainer(containers, row.family, f.protocol, port);
        if (proxied === null) continue;
        taken.push(port);
        parts.push({
          ports: [{ from: port, to: port }],
          target: proxyTarget(proxied, row.family),
          ...(proxy.assumed === null ? {} : { assumption: proxy.assumed }),
        });
      }
    }
    for (const [port, m] of proxiedByRules(snapshot, proxy.on, row.family, f.protocol)) {
      if (!inRange(port, f.delivery.ports) || taken.includes(port)) continue;
      taken.push(port);
      parts.push({
        ports: [{ from: port, to: port }],
        target: ruleProxyTarget(m),
        assumption: `docker-proxy is taken to listen on port ${String(port)}/${f.protocol} and relay to ${m.address}:${String(m.containerPort)}, as Docker does for a port it maps on every address (${m.location.file}:${String(m.location.line)}); no listeners.txt or containers.json says so`,
      });
    }
    const rest = subtractPorts(f.delivery.ports, taken);
    if (rest.length > 0)
      parts.push({
        ports: rest,
        target: { ...host, ports: rest, name: null, listening: null, namedFrom: null },
      });
    return parts;
  }
  const parts: HostPart[] = [];
  const taken: number[] = [];
  // where the packets land: after a DNAT (to 127.0.0.1, say) at the addresses it gave them, which
  // a socket bound to the address the client sent to does not see
  const delivered = f.delivery.translated
    ? [...new Set(row.flows.flatMap((x) => x.packets().destinations()))]
    : null;
  const listeners = snapshot.host.listeners.filter(
    (l) =>
      l.protocol === f.protocol &&
      inRange(l.port, f.delivery.ports) &&
      (delivered !== null
        ? delivered.some((d) => bindingTakes(l.address, row.family, d))
        : isLoopback(l.address)
          ? // a loopback socket sees packets from outside only where route_localnet let them in;
            // a row that also holds the host's other addresses is named by what listens there
            f.destinations.every((d) => isLoopback(d)) &&
            f.destinations.some((d) => bindingTakes(l.address, row.family, d))
          : // a socket takes only its own family's packets (0.0.0.0 no IPv6, [::] no IPv4: `ss`
            // shows a dual-stack socket as `*`), whatever address they were sent to
            (row.flow.anyHostAddress && bindingFamilies(l.address).includes(row.family)) ||
            f.destinations.some((d) => bindingReceives(l.address, row.family, bareAddress(d))) ||
            l.address === '*' ||
            l.address === (row.family === 'ipv4' ? '0.0.0.0' : '::')),
  );
  const seen = new Set<number>();
  for (const l of listeners) {
    if (seen.has(l.port)) continue;
    seen.add(l.port);
    taken.push(l.port);
    const ports = [{ from: l.port, to: l.port }];
    if (l.kind === 'docker-proxy') {
      const proxied = proxiedContainer(containers, row.family, f.protocol, l.port);
      if (proxied !== null) {
        parts.push({
          ports,
          target: { ...proxyTarget(proxied, row.family), namedFrom: 'listeners.txt' },
        });
        continue;
      }
    }
    const owner = hostModeOwner(containers, l);
    parts.push({
      ports,
      target: {
        ...host,
        ports,
        name: owner !== undefined ? `${owner.name} (host network)` : (l.process?.name ?? null),
        listening: true,
        namedFrom: owner !== undefined ? 'containers.json' : 'listeners.txt',
      },
    });
  }
  const rest = subtractPorts(f.delivery.ports, taken);
  if (rest.length > 0)
    parts.push({
      ports: rest,
      target: { ...host, ports: rest, name: null, listening: false, namedFrom: 'listeners.txt' },
    });
  return parts;
}

/** Whether a socket bound to `bound` takes packets to some address of the CIDR `to`. */
function bindingTakes(bound: string, family: Family, to: string): boolean {
  if (!bindingFamilies(bound).includes(family)) return false;
  if (isWildcard(bound)) return true;
  const address = parseCidr(bound);
  const within = parseCidr(to);
  return address !== null && within !== null && cidrInside(address, within);
}

function proxyTarget(
  proxied: { c: Container; containerPort: number },
  family: Family,
): ExposureTarget {
  const endpoint =
    proxied.c.endpoints.find((e) => (family === 'ipv4' ? e.ipv4 : e.ipv6) !== null) ??
    proxied.c.endpoints[0];
  const address =
    endpoint === undefined
      ? null
      : ((family === 'ipv4' ? endpoint.ipv4 : endpoint.ipv6) ?? endpoint.ipv4);
  return {
    kind: 'container',
    name: proxied.c.name,
    addresses: address === null ? [] : [address],
    ports: [{ from: proxied.containerPort, to: proxied.containerPort }],
    outInterface: null,
    network: endpoint?.network ?? null,
    listening: true,
    proxiedBy: 'docker-proxy',
    namedFrom: 'containers.json',
  };
}

/**
 * `translated`: delivered to the host after DNAT, which a row of the same packets delivered
 * without it does not share its id with.
 */
function exposureId(e: Omit<Exposure, 'id'>, translated: boolean): string {
  const dst = e.anyHostAddress ? 'host' : cidrsId(e.destinations, e.family);
  const to =
    e.target.kind === 'host'
      ? `${translated ? 'dnat:' : ''}host:${e.target.name ?? '?'}`
      : `${e.target.kind}:${e.target.name ?? cidrsId(e.target.addresses, e.family)}:${portsText(e.target.ports)}`;
  return `${e.family}/${e.protocol}/${dst}:${portsText(e.ports)}→${to}`;
}

/**
 * The host address a witness is preferably sent to: the host's own address on an external
 * interface when the snapshot lists it, else a documentation address (taken as the host's).
 */
function witnessDestination(fe: FamilyEngine): string {
  const ctx = fe.host.context;
  const own = ctx.localAddresses.find(
    (a) => !isLoopback(a) && !isLinkLocal(a) && ctx.localAddressesComplete !== false,
  );
  return own ?? (fe.family === 'ipv4' ? '203.0.113.10' : '2001:db8:113::10');
}

/**
 * A row's clients as far as the answers get back to them (replies.ts): a TCP client no reply
 * gets back to is not reached — taken out of the row's sources, and the row is gone when none is
 * left; one a reply gets back to only under an unknown makes the row possible, and so does a UDP
 * client whose answers are stopped (its datagrams still arrive). Null: no client is reached.
 */
function answeredFrom(
  family: Family,
  row: Row,
  reachable: readonly ReachableFrom[],
  replies: ReplyCheck,
): { reachableFrom: ReachableFrom[]; back: string[] } | null {
  // a check tells its fates by ingress: a row's entries of one ingress (other sources, as a
  // mark on some clients cuts them apart) are checked apart (random seed 4519, on the rules
  // alone: the fate of ext0's clients in 10.0.0.0/8, lost, was read for all of ext0's, and the
  // row went)
  const rounds: ReachableFrom[][] = [];
  for (const r of reachable) {
    const round = rounds.find((x) => x.every((y) => y.interface !== r.interface));
    if (round === undefined) rounds.push([r]);
    else round.push(r);
  }
  const fateOf = new Map<ReachableFrom, ReplyFate>();
  const stoppers = new Set<string>();
  for (const round of rounds)
    for (const [flow, entries] of byFlow(row, round)) {
      const fate = replies.check(
        flow,
        entries.map((r) => ({
          interface: r.interface,
          sources: r.sources,
          sourcePorts: r.sourcePorts ?? [],
        })),
      );
      if (fate === null) continue;
      for (const s of fate.stoppers) stoppers.add(s);
      for (const r of entries) {
        const f = fate.fates.get(r.interface);
        if (f !== undefined) fateOf.set(r, f);
      }
    }
  if (fateOf.size === 0) return { reachableFrom: [...reachable], back: [] };
  const connects = row.flow.protocol !== 'udp';
  const out: ReachableFrom[] = [];
  const doubtful: string[] = [];
  const stopped: string[] = [];
  const stoppedPorts: PortRange[] = [];
  for (const given of reachable) {
    const f = fateOf.get(given);
    if (f === undefined) {
      out.push(given);
      continue;
    }
    doubtful.push(...f.doubtful);
    let r = given;
    if (f.lostPorts.length > 0) {
      // no reply gets back to a client sending from these ports: a TCP client does not
      // connect from them, a UDP one's answers to them are stopped
      if (!connects) stoppedPorts.push(...f.lostPorts);
      else {
        const left = subtract(
          portsToRanges(r.sourcePorts ?? [{ from: 0, to: 65535 }]),
          portsToRanges(f.lostPorts),
        );
        if (left.length === 0) continue;
        r = { ...r, sourcePorts: rangesToPorts(left) };
      }
    }
    if (!connects) stopped.push(...f.lost);
    if (!connects || f.lost.length === 0) {
      out.push(r);
      continue;
    }
    // no client left there: what remains are sources no answer could reach anyway
    if (!f.clients) continue;
    const except = normalise([
      ...cidrsToRanges(r.exceptSources ?? [], family),
      ...cidrsToRanges(f.lost, family),
    ]);
    if (subtract(cidrsToRanges(r.sources, family), except).length === 0) continue;
    out.push({ ...r, exceptSources: rangesToCidrs(except, family) });
  }
  if (out.length === 0) return null;
  return {
    reachableFrom: out,
    back:
      doubtful.length === 0 && stopped.length === 0 && stoppedPorts.length === 0
        ? []
        : [repliesText([...stoppers].sort(), doubtful, stopped, stoppedPorts)],
  };
}

const ingressFlows = new WeakMap<Row, Map<string, Flow>>();

/**
 * A round's entries by the flow that stands for their clients in the reply check: the row's
 * flows from their ingress, as one where several are. A row unites flows of several ingresses,
 * whose connections conntrack may follow on one and not on another (random seed 7038: a row
 * from two bridges and from ext0, whose first packets a NOTRACK let through, was checked as the
 * bridges' flow alone; NAT rewrote the server's later packets to ext0's clients, which the
 * table listed as certain).
 */
function byFlow(row: Row, round: readonly ReachableFrom[]): Map<Flow, ReachableFrom[]> {
  let flows = ingressFlows.get(row);
  if (flows === undefined) ingressFlows.set(row, (flows = new Map<string, Flow>()));
  const out = new Map<Flow, ReachableFrom[]>();
  for (const r of round) {
    const covering = row.flows.filter((f) => f.ingress.includes(r.interface));
    const key = covering.map((f) => row.flows.indexOf(f)).join(',');
    let flow = flows.get(key);
    if (flow === undefined) {
      flow = unitedFlow(covering) ?? row.flow;
      flows.set(key, flow);
    }
    const entries = out.get(flow);
    if (entries === undefined) out.set(flow, [r]);
    else entries.push(r);
  }
  return out;
}

/** Flows of one row as one: their ingresses, packets and tracking together; null for none. */
function unitedFlow(flows: readonly Flow[]): Flow | null {
  const [first] = flows;
  if (first === undefined || flows.length === 1) return first ?? null;
  let packets: PacketSet | undefined;
  return {
    ...first,
    ingress: [...new Set(flows.flatMap((f) => f.ingress))],
    packets: () => (packets ??= flows.map((f) => f.packets()).reduce((a, b) => a.or(b))),
    tracking: () => {
      const kinds = new Set(flows.map((f) => f.tracking()));
      return kinds.size === 1 ? first.tracking() : 'mixed';
    },
  };
}

/** The witness: the flow's packet sent from outside, to the part's port, replayed by the engine. */
function prove(
  fe: FamilyEngine,
  row: Row,
  ports: readonly PortRange[],
  traced: boolean,
  to: string,
): { witness: Packet; trace: Trace | null } | null {
  // a real service port rather than port 0 when the row allows one
  const real = ports.flatMap((p) => (p.to === 0 ? [] : [{ from: Math.max(1, p.from), to: p.to }]));
  const prefer = {
    sources: [REMOTE[row.family]],
    destinations: [to],
    destinationPorts: [real, ports],
  };
  for (const f of row.flows) {
    const witness = f.witness(prefer);
    if (witness === null) continue;
    return { witness, trace: traced ? fe.engine.trace(witness) : null };
  }
  return null;
}

/**
 * The interface classes of an engine that a client outside the host sends from — what discovery
 * asks about. With the host's interface list, a class of names it does not have receives nothing.
 */
export function externalClasses(snapshot: Snapshot, fe: FamilyEngine): string[] {
  const internal = internalInterfaces(snapshot, fe.family);
  const listed = wasRead(snapshot, 'ip-addr');
  return fe.engine.interfaceClasses.filter(
    (i) => isExternal(i, internal) && (!listed || (i !== '*other*' && !i.endsWith('*'))),
  );
}

/**
 * Why the captured rules are not the whole firewall, where the snapshot shows it: Docker writes
 * its rules with nftables on this host, and no nftables listing was captured. Every row then
 * rests on rules that may be overruled by ones nobody saw.
 */
export function unseenDockerRules(snapshot: Snapshot): string | null {
  if (snapshot.nft !== null) return null;
  const setting = snapshot.host.daemon.firewallBackend;
  if (setting.value === 'nftables')
    return `daemon.json sets "firewall-backend": "nftables", and no nftables listing was captured: the rules analysed are taken to be the whole firewall`;
  if (filterBackend(snapshot.era.era) === 'nftables')
    return 'Docker writes its rules with nftables on this host, and no nftables listing was captured: the rules analysed are taken to be the whole firewall';
  // Docker 29 also takes the backend from its command line or DOCKER_FIREWALL_BACKEND, which
  // daemon.json does not show: containers on Docker's networks and no Docker chain in the
  // iptables dumps may mean its rules are in nftables
  const version = parseDockerVersion(snapshot.host.dockerVersion ?? '');
  const bridged = snapshot.host.containers.some(
    (c) => c.running && (c.networkMode.kind === 'bridge' || c.networkMode.kind === 'network'),
  );
  if (
    snapshot.era.era === 'none' &&
    snapshot.host.daemon.iptables.value &&
    (version === null || version.major >= 29) &&
    bridged
  )
    return 'Docker runs containers on its networks, yet the iptables dumps hold no Docker chain and no nftables listing was captured: Docker 29 may write its rules with nftables (a command-line flag or DOCKER_FIREWALL_BACKEND, which daemon.json does not show); the rules analysed are taken to be the whole firewall';
  return null;
}

export function computeExposures(
  snapshot: Snapshot,
  engines: SnapshotEngines,
  options: ExposureOptions = {},
): { exposures: Exposure[]; diagnostics: Diagnostic[] } {
  const limit = options.traceLimit ?? DEFAULT_TRACE_LIMIT;
  const diagnostics: Diagnostic[] = [];
  const listenersKnown = wasRead(snapshot, 'listeners');
  const unseen = unseenDockerRules(snapshot);
  const out: Exposure[] = [];
  let traced = 0;
  let untraced = 0;
  for (const fe of engines.families) {
    const internal = internalInterfaces(snapshot, fe.family);
    const listed = wasRead(snapshot, 'ip-addr');
    const external = externalClasses(snapshot, fe);
    const witnessTo = witnessDestination(fe);
    const named = listed ? [] : external.filter((i) => !isUnnamed(i));
    if (external.length === 0) continue;
    const { flows, unlisted } = fe.engine.discover({ ingress: external });
    for (const what of unlisted)
      diagnostics.push(
        diagnostic(
          'discovery-limit',
          'error',
          `Part of the ${fe.family === 'ipv4' ? 'IPv4' : 'IPv6'} exposure table could not be listed: what is ${what}. A set or rules that tell that many addresses apart do this; those rows and the findings drawn from them are missing, the rest is complete.`,
          fileLocation(anchorFile(snapshot)),
        ),
      );
    const namer = namerOf(snapshot, fe.family);
    const replies = new ReplyCheck(fe.engine, fe.host.context);
    const rows = rowsOf(fe.family, flows, internal, named);
    replies.expect(rows.flatMap((r) => r.flows));
    for (const row of rows) {
      const answered = answeredFrom(
        fe.family,
        row,
        [...row.from.values()].map((e) => fromOf(fe.family, e)),
        replies,
      );
      if (answered === null) continue;
      const { reachableFrom, back } = answered;
      const parts: HostPart[] =
        row.kind === 'host'
          ? nameLocal(snapshot, row, listenersKnown)
          : [{ ports: row.ports, target: nameForwarded(namer, row.flow) }];
      for (const part of parts) {
        // a listener's part keeps the client's ports that lead to it
        const ports = row.kind === 'host' && !row.flow.delivery.translated ? part.ports : row.ports;
        const traceIt = traced < limit;
        const proof = prove(fe, row, ports, traceIt, witnessTo);
        if (proof === null) continue;
        if (traceIt) traced++;
        else untraced++;
        const trace = proof.trace;
        const partial: Omit<Exposure, 'id'> = {
          family: fe.family,
          protocol: row.flow.protocol,
          kind: row.kind,
          toHost: row.flow.toHost,
          destinations: row.flow.destinations,
          anyHostAddress: row.flow.anyHostAddress,
          ports,
          target: part.target,
          reachableFrom,
          certainty:
            part.assumption === undefined && unseen === null && back.length === 0
              ? row.certainty
              : 'possible',
          assumptions: [
            ...(unseen === null ? [] : [unseen]),
            ...(row.assumption === null ? [] : [row.assumption]),
            ...back,
            ...(part.assumption === undefined ? [] : [part.assumption]),
            ...(trace?.assumptions ?? []),
          ],
          witness: proof.witness,
          trace: trace?.steps ?? [],
        };
        out.push({ id: exposureId(partial, row.flow.delivery.translated), ...partial });
      }
    }
  }
  if (untraced > 0)
    diagnostics.push(
      diagnostic(
        'exposures-untraced',
        'note',
        `${untraced} exposures are listed with a witness but no trace (traceLimit ${limit}); \`dockwall trace\` replays any witness.`,
        fileLocation(anchorFile(snapshot)),
      ),
    );
  return { exposures: distinctIds(out).sort(compareExposures), diagnostics };
}

/** Where a row's clients are, as its id says it when that tells it from a twin. */
function fromId(e: Omit<Exposure, 'id'>): string {
  return e.reachableFrom
    .map((r) => {
      const except = r.exceptSources === undefined ? '' : `-${r.exceptSources.join(',')}`;
      const ports = r.sourcePorts === undefined ? '' : `:${portsText(r.sourcePorts)}`;
      return `${r.interface}=${cidrsId(r.sources, e.family)}${except}${ports}`;
    })
    .join(';');
}

/**
 * Ids made unique. Rows the id alone would not tell apart — the same packets certainly from one
 * interface and possibly from another, relayed by docker-proxy and DNATed, or from sources the
 * host treats apart (IPv6 link-local) — add what does: the kind, the certainty, the sources.
 */
function distinctIds(rows: readonly Exposure[]): Exposure[] {
  const byId = new Map<string, Exposure[]>();
  for (const e of rows) byId.set(e.id, [...(byId.get(e.id) ?? []), e]);
  const out: Exposure[] = [];
  for (const [id, twins] of byId) {
    if (twins.length === 1) {
      out.push(...twins);
      continue;
    }
    const differ = (f: (e: Exposure) => string): boolean => new Set(twins.map(f)).size > 1;
    const kind = differ((e) => e.kind);
    const certainty = differ((e) => e.certainty);
    const from = differ(fromId);
    const seen = new Map<string, number>();
    for (const e of twins) {
      let next = [
        id,
        ...(kind ? [e.kind] : []),
        ...(certainty ? [e.certainty] : []),
        ...(from ? [`from ${fromId(e)}`] : []),
      ].join('~');
      // rows alike in all of that too: numbered in table order
      const n = (seen.get(next) ?? 0) + 1;
      seen.set(next, n);
      if (n > 1) next = `${next}#${String(n)}`;
      out.push({ ...e, id: next });
    }
  }
  return out;
}

/** Stable order: family, protocol, first port, destinations, target. */
export function compareExposures(a: Exposure, b: Exposure): number {
  return (
    compareText(a.family, b.family) ||
    compareText(a.protocol, b.protocol) ||
    (a.ports[0]?.from ?? 0) - (b.ports[0]?.from ?? 0) ||
    compareText(a.id, b.id)
  );
}
