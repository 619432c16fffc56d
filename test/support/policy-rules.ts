/** `ip -j rule show` of common hosts, for the policy routing tests. */

/** A host with no rule of its own (IPv4). */
export const DEFAULT_RULES = [
  { priority: 0, src: 'all', table: 'local' },
  { priority: 32766, src: 'all', table: 'main' },
  { priority: 32767, src: 'all', table: 'default' },
];

/** wg-quick's full tunnel (`AllowedIPs = 0.0.0.0/0`). */
export const WG_QUICK_RULES = [
  { priority: 0, src: 'all', table: 'local' },
  { priority: 32764, src: 'all', table: 'main', suppress_prefixlen: 0 },
  { priority: 32765, not: null, src: 'all', fwmark: '0xca6c', table: '51820' },
  { priority: 32766, src: 'all', table: 'main' },
  { priority: 32767, src: 'all', table: 'default' },
];
