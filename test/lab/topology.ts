/**
 * The lab topology: what the kernel referee rebuilds in network namespaces for one scenario —
 * bridges with their gateway addresses, containers with their addresses and listening ports,
 * host listeners, and the published mappings to probe.
 *
 * It is derived independently of the engine: from the scenario's own rule text (DNAT targets,
 * per-container ACCEPT rules, MASQUERADE/isolation subnets) and, where the capture has them, from
 * `docker inspect` / `docker network inspect`. Plain data, pure functions.
 */
import { deriveV6, type LabV6 } from './ipv6.ts';
import { nftRuleLines } from './nft.ts';

export type LabProtocol = 'tcp' | 'udp';

export interface LabBridge {
  readonly name: string;
  /** Subnet in CIDR notation (IPv4). */
  readonly subnet: string;
  /** Gateway address the host holds on the bridge. */
  readonly gateway: string;
}

export interface LabPort {
  readonly port: number;
  readonly protocol: LabProtocol;
}

export interface LabContainer {
  readonly name: string;
  readonly bridge: string;
  readonly address: string;
  readonly prefixLength: number;
  readonly gateway: string;
  /** Ports the container listens on (both TCP and UDP are served for each number). */
  readonly ports: readonly number[];
}

export interface LabPublished {
  readonly container: string;
  readonly containerAddress: string;
  readonly containerPort: number;
  readonly protocol: LabProtocol;
  /** Host address the mapping is bound to (`0.0.0.0` = every address). */
  readonly hostIp: string;
  readonly hostPort: number;
}

export interface LabListener {
  readonly address: string;
  readonly port: number;
  readonly protocol: LabProtocol;
  /** Why the host listens there (docker-proxy for a mapping, a host-mode container, a host service). */
  readonly why: string;
}

export interface LabTopology {
  readonly name: string;
  readonly iptablesSave: string;
  /** nftables tables to load with `nft -f` (native ones; iptables-nft's come with iptablesSave). */
  readonly nftRuleset: string | null;
  readonly bridges: readonly LabBridge[];
  readonly containers: readonly LabContainer[];
  readonly published: readonly LabPublished[];
  readonly hostListeners: readonly LabListener[];
  /**
   * Interfaces with route_localnet on: bridges where Docker sets it (userland-proxy off: hairpin
   * from 127.0.0.1), and any a scenario asks for. Every other interface has it off.
   */
  readonly routeLocalnet: readonly string[];
  /**
   * net.bridge.bridge-nf-call-iptables (and -ip6tables) as the lab sets it where br_netfilter is
   * loaded: on, as dockerd sets it, unless the scenario turns it off.
   */
  readonly bridgeNfCall: boolean;
  /**
   * Destinations a filter REJECT rule names on its own (`-d ADDR/32 -p P --dport N -j REJECT`,
   * e.g. kube-proxy's services without endpoints). The lab routes them out of the external
   * interface so a probe reaches FORWARD and meets the REJECT.
   */
  readonly rejected: readonly {
    readonly address: string;
    readonly port: number;
    readonly protocol: LabProtocol;
  }[];
  /** The IPv6 side, when the scenario has IPv6 containers to probe. */
  readonly v6: LabV6 | null;
  /** What was assumed because the scenario did not say, in words. */
  readonly assumptions: readonly string[];
}

/** The remote client and the host's external interface, as in shared/lab/client.sh. */
export const EXTERNAL = {
  hostInterface: 'ext0',
  hostAddress: '203.0.113.1',
  clientAddress: '203.0.113.2',
  prefixLength: 24,
} as const;

/** A port the host serves that no Docker rule mentions, to probe the plain INPUT path. */
export const HOST_SERVICE_PORT = 2222;
/** A port every container listens on but nothing publishes. */
export const UNPUBLISHED_PORT = 81;

// ---------------------------------------------------------------------------------------------
// Rule text

export interface RuleLine {
  readonly table: string;
  readonly chain: string;
  /** Option name (`-d`, `--dport`, `--to-destination`, `-j`, …) → value, `!` kept as a flag. */
  readonly options: ReadonlyMap<string, { readonly value: string; readonly negated: boolean }>;
}

/** The `-A` lines of an iptables-save text with their table; options split shallowly. */
export function ruleLines(text: string): RuleLine[] {
  const out: RuleLine[] = [];
  let table = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) table = line.slice(1);
    if (!line.startsWith('-A ')) continue;
    const words = line.split(/\s+/);
    const chain = words[1] ?? '';
    const options = new Map<string, { value: string; negated: boolean }>();
    let negated = false;
    for (let i = 2; i < words.length; i++) {
      const w = words[i] ?? '';
      if (w === '!') {
        negated = true;
        continue;
      }
      if (w.startsWith('-')) {
        const next = words[i + 1];
        const value = next !== undefined && !next.startsWith('-') && next !== '!' ? next : '';
        if (value !== '') i++;
        // A value may itself follow a `!` (`--ctstate ! NEW` is not Docker's style; ignore).
        if (!options.has(w)) options.set(w, { value, negated });
        negated = false;
      }
    }
    out.push({ table, chain, options });
  }
  return out;
}

const v4Cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/;

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function inSubnet(address: string, cidr: string): boolean {
  const m = v4Cidr.exec(cidr);
  if (!m || !/^\d+\.\d+\.\d+\.\d+$/.test(address)) return false;
  const bits = Number(m[2]);
  const size = 2 ** (32 - bits);
  const base = Math.floor(ipToInt(m[1] ?? '') / size) * size;
  const a = ipToInt(address);
  return a >= base && a < base + size;
}

/** The first host address of a subnet (Docker's default gateway) and the one after it. */
function nthHost(cidr: string, n: number): string {
  const m = v4Cidr.exec(cidr);
  const bits = Number(m?.[2] ?? 32);
  const size = 2 ** (32 - bits);
  const base = Math.floor(ipToInt(m?.[1] ?? '0.0.0.0') / size) * size;
  return intToIp(base + n);
}

export function isDockerBridge(name: string): boolean {
  return name !== '' && name !== 'lo' && !name.endsWith('+') && name !== EXTERNAL.hostInterface;
}

// ---------------------------------------------------------------------------------------------
// Inspect JSON (only the fields the lab needs; anything else is ignored)

interface InspectEndpoint {
  readonly IPAddress?: string;
  readonly IPPrefixLen?: number;
  readonly Gateway?: string;
}
interface InspectContainer {
  readonly Name?: string;
  readonly HostConfig?: { readonly NetworkMode?: string };
  readonly Config?: { readonly Cmd?: readonly string[] | null };
  readonly NetworkSettings?: {
    readonly Ports?: Record<string, readonly { HostIp?: string; HostPort?: string }[] | null>;
    readonly Networks?: Record<string, InspectEndpoint>;
  };
}
interface InspectNetwork {
  readonly Name?: string;
  readonly Options?: Record<string, string>;
  readonly IPAM?: { readonly Config?: readonly { Subnet?: string; Gateway?: string }[] };
}

/** A connection from the remote client to the host's external address and its outcome. */
export interface ClientExpectation {
  readonly family: 'ipv4' | 'ipv6';
  readonly port: number;
  readonly protocol: LabProtocol;
  /** The listener that answers (`web0:80/tcp`), or null: no connection (dropped or refused). */
  readonly identity: string | null;
}

export interface ScenarioInput {
  readonly name: string;
  readonly iptablesSave: string;
  /** The ip6tables-save text, when the capture has one. */
  readonly ip6tablesSave?: string;
  /** `nft list ruleset` text of native nftables tables (Docker's nftables backend, an operator's). */
  readonly nftRuleset?: string;
  /**
   * What the remote client must observe when an operator's rules change Docker's behaviour (the
   * nftables semantics scenarios): these replace Docker's stated behaviour as the facts held.
   */
  readonly expect?: readonly ClientExpectation[];
  /** Interfaces of the lab host to turn route_localnet on for, beyond what Docker's rules imply. */
  readonly routeLocalnet?: readonly string[];
  /** False: bridge-nf-call-iptables off, so what a bridge passes between its ports skips iptables. */
  readonly bridgeNfCall?: boolean;
  /** Parsed `docker inspect` array, when the capture has one. */
  readonly containers?: readonly unknown[];
  /** Parsed `docker network inspect` array, when the capture has one. */
  readonly networks?: readonly unknown[];
}

function asArray<T>(v: readonly unknown[] | undefined): readonly T[] {
  return (v ?? []) as readonly T[];
}

/** Builds the lab topology of one scenario. */
export function deriveTopology(input: ScenarioInput): LabTopology {
  const rules = [...ruleLines(input.iptablesSave), ...nftRuleLines(input.nftRuleset, 'ip')];
  const assumptions: string[] = [];
  const bridges = new Map<string, { subnet: string; gateway: string | null }>();
  const addBridge = (name: string, subnet: string, gateway: string | null): void => {
    if (!isDockerBridge(name) || !v4Cidr.test(subnet) || subnet.endsWith('/32')) return;
    const known = bridges.get(name);
    if (!known) bridges.set(name, { subnet, gateway });
    else if (known.gateway === null && gateway !== null) bridges.set(name, { subnet, gateway });
  };

  // Networks from inspect, then from the rules: MASQUERADE `-s SUBNET ! -o BR`, isolation
  // `! -s SUBNET -o BR` / `! -d SUBNET -i BR`.
  for (const n of asArray<InspectNetwork>(input.networks)) {
    const br = n.Options?.['com.docker.network.bridge.name'];
    for (const c of n.IPAM?.Config ?? []) {
      if (br !== undefined && c.Subnet !== undefined) addBridge(br, c.Subnet, c.Gateway ?? null);
    }
  }
  for (const r of rules) {
    // Docker's shapes pair a subnet with its bridge with exactly one side negated
    // (`-s NET ! -o BR -j MASQUERADE`, `! -s NET -o BR -j DROP`); an operator's
    // `-s 198.51.100.0/24 -o BR` says nothing about the bridge's own subnet.
    const s = r.options.get('-s');
    const d = r.options.get('-d');
    const o = r.options.get('-o');
    const i = r.options.get('-i');
    // (Docker's targets only: an operator's `-s 203.0.113.0/24 ! -o bridge1 -j ACCEPT` is not,
    // nor a DROP in DOCKER-USER, the operator's chain: random seed 1926's `-s 203.0.113.0/24 !
    // -o docker0 -j DROP` made the client's own network a bridge)
    const target = r.options.get('-j')?.value ?? '';
    const docker =
      target === 'MASQUERADE' ||
      (target === 'DROP' && r.chain.startsWith('DOCKER') && r.chain !== 'DOCKER-USER');
    if (!docker) continue;
    if (s && o && s.negated !== o.negated) addBridge(o.value, s.value, null);
    if (d && i && d.negated !== i.negated) addBridge(i.value, d.value, null);
  }
  // docker0 always exists on a bridge-enabled daemon; its subnet defaults to 172.17.0.0/16.
  const mentionsDocker0 = rules.some(
    (r) => r.options.get('-o')?.value === 'docker0' || r.options.get('-i')?.value === 'docker0',
  );
  if (mentionsDocker0 && !bridges.has('docker0')) {
    bridges.set('docker0', { subnet: '172.17.0.0/16', gateway: null });
    assumptions.push('docker0 subnet assumed 172.17.0.0/16 (no rule or inspect names it)');
  }
  const labBridges: LabBridge[] = [...bridges].map(([name, b]) => ({
    name,
    subnet: b.subnet,
    gateway: b.gateway ?? nthHost(b.subnet, 1),
  }));
  const bridgeOf = (address: string): LabBridge | undefined =>
    labBridges.find((b) => inSubnet(address, b.subnet));

  // Containers: inspect first, then every address the rules single out.
  const containers = new Map<
    string,
    { name: string; bridge: LabBridge; prefixLength: number; ports: Set<number> }
  >();
  const addContainer = (address: string, name: string | null, port: number | null): void => {
    const bridge = bridgeOf(address);
    if (!bridge || address === bridge.gateway) return;
    let c = containers.get(address);
    if (!c) {
      c = {
        name: name ?? `c-${address.replaceAll('.', '-')}`,
        bridge,
        prefixLength: Number(v4Cidr.exec(bridge.subnet)?.[2] ?? 24),
        ports: new Set([80, UNPUBLISHED_PORT]),
      };
      containers.set(address, c);
    }
    if (name !== null) c.name = name;
    if (port !== null) c.ports.add(port);
  };
  const published: LabPublished[] = [];
  const hostListeners: LabListener[] = [];
  const inspected = asArray<InspectContainer>(input.containers);
  for (const ic of inspected) {
    const name = (ic.Name ?? '').replace(/^\//, '');
    const mode = ic.HostConfig?.NetworkMode ?? '';
    const cmd = ic.Config?.Cmd ?? [];
    const pIndex = cmd.indexOf('-p');
    const serves = pIndex >= 0 ? Number(cmd[pIndex + 1]) : null;
    if (mode === 'host') {
      // A host-mode container's server listens in the host's own namespace.
      if (serves !== null && Number.isInteger(serves)) {
        for (const protocol of ['tcp', 'udp'] as const)
          hostListeners.push({ address: '0.0.0.0', port: serves, protocol, why: `${name} (host)` });
      }
      continue;
    }
    for (const ep of Object.values(ic.NetworkSettings?.Networks ?? {})) {
      if (ep.IPAddress) addContainer(ep.IPAddress, name, serves);
    }
  }
  for (const r of rules) {
    const d = r.options.get('-d');
    const o = r.options.get('-o')?.value ?? '';
    const target = r.options.get('-j')?.value ?? '';
    const dport = Number(r.options.get('--dport')?.value ?? NaN);
    if (target === 'DNAT') {
      const to = r.options.get('--to-destination')?.value ?? '';
      const [addr, port] = to.split(':');
      if (addr === undefined) continue;
      // a port range (`A:80-82`): the container listens on each port of it
      const [from, upTo] = (port ?? '').split('-').map(Number);
      if (port === undefined || from === undefined || !Number.isInteger(from))
        addContainer(addr, null, null);
      else
        for (let p = from; p <= (Number.isInteger(upTo) ? (upTo as number) : from); p++)
          addContainer(addr, null, p);
    } else if (d && !d.negated && d.value.endsWith('/32') && o !== '' && r.table === 'filter') {
      addContainer(d.value.slice(0, -3), null, Number.isInteger(dport) ? dport : null);
    } else if (r.table === 'raw' && d && !d.negated && d.value.endsWith('/32')) {
      addContainer(d.value.slice(0, -3), null, null);
    }
  }
  // A network no rule or inspect puts a container on (internal networks, an idle docker0) still
  // gets one, at the address Docker hands out first, so unpublished containers are probed too.
  for (const b of labBridges) {
    if (![...containers.values()].some((c) => c.bridge === b)) {
      const address = nthHost(b.subnet, 2);
      addContainer(address, null, null);
      assumptions.push(
        `container on ${b.name} assumed at ${address} (no rule or inspect names one)`,
      );
    }
  }

  // Published mappings: DNAT rules (`[-d HOSTIP] -p P --dport HP -j DNAT --to-destination A:CP`),
  // named after the container inspect gives.
  for (const r of rules) {
    if (r.table !== 'nat' || r.options.get('-j')?.value !== 'DNAT') continue;
    const to = r.options.get('--to-destination')?.value ?? '';
    const [addr, cport] = to.split(':');
    const hostPort = Number(r.options.get('--dport')?.value ?? NaN);
    const protocol = r.options.get('-p')?.value;
    const c = addr === undefined ? undefined : containers.get(addr);
    if (!c || addr === undefined || !Number.isInteger(hostPort)) continue;
    // a DNAT to a port range is no mapping Docker writes
    if (cport !== undefined && !/^\d+$/.test(cport)) continue;
    if (protocol !== 'tcp' && protocol !== 'udp') continue;
    const dst = r.options.get('-d');
    // a mapping is bound to one host address or to all; an operator's DNAT of a network (or of
    // every address but one) is no mapping a proxy could hold
    if (dst !== undefined && (dst.negated || !/^[\d.]+(\/32)?$/.test(dst.value))) continue;
    if (r.chain === 'OUTPUT') continue;
    const hostIp = dst ? dst.value.replace(/\/32$/, '') : '0.0.0.0';
    // nor is a DNAT of an address the host does not have (random seed 205: of a container's
    // address, which no proxy can bind)
    const own =
      hostIp === '0.0.0.0' ||
      hostIp.startsWith('127.') ||
      hostIp === EXTERNAL.hostAddress ||
      labBridges.some((b) => b.gateway === hostIp);
    if (!own) continue;
    published.push({
      container: c.name,
      containerAddress: addr,
      containerPort: Number(cport ?? hostPort),
      protocol,
      hostIp,
      hostPort,
    });
  }
  // docker-proxy (or dockerd with userland-proxy off) holds each mapping's host port.
  for (const p of published) {
    hostListeners.push({
      address: p.hostIp,
      port: p.hostPort,
      protocol: p.protocol,
      why: `docker-proxy for ${p.container}`,
    });
  }
  for (const protocol of ['tcp', 'udp'] as const) {
    hostListeners.push({
      address: '0.0.0.0',
      port: HOST_SERVICE_PORT,
      protocol,
      why: 'host service',
    });
  }

  // userland-proxy=false: Docker masquerades LOCAL sources onto the bridge and enables
  // route_localnet there so 127.0.0.1 can be DNATed to a container.
  const routeLocalnet = rules
    .filter(
      (r) =>
        r.table === 'nat' &&
        r.options.get('-j')?.value === 'MASQUERADE' &&
        r.options.get('--src-type')?.value === 'LOCAL',
    )
    .map((r) => r.options.get('-o')?.value ?? '')
    .filter((b) => bridges.has(b))
    .concat(input.routeLocalnet ?? []);

  const v6 = deriveV6(
    input.ip6tablesSave,
    input.containers ?? [],
    input.networks ?? [],
    nftRuleLines(input.nftRuleset, 'ip6'),
  );
  // a host with IPv6 serves the host service on it too, and a proxy holds each IPv6 mapping's
  // port (one listener per port: an operator's DNAT may map a port Docker maps)
  if (v6 !== null) {
    for (const protocol of ['tcp', 'udp'] as const)
      hostListeners.push({ address: '::', port: HOST_SERVICE_PORT, protocol, why: 'host service' });
    for (const p of v6.published)
      hostListeners.push({
        address: '::',
        port: p.hostPort,
        protocol: p.protocol,
        why: `docker-proxy for ${p.container}`,
      });
  }

  return {
    name: input.name,
    iptablesSave: input.iptablesSave,
    nftRuleset: input.nftRuleset ?? null,
    bridges: labBridges,
    containers: [...containers].map(([address, c]) => ({
      name: c.name,
      bridge: c.bridge.name,
      address,
      prefixLength: c.prefixLength,
      gateway: c.bridge.gateway,
      ports: [...c.ports].sort((a, b) => a - b),
    })),
    published,
    hostListeners: dedupeListeners(hostListeners),
    routeLocalnet,
    bridgeNfCall: input.bridgeNfCall ?? true,
    rejected: rejectedDestinations(rules, labBridges),
    v6,
    assumptions,
  };
}

/** A listener bound to every address of its family (`0.0.0.0` or `::`). */
export function listensEverywhere(l: { readonly address: string }): boolean {
  return l.address === '0.0.0.0' || l.address === '::';
}

function dedupeListeners(ls: readonly LabListener[]): LabListener[] {
  const seen = new Map<string, LabListener>();
  for (const l of ls) {
    // A wildcard listener on a port covers specific ones of the same protocol and family.
    const key = `${l.address.includes(':') ? 'ipv6' : 'ipv4'}/${l.protocol}/${l.port}`;
    const prev = seen.get(key);
    if (!prev || (!listensEverywhere(prev) && listensEverywhere(l))) seen.set(key, l);
  }
  return [...seen.values()];
}

/**
 * Addresses a REJECT names that are no one's here (kube-proxy's service addresses): the lab
 * routes them out of the external interface. Loopback, the external network's and the bridges'
 * own addresses are where they are.
 */
function rejectedDestinations(
  rules: readonly RuleLine[],
  bridges: readonly LabBridge[],
): LabTopology['rejected'] {
  const out: { address: string; port: number; protocol: LabProtocol }[] = [];
  const placed = (a: string): boolean =>
    a.startsWith('127.') ||
    inSubnet(a, `${EXTERNAL.hostAddress}/${EXTERNAL.prefixLength}`) ||
    bridges.some((b) => inSubnet(a, b.subnet));
  for (const r of rules) {
    if (r.table !== 'filter' || r.options.get('-j')?.value !== 'REJECT') continue;
    const d = r.options.get('-d');
    const protocol = r.options.get('-p')?.value;
    const port = Number(r.options.get('--dport')?.value ?? NaN);
    if (!d || d.negated || !d.value.endsWith('/32') || !Number.isInteger(port)) continue;
    if (protocol !== 'tcp' && protocol !== 'udp') continue;
    if (placed(d.value.slice(0, -3))) continue;
    out.push({ address: d.value.slice(0, -3), port, protocol });
  }
  return out;
}
