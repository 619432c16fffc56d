/**
 * A Compose project as far as it decides the firewall: services with their network modes,
 * networks and published ports, and the project's networks. Plain data with source locations,
 * built by `src/ingest/compose.ts` from one or more Compose files (merged, variables
 * interpolated); read by the planner in `src/docker/`.
 */
import type { Diagnostic, SourceLocation } from './diagnostic.ts';
import type { Protocol } from './host.ts';

/** One `ports:` entry, short or long syntax. */
export interface ComposePort {
  /** Container port range (a single port has `from === to`). */
  readonly target: { readonly from: number; readonly to: number };
  /** Host port or range; null when Docker picks a free port. */
  readonly published: { readonly from: number; readonly to: number } | null;
  /** Host address; null means the network's default binding address. */
  readonly hostIp: string | null;
  readonly protocol: Protocol;
  /** `host` or `ingress` (ingress needs swarm; compose publishes it like host). */
  readonly mode: 'host' | 'ingress';
  readonly location: SourceLocation;
}

export interface ComposeServiceNetwork {
  /** The key of the project network. */
  readonly name: string;
  readonly ipv4Address: string | null;
  readonly ipv6Address: string | null;
  /** `gw_priority`: the highest one's network carries the default route and published ports. */
  readonly gwPriority: number;
  /** `priority`: the order networks are connected in (highest first). */
  readonly priority: number;
  readonly location: SourceLocation;
}

export interface ComposeService {
  readonly name: string;
  readonly image: string;
  /** `command:` as a list (a string is split as a shell would, without expansion). */
  readonly command: readonly string[] | null;
  readonly containerName: string | null;
  /** `network_mode` as written (`host`, `none`, `bridge`, `service:x`, `container:x`), or null. */
  readonly networkMode: string | null;
  readonly networkModeLocation: SourceLocation | null;
  /** The service's networks; null when none are named (the project's `default` network). */
  readonly networks: readonly ComposeServiceNetwork[] | null;
  readonly ports: readonly ComposePort[];
  readonly expose: readonly {
    readonly from: number;
    readonly to: number;
    readonly protocol: Protocol;
  }[];
  /** `links:` (`service` or `service:alias`). */
  readonly links: readonly { readonly service: string; readonly alias: string }[];
  readonly dependsOn: readonly string[];
  /** `scale` / `deploy.replicas` (1 by default). */
  readonly replicas: number;
  readonly profiles: readonly string[];
  readonly location: SourceLocation;
}

export interface ComposeIpamConfig {
  readonly subnet: string | null;
  readonly gateway: string | null;
  readonly ipRange: string | null;
}

export interface ComposeNetwork {
  /** The key under `networks:`. */
  readonly key: string;
  /** `name:` (the Docker network name as written); null means `<project>_<key>`. */
  readonly name: string | null;
  readonly external: boolean;
  readonly driver: string | null;
  readonly driverOpts: Readonly<Record<string, string>>;
  readonly ipam: readonly ComposeIpamConfig[];
  readonly internal: boolean;
  /** null when not set (the daemon's default applies). */
  readonly enableIpv4: boolean | null;
  readonly enableIpv6: boolean | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly location: SourceLocation;
}

export interface ComposeProject {
  readonly name: string;
  /** Where the name came from, in words (`name:` in FILE, COMPOSE_PROJECT_NAME, the directory). */
  readonly nameSource: string;
  readonly files: readonly string[];
  readonly services: readonly ComposeService[];
  readonly networks: readonly ComposeNetwork[];
  readonly diagnostics: readonly Diagnostic[];
}
