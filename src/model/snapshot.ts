/**
 * A host snapshot: everything read from one snapshot directory (or from single files named on
 * the command line), with what was missing and what was assumed in its place.
 */
import type { Diagnostic } from './diagnostic.ts';
import type { DockerHost, EraEvidence } from './host.ts';
import { combineRulesets } from './firewall.ts';
import type { Family, NftRuleset, Ruleset } from './ruleset.ts';

/** The files a snapshot directory may hold, by their role. */
export type SnapshotFileRole =
  | 'iptables'
  | 'ip6tables'
  | 'daemon'
  | 'containers'
  | 'networks'
  | 'docker-version'
  | 'ip-addr'
  | 'ip-route'
  | 'listeners'
  | 'sysctl'
  | 'nft-ruleset'
  | 'manifest';

export interface SnapshotFile {
  readonly role: SnapshotFileRole;
  /** The path as given, or null when the file was not supplied. */
  readonly path: string | null;
  readonly status: 'read' | 'missing' | 'unreadable' | 'invalid';
}

/** What dockwall assumed because something was missing, said in every report. */
export interface Assumption {
  readonly role: SnapshotFileRole;
  readonly text: string;
}

export interface Snapshot {
  /** The directory, when one was given. */
  readonly directory: string | null;
  readonly files: readonly SnapshotFile[];
  /** iptables-save and ip6tables-save as read. */
  readonly ipv4: Ruleset | null;
  readonly ipv6: Ruleset | null;
  /** `nft list ruleset` (JSON or text) as read: tables of every family. */
  readonly nft: NftRuleset | null;
  readonly host: DockerHost;
  readonly era: EraEvidence;
  readonly diagnostics: readonly Diagnostic[];
  readonly assumptions: readonly Assumption[];
  /** Manifest written by the collector, as read (host name, time, tool versions). */
  readonly manifest: Readonly<Record<string, unknown>> | null;
}

/**
 * What the engine walks for a family: iptables' tables and the nftables tables that see the
 * family's packets, one pipeline (see firewall.ts).
 */
export function firewallOf(snapshot: Snapshot, family: Family): Ruleset | null {
  return combineRulesets(family === 'ipv4' ? snapshot.ipv4 : snapshot.ipv6, snapshot.nft, family);
}
