/**
 * The addresses sockets and published ports are bound to: which are wildcards or loopback, which
 * families and packets a binding takes, and when two bindings collide. `ss` writes `*` for a
 * dual-stack socket (IPv6 wildcard, both families) and `[::]` for an IPv6-only one; Docker
 * writes `0.0.0.0`, `::` or nothing for a port published on every address.
 */
import type { Family } from '../model/ruleset.ts';

export function familyOfAddress(address: string): Family {
  return address.includes(':') ? 'ipv6' : 'ipv4';
}

export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '*' || address === '';
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/** Whether an IPv6 address is link-local (fe80::/10): a source or destination on its own link only. */
export function isLinkLocal(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

/** The families a binding takes packets of: both for `*`, else its address's (none = IPv4). */
export function bindingFamilies(bound: string): Family[] {
  if (bound === '*') return ['ipv4', 'ipv6'];
  return [familyOfAddress(bound === '' ? '0.0.0.0' : bound)];
}

/**
 * Whether a socket bound to `bound` receives a packet of `family` sent to `address`: `*` and the
 * family's own wildcard take any address of it, else only the address itself.
 */
export function bindingReceives(bound: string, family: Family, address: string): boolean {
  if (!bindingFamilies(bound).includes(family)) return false;
  return bound === address || isWildcard(bound);
}

/** Whether two bindings of one port collide as the kernel binds them (wildcard vs specific). */
export function bindingsOverlap(a: string, b: string): boolean {
  if (a === '*' || b === '*') return true;
  if (a === b) return true;
  const fa = familyOfAddress(a === '' ? '0.0.0.0' : a);
  const fb = familyOfAddress(b === '' ? '0.0.0.0' : b);
  if (fa !== fb) return false;
  return isWildcard(a) || isWildcard(b);
}
