/**
 * Small read-only questions rules ask of the model: which rules DNAT, what port a rule matches,
 * which chains are Docker's, what address a remote client would use. Pure functions over plain
 * data, shared so that every rule answers them the same way.
 */
import type { Container, DockerHost, PublishedPort } from '../model/host.ts';
import type {
  Chain,
  Family,
  MatchOption,
  PortRange,
  Rule,
  Ruleset,
  Table,
} from '../model/ruleset.ts';
import { allOptions, findChain, findTable } from '../model/ruleset.ts';
import type { Packet } from '../model/trace.ts';
import type { Snapshot } from '../model/snapshot.ts';

/** Chains Docker creates and re-creates; operators' rules there are lost on restart. */
export function isDockerChainName(name: string): boolean {
  return name === 'DOCKER' || (name.startsWith('DOCKER-') && name !== 'DOCKER-USER');
}

export function chainIn(ruleset: Ruleset | null, table: string, chain: string): Chain | undefined {
  if (ruleset === null) return undefined;
  const t = findTable(ruleset, table);
  return t === undefined ? undefined : findChain(t, chain);
}

export function jumpTarget(rule: Rule): string | null {
  return rule.target?.kind === 'jump' ? rule.target.chain : null;
}

/** Options that can be tested only against live state (limit, recent, ipsets…). */
export function hasUndecidableMatch(rule: Rule): boolean {
  return allOptions(rule).some(
    (o) => o.type === 'stateful' || o.type === 'opaque' || o.type === 'set',
  );
}

/**
 * Lines where reading the input failed (error diagnostics). A rule there may have lost an
 * option it really has, so it must never be taken to cover or hide another rule.
 */
export function damagedLines(snapshot: Snapshot): Set<string> {
  return new Set(
    snapshot.diagnostics
      .filter((d) => d.severity === 'error')
      .map((d) => `${d.location.file}:${d.location.line}`),
  );
}

export function isDamaged(rule: Rule, damaged: ReadonlySet<string>): boolean {
  return damaged.has(`${rule.location.file}:${rule.location.line}`);
}

/** Every option except comments (which always match). */
export function effectiveOptions(rule: Rule): MatchOption[] {
  return allOptions(rule).filter((o) => o.type !== 'comment');
}

export function protocolName(rule: Rule): string | null {
  for (const o of rule.core) {
    if (o.type === 'protocol' && !o.negated) return o.name.toLowerCase();
  }
  return null;
}

/** Destination port ranges a rule requires (non-negated `--dport`/`--dports`), or null. */
export function dstPorts(rule: Rule): readonly PortRange[] | null {
  for (const o of allOptions(rule)) {
    if (o.type === 'port' && o.field === 'dst' && !o.negated) return o.ranges;
  }
  return null;
}

/** `--ctorigdstport` / `--ctorigdst` present: the rule already matches pre-DNAT values. */
export function matchesOriginalDestination(rule: Rule): boolean {
  return allOptions(rule).some(
    (o) => (o.type === 'ct-port' || o.type === 'ct-address') && o.field === 'origdst',
  );
}

export function dstAddress(rule: Rule): string | null {
  for (const o of rule.core) {
    if (o.type === 'address' && o.field === 'dst' && !o.negated) {
      return o.value.prefixLength === null
        ? o.value.address
        : `${o.value.address}/${o.value.prefixLength}`;
    }
  }
  return null;
}

export function inRange(port: number, ranges: readonly PortRange[]): boolean {
  return ranges.some((r) => port >= r.from && port <= r.to);
}

export interface DnatRule {
  readonly rule: Rule;
  readonly protocol: string | null;
  readonly hostPorts: readonly PortRange[] | null;
  /** `-d` of the DNAT rule without prefix (`127.0.0.1`), or null for any local address. */
  readonly hostAddress: string | null;
  readonly toAddress: string | null;
  readonly toPort: number | null;
}

function stripPrefix(cidr: string): string {
  const i = cidr.indexOf('/');
  return i < 0 ? cidr : cidr.slice(0, i);
}

const DNAT_CACHE = new WeakMap<Ruleset, DnatRule[]>();

/** The DNAT rules in nat chains (Docker puts them in DOCKER; operators anywhere). Cached per ruleset. */
export function dnatRules(ruleset: Ruleset | null): DnatRule[] {
  if (ruleset === null) return [];
  const cached = DNAT_CACHE.get(ruleset);
  if (cached !== undefined) return cached;
  const found = collectDnat(ruleset);
  DNAT_CACHE.set(ruleset, found);
  return found;
}

function collectDnat(ruleset: Ruleset): DnatRule[] {
  const nat = findTable(ruleset, 'nat');
  if (nat === undefined) return [];
  const out: DnatRule[] = [];
  for (const chain of nat.chains) {
    for (const rule of chain.rules) {
      const t = rule.target;
      if (t?.kind !== 'DNAT') continue;
      const to = t.to[0];
      const d = dstAddress(rule);
      out.push({
        rule,
        protocol: protocolName(rule),
        hostPorts: dstPorts(rule),
        hostAddress: d === null ? null : stripPrefix(d),
        toAddress: to?.addresses?.from ?? null,
        toPort: to?.ports?.from ?? null,
      });
    }
  }
  return out;
}

export function containerAddresses(c: Container): string[] {
  return c.endpoints.flatMap((e) => [e.ipv4, e.ipv6].filter((a): a is string => a !== null));
}

export function familyOfAddress(address: string): Family {
  return address.includes(':') ? 'ipv6' : 'ipv4';
}

/** Published ports with a host port, per family their host address belongs to. */
export function publishedFamily(p: PublishedPort): Family {
  return familyOfAddress(p.hostIp);
}

export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '*' || address === '';
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/** Docker bridge interface names of the host's networks. */
export function bridgeNames(host: DockerHost): Set<string> {
  return new Set(
    host.networks.map((n) => n.bridgeName).filter((b): b is string => b !== null && b !== ''),
  );
}

/**
 * Whether Docker programs ip6tables on this host: the daemon says so, or the IPv6 dump has
 * Docker's chains (the dump is what the kernel runs, whatever the config file claims).
 */
export function dockerProgramsIpv6(snapshot: Snapshot): boolean {
  if (snapshot.host.daemon.ip6tables.value) return true;
  const v6 = snapshot.ipv6;
  return v6 !== null && v6.tables.some((t) => t.chains.some((c) => isDockerChainName(c.name)));
}

/** True when the rule names a Docker bridge interface: Docker wrote it for that network. */
export function mentionsDockerBridge(rule: Rule, bridges: ReadonlySet<string>): boolean {
  return rule.core.some(
    (o) => o.type === 'interface' && (bridges.has(o.name) || o.name === 'docker0'),
  );
}

/** Interfaces a remote client's packet can arrive on: the default route's device first. */
export function externalInterfaces(host: DockerHost, family: Family): string[] {
  const bridges = bridgeNames(host);
  const out: string[] = [];
  for (const r of host.routes) {
    if (r.family === family && r.destination === 'default' && r.device !== null) {
      if (!out.includes(r.device)) out.push(r.device);
    }
  }
  for (const i of host.interfaces) {
    if (i.name === 'lo' || bridges.has(i.name) || i.name.startsWith('veth')) continue;
    if (i.kind === 'loopback' || i.kind === 'bridge' || i.kind === 'veth') continue;
    if (!out.includes(i.name)) out.push(i.name);
  }
  return out.length > 0 ? out : ['eth0'];
}

/**
 * An address of the host a remote client would connect to for a binding: the bound address
 * itself, or for a wildcard the host's own address on an external interface, else another
 * non-loopback address the engine treats as local (a bridge gateway), else a documentation
 * address (which the engine will not deliver locally, so claims built on it fail safe).
 */
export function hostAddressFor(
  host: DockerHost,
  family: Family,
  bound: string,
  local: readonly string[] = [],
): string {
  if (!isWildcard(bound)) return bound;
  const ext = externalInterfaces(host, family);
  for (const name of ext) {
    const iface = host.interfaces.find((i) => i.name === name);
    const addr = iface?.addresses.find((a) => a.family === family && a.scope !== 'link');
    if (addr !== undefined) return addr.address;
  }
  const usable = local.filter(
    (a) => familyOfAddress(a) === family && !isLoopback(a) && !a.toLowerCase().startsWith('fe80:'),
  );
  const gateways = new Set(
    host.networks.flatMap((n) =>
      n.subnets.map((s) => s.gateway).filter((g): g is string => g !== null),
    ),
  );
  const preferred = usable.find((a) => !gateways.has(a)) ?? usable[0];
  if (preferred !== undefined) return preferred;
  return family === 'ipv4' ? '198.51.100.1' : '2001:db8:1::1';
}

/**
 * The remote client used in witnesses: a documentation address (TEST-NET / 2001:db8::/32) that
 * is not one of the host's own addresses, so a witness never comes from the host itself.
 */
export function remoteClient(family: Family, host?: DockerHost): string {
  const own = new Set(host?.interfaces.flatMap((i) => i.addresses.map((a) => a.address)) ?? []);
  const candidates =
    family === 'ipv4'
      ? ['203.0.113.77', '198.51.100.77', '192.0.2.77']
      : ['2001:db8:ffff::77', '2001:db8:fffe::77'];
  return candidates.find((c) => !own.has(c)) ?? (candidates[0] as string);
}

export function newConnection(
  family: Family,
  protocol: 'tcp' | 'udp' | 'sctp',
  source: string,
  destination: string,
  port: number,
  inInterface: string,
): Packet {
  return {
    family,
    protocol,
    source,
    sourcePort: 40000,
    destination,
    destinationPort: port,
    inInterface,
    state: 'NEW',
    mark: 0,
  };
}

/** Chains reachable from `start` by jumps and gotos (including start), in the same table. */
export function reachableChains(table: Table, start: string): Set<string> {
  const seen = new Set<string>([start]);
  const queue = [start];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    const chain = findChain(table, name);
    if (chain === undefined) continue;
    for (const rule of chain.rules) {
      const next = jumpTarget(rule);
      if (next !== null && !seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

export function sameFamily(ruleset: Ruleset, address: string): boolean {
  return familyOfAddress(address) === ruleset.family;
}
