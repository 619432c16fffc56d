/**
 * What Docker meant to publish versus what the rules do.
 *
 * - `mapPublishedPorts(snapshot)`: for each published port of each container, the rules that
 *   implement it — nat DNAT, filter ACCEPT for the container address and port, raw PREROUTING
 *   DROPs that keep direct and remote-loopback access out — and what is missing. On the nftables
 *   backend the same rules are read from Docker's `docker-bridges` table (src/docker/nft-layout.ts).
 * - `findRuleDrift(snapshot)`: the other way round, Docker-shaped rules (DNAT to, ACCEPT for, raw
 *   DROP of a container address) that match no current container: left behind after restarts,
 *   `iptables-restore` of an old dump, or hand-copied rules (iptables layouts only, so far).
 */
import type { Container, DockerHost, LayoutEra, PublishedPort } from '../model/host.ts';
import type { Family, PortRange, Rule, Ruleset } from '../model/ruleset.ts';
import { tableId } from '../model/ruleset.ts';
import { wasRead, type Snapshot } from '../model/snapshot.ts';
import {
  chainIn,
  dstPorts,
  effectiveOptions,
  inRange,
  protocolName,
  rulesIn,
} from '../model/rule-queries.ts';
import {
  bridgeOfForwardInChain,
  DOCKER_NFT_CHAINS,
  dockerNftRules,
  dockerNftTable,
  forwardInChain,
} from './nft-layout.ts';
import {
  dnatDestination,
  dnatRuleOf,
  hostAddress,
  normalizeAddress,
  ruleAddress,
  ruleDstPort,
  ruleInterface,
  sameAddress,
} from './rules.ts';
import { familyOfAddress, isLoopback, isWildcard } from './bindings.ts';
import { bridgeOfEndpoint, endpointAddress, publishingEndpoint } from './topology.ts';

export interface PortImplementation {
  readonly container: Container;
  readonly port: PublishedPort;
  readonly family: Family;
  /** The container address the port is forwarded to (null: the container has none in this family). */
  readonly containerAddress: string | null;
  readonly network: string | null;
  readonly bridge: string | null;
  /**
   * `rules`: iptables implement it. `proxy`: no rule does — docker-proxy serves it in userspace
   * (IPv6 binding of an IPv4-only container, or Docker not programming that family's rules).
   * `routed`: routed gateway mode, no host port.
   */
  readonly via: 'rules' | 'proxy' | 'routed';
  readonly dnat: readonly Rule[];
  readonly accept: readonly Rule[];
  readonly rawDrop: readonly Rule[];
  /** What a Docker of this era would have written and is not there, in words. */
  readonly missing: readonly string[];
  /** The same, one entry per missing rule: its kind and where Docker would have written it. */
  readonly gaps: readonly RuleGap[];
}

export interface RuleGap {
  readonly kind: 'dnat' | 'accept' | 'raw-drop';
  /** Where the rule belongs, as a message names it (`the ipv4 nat table`, `ip docker-bridges/…`). */
  readonly where: string;
}

function rulesetFor(snapshot: Snapshot, family: Family): Ruleset | null {
  return family === 'ipv4' ? snapshot.ipv4 : snapshot.ipv6;
}

/**
 * Docker's rules of one family wherever its backend keeps them: `dnat` (nat DOCKER), `accept`
 * (filter DOCKER; on nftables the bridge's `filter-forward-in__` chain, every bridge's when the
 * bridge is unknown) and `raw` (raw PREROUTING). `programmed` is false when Docker writes no
 * rules for the family (its DNAT chain is absent), so docker-proxy serves its bindings.
 */
interface DockerRules {
  readonly source: 'iptables' | 'nftables' | null;
  /** How findings name the nftables table (`ip docker-bridges`); null on iptables. */
  readonly nftTable: string | null;
  readonly programmed: boolean;
  readonly dnat: readonly Rule[];
  accept(bridge: string | null): readonly Rule[];
  readonly raw: readonly Rule[];
}

function dockerRulesOf(snapshot: Snapshot, family: Family): DockerRules {
  const nft = dockerNftTable(snapshot.nft, family);
  if (nft !== undefined && snapshot.era.era === 'nftables') {
    const bridges = nft.chains.filter((c) => bridgeOfForwardInChain(c.name) !== null);
    return {
      source: 'nftables',
      nftTable: tableId(nft),
      programmed: nft.chains.some((c) => c.name === DOCKER_NFT_CHAINS.dnat),
      dnat: dockerNftRules(nft, DOCKER_NFT_CHAINS.dnat),
      accept: (bridge) =>
        bridge !== null
          ? dockerNftRules(nft, forwardInChain(bridge))
          : bridges.flatMap((c) => c.rules),
      raw: dockerNftRules(nft, DOCKER_NFT_CHAINS.raw),
    };
  }
  const rs = rulesetFor(snapshot, family);
  return {
    source: rs === null ? null : 'iptables',
    nftTable: null,
    programmed: rs === null || chainIn(rs, 'nat', 'DOCKER') !== undefined,
    dnat: rulesIn(rs, 'nat', 'DOCKER'),
    accept: () => rulesIn(rs, 'filter', 'DOCKER'),
    raw: rulesIn(rs, 'raw', 'PREROUTING'),
  };
}

/** Rules by the single address they are about (normalised), and the rest; each keeps its order. */
interface AddressIndex {
  readonly keyed: ReadonlyMap<string, readonly Rule[]>;
  readonly rest: readonly Rule[];
  readonly order: ReadonlyMap<Rule, number>;
}

function indexByAddress(
  rules: readonly Rule[],
  addressOf: (r: Rule) => string | null,
): AddressIndex {
  const keyed = new Map<string, Rule[]>();
  const rest: Rule[] = [];
  const order = new Map<Rule, number>();
  rules.forEach((r, i) => {
    order.set(r, i);
    const a = addressOf(r);
    if (a === null) {
      rest.push(r);
      return;
    }
    const key = normalizeAddress(a);
    const list = keyed.get(key);
    if (list === undefined) keyed.set(key, [r]);
    else list.push(r);
  });
  return { keyed, rest, order };
}

/** The rules about any of `addresses`, and with `rest` the unkeyed ones, in their order. */
function rulesAbout(index: AddressIndex, addresses: readonly string[], rest = false): Rule[] {
  const found = new Set<Rule>(rest ? index.rest : []);
  for (const a of addresses)
    for (const r of index.keyed.get(normalizeAddress(a)) ?? []) found.add(r);
  return [...found].sort((x, y) => (index.order.get(x) ?? 0) - (index.order.get(y) ?? 0));
}

const dstHost = (r: Rule): string | null => hostAddress(ruleAddress(r, 'dst'));

/** Docker's rules of a family, indexed by address so a host of thousands of ports is linear. */
function indexedDockerRules(snapshot: Snapshot, family: Family) {
  const docker = dockerRulesOf(snapshot, family);
  const accepts = new Map<string | null, AddressIndex>();
  return {
    docker,
    dnat: indexByAddress(docker.dnat, (r) => dnatDestination(r)?.address ?? null),
    raw: indexByAddress(docker.raw, dstHost),
    accept(bridge: string | null): AddressIndex {
      let index = accepts.get(bridge);
      if (index === undefined) {
        index = indexByAddress(docker.accept(bridge), dstHost);
        accepts.set(bridge, index);
      }
      return index;
    },
  };
}

/** Every published port of every running container with the rules behind it. */
export function mapPublishedPorts(snapshot: Snapshot): readonly PortImplementation[] {
  const out: PortImplementation[] = [];
  const byFamily = new Map<Family, ReturnType<typeof indexedDockerRules>>();
  const rulesOf = (family: Family) => {
    let r = byFamily.get(family);
    if (r === undefined) {
      r = indexedDockerRules(snapshot, family);
      byFamily.set(family, r);
    }
    return r;
  };
  for (const container of snapshot.host.containers) {
    if (!container.running) continue;
    const endpoint = publishingEndpoint(container);
    for (const port of container.published) {
      const family = familyOfAddress(port.hostIp);
      const address = endpoint === undefined ? null : endpointAddress(endpoint, family);
      const bridge = endpoint === undefined ? null : bridgeOfEndpoint(snapshot.host, endpoint);
      const base = {
        container,
        port,
        family,
        containerAddress: address,
        network: endpoint?.network ?? null,
        bridge,
      };
      const indexed = rulesOf(family);
      const docker = indexed.docker;
      // No container address in this family, or Docker does not program this family's rules
      // (iptables/ip6tables off): docker-proxy serves the binding in userspace.
      if (address === null || !docker.programmed) {
        out.push({
          ...base,
          via: 'proxy',
          dnat: [],
          accept: [],
          rawDrop: [],
          missing: [],
          gaps: [],
        });
        continue;
      }
      const dnat = findDnat(rulesAbout(indexed.dnat, [address]), port, address);
      const accept = findAccept(
        rulesAbout(indexed.accept(bridge), [address], true),
        port,
        address,
        bridge,
      );
      const rawDrop = findRawDrop(rulesAbout(indexed.raw, [address, port.hostIp]), port, address);
      const via = port.hostPort === null ? 'routed' : 'rules';
      const gaps = expectedMissing(
        snapshot.era.era,
        docker,
        { port, family, bridge },
        { dnat, accept, rawDrop },
        via,
      );
      out.push({
        ...base,
        via,
        dnat,
        accept,
        rawDrop,
        missing: gaps.map((g) => g.text),
        gaps: gaps.map(({ kind, where }) => ({ kind, where })),
      });
    }
  }
  return out;
}

function matchesProto(rule: Rule, protocol: string): boolean {
  return protocolName(rule) === protocol;
}

function findDnat(rules: readonly Rule[], port: PublishedPort, address: string): Rule[] {
  if (port.hostPort === null) return [];
  return rules.filter((r) => {
    const to = dnatDestination(r);
    if (to?.address === null || to?.address === undefined || !sameAddress(to.address, address))
      return false;
    if (to.port !== null && to.port !== port.containerPort) return false;
    if (!matchesProto(r, port.protocol) || ruleDstPort(r) !== port.hostPort) return false;
    const dst = hostAddress(ruleAddress(r, 'dst'));
    return isWildcard(port.hostIp) ? dst === null : dst !== null && sameAddress(dst, port.hostIp);
  });
}

function findAccept(
  rules: readonly Rule[],
  port: PublishedPort,
  address: string,
  bridge: string | null,
): Rule[] {
  return rules.filter((r) => {
    if (r.target?.kind !== 'ACCEPT') return false;
    if (isUnprotectedAccept(r, bridge)) return true;
    if (!matchesProto(r, port.protocol)) return false;
    if (ruleAddress(r, 'src') !== null) return false; // legacy --link holes, not publishing
    const dst = hostAddress(ruleAddress(r, 'dst'));
    return dst !== null && sameAddress(dst, address) && ruleDstPort(r) === port.containerPort;
  });
}

/**
 * nat-unprotected gateway mode opens every port of the bridge: `! -i <br> -o <br> -j ACCEPT` in
 * filter DOCKER, an unconditional `accept` (comment "UNPROTECTED") in the bridge's nftables
 * filter-forward-in chain.
 */
function isUnprotectedAccept(r: Rule, bridge: string | null): boolean {
  if (r.dialect === 'nft') return effectiveOptions(r).length === 0 && (r.steps ?? []).length === 0;
  if (bridge === null || r.core.length !== 2 || r.matches.length > 0) return false;
  const inIf = ruleInterface(r, 'in');
  const outIf = ruleInterface(r, 'out');
  return (
    inIf?.negated === true &&
    inIf.name === bridge &&
    outIf?.negated === false &&
    outIf.name === bridge
  );
}

function findRawDrop(rules: readonly Rule[], port: PublishedPort, address: string): Rule[] {
  return rules.filter((r) => {
    if (r.target?.kind !== 'DROP') return false;
    const dst = hostAddress(ruleAddress(r, 'dst'));
    if (dst === null) return false;
    if (sameAddress(dst, address)) return true; // direct access to the container (28+)
    // remote access to a loopback-published port (28+)
    return (
      isLoopback(port.hostIp) &&
      sameAddress(dst, port.hostIp) &&
      ruleDstPort(r) === port.hostPort &&
      matchesProto(r, port.protocol)
    );
  });
}

/** What `missing` says when the DNAT of a published port is not there. */
const MISSING_DNAT = 'nat DOCKER DNAT rule';

function expectedMissing(
  era: LayoutEra,
  docker: DockerRules,
  at: { port: PublishedPort; family: Family; bridge: string | null },
  found: { dnat: readonly Rule[]; accept: readonly Rule[]; rawDrop: readonly Rule[] },
  via: 'rules' | 'routed',
): (RuleGap & { text: string })[] {
  if (docker.source === null || era === 'none') return [];
  const nft = docker.nftTable;
  const { port } = at;
  const missing: (RuleGap & { text: string })[] = [];
  if (via === 'rules' && found.dnat.length === 0) {
    missing.push(
      nft === null
        ? { kind: 'dnat', text: MISSING_DNAT, where: `the ${at.family} nat table` }
        : {
            kind: 'dnat',
            text: `${DOCKER_NFT_CHAINS.dnat} dnat rule`,
            where: `${nft}/${DOCKER_NFT_CHAINS.dnat}`,
          },
    );
  }
  if (found.accept.length === 0) {
    missing.push(
      nft === null
        ? {
            kind: 'accept',
            text: 'filter DOCKER ACCEPT rule',
            where: `the ${at.family} filter/DOCKER chain`,
          }
        : {
            kind: 'accept',
            text: 'filter-forward-in accept rule',
            where: `${nft}/${at.bridge === null ? 'filter-forward-in chains' : forwardInChain(at.bridge)}`,
          },
    );
  }
  if (
    (era === 'v28' || era === 'v29' || nft !== null) &&
    isLoopback(port.hostIp) &&
    found.rawDrop.length === 0
  ) {
    const chain = nft === null ? 'raw PREROUTING' : DOCKER_NFT_CHAINS.raw;
    missing.push({
      kind: 'raw-drop',
      text: `${chain} DROP of remote access to the loopback address`,
      where: nft === null ? `the ${at.family} raw/PREROUTING chain` : `${nft}/${chain}`,
    });
  }
  return missing;
}

export interface DriftRule {
  readonly rule: Rule;
  /** The table as findings name it: `nat`, `filter`, `raw`, or `ip docker-bridges`. */
  readonly table: string;
  readonly family: Family;
  readonly kind: 'dnat' | 'accept' | 'raw-drop';
  /** The container address the rule is about. */
  readonly address: string;
  /** The container port it is about (a DNAT's target port, an ACCEPT's destination port). */
  readonly port: number | null;
  /** A DNAT's first host port. */
  readonly hostPort: number | null;
  readonly protocol: string | null;
  /**
   * The running container that has the address, when only the port is not one it publishes;
   * null when the address is no running container's.
   */
  readonly owner: string | null;
  readonly reason: string;
}

/**
 * Docker-shaped rules that match no running container: DNATs in nat DOCKER, ACCEPTs of a single
 * address in filter DOCKER, direct-access DROPs of a single address in raw PREROUTING — on the
 * nftables backend the same rules in Docker's `docker-bridges` tables (nat-prerouting-and-output,
 * the bridges' filter-forward-in chains, raw-PREROUTING). Empty when no containers file was read
 * (nothing to compare with), or with `"iptables": false` (then such rules are the operator's).
 */
export function findRuleDrift(snapshot: Snapshot): readonly DriftRule[] {
  const containersRead = wasRead(snapshot, 'containers');
  if (!containersRead) return [];
  if (!snapshot.host.daemon.iptables.value) return [];
  const out: DriftRule[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    const docker = dockerRulesOf(snapshot, family);
    if (docker.source === null) continue;
    const tableOf = (r: Rule): string => docker.nftTable ?? r.table;
    const owners = addressOwners(snapshot, family);
    const ownerOf = (a: string) => owners.get(normalizeAddress(a));
    for (const d of docker.dnat.map(dnatRuleOf)) {
      if (d === null || d.toAddress === null || isLoopback(d.toAddress)) continue;
      const owner = ownerOf(d.toAddress);
      const hostPort = d.hostPorts?.[0]?.from ?? null;
      const base = {
        rule: d.rule,
        table: tableOf(d.rule),
        family,
        kind: 'dnat',
        address: d.toAddress,
        port: d.toPort,
        hostPort,
        protocol: d.protocol,
      } as const;
      if (owner === undefined) {
        out.push({
          ...base,
          owner: null,
          reason: `DNAT to ${d.toAddress}, which is no current container's address`,
        });
      } else if (
        d.toPort !== null &&
        !owner.published.some(
          (p) =>
            p.containerPort === d.toPort &&
            familyOfAddress(p.hostIp) === family &&
            p.hostPort === hostPort,
        )
      ) {
        out.push({
          ...base,
          owner: owner.name,
          reason: `DNAT to ${owner.name} port ${d.toPort}, which it does not publish on host port ${hostPort ?? '?'}`,
        });
      }
    }
    for (const r of docker.accept(null)) {
      if (r.target?.kind !== 'ACCEPT') continue;
      const dst = hostAddress(ruleAddress(r, 'dst'));
      if (dst === null) continue;
      const owner = ownerOf(dst);
      const port = dstPorts(r)?.[0]?.from ?? null;
      const base = {
        rule: r,
        table: tableOf(r),
        family,
        kind: 'accept',
        address: dst,
        port,
        hostPort: null,
        protocol: protocolName(r),
      } as const;
      if (owner === undefined) {
        out.push({
          ...base,
          owner: null,
          reason: `ACCEPT for ${dst}, which is no current container's address`,
        });
      } else if (
        port !== null &&
        // Legacy --link holes carry a source container too: not a publication.
        ruleAddress(r, 'src') === null &&
        !owner.published.some(
          (p) => p.containerPort === port && familyOfAddress(p.hostIp) === family,
        )
      ) {
        out.push({
          ...base,
          owner: owner.name,
          reason: `ACCEPT for ${owner.name} port ${port}, which it does not publish`,
        });
      }
    }
    for (const r of docker.raw) {
      if (r.target?.kind !== 'DROP') continue;
      const dst = hostAddress(ruleAddress(r, 'dst'));
      // Per-port drops protect loopback-published ports, not a container address.
      if (dst === null || isLoopback(dst) || dstPorts(r) !== null) continue;
      if (ownerOf(dst) === undefined) {
        out.push({
          rule: r,
          table: tableOf(r),
          family,
          kind: 'raw-drop',
          address: dst,
          port: null,
          hostPort: null,
          protocol: protocolName(r),
          owner: null,
          reason: `direct-access DROP for ${dst}, which is no current container's address`,
        });
      }
    }
  }
  return out;
}

/** Running containers by each of their addresses of a family (normalised); the first one wins. */
function addressOwners(snapshot: Snapshot, family: Family): Map<string, Container> {
  const out = new Map<string, Container>();
  for (const container of snapshot.host.containers) {
    if (!container.running) continue;
    for (const e of container.endpoints) {
      const a = endpointAddress(e, family);
      const key = a === null ? null : normalizeAddress(a);
      if (key !== null && !out.has(key)) out.set(key, container);
    }
  }
  return out;
}

/**
 * The published ports of running, non-host-mode containers whose host port differs from the
 * container port: the ones a rule on the port after DNAT can get wrong.
 */
export function remappedPorts(host: DockerHost): { c: Container; p: PublishedPort }[] {
  return host.containers
    .filter((c) => c.running && c.networkMode.kind !== 'host')
    .flatMap((c) =>
      c.published
        .filter((p) => p.hostPort !== null && p.hostPort !== p.containerPort)
        .map((p) => ({ c, p })),
    );
}

/**
 * The first mapping whose host port a rule's destination ports name while its container port is
 * not among them: what a rule that sees packets after DNAT was meant to match and never does.
 * Mappings with equal host and container ports are left out (both readings match).
 */
export function mappingByHostPort<T extends { readonly p: PublishedPort }>(
  mappings: readonly T[],
  ports: readonly PortRange[],
  protocol: string | null,
  families: readonly Family[],
): T | undefined {
  return mappings.find(
    ({ p }) =>
      p.hostPort !== null &&
      p.hostPort !== p.containerPort &&
      inRange(p.hostPort, ports) &&
      !inRange(p.containerPort, ports) &&
      (protocol === null || protocol === p.protocol) &&
      families.includes(familyOfAddress(p.hostIp)),
  );
}
