/**
 * A host snapshot: everything read from one snapshot directory (or from single files named on
 * the command line), with what was missing and what was assumed in its place.
 */
import type { Diagnostic } from './diagnostic.ts';
import type { DockerHost, DockerHostRead, EraEvidence } from './host.ts';
import { combineRulesets } from './firewall.ts';
import { perFamily } from './per-family.ts';
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
  | 'ip-rule'
  | 'ip6-rule'
  | 'listeners'
  | 'sysctl'
  | 'nft-ruleset'
  | 'manifest';

/** File names of a snapshot directory, by role, in the order they are read. */
export const SNAPSHOT_FILE_NAMES: Readonly<Record<SnapshotFileRole, readonly string[]>> = {
  'docker-version': ['docker-version.json'],
  iptables: ['iptables-save.txt'],
  ip6tables: ['ip6tables-save.txt'],
  'nft-ruleset': ['nft-ruleset.json', 'nft-ruleset.txt'],
  daemon: ['daemon.json'],
  networks: ['networks.json'],
  containers: ['containers.json'],
  listeners: ['listeners.txt'],
  'ip-addr': ['ip-addr.json'],
  'ip-route': ['ip-route.json'],
  'ip-rule': ['ip-rule.json'],
  'ip6-rule': ['ip6-rule.json'],
  sysctl: ['sysctl.txt'],
  manifest: ['manifest.json'],
};

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

/**
 * How an absent file is named at the start of an assumption: `no daemon.json`,
 * `daemon.json could not be read`, `daemon.json could not be used`.
 */
export function fileAbsence(
  role: SnapshotFileRole,
  status: SnapshotFile['status'] | undefined,
): string {
  const name = SNAPSHOT_FILE_NAMES[role][0] ?? role;
  if (status === 'invalid') return `${name} could not be used`;
  if (status === 'unreadable') return `${name} could not be read`;
  return `no ${name}`;
}

/**
 * Assumptions in the order of the snapshot's files (`SNAPSHOT_FILE_NAMES`), each file's in the
 * order they were made.
 */
export function inFileOrder(assumptions: readonly Assumption[]): Assumption[] {
  const roles = Object.keys(SNAPSHOT_FILE_NAMES);
  return assumptions
    .map((a, i) => ({ a, i }))
    .sort((x, y) => roles.indexOf(x.a.role) - roles.indexOf(y.a.role) || x.i - y.i)
    .map((x) => x.a);
}

/**
 * A snapshot as its files say it (src/ingest/snapshot.ts), before Docker's knowledge reads it:
 * no layout era yet, and daemon.json only as far as it sets keys. src/docker/snapshot.ts turns it
 * into the `Snapshot` every analysis takes.
 */
export interface SnapshotRead {
  readonly directory: string | null;
  readonly files: readonly SnapshotFile[];
  readonly ipv4: Ruleset | null;
  readonly ipv6: Ruleset | null;
  readonly nft: NftRuleset | null;
  readonly host: DockerHostRead;
  readonly manifest: Readonly<Record<string, unknown>> | null;
  readonly diagnostics: readonly Diagnostic[];
  /** What the reader assumed for each absent file (the Docker-dependent ones come later). */
  readonly assumptions: readonly Assumption[];
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

/** The path of the snapshot's file of `role` when it was read; null when it was not. */
export function pathRead(snapshot: Snapshot, role: SnapshotFileRole): string | null {
  return snapshot.files.find((f) => f.role === role && f.status === 'read')?.path ?? null;
}

/** The file a diagnostic about the whole snapshot points at: its rules, else the snapshot. */
export function anchorFile(snapshot: Snapshot): string {
  return (
    snapshot.ipv4?.file ??
    snapshot.ipv6?.file ??
    snapshot.nft?.file ??
    snapshot.directory ??
    'snapshot'
  );
}

/** Whether the snapshot's file of `role` was read. */
export function wasRead(snapshot: Snapshot, role: SnapshotFileRole): boolean {
  return pathRead(snapshot, role) !== null;
}

/**
 * What the engine walks for a family: iptables' tables and the nftables tables that see the
 * family's packets, one pipeline (see firewall.ts). Made once per snapshot and family: with
 * nftables tables beside iptables' each call made a new ruleset, and what is remembered per
 * ruleset (Docker's rule evidence, asked per exposure row) was read again every time.
 */
export const firewallOf: (snapshot: Snapshot, family: Family) => Ruleset | null = perFamily(
  (snapshot: Snapshot, family) =>
    combineRulesets(family === 'ipv4' ? snapshot.ipv4 : snapshot.ipv6, snapshot.nft, family),
);
