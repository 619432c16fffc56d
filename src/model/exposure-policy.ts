/** The exposure policy of `.dockwall.yaml` as plain data: the exposures a host may have. */
import type { SourceLocation } from './diagnostic.ts';
import type { PortRange } from './ruleset.ts';

export interface PolicyTarget {
  readonly kind: 'container' | 'host';
  /** Container name (for `container`); absent = any container. */
  readonly name?: string;
}

export interface PolicyAllow {
  readonly protocol: 'tcp' | 'udp' | 'sctp' | null;
  readonly ports: PortRange | null;
  /** Sources the exposure may be reachable from; empty = any. */
  readonly fromCidrs: readonly string[];
  /** Ingress interfaces the exposure may be reachable through; empty = any. */
  readonly fromInterfaces: readonly string[];
  readonly to: PolicyTarget | null;
  /** Short text for messages (`tcp/443 from 0.0.0.0/0 to container web`). */
  readonly description: string;
  readonly location: SourceLocation;
}

export interface Policy {
  readonly allow: readonly PolicyAllow[];
  readonly location: SourceLocation;
}
