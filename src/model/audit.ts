/**
 * The audit result: the one object every reporter (text, JSON, SARIF, Markdown) and the terminal
 * UI consume. Plain data, stable order, serialisable as JSON schema version 1.
 */
import type { Diagnostic, Severity, SourceLocation } from './diagnostic.ts';
import type { EraEvidence } from './host.ts';
import type { Assumption, SnapshotFile } from './snapshot.ts';
import type { Certainty, Packet, TraceStep } from './trace.ts';
import type { Family } from './ruleset.ts';

export interface ExposureTarget {
  readonly kind: 'container' | 'host';
  /** Container name, or the host process name when known (`sshd`, `docker-proxy`). */
  readonly name: string | null;
  readonly address: string;
  readonly port: number;
}

export interface ReachableFrom {
  /** Ingress interface name, or `*` for any. */
  readonly interface: string;
  /** CIDRs of sources that reach it through this interface. */
  readonly sources: readonly string[];
}

export interface Exposure {
  readonly family: Family;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly hostAddress: string;
  readonly hostPort: number;
  readonly target: ExposureTarget;
  readonly reachableFrom: readonly ReachableFrom[];
  readonly certainty: Certainty;
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
  readonly schemaVersion: 1;
  readonly tool: { readonly name: 'dockwall'; readonly version: string };
  readonly snapshot: {
    readonly directory: string | null;
    readonly files: readonly SnapshotFile[];
    readonly assumptions: readonly Assumption[];
    readonly era: EraEvidence;
  };
  readonly summary: AuditSummary;
  readonly exposures: readonly Exposure[];
  readonly findings: readonly Finding[];
  readonly diagnostics: readonly Diagnostic[];
}
