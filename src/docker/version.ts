/**
 * Docker engine versions and the daemon defaults that depend on them (docker-firewall.md §3).
 */

export interface DockerVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** As written, e.g. `20.10.24+dfsg1`. */
  readonly text: string;
}

/** Parses `20.10.24`, `28.5.2+dfsg4`, `v29.0.0-rc.1`; null for anything else. */
export function parseDockerVersion(text: string): DockerVersion | null {
  const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  if (match === null) return null;
  return {
    major: Number(match[1]),
    minor: Number(match[2]),
    patch: Number(match[3] ?? '0'),
    text: text.trim(),
  };
}

/** True when `version` is at least major.minor(.patch). */
export function atLeast(version: DockerVersion, major: number, minor = 0, patch = 0): boolean {
  if (version.major !== major) return version.major > major;
  if (version.minor !== minor) return version.minor > minor;
  return version.patch >= patch;
}

/** Defaults of the daemon keys dockwall interprets, for a given engine version. */
export interface DaemonDefaults {
  readonly iptables: boolean;
  readonly ip6tables: boolean;
  readonly ipForward: boolean;
  readonly ipForwardNoDrop: boolean;
  readonly ipMasq: boolean;
  readonly icc: boolean;
  readonly ip: string;
  readonly userlandProxy: boolean;
  readonly ipv6: boolean;
  readonly bridge: string;
  readonly allowDirectRouting: boolean;
  readonly firewallBackend: 'iptables' | 'nftables';
  readonly experimental: boolean;
  readonly liveRestore: boolean;
  readonly defaultAddressPools: readonly { readonly base: string; readonly size: number }[];
}

/** Docker's built-in address pools (libnetwork ipamutils), used when daemon.json sets none. */
export const DEFAULT_ADDRESS_POOLS: readonly { readonly base: string; readonly size: number }[] = [
  { base: '172.17.0.0/16', size: 16 },
  { base: '172.18.0.0/16', size: 16 },
  { base: '172.19.0.0/16', size: 16 },
  { base: '172.20.0.0/14', size: 16 },
  { base: '172.24.0.0/14', size: 16 },
  { base: '172.28.0.0/14', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
];

/**
 * Docker's defaults for `version`. Only ip6tables changed across the versions dockwall knows:
 * off (and experimental-only) up to 26.x, on from 27.0. Unknown version: the newest behaviour.
 */
export function daemonDefaults(version: DockerVersion | null): DaemonDefaults {
  return {
    iptables: true,
    ip6tables: version === null ? true : atLeast(version, 27),
    ipForward: true,
    ipForwardNoDrop: false,
    ipMasq: true,
    icc: true,
    ip: '0.0.0.0',
    userlandProxy: true,
    ipv6: false,
    bridge: '',
    allowDirectRouting: false,
    firewallBackend: 'iptables',
    experimental: false,
    liveRestore: false,
    defaultAddressPools: DEFAULT_ADDRESS_POOLS,
  };
}
