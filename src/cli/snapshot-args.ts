/**
 * The snapshot arguments shared by audit, trace, chains and review:
 * `[SNAPSHOT_DIR | --iptables F --ip6tables F --daemon F …]`. Commands merge
 * `SNAPSHOT_OPTIONS` into their own `node:util` parseArgs options and call `snapshotInputFrom`.
 */
import path from 'node:path';
import type { SnapshotInput } from '../ingest/snapshot.ts';
import type { SnapshotFileRole } from '../model/snapshot.ts';
import { UsageError } from './command.ts';

/** Option name → snapshot file role. */
export const SNAPSHOT_FILE_OPTIONS: Readonly<Record<string, SnapshotFileRole>> = {
  iptables: 'iptables',
  ip6tables: 'ip6tables',
  daemon: 'daemon',
  containers: 'containers',
  networks: 'networks',
  listeners: 'listeners',
  'ip-addr': 'ip-addr',
  'ip-route': 'ip-route',
  'ip-rule': 'ip-rule',
  'ip6-rule': 'ip6-rule',
  sysctl: 'sysctl',
  'docker-version': 'docker-version',
  nft: 'nft-ruleset',
};

/** The roles that hold a ruleset: a command needs one of them to have anything to walk. */
const RULESET_ROLES: readonly SnapshotFileRole[] = ['iptables', 'ip6tables', 'nft-ruleset'];

/** parseArgs option spec for the file options (all strings). */
export const SNAPSHOT_OPTIONS = Object.fromEntries(
  Object.keys(SNAPSHOT_FILE_OPTIONS).map((name) => [name, { type: 'string' as const }]),
) as Readonly<Record<string, { readonly type: 'string' }>>;

/** Help text fragment for a command's usage. */
export const SNAPSHOT_USAGE = `Snapshot (a directory written by \`dockwall collect\` or scripts/collect.sh, or single files):
  SNAPSHOT_DIR             directory with iptables-save.txt, containers.json, …
  --iptables FILE          iptables-save output
  --ip6tables FILE         ip6tables-save output
  --daemon FILE            /etc/docker/daemon.json
  --containers FILE        docker inspect $(docker ps -aq)
  --networks FILE          docker network inspect $(docker network ls -q)
  --listeners FILE         ss -Htlnup
  --ip-addr FILE           ip -j addr show
  --ip-route FILE          ip -j route show table all
  --ip-rule FILE           ip -j -4 rule show (or \`ip rule show\`'s text)
  --ip6-rule FILE          ip -j -6 rule show (or \`ip -6 rule show\`'s text)
  --sysctl FILE            sysctl key = value lines
  --docker-version FILE    docker version --format '{{json .}}'
  --nft FILE               nft -j list ruleset
Single files override the same file of SNAPSHOT_DIR. One ruleset is required.`;

/**
 * Builds the SnapshotInput from parsed values and positionals. `cwd` resolves relative paths.
 * Throws UsageError when nothing, or more than one directory, was given.
 */
export function snapshotInputFrom(
  values: Readonly<Record<string, unknown>>,
  positionals: readonly string[],
  cwd: string,
): SnapshotInput {
  if (positionals.length > 1) {
    throw new UsageError(
      `expected one SNAPSHOT_DIR, got ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  const files: Partial<Record<SnapshotFileRole, string>> = {};
  for (const [option, role] of Object.entries(SNAPSHOT_FILE_OPTIONS)) {
    const value = values[option];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '')
      throw new UsageError(`--${option} needs a file name`);
    files[role] = asNamed(cwd, value);
  }
  const dir = positionals[0];
  if (dir === undefined && Object.keys(files).length === 0) {
    throw new UsageError('give a SNAPSHOT_DIR or at least one of --iptables, --ip6tables, --nft');
  }
  if (dir === undefined && !RULESET_ROLES.some((role) => files[role] !== undefined)) {
    throw new UsageError(
      'without a SNAPSHOT_DIR, a ruleset is required: --iptables FILE, --ip6tables FILE or --nft FILE',
    );
  }
  const input: { directory?: string; files?: Partial<Record<SnapshotFileRole, string>> } = {};
  if (dir !== undefined) input.directory = asNamed(cwd, dir);
  if (Object.keys(files).length > 0) input.files = files;
  return input;
}

/**
 * The path as the user wrote it when the command runs in the process's directory (diagnostics
 * then show the user's own spelling); otherwise resolved against the command's cwd.
 */
function asNamed(cwd: string, file: string): string {
  return path.resolve(cwd) === process.cwd() ? file : path.resolve(cwd, file);
}
