/**
 * The IPv6 side of a lab scenario, where the capture has one: bridge subnets and gateways,
 * container addresses, and the mappings ip6tables DNATs. Derived like the IPv4 side — from
 * inspect files first, then from Docker's rule shapes in the ip6tables-save text.
 */
import ipaddr from 'ipaddr.js';
import { isDockerBridge, ruleLines, type LabProtocol, type RuleLine } from './topology.ts';

export interface LabBridge6 {
  readonly name: string;
  readonly subnet: string;
  readonly gateway: string;
}

export interface LabContainer6 {
  readonly name: string;
  readonly address: string;
  readonly prefixLength: number;
}

export interface LabPublished6 {
  readonly container: string;
  readonly containerAddress: string;
  readonly containerPort: number;
  readonly protocol: LabProtocol;
  readonly hostPort: number;
}

export interface LabV6 {
  readonly ip6tablesSave: string;
  readonly bridges: readonly LabBridge6[];
  readonly containers: readonly LabContainer6[];
  readonly published: readonly LabPublished6[];
}

/** The lab's external IPv6 addresses (documentation prefix, inside the namespaces only). */
export const EXTERNAL6 = {
  hostAddress: '2001:db8:ffff::1',
  clientAddress: '2001:db8:ffff::2',
  prefixLength: 64,
} as const;

/** Canonical text of an IPv6 address (so `fd00:db8:1:0::2` and `fd00:db8:1::2` compare equal). */
export function canonical6(address: string): string {
  try {
    return ipaddr.parse(address).toString();
  } catch {
    return address;
  }
}

export function inSubnet6(address: string, cidr: string): boolean {
  try {
    const a = ipaddr.parse(address);
    const [net, bits] = ipaddr.parseCIDR(cidr);
    return a.kind() === 'ipv6' && net.kind() === 'ipv6' && a.match(net, bits);
  } catch {
    return false;
  }
}

interface Inspect6 {
  readonly Name?: string;
  readonly Options?: Record<string, string>;
  readonly IPAM?: { readonly Config?: readonly { Subnet?: string; Gateway?: string }[] };
  readonly NetworkSettings?: {
    readonly Networks?: Record<
      string,
      { GlobalIPv6Address?: string; GlobalIPv6PrefixLen?: number }
    >;
  };
}

/**
 * The IPv6 overlay of a scenario, or null when nothing IPv6 is there to probe (no bridge with an
 * IPv6 subnet that holds a container).
 */
export function deriveV6(
  ip6tablesSave: string | undefined,
  containers: readonly unknown[],
  networks: readonly unknown[],
  /** Docker's nftables rules of the ip6 table, as rule lines (nftables backend). */
  nftRules: readonly RuleLine[] = [],
): LabV6 | null {
  if (ip6tablesSave === undefined && nftRules.length === 0) return null;
  const rules = [...ruleLines(ip6tablesSave ?? ''), ...nftRules];
  const bridges = new Map<string, { subnet: string; gateway: string | null }>();
  for (const n of networks as readonly Inspect6[]) {
    const br = n.Options?.['com.docker.network.bridge.name'];
    for (const c of n.IPAM?.Config ?? []) {
      if (br !== undefined && c.Subnet?.includes(':') && !bridges.has(br))
        bridges.set(br, { subnet: c.Subnet, gateway: c.Gateway ?? null });
    }
  }
  for (const r of rules) {
    const s = r.options.get('-s');
    const o = r.options.get('-o');
    // Docker's MASQUERADE of a bridge's subnet, as for IPv4 (topology.ts): an operator's
    // `-s fe80::/10 ! -o docker+ -j SNAT` names no bridge
    if (
      r.table === 'nat' &&
      r.options.get('-j')?.value === 'MASQUERADE' &&
      s &&
      o &&
      !s.negated &&
      o.negated &&
      isDockerBridge(o.value) &&
      !s.value.endsWith('/128')
    ) {
      if (!bridges.has(o.value)) bridges.set(o.value, { subnet: s.value, gateway: null });
    }
  }
  const labBridges: LabBridge6[] = [...bridges].map(([name, b]) => {
    const [net] = ipaddr.parseCIDR(b.subnet);
    const bytes = net.toByteArray();
    bytes[15] = (bytes[15] ?? 0) | 1;
    return { name, subnet: b.subnet, gateway: b.gateway ?? ipaddr.fromByteArray(bytes).toString() };
  });

  const found = new Map<string, LabContainer6>();
  for (const c of containers as readonly Inspect6[]) {
    const name = (c.Name ?? '').replace(/^\//, '');
    for (const ep of Object.values(c.NetworkSettings?.Networks ?? {})) {
      if (ep.GlobalIPv6Address) {
        const address = canonical6(ep.GlobalIPv6Address);
        found.set(address, { name, address, prefixLength: ep.GlobalIPv6PrefixLen || 64 });
      }
    }
  }
  const published: LabPublished6[] = [];
  const own = [EXTERNAL6.hostAddress, '::1', ...labBridges.map((b) => b.gateway)];
  for (const r of rules) {
    if (r.table !== 'nat' || r.options.get('-j')?.value !== 'DNAT') continue;
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(r.options.get('--to-destination')?.value ?? '');
    const protocol = r.options.get('-p')?.value;
    const hostPort = Number(r.options.get('--dport')?.value ?? NaN);
    if (!m || (protocol !== 'tcp' && protocol !== 'udp') || !Number.isInteger(hostPort)) continue;
    const address = canonical6(m[1] ?? '');
    const c = found.get(address);
    if (!c || r.chain === 'OUTPUT') continue;
    // as for IPv4 (topology.ts): an operator's DNAT of a network, of every address but one, or
    // of an address the host lacks is no mapping a proxy could hold
    const dst = r.options.get('-d');
    if (
      dst !== undefined &&
      (dst.negated || !own.includes(canonical6(dst.value.replace(/\/128$/, ''))))
    )
      continue;
    published.push({
      container: c.name,
      containerAddress: address,
      containerPort: Number(m[2]),
      protocol,
      hostPort,
    });
  }
  const placed = [...found.values()].filter((c) =>
    labBridges.some((b) => inSubnet6(c.address, b.subnet)),
  );
  if (placed.length === 0) return null;
  return { ip6tablesSave: ip6tablesSave ?? '', bridges: labBridges, containers: placed, published };
}
