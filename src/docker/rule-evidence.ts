/**
 * What the rules Docker writes say about the host's networks, for snapshots that lack the
 * address, route or inspect files. Docker writes these shapes exactly when the network exists:
 *
 * - `nat POSTROUTING -s SUBNET ! -o BRIDGE -j MASQUERADE` (or SNAT): SUBNET is on BRIDGE, where
 *   a filter table with Docker's chains names BRIDGE too (Docker filters every bridge it
 *   masquerades for).
 * - `filter DOCKER-ISOLATION-STAGE-1 ! -s SUBNET -o BRIDGE -j DROP` (and `! -d SUBNET -i BRIDGE`,
 *   Docker ≤27's internal network, which has no MASQUERADE): SUBNET is on BRIDGE.
 * - `filter DOCKER -d ADDR ! -i BRIDGE -o BRIDGE … -j ACCEPT`: a container ADDR behind BRIDGE.
 * - `raw PREROUTING -d ADDR ! -i BRIDGE -j DROP` (28.x and later): the same.
 * - `nat DOCKER ! -i BRIDGE … -j DNAT --to-destination ADDR:PORT`: a published container ADDR.
 * - `nat DOCKER -d HOSTIP … -j DNAT` (a mapping bound to one host address): HOSTIP is the host's;
 *   without `-d`, the port is mapped on every address (docker-proxy serves the other family).
 *   Either way a mapping of the container's port (`mappings`).
 * - `filter DOCKER -d ADDR ! -i BRIDGE -o BRIDGE -p PROTO --dport PORT -j ACCEPT` with no DNAT to
 *   ADDR anywhere in the nat table: a port published in the `routed` gateway mode, where
 *   Docker opens the container port itself instead of mapping a host port to it.
 *
 * Docker 29's nftables backend writes the same shapes in its `docker-bridges` tables
 * (src/docker/nft-layout.ts): masquerades in `nat-postrouting-out__BRIDGE`, accepts in
 * `filter-forward-in__BRIDGE`, drops in `raw-PREROUTING`, DNATs in `nat-prerouting-and-output`;
 * they count when the ruleset given holds those tables (`firewallOf`).
 *
 * Each fact keeps the rule it came from, so reports can show the evidence.
 */
import type { SourceLocation } from '../model/diagnostic.ts';
import type { Chain, Family, Rule, Ruleset } from '../model/ruleset.ts';
import { allOptions, findTable, forEveryOption, type MatchOption } from '../model/ruleset.ts';
import { jumpTarget, protocolName, rulesIn } from '../model/rule-queries.ts';
import {
  dnatDestination,
  hostAddress,
  normalizeAddress,
  ruleAddress,
  ruleDstPort,
  ruleInterface,
} from './rules.ts';
import { isDockerChain } from './chains.ts';
import { bridgeOfForwardInChain, DOCKER_NFT_CHAINS, isDockerNftTable } from './nft-layout.ts';

export interface RuleFact {
  /** A CIDR (a subnet or a single address). */
  readonly address: string;
  /** The bridge it sits behind; null when the rule does not say. */
  readonly bridge: string | null;
  readonly location: SourceLocation;
  /** The shape that said so, in words. */
  readonly evidence: string;
}

/** A container port the rules open directly (published without NAT: the routed gateway mode). */
export interface RoutedPortFact extends RuleFact {
  readonly protocol: string;
  readonly port: number;
}

/** A host port Docker maps to a container (`address` is the container's). */
export interface MappingFact extends RuleFact {
  readonly protocol: string;
  readonly hostPort: number;
  readonly containerPort: number;
  /** The one host address the port is mapped on (`-d`); null: every address. */
  readonly hostAddress: string | null;
}

export interface RuleEvidence {
  /** Container subnets on their bridges. */
  readonly subnets: readonly RuleFact[];
  /** Single container addresses (with their bridge when the rule names it). */
  readonly containers: readonly RuleFact[];
  /** Addresses of the host itself (address-bound port mappings). */
  readonly hostAddresses: readonly RuleFact[];
  /** Container ports published with no host port mapped to them (routed gateway mode). */
  readonly routedPorts: readonly RoutedPortFact[];
  /** Docker's single-port mappings in this family (its DNATs), on every address or on one. */
  readonly mappings: readonly MappingFact[];
}

function cidrOf(rule: Rule, field: 'src' | 'dst'): string | null {
  const a = ruleAddress(rule, field);
  return a === null || a.prefixLength === null ? null : `${a.address}/${a.prefixLength}`;
}

/** `! -s CIDR` / `! -d CIDR` of a rule. */
function negatedAddress(rule: Rule, field: 'src' | 'dst'): string | null {
  for (const o of allOptions(rule))
    if (o.type === 'address' && o.field === field && o.negated && o.value.prefixLength !== null)
      return `${o.value.address}/${String(o.value.prefixLength)}`;
  return null;
}

/** `! -i NAME` / `! -o NAME` of a rule (without a `+` wildcard). */
function negatedInterface(rule: Rule, field: 'in' | 'out'): string | null {
  const i = ruleInterface(rule, field);
  return i !== null && i.negated && !i.name.endsWith('+') ? i.name : null;
}

function isLoopback(address: string, family: Family): boolean {
  return family === 'ipv4' ? address.startsWith('127.') : address === '::1';
}

const EVIDENCE = new WeakMap<Ruleset, RuleEvidence>();

/** What the ruleset's Docker shapes say, read once per ruleset (reports and rules ask often). */
export function ruleEvidence(ruleset: Ruleset | null): RuleEvidence {
  if (ruleset === null) return readEvidence(null);
  let found = EVIDENCE.get(ruleset);
  if (found === undefined) {
    found = readEvidence(ruleset);
    EVIDENCE.set(ruleset, found);
  }
  return found;
}

function readEvidence(ruleset: Ruleset | null): RuleEvidence {
  const subnets: RuleFact[] = [];
  const containers: RuleFact[] = [];
  const hostAddresses: RuleFact[] = [];
  const opened: RoutedPortFact[] = [];
  const mappings: MappingFact[] = [];
  if (ruleset === null)
    return { subnets, containers, hostAddresses, routedPorts: opened, mappings };
  const family = ruleset.family;
  const nftChains = ruleset.tables.filter(isDockerNftTable).flatMap((t) => t.chains);
  const nftRules = (test: (chain: string) => boolean): Rule[] =>
    nftChains.filter((c) => test(c.name)).flatMap((c) => c.rules);

  const filtered = dockerFilteredInterfaces(ruleset);
  for (const r of [
    ...rulesIn(ruleset, 'nat', 'POSTROUTING'),
    ...nftRules((c) => c.startsWith('nat-postrouting-out__')),
  ]) {
    const kind = r.target?.kind;
    if (kind !== 'MASQUERADE' && kind !== 'SNAT') continue;
    if (r.dialect !== 'nft' && !dockersMasquerade(r)) continue;
    const subnet = cidrOf(r, 'src');
    const bridge = negatedInterface(r, 'out');
    if (subnet === null || bridge === null) continue;
    if (r.dialect !== 'nft' && filtered !== null && !filtered.has(bridge)) continue;
    subnets.push({
      address: subnet,
      bridge,
      location: r.location,
      evidence: `${kind} of ${subnet} leaving by any interface but ${bridge}`,
    });
  }

  for (const r of rulesIn(ruleset, 'filter', 'DOCKER-ISOLATION-STAGE-1')) {
    if (r.target?.kind !== 'DROP') continue;
    for (const [addr, dir] of [
      ['src', 'out'],
      ['dst', 'in'],
    ] as const) {
      const subnet = negatedAddress(r, addr);
      const bridge = ruleInterface(r, dir);
      if (subnet === null || bridge === null || bridge.negated || bridge.name.endsWith('+'))
        continue;
      subnets.push({
        address: subnet,
        bridge: bridge.name,
        location: r.location,
        evidence: `DROP of traffic ${dir === 'out' ? `to ${bridge.name} from outside` : `from ${bridge.name} to outside`} ${subnet} (an internal network)`,
      });
    }
  }

  const container = (r: Rule, address: string | null, bridge: string | null, what: string) => {
    if (address === null) return;
    containers.push({ address, bridge, location: r.location, evidence: what });
    // Docker's per-port accept of a published port (one protocol, one port)
    const protocol = protocolName(r);
    const port = ruleDstPort(r);
    if (r.target?.kind === 'ACCEPT' && bridge !== null && protocol !== null && port !== null)
      opened.push({
        address,
        bridge,
        protocol,
        port,
        location: r.location,
        evidence: `ACCEPT of ${address} port ${String(port)}/${protocol} on ${bridge}, no DNAT to it`,
      });
  };
  for (const r of rulesIn(ruleset, 'filter', 'DOCKER')) {
    if (r.target?.kind !== 'ACCEPT') continue;
    const out = ruleInterface(r, 'out');
    const bridge = out !== null && !out.negated ? out.name : null;
    if (bridge === null || negatedInterface(r, 'in') !== bridge) continue;
    const addr = hostAddress(ruleAddress(r, 'dst'));
    container(r, addr, bridge, `ACCEPT of published traffic to ${addr ?? ''} on ${bridge}`);
  }
  for (const c of nftChains) {
    const bridge = bridgeOfForwardInChain(c.name);
    if (bridge === null) continue;
    for (const r of c.rules) {
      if (r.target?.kind !== 'ACCEPT') continue;
      const addr = hostAddress(ruleAddress(r, 'dst'));
      container(r, addr, bridge, `accept of published traffic to ${addr ?? ''} on ${bridge}`);
    }
  }
  for (const r of [
    ...rulesIn(ruleset, 'raw', 'PREROUTING'),
    ...nftRules((c) => c === DOCKER_NFT_CHAINS.raw),
  ]) {
    if (r.target?.kind !== 'DROP' || !dockersRawDrop(r)) continue;
    const bridge = negatedInterface(r, 'in');
    const addr = hostAddress(ruleAddress(r, 'dst'));
    if (bridge !== null)
      container(r, addr, bridge, `DROP of ${addr ?? ''} arriving on any interface but ${bridge}`);
  }
  // every address a DNAT in the nat table rewrites to (Docker's and the operator's): a container
  // that any host port maps to is published through NAT, not in the routed gateway mode
  const natTargets = new Set<string>();
  for (const r of [
    ...(findTable(ruleset, 'nat')?.chains.flatMap((c) => c.rules) ?? []),
    ...nftRules((c) => c === DOCKER_NFT_CHAINS.dnat),
  ]) {
    const to = dnatDestination(r);
    // a DNAT that names no address could be to anything
    if (to !== null) natTargets.add(to.address === null ? '*' : normalizeAddress(to.address));
  }
  for (const r of [
    ...rulesIn(ruleset, 'nat', 'DOCKER'),
    ...nftRules((c) => c === DOCKER_NFT_CHAINS.dnat),
  ]) {
    const to = dnatDestination(r);
    if (to === null || to.address === null) continue;
    const bridge = negatedInterface(r, 'in');
    container(r, to.address, bridge, `DNAT of a published port to ${to.address}`);
    const on = ruleAddress(r, 'dst');
    const bound = hostAddress(on);
    if (bound !== null && !isLoopback(bound, family))
      hostAddresses.push({
        address: bound,
        bridge: null,
        location: r.location,
        evidence: `a port published on ${bound} only`,
      });
    const protocol = protocolName(r);
    const hostPort = ruleDstPort(r);
    if ((on === null || bound !== null) && protocol !== null && hostPort !== null)
      mappings.push({
        address: to.address,
        bridge,
        protocol,
        hostPort,
        containerPort: to.port ?? hostPort,
        hostAddress: bound,
        location: r.location,
        evidence: `DNAT of ${protocol} port ${String(hostPort)} on ${bound ?? 'every address'} to ${to.address}`,
      });
  }
  const routedPorts = natTargets.has('*')
    ? []
    : opened.filter((f) => !natTargets.has(normalizeAddress(f.address)));
  return { subnets, containers, hostAddresses, routedPorts, mappings };
}

/**
 * Interface names the rules match exactly (`-i`/`-o` without `+`; nftables `iifname`/`oifname`,
 * the elements of their sets and the keys of verdict maps), in first-seen order.
 */
export function interfacesInRules(ruleset: Ruleset | null): string[] {
  if (ruleset === null) return [];
  return [
    ...exactInterfaces(
      ruleset.tables.flatMap((t) => t.chains),
      () => true,
    ),
  ];
}

/** The interface names the chains' rules that `take` match exactly (see `interfacesInRules`). */
function exactInterfaces(
  chains: readonly Chain[],
  take: (chain: Chain, rule: Rule) => boolean,
): Set<string> {
  const seen = new Set<string>();
  const exact = (o: MatchOption): void => {
    if (o.type === 'interface' && !o.wildcard) seen.add(o.name);
  };
  for (const c of chains) for (const r of c.rules) if (take(c, r)) forEveryOption(r, exact);
  return seen;
}

/**
 * Docker's raw drops say nothing else: of a container's address from any interface but its
 * bridge (`-d 172.17.0.2/32 ! -i docker0 -j DROP`), or of a port bound to a loopback address
 * from any interface but lo (`-d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 8080 -j DROP`). An
 * operator's rule of that shape with more to it (random seed 231: `-d 203.0.113.1/32 ! -i lo
 * -p tcp -m tcp --sport 8080 -j DROP`) is no evidence that the address lies behind the
 * interface.
 */
function dockersRawDrop(r: Rule): boolean {
  const options = allOptions(r).filter((o) => o.type !== 'comment');
  const dst = options.find((o) => o.type === 'address' && o.field === 'dst' && !o.negated);
  const iif = options.find(
    (o) => o.type === 'interface' && o.field === 'in' && o.negated && !o.wildcard,
  );
  if (dst === undefined || iif === undefined) return false;
  const rest = options.filter((o) => o !== dst && o !== iif);
  if (rest.length === 0) return true;
  const loopbackPort =
    iif.type === 'interface' &&
    iif.name === 'lo' &&
    dst.type === 'address' &&
    isLoopback(dst.value.address, dst.value.family) &&
    rest.every((o) => o.type === 'protocol' || (o.type === 'port' && o.field === 'dst'));
  return loopbackPort;
}

/**
 * The interfaces Docker's filter rules name, where the filter table holds Docker's chains:
 * Docker writes filter rules for every bridge it masquerades for (`-i BRIDGE`, `-o BRIDGE`), in
 * its own chains or in FORWARD's jumps to them (`-o docker0 -j DOCKER`), so a masquerade shape
 * whose interface none of them names is an operator's. Random seed 5174: `-s 203.0.113.2/32 !
 * -o ext0 -j MASQUERADE` took the host's external interface for a bridge and out of the
 * exposure table; seed 8553 did the same where the operator's own filter rules named ext0
 * (`-A FORWARD -d 10.0.0.0/8 -i ext0 -j OPERATOR`). Null: no such filter table to tell by (a
 * nat table alone).
 */
function dockerFilteredInterfaces(ruleset: Ruleset): Set<string> | null {
  const filter = findTable(ruleset, 'filter');
  if (filter === undefined || !filter.chains.some((c) => isDockerChain(c.name))) return null;
  return exactInterfaces(filter.chains, (c, r) => {
    const to = jumpTarget(r);
    return isDockerChain(c.name) || (to !== null && isDockerChain(to));
  });
}

/**
 * Docker's MASQUERADE (or SNAT) of a network's subnet leaving by any interface but its bridge
 * says nothing else (`-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE`): an operator's rule of that
 * shape with more to it (random seed 691: `-s 203.0.113.1/32 -d 203.0.113.1/32 ! -o ext0 -p tcp
 * --dports 80 -j SNAT`) is no evidence that the interface is a Docker bridge, which took the
 * host's external interface out of the exposure table.
 */
function dockersMasquerade(r: Rule): boolean {
  const options = allOptions(r).filter((o) => o.type !== 'comment');
  return (
    options.length === 2 &&
    options.some((o) => o.type === 'address' && o.field === 'src' && !o.negated) &&
    options.some((o) => o.type === 'interface' && o.field === 'out' && o.negated && !o.wildcard)
  );
}
