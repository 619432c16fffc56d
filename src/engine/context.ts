/**
 * What the engine must know about the host's networking to walk a packet: the finite set of
 * interfaces, the addresses the host owns, and the routes. Built from a snapshot by
 * `src/docker/` (the engine itself knows netfilter, not Docker).
 */
import type { Family } from '../model/ruleset.ts';

export interface ContextRoute {
  /** CIDR, or `default`. */
  readonly destination: string;
  /** Egress interface. */
  readonly device: string;
}

export interface NetworkContext {
  readonly family: Family;
  /** Every interface name of the host (including `lo`); the engine adds one "any other" value. */
  readonly interfaces: readonly string[];
  /** Addresses the host owns: `addrtype LOCAL`, and routing delivers them to INPUT. */
  readonly localAddresses: readonly string[];
  /** Forwarding routes; the longest matching prefix wins. */
  readonly routes: readonly ContextRoute[];
}
