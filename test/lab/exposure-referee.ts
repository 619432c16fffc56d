/**
 * The exposure table against the kernel: what a client outside the lab host really reached is
 * what the table must list, and what the kernel dropped no `certain` row may claim. The table is
 * computed from a snapshot as users give it (full, or cut down), over all packets; the probes
 * are the client's (arriving on the external interface).
 *
 * - every connection the kernel made from the client is covered by a row — protocol, the
 *   address and port as sent, the client's address and interface — that delivers it where the
 *   kernel did (the host, or the container's address and port); a container the snapshot lists
 *   (`named`) must also be named by its row;
 * - no `certain` row covers a client probe the kernel dropped (timed out);
 * - no `certain` row takes a probe the kernel refused to a lab container port that listens, or
 *   to a host port it says something listens on (a row may rightly lead to a port nothing
 *   listens on).
 */
import ipaddr from 'ipaddr.js';
import type { Exposure } from '../../src/model/audit.ts';
import type { Family, PortRange } from '../../src/model/ruleset.ts';
import { canonical6, EXTERNAL6 } from './ipv6.ts';
import type { ProbeResult } from './netns.ts';
import { EXTERNAL, type LabTopology } from './topology.ts';

export interface ExposureTally {
  /** Client connections the kernel made. */
  connected: number;
  /** …of which a row lists with the right target (certain / possible). */
  foundCertain: number;
  foundPossible: number;
  /** Client probes the kernel dropped. */
  dropped: number;
  /** …of which only a possible row covers (allowed: the row names what it rests on). */
  droppedPossible: number;
  /** Client probes the kernel refused. */
  refused: number;
}

export function emptyExposureTally(): ExposureTally {
  return {
    connected: 0,
    foundCertain: 0,
    foundPossible: 0,
    dropped: 0,
    droppedPossible: 0,
    refused: 0,
  };
}

export function addTally(into: ExposureTally, t: ExposureTally): void {
  for (const k of Object.keys(into) as (keyof ExposureTally)[]) into[k] += t[k];
}

export function exposureTallyText(label: string, t: ExposureTally): string {
  const found = t.foundCertain + t.foundPossible;
  return (
    `${label}: ${found}/${t.connected} client connections listed ` +
    `(${t.foundCertain} certain, ${t.foundPossible} possible), ` +
    `${t.dropped - t.droppedPossible}/${t.dropped} dropped probes in no row ` +
    `(${t.droppedPossible} in a possible one), ${t.refused} refused probes in no certain row to a listening container`
  );
}

function contains(cidrs: readonly string[], address: string): boolean {
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    a = ipaddr.parse(address);
  } catch {
    return false;
  }
  return cidrs.some((c) => {
    try {
      const [net, len] = ipaddr.parseCIDR(
        c.includes('/') ? c : `${c}/${c.includes(':') ? 128 : 32}`,
      );
      return net.kind() === a.kind() && a.match(net, len);
    } catch {
      return false;
    }
  });
}

const inPorts = (port: number, ranges: readonly PortRange[]): boolean =>
  ranges.some((r) => port >= r.from && port <= r.to);

/**
 * The engine's name for an interface: itself when the snapshot names it, else the wildcard class
 * it falls in (`eth*`), else the class of every unnamed interface.
 */
export function interfaceClassOf(classes: readonly string[], name: string): string {
  if (classes.includes(name)) return name;
  const wild = classes
    .filter((c) => c.endsWith('*') && c !== '*other*' && name.startsWith(c.slice(0, -1)))
    .sort((a, b) => b.length - a.length)[0];
  return wild ?? '*other*';
}

/** The lab host's own addresses (as labAddrJson lists them), canonical. */
export function labHostAddresses(t: LabTopology): Set<string> {
  return new Set(
    [
      '127.0.0.1',
      '::1',
      EXTERNAL.hostAddress,
      ...(t.v6 === null ? [] : [EXTERNAL6.hostAddress]),
      ...t.bridges.map((b) => b.gateway),
      ...(t.v6?.bridges ?? []).map((b) => b.gateway),
    ].map((a) => ipaddr.parse(a).toString()),
  );
}

/**
 * Whether a row covers the probe's packet as the client sends it, on the client's interface. A
 * row about the host's addresses (`toHost`) speaks of a destination only if it is one; a row
 * about addresses behind the host only if it is not.
 */
function covers(e: Exposure, r: ProbeResult, ingress: string, host: ReadonlySet<string>): boolean {
  const p = r.probe;
  const toHost = host.has(ipaddr.parse(p.destination).toString());
  return (
    (e.toHost === null || e.toHost === toHost) &&
    e.family === p.family &&
    e.protocol === p.protocol &&
    inPorts(p.port, e.ports) &&
    contains(e.destinations, p.destination) &&
    e.reachableFrom.some(
      (f) =>
        f.interface === ingress &&
        contains(f.sources, p.source) &&
        !contains(f.exceptSources ?? [], p.source) &&
        (f.sourcePorts === undefined || inPorts(p.sourcePort, f.sourcePorts)),
    )
  );
}

/** Why a row does not deliver where the kernel did; null when it does. */
function wrongTarget(
  t: LabTopology,
  family: Family,
  e: Exposure,
  identity: string,
  named: ReadonlySet<string>,
): string | null {
  // a row delivered to a host socket that docker-proxy holds names the container it relays to;
  // the lab's stand-in for the proxy answers as the host
  if (identity === 'host')
    return e.target.kind === 'host' || e.target.proxiedBy !== null
      ? null
      : `the kernel delivered to the host, the row to ${where(e)}`;
  const m = /^(.*):(\d+)\/(tcp|udp)$/.exec(identity);
  if (m === null) return `unreadable identity ${identity}`;
  const [, name = '', port = ''] = m;
  const address =
    family === 'ipv6'
      ? t.v6?.containers.find((c) => c.name === name)?.address
      : t.containers.find((c) => c.name === name)?.address;
  if (address === undefined) return `no lab container ${name} of ${family}`;
  const sameAddress =
    contains(e.target.addresses, family === 'ipv6' ? canonical6(address) : address) &&
    inPorts(Number(port), e.target.ports);
  if (!sameAddress)
    return `the kernel delivered to ${name} ${address}:${port}, the row to ${where(e)}`;
  // a row of a network's addresses (every one on its bridge the rules let through) names the
  // network, not each container in it (a container is on the same bridge in both families)
  const networkRow =
    e.target.kind === 'other' &&
    e.target.network !== null &&
    e.target.outInterface === t.containers.find((c) => c.name === name)?.bridge &&
    !e.target.addresses.every((a) => a.endsWith('/32') || a.endsWith('/128'));
  if (named.has(name) && e.target.name !== name && !networkRow)
    return `the row names ${e.target.name ?? 'nothing'} for ${name} ${address}:${port}`;
  return null;
}

function where(e: Exposure): string {
  const ports = e.target.ports.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`));
  return `${e.target.kind} ${e.target.name ?? '?'} ${e.target.addresses.join(',')}:${ports.join(',')}`;
}

/**
 * Judges one scenario's table. `classes`: the engine's interface classes per family (to find the
 * row of the client's interface). Failures are lines for a test message.
 */
export function judgeExposures(
  t: LabTopology,
  results: readonly ProbeResult[],
  exposures: readonly Exposure[],
  classes: Readonly<Partial<Record<Family, readonly string[]>>>,
  named: ReadonlySet<string> = new Set(),
): { tally: ExposureTally; failures: string[] } {
  const tally = emptyExposureTally();
  const failures: string[] = [];
  const host = labHostAddresses(t);
  for (const r of results) {
    const p = r.probe;
    if (p.origin.kind !== 'client' || p.inInterface !== EXTERNAL.hostInterface) continue;
    const ingress = interfaceClassOf(classes[p.family] ?? [], p.inInterface);
    const rows = exposures.filter((e) => covers(e, r, ingress, host));
    // a datagram a listener heard reached it, though its answer did not get back (a server
    // bound to every address answers from the host's address toward the client)
    const heard = r.outcome === 'timeout' ? r.heard : undefined;
    if (r.outcome === 'connected' || heard !== undefined) {
      tally.connected += 1;
      const identity = heard ?? r.identity ?? '';
      const how = heard === undefined ? 'connected' : 'delivered the datagram';
      const right = rows.filter((e) => wrongTarget(t, p.family, e, identity, named) === null);
      if (right.some((e) => e.certainty === 'certain')) tally.foundCertain += 1;
      else if (right.length > 0) tally.foundPossible += 1;
      else
        failures.push(
          `${p.description}: the kernel ${how} (${identity}) but no row lists it` +
            (rows.length > 0
              ? `; covering rows: ${rows.map((e) => wrongTarget(t, p.family, e, identity, named)).join('; ')}`
              : ''),
        );
      // a certain row that sends it elsewhere is a confident wrong answer
      for (const e of rows)
        if (e.certainty === 'certain') {
          const why = wrongTarget(t, p.family, e, identity, named);
          if (why !== null) failures.push(`${p.description}: certain row ${e.id}: ${why}`);
        }
    } else if (r.outcome === 'timeout') {
      tally.dropped += 1;
      const certain = rows.filter((e) => e.certainty === 'certain');
      if (certain.length > 0)
        failures.push(
          `${p.description}: the kernel dropped it but certain rows list it: ${certain.map(where).join('; ')}`,
        );
      else if (rows.length > 0) tally.droppedPossible += 1;
    } else if (r.outcome === 'refused') {
      tally.refused += 1;
      for (const e of rows) {
        if (e.certainty !== 'certain') continue;
        const listening = listeningContainer(t, p.family, e, p.port);
        if (listening !== null)
          failures.push(
            `${p.description}: the kernel refused it but a certain row takes it to ${listening}, which listens`,
          );
      }
    }
  }
  return { tally, failures };
}

/**
 * Where a row delivers the probe's port when something listens there: a lab container's port,
 * or the host when the row says a listener is there; null otherwise (or when the row's port
 * mapping does not say which port).
 */
function listeningContainer(
  t: LabTopology,
  family: Family,
  e: Exposure,
  port: number,
): string | null {
  if (e.target.kind === 'host')
    return e.target.listening === true ? `the host (${e.target.name ?? 'a listener'})` : null;
  const single = e.target.ports.length === 1 && e.target.ports[0]?.from === e.target.ports[0]?.to;
  const same = JSON.stringify(e.target.ports) === JSON.stringify(e.ports);
  const delivered = single ? (e.target.ports[0]?.from ?? -1) : same ? port : null;
  if (delivered === null) return null;
  const v6 = family === 'ipv6' ? (t.v6?.containers ?? []) : [];
  for (const c of t.containers) {
    const address = family === 'ipv6' ? v6.find((x) => x.name === c.name)?.address : c.address;
    if (address === undefined || !contains(e.target.addresses, address)) continue;
    if (c.ports.includes(delivered)) return `${c.name} ${address}:${delivered}`;
  }
  return null;
}
