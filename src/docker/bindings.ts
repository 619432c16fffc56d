/**
 * The addresses sockets and published ports are bound to: which are wildcards or loopback, and
 * which packets a binding receives. `ss` writes `*` for a socket of either family; Docker writes
 * `0.0.0.0`, `::` or nothing for a port published on every address.
 */
import type { Family } from '../model/ruleset.ts';

export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '*' || address === '';
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/**
 * Whether a socket bound to `bound` receives a packet of `family` sent to `address`: `*` and the
 * family's own wildcard take any address, `::` also IPv4 (a dual-stack socket), else the address
 * itself.
 */
export function bindingReceives(bound: string, family: Family, address: string): boolean {
  const any = family === 'ipv4' ? '0.0.0.0' : '::';
  return (
    bound === '*' || bound === any || bound === address || (family === 'ipv4' && bound === '::')
  );
}
