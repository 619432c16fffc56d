/**
 * How an exposure is said in words, the same in every report, rule message and the review UI:
 * where the client sends (`0.0.0.0:8080/tcp`, `[::]:22/tcp`, `172.18.0.0/16:1–65535/tcp`), what
 * it reaches (`container shop-db-1 (172.18.0.3:5432)`, `host sshd`, `unknown container
 * 172.17.0.2:80 on docker0`, `host ports 1–21, 23–65535: open, listener unknown`) and from where.
 * Plain text; printers escape it.
 */
import type { Exposure, ReachableFrom } from '../model/audit.ts';
import type { Family, PortRange } from '../model/ruleset.ts';
import { briefCidrs, firstCidrs } from './address-sets.ts';

/** `22`, `1–21, 23–65535`; every port is `*`. */
export function portsText(ports: readonly PortRange[]): string {
  if (isEveryPort(ports)) return '*';
  return ports.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}–${p.to}`)).join(', ');
}

/** Port ranges a sentence names before it counts the rest. */
const SHOWN_RANGES = 8;

/**
 * `portsText` for reading: past a few ranges, the rest is counted (`1–21, 23–79, … and 250
 * more`), as `briefCidrs` counts addresses. JSON and SARIF keep every range.
 */
export function briefPorts(ports: readonly PortRange[], max = SHOWN_RANGES): string {
  if (ports.length <= max) return portsText(ports);
  return `${portsText(ports.slice(0, max))} and ${ports.length - max} more`;
}

export function isEveryPort(ports: readonly PortRange[]): boolean {
  return ports.length === 1 && ports[0]?.from === 0 && ports[0].to === 65535;
}

/** How many ports the ranges hold. */
export function portCount(ports: readonly PortRange[]): number {
  return ports.reduce((n, p) => n + p.to - p.from + 1, 0);
}

/** One port, or null when the ranges hold more than one. */
export function singlePort(ports: readonly PortRange[]): number | null {
  const only = ports.length === 1 ? ports[0] : undefined;
  return only !== undefined && only.from === only.to ? only.from : null;
}

function withPort(address: string, ports: string): string {
  const single = !address.includes('/') && !address.includes(' ') && !address.includes(',');
  const a = single && address.includes(':') ? `[${address}]` : address;
  return single && !ports.includes(',') && !ports.includes('–')
    ? `${a}:${ports}`
    : `${a} port${ports.includes(',') || ports.includes('–') ? 's' : ''} ${ports}`;
}

/** A target's addresses may be of the other family (docker-proxy relays IPv6 to IPv4). */
function familyOfCidrs(cidrs: readonly string[], fallback: Family): Family {
  const first = cidrs[0];
  return first === undefined ? fallback : first.includes(':') ? 'ipv6' : 'ipv4';
}

/** Where the client sends: every host address as Docker writes it (0.0.0.0 / [::]). */
export function destinationText(e: Exposure): string {
  const ports = briefPorts(e.ports);
  const where = e.anyHostAddress
    ? e.family === 'ipv4'
      ? '0.0.0.0'
      : '::'
    : briefCidrs(e.destinations, e.family);
  return `${withPort(where, ports)}/${e.protocol}`;
}

/** What the client reaches. */
export function targetText(e: Exposure): string {
  const t = e.target;
  const ports = briefPorts(t.ports);
  const at =
    t.addresses.length === 0
      ? ''
      : withPort(briefCidrs(t.addresses, familyOfCidrs(t.addresses, e.family)), ports);
  switch (t.kind) {
    case 'container': {
      const via = t.proxiedBy === null ? '' : ` via ${t.proxiedBy}`;
      if (t.name !== null) return `container ${t.name} (${at})${via}`;
      return `unknown container ${at}${t.outInterface === null ? '' : ` on ${t.outInterface}`}${via}`;
    }
    case 'host': {
      if (t.listening === true) return `host ${t.name ?? 'process'}`;
      const listener = t.listening === false ? 'nothing listening' : 'listener unknown';
      if (isEveryPort(t.ports)) return `host, any ${e.protocol} port (${listener})`;
      const what = singlePort(t.ports) === null ? 'ports' : 'port';
      return `host ${what} ${ports}/${e.protocol} (${listener})`;
    }
    case 'other': {
      const net = t.network === null ? '' : ` (network ${t.network})`;
      const out = t.outInterface === null ? '' : ` out of ${interfaceText(t.outInterface, true)}`;
      return `${e.kind === 'routed' ? 'forwarded to ' : ''}${at}${out}${net}`;
    }
  }
}

/** The target in a few words: `shop-web-1`, `unknown container 172.18.0.3`, `10.244.1.5`. */
export function targetName(e: Exposure): string {
  const t = e.target;
  if (t.name !== null) return t.name;
  const at = briefCidrs(t.addresses, familyOfCidrs(t.addresses, e.family));
  if (t.kind === 'container') return `unknown container ${at}`;
  if (t.kind === 'host') return 'the host';
  return at;
}

/** The ports two lists of port ranges share, range by range. */
export function intersectPorts(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  return a.flatMap((x) =>
    b.flatMap((y) =>
      x.from <= y.to && y.from <= x.to
        ? [{ from: Math.max(x.from, y.from), to: Math.min(x.to, y.to) }]
        : [],
    ),
  );
}

/** Whether two lists of port ranges share a port. */
export function portsOverlap(a: readonly PortRange[], b: readonly PortRange[]): boolean {
  return a.some((x) => b.some((y) => x.from <= y.to && y.from <= x.to));
}

/** ` except A, B and N more` for sources a host takes out (`exceptSources`); '' for none. */
export function exceptText(except: readonly string[] | undefined, family: Family, max = 3): string {
  return except === undefined || except.length === 0
    ? ''
    : ` except ${firstCidrs(except, family, max)}`;
}

/** `0.0.0.0/0 via eth0 or any other interface; 10.0.0.0/8 via wg0`. */
export function sourcesText(from: readonly ReachableFrom[], max = 3): string {
  if (from.length === 0) return 'nowhere';
  // interfaces that let the same sources through are said together
  const groups = new Map<string, { sources: string; interfaces: string[] }>();
  for (const f of from) {
    // long lists are most often everything but a few prefixes: said as such
    const family = f.sources.some((c) => c.includes(':')) ? 'ipv6' : 'ipv4';
    const listed =
      f.sources.length > max ? briefCidrs(f.sources, family, max) : f.sources.join(', ');
    const sources = `${listed}${exceptText(f.exceptSources, family, max)}`;
    const ports = f.sourcePorts === undefined ? '' : ` (source ports ${portsText(f.sourcePorts)})`;
    const key = `${sources}${ports}`;
    const g = groups.get(key) ?? { sources: key, interfaces: [] };
    g.interfaces.push(interfaceText(f.interface));
    groups.set(key, g);
  }
  return [...groups.values()]
    .map((g) => `${g.sources} via ${g.interfaces.join(' or ')}`)
    .join('; ');
}

/** An interface class as a reader says it (`*other*`: any other ingress, an unnamed egress). */
export function interfaceText(name: string, egress = false): string {
  if (name === '*other*')
    return egress ? 'an interface the snapshot does not name' : 'any other interface';
  if (name.endsWith('*')) return `${name.slice(0, -1)}… interfaces`;
  return name;
}
