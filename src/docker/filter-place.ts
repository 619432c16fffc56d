/**
 * Where an operator filters traffic to published ports, per firewall backend — the advice the
 * findings give, in one place. On the iptables backends Docker jumps to DOCKER-USER before its
 * own FORWARD rules; the nftables backend (Docker 29, `"firewall-backend": "nftables"`) creates no
 * DOCKER-USER: the operator adds a base chain of their own on the forward hook with a priority
 * below Docker's `filter` (0), e.g. `filter - 1`, where a `drop` is final (an `accept` there only
 * ends that chain, Docker's chain still runs). Either way the packet has been DNATed before the
 * forward hook: the published host port and address are matched as conntrack's original values.
 */
import type { LayoutEra } from '../model/host.ts';

export type FilterBackend = 'iptables' | 'nftables';

export interface FilterPlace {
  readonly backend: FilterBackend;
  /** Where forwarded traffic to published ports is filtered, as a noun phrase. */
  readonly forward: string;
  /** The rule the operator writes there to stop a published port. */
  forwardDrop(port: number, protocol: string): string;
  /** The match on a published host port after DNAT. */
  originalPort(port: number): string;
  /** The match on a host address that published ports are DNATed away from. */
  originalAddress(address: string): string;
  /** Where connections docker-proxy serves (loopback, IPv6 to IPv4-only containers) are filtered. */
  readonly input: string;
}

const IPTABLES: FilterPlace = {
  backend: 'iptables',
  forward: 'DOCKER-USER',
  forwardDrop: (port, protocol) =>
    `-I DOCKER-USER -p ${protocol} -m conntrack --ctorigdstport ${port} --ctdir ORIGINAL -j DROP`,
  originalPort: (port) => `-m conntrack --ctorigdstport ${port} --ctdir ORIGINAL`,
  originalAddress: (address) => `-m conntrack --ctorigdst ${address}`,
  input: 'INPUT (ufw)',
};

const NFTABLES: FilterPlace = {
  backend: 'nftables',
  forward: "a forward base chain of your own with a priority before Docker's (filter - 1)",
  forwardDrop: (port, protocol) => `meta l4proto ${protocol} ct original proto-dst ${port} drop`,
  originalPort: (port) => `ct original proto-dst ${port}`,
  originalAddress: (address) =>
    `ct original ${address.includes(':') ? 'ip6' : 'ip'} daddr ${address}`,
  input: 'the input hook (your nftables input chain, or ufw/firewalld)',
};

/** The backend Docker's rules of this layout era live in. */
export function filterBackend(era: LayoutEra): FilterBackend {
  return era === 'nftables' ? 'nftables' : 'iptables';
}

export function filterPlace(era: LayoutEra): FilterPlace {
  return filterBackend(era) === 'nftables' ? NFTABLES : IPTABLES;
}
