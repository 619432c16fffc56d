/**
 * What Docker's bridge driver knows when it programs the firewall, as plain data: the daemon-wide
 * settings, one bridge network's settings, and a port binding. The iptables programmers (≤27 and
 * 28+), the nftables programmer and the rule synthesis all speak in these terms, the ones moby's
 * `firewaller` package uses (`Config`, `NetworkConfig`, `PortBinding`).
 */
import type { IptablesState } from './iptables-state.ts';

export interface FirewallConfig {
  /** iptables programmed for IPv4 / IPv6 (daemon `iptables`, `ip6tables`). */
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  /** No userland proxy: hairpin NAT instead (daemon `userland-proxy: false`). */
  readonly hairpin: boolean;
  /** Daemon `allow-direct-routing` (28.2+). */
  readonly allowDirectRouting: boolean;
  /** WSL2 with mirrored networking (a `loopback0` interface). */
  readonly wsl2Mirrored: boolean;
}

export interface FamilyNetworkConfig {
  /** The bridge subnet in CIDR form, or null when the network has none in this family. */
  readonly prefix: string | null;
  /** SNAT source (`com.docker.network.host_ipv4/6`); null means MASQUERADE. */
  readonly hostIp: string | null;
  /** gateway mode routed / nat-unprotected. */
  readonly routed: boolean;
  readonly unprotected: boolean;
}

export interface BridgeNetworkConfig {
  /** The Linux bridge (`docker0`, `br-<12 hex>`, or `com.docker.network.bridge.name`). */
  readonly ifName: string;
  readonly internal: boolean;
  readonly icc: boolean;
  readonly masquerade: boolean;
  /** `com.docker.network.bridge.trusted_host_interfaces` (28.2+). */
  readonly trustedHostInterfaces: readonly string[];
  /** Daemon `bridge-accept-fwmark` (29+), as written (`0x10/0xff`), or null. */
  readonly acceptFwMark: string | null;
  readonly v4: FamilyNetworkConfig;
  readonly v6: FamilyNetworkConfig;
}

export type BindingProtocol = 'tcp' | 'udp' | 'sctp';

/** One port binding as the driver programs it (one host address, one host port). */
export interface PortBinding {
  readonly protocol: BindingProtocol;
  /** The container's address in the binding's family (IPv4 for a host-IPv6 → IPv4 proxy). */
  readonly containerIp: string;
  readonly containerPort: number;
  /** `0.0.0.0`, `::`, or a specific address. */
  readonly hostIp: string;
  /** 0 when no NAT is done (routed gateway mode). */
  readonly hostPort: number;
}

export interface FamilyStates {
  readonly ipv4: IptablesState;
  readonly ipv6: IptablesState;
}

export function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/** `ip:port` as Docker joins them (`[fd00::2]:80` for IPv6). */
export function joinHostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** `mark[/mask]` in decimal, as Docker normalises `bridge-accept-fwmark` (hex or octal in). */
export function parseFwMark(text: string): { mark: number; mask: number | null } | null {
  const [markText = '', maskText] = text.split('/');
  const mark = parseGoUint(markText);
  const mask = maskText === undefined ? null : parseGoUint(maskText);
  if (mark === null || (maskText !== undefined && mask === null)) return null;
  return { mark, mask };
}

/** strconv.ParseUint(s, 0, 32): decimal, 0x hex, 0o / leading-0 octal, 0b binary. */
function parseGoUint(text: string): number | null {
  const t = text.trim().toLowerCase().replaceAll('_', '');
  let value: number;
  if (/^0x[0-9a-f]+$/.test(t)) value = parseInt(t.slice(2), 16);
  else if (/^0o[0-7]+$/.test(t)) value = parseInt(t.slice(2), 8);
  else if (/^0b[01]+$/.test(t)) value = parseInt(t.slice(2), 2);
  else if (/^0[0-7]+$/.test(t)) value = parseInt(t.slice(1), 8);
  else if (/^\d+$/.test(t)) value = parseInt(t, 10);
  else return null;
  return value <= 0xffffffff ? value : null;
}
