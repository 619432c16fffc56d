/**
 * The audit result: the one object every reporter (text, JSON, SARIF, Markdown) and the terminal
 * UI consume. Plain data, stable order, serialisable as JSON schema version 2.
 */
import type { Diagnostic, Severity, SourceLocation } from './diagnostic.ts';
import type { EraEvidence } from './host.ts';
import type { Assumption, SnapshotFile } from './snapshot.ts';
import type { Certainty, Packet, TraceStep } from './trace.ts';
import type { Family, PortRange } from './ruleset.ts';

/** One fact of the host context the engine walked with, and how it is known. */
export interface ContextFact {
  readonly family: Family;
  readonly subject:
    | 'route'
    | 'policy-routing'
    | 'addresses'
    | 'interfaces'
    | 'forwarding'
    | 'route-localnet'
    | 'rp-filter'
    | 'accept-local'
    | 'source-check';
  /** The fact in words: `172.18.0.0/16 via br-5d1f0c3a9b7e`. */
  readonly text: string;
  readonly provenance: 'observed' | 'derived' | 'assumed';
  /** What says so: a file, a rule (`iptables-save.txt:59: …`), or why it was assumed. */
  readonly evidence: string;
}

/**
 * What a connection reaches. `container`: a Docker container; `host`: a socket of the host
 * itself; `other`: an address behind the host that is no known container (another network, a
 * pod, a hand-written DNAT's target, the next hop of a host that routes).
 */
export interface ExposureTarget {
  readonly kind: 'container' | 'host' | 'other';
  /** Container name, host process (`sshd`), network or description; null when unknown. */
  readonly name: string | null;
  /** Where packets are delivered after NAT (CIDRs); empty for the host itself. */
  readonly addresses: readonly string[];
  /** Ports they are delivered to after NAT. */
  readonly ports: readonly PortRange[];
  /** Egress interface of forwarded packets; null for the host itself. */
  readonly outInterface: string | null;
  /** The Docker network, when known. */
  readonly network: string | null;
  /** For the host: something listens (true), nothing does (false), unknown (null: no listeners.txt). */
  readonly listening: boolean | null;
  /** A host process relaying to the target (`docker-proxy`), when the host delivers to it. */
  readonly proxiedBy: string | null;
  /** What named the target: `containers.json`, `listeners.txt`, `networks.json`, `rules`, or null. */
  readonly namedFrom: 'containers.json' | 'listeners.txt' | 'networks.json' | 'rules' | null;
}

export interface ReachableFrom {
  /** Ingress interface name (`*other*`: an interface the snapshot does not name). */
  readonly interface: string;
  /** CIDRs of sources that reach it through this interface. */
  readonly sources: readonly string[];
  /**
   * CIDRs taken out of `sources` (absent: none). A host that drops a blocklist's addresses lets
   * every other source through: `sources` is then every address and this the blocklist.
   */
  readonly exceptSources?: readonly string[];
  /** Source ports, when a rule lets only some through (absent: any). */
  readonly sourcePorts?: readonly PortRange[];
}

/**
 * One row of the exposure table, discovered by the engine over all packets (not listed from the
 * Docker model): what a client outside the host reaches, as the client addresses it.
 *
 * `kind`: `published` — DNATed (or REDIRECTed) to a container or other address; `host` — delivered
 * to a socket of the host; `routed` — forwarded to an address behind the host without NAT (the
 * client must route through this host).
 */
export interface Exposure {
  /**
   * Stable across runs: family, protocol, destination, ports and target. Addresses that are every
   * address but a few are said by what they leave out (`::/0-::1`). Unique within a report:
   * rows that these do not tell apart add, after a `~`, what does (kind, certainty, sources).
   */
  readonly id: string;
  readonly family: Family;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly kind: 'published' | 'host' | 'routed';
  /**
   * The destination is an address of this host (true), an address behind it (false), or either
   * (null: the snapshot does not list the host's addresses and the row holds either way).
   */
  readonly toHost: boolean | null;
  /** Destinations as the client sends them (CIDRs). */
  readonly destinations: readonly string[];
  /** `destinations` is every address of the host (the snapshot's, or any it may have). */
  readonly anyHostAddress: boolean;
  /** Destination ports as the client sends them. */
  readonly ports: readonly PortRange[];
  readonly target: ExposureTarget;
  readonly reachableFrom: readonly ReachableFrom[];
  readonly certainty: Certainty;
  /** What the certainty rests on that the snapshot does not show (from the witness's trace). */
  readonly assumptions: readonly string[];
  readonly witness: Packet;
  readonly trace: readonly TraceStep[];
}

/** The thing a finding is about, used for ignores, baselines and fingerprints. */
export interface FindingObject {
  readonly container?: string;
  readonly port?: number;
  readonly protocol?: string;
  readonly chain?: string;
  readonly table?: string;
  readonly rule?: number;
  readonly address?: string;
  /** A daemon.json key (`userland-proxy`), for findings about daemon settings. */
  readonly setting?: string;
  /**
   * Set on the runner's "and N more" finding: how many findings of the rule it stands for
   * (beyond the ones listed). Part of the fingerprint, so a baseline notices when it grows.
   */
  readonly more?: number;
}

export interface Finding {
  readonly ruleId: string;
  readonly severity: Severity;
  readonly message: string;
  readonly location: SourceLocation;
  readonly object: FindingObject;
  readonly certainty: Certainty;
  /**
   * What a possible finding rests on that the snapshot does not show (its witness's trace, or
   * the exposure it is drawn from); absent when nothing is assumed.
   */
  readonly assumptions?: readonly string[];
  readonly witness: Packet | null;
  readonly trace: readonly TraceStep[];
  /** Other places that matter (the covering rule of a shadowed rule, the DNAT of a bypass…). */
  readonly related: readonly { readonly message: string; readonly location: SourceLocation }[];
  /** Stable across runs: rule id + object + snapshot file (never line numbers). */
  readonly fingerprint: string;
  /** Set when the finding is suppressed by an ignore in the config (kept for the record). */
  readonly suppressed?: { readonly reason: string; readonly expires?: string };
}

export interface AuditSummary {
  readonly exposures: number;
  readonly findings: Readonly<Record<Severity, number>>;
  readonly diagnostics: Readonly<Record<Severity, number>>;
  readonly rules: number;
  readonly containers: number;
  /** Findings silenced by ignores in the config (still listed, marked `suppressed`). */
  readonly suppressed?: number;
  /** Findings left out because the baseline already has them. */
  readonly baselined?: number;
}

export interface AuditResult {
  readonly schemaVersion: 2;
  readonly tool: { readonly name: 'dockwall'; readonly version: string };
  readonly snapshot: {
    readonly directory: string | null;
    readonly files: readonly SnapshotFile[];
    readonly assumptions: readonly Assumption[];
    /** How the host's addresses and routes are known, fact by fact (derived and assumed ones). */
    readonly context: readonly ContextFact[];
    readonly era: EraEvidence;
  };
  readonly summary: AuditSummary;
  readonly exposures: readonly Exposure[];
  readonly findings: readonly Finding[];
  readonly diagnostics: readonly Diagnostic[];
}
