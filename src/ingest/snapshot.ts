/**
 * Reads a snapshot directory (or single files) into the `SnapshotRead` model: what the files say,
 * before Docker's knowledge interprets it (src/docker/snapshot.ts). Every file is optional except
 * one ruleset; each missing file is stated together with the assumption made for it. Never
 * throws: unreadable and malformed files become diagnostics and the rest is still read.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Diagnostic } from '../model/diagnostic.ts';
import { diagnostic, fileLocation } from '../model/diagnostic.ts';
import type { HostInterface, Listener, Network, Route, Sysctls } from '../model/host.ts';
import type { Family, NftRuleset, Ruleset } from '../model/ruleset.ts';
import type {
  Assumption,
  SnapshotFile,
  SnapshotFileRole,
  SnapshotRead,
} from '../model/snapshot.ts';
import { fileAbsence, SNAPSHOT_FILE_NAMES } from '../model/snapshot.ts';
import { loadContainers } from './containers.ts';
import { loadDaemonFile } from './daemon.ts';
import { loadDockerVersion } from './docker-version.ts';
import { loadIpAddr, loadIpRoute, loadIpRule } from './ip.ts';
import { detectFamily, parseIptables } from './iptables/index.ts';
import { parseJson, toPlain } from './json.ts';
import { loadListeners } from './listeners.ts';
import { loadNetworks } from './networks.ts';
import { parseNft } from './nft/index.ts';
import type { InputRead } from './read-input.ts';
import { readInputFile, SIZE_LIMITS } from './read-input.ts';
import { loadSysctl, UNKNOWN_SYSCTLS } from './sysctl.ts';

export interface SnapshotInput {
  readonly directory?: string;
  readonly files?: Partial<Record<SnapshotFileRole, string>>;
}

const ROLES = Object.keys(SNAPSHOT_FILE_NAMES) as SnapshotFileRole[];

/** Size cap of each file: generous for rules and inspect output, small for settings. */
const SIZE_LIMIT: Readonly<Record<SnapshotFileRole, number>> = {
  iptables: SIZE_LIMITS.large,
  ip6tables: SIZE_LIMITS.large,
  'nft-ruleset': SIZE_LIMITS.large,
  containers: SIZE_LIMITS.large,
  networks: SIZE_LIMITS.large,
  'ip-addr': SIZE_LIMITS.medium,
  'ip-route': SIZE_LIMITS.medium,
  'ip-rule': SIZE_LIMITS.small,
  'ip6-rule': SIZE_LIMITS.small,
  listeners: SIZE_LIMITS.medium,
  daemon: SIZE_LIMITS.small,
  'docker-version': SIZE_LIMITS.small,
  sysctl: SIZE_LIMITS.small,
  manifest: SIZE_LIMITS.small,
};

/**
 * Reads the file of one role: the file named for it on the command line (read wherever it is),
 * else the first of its names in the snapshot directory (read only when it stays inside it).
 */
async function readRole(
  role: SnapshotFileRole,
  directory: string | null,
  explicit: string | undefined,
  diagnostics: Diagnostic[],
): Promise<InputRead | { readonly status: 'missing'; readonly path: null }> {
  const maxBytes = SIZE_LIMIT[role];
  if (explicit !== undefined) {
    const read = await readInputFile(explicit, { within: null, maxBytes });
    diagnostics.push(...read.diagnostics);
    if (read.status === 'missing') {
      diagnostics.push(
        diagnostic('file-not-found', 'error', `${explicit} does not exist`, fileLocation(explicit)),
      );
    }
    return read;
  }
  if (directory === null) return { status: 'missing', path: null };
  for (const name of SNAPSHOT_FILE_NAMES[role]) {
    const read = await readInputFile(path.join(directory, name), { within: directory, maxBytes });
    diagnostics.push(...read.diagnostics);
    if (read.status !== 'missing') return read;
  }
  return { status: 'missing', path: null };
}

/**
 * Where the files come from. A "directory" that is a file is taken as a single ruleset of the
 * family its text shows (`dockwall audit rules.txt`), and a note says which flag that is.
 */
async function resolveInput(
  input: SnapshotInput,
  diagnostics: Diagnostic[],
): Promise<{ directory: string | null; files: Partial<Record<SnapshotFileRole, string>> }> {
  const files = { ...input.files };
  const directory = input.directory;
  if (directory === undefined) return { directory: null, files };
  let kind: 'directory' | 'file' | 'missing' | 'other';
  try {
    const stats = await stat(directory);
    kind = stats.isDirectory() ? 'directory' : stats.isFile() ? 'file' : 'other';
  } catch {
    kind = 'missing';
  }
  if (kind === 'directory') return { directory, files };
  if (kind === 'missing') {
    diagnostics.push(
      diagnostic('file-not-found', 'error', `${directory} does not exist`, fileLocation(directory)),
    );
    return { directory: null, files };
  }
  if (kind === 'file') {
    const read = await readInputFile(directory, { within: null, maxBytes: SIZE_LIMITS.large });
    const role =
      read.status === 'read' && detectFamily(read.text) === 'ipv6' ? 'ip6tables' : 'iptables';
    if (files[role] === undefined) {
      files[role] = directory;
      diagnostics.push(
        diagnostic(
          'single-ruleset-file',
          'note',
          `${directory} is a file, not a snapshot directory: read as the ${role === 'iptables' ? 'IPv4' : 'IPv6'} ruleset, as \`--${role} ${directory}\` would`,
          fileLocation(directory),
          'add --containers, --daemon, … for the host context, or give a snapshot directory',
        ),
      );
      return { directory: null, files };
    }
  }
  diagnostics.push(
    diagnostic(
      'not-a-directory',
      'error',
      `${directory} is not a snapshot directory`,
      fileLocation(directory),
      'give a directory written by `dockwall collect`, or the files with --iptables FILE, --containers FILE, …',
    ),
  );
  return { directory: null, files };
}

/** What is assumed when a file is absent (said after `no FILE: `). */
const ASSUMPTIONS: Partial<Record<SnapshotFileRole, string>> = {
  iptables: 'IPv4 rules are not analysed',
  ip6tables: 'IPv6 rules are not analysed; IPv6 exposure is unknown',
  containers:
    'container names and network modes are unknown; published ports are what the rules show (DNATs, and ports opened in the routed gateway mode), and rule drift is not checked',
  networks:
    'user networks’ bridges and subnets are what the rules show; their options (icc, internal, gateway mode) are unknown, and containers on macvlan or ipvlan networks, which the host’s firewall never sees, are not known to be there',
  listeners: 'host listeners are unknown; only published ports are considered',
  'ip-addr':
    'the host’s addresses are not known (only bridge gateways and address-bound mappings); what is found for connections to the host holds for whatever its addresses are, and what depends on whether some other address is the host’s is only possible',
  'ip-route':
    'routes derived from ip-addr.json, Docker’s networks and containers, and the rules Docker writes; the default route is assumed, so what leaves by it is only possible',
  'ip-rule':
    'IPv4 policy routing is not known: the main table is taken to decide, and what the routes of another table cover is only possible',
  'ip6-rule':
    'IPv6 policy routing is not known: the main table is taken to decide, and what the routes of another table cover is only possible',
  sysctl:
    'IP forwarding assumed on (Docker turns it on); what a bridge passes between containers taken to pass iptables (dockerd turns bridge-nf-call-iptables on); route_localnet taken to be off, the kernel’s default (a DNAT to 127.0.0.1 from outside is then dropped), unless the rules show someone turns it on',
  'nft-ruleset': 'nftables rules outside iptables (if any) are not known',
};

/** `planned.assumptions` of a manifest written by `dockwall plan`, as snapshot assumptions. */
function plannedAssumptions(manifest: Readonly<Record<string, unknown>> | null): Assumption[] {
  const planned = manifest?.['planned'];
  if (typeof planned !== 'object' || planned === null) return [];
  const list = (planned as Record<string, unknown>)['assumptions'];
  if (!Array.isArray(list)) return [];
  return list.flatMap((t) =>
    typeof t === 'string' ? [{ role: 'manifest' as const, text: `planned: ${t}` }] : [],
  );
}

function assumptionText(
  role: SnapshotFileRole,
  status: SnapshotFile['status'],
): string | undefined {
  const text = ASSUMPTIONS[role];
  return text === undefined ? undefined : `${fileAbsence(role, status)}: ${text}`;
}

/** A dump that gave not one rule and only errors is not a firewall: nothing of it is analysed. */
function yieldsNothing(ruleset: Ruleset | NftRuleset, diagnostics: readonly Diagnostic[]): boolean {
  return (
    ruleset.tables.every((t) => t.chains.every((c) => c.rules.length === 0)) &&
    diagnostics.some((d) => d.severity === 'error')
  );
}

export async function readSnapshot(input: SnapshotInput): Promise<SnapshotRead> {
  const diagnostics: Diagnostic[] = [];
  const assumptions: Assumption[] = [];
  const files: SnapshotFile[] = [];
  const source = await resolveInput(input, diagnostics);
  const reads = new Map<SnapshotFileRole, Awaited<ReturnType<typeof readRole>>>();
  for (const role of ROLES) {
    reads.set(role, await readRole(role, source.directory, source.files[role], diagnostics));
  }

  /**
   * Runs a loader on a role's text and records the file's status. A result `usable` refuses is
   * recorded as invalid and treated as missing.
   */
  const use = <T>(
    role: SnapshotFileRole,
    load: (text: string, file: string) => { diagnostics: readonly Diagnostic[] } & T,
    usable: (result: T & { diagnostics: readonly Diagnostic[] }) => boolean = () => true,
  ): T | null => {
    const read = reads.get(role);
    const unused = (status: SnapshotFile['status']): null => {
      files.push({ role, path: read?.path ?? null, status });
      const text = assumptionText(role, status);
      if (text !== undefined) assumptions.push({ role, text });
      return null;
    };
    if (read === undefined || read.status !== 'read') return unused(read?.status ?? 'missing');
    const result = load(read.text, read.path);
    // A loop, not push(...): a garbage file gives millions, more than a call takes arguments.
    for (const d of result.diagnostics) diagnostics.push(d);
    if (!usable(result)) return unused('invalid');
    const broken = result.diagnostics.some((d) => d.code === 'invalid-json');
    files.push({ role, path: read.path, status: broken ? 'invalid' : 'read' });
    return result;
  };

  const versionResult = use('docker-version', loadDockerVersion);
  const dockerVersion = versionResult?.version ?? null;

  const ruleset = (role: 'iptables' | 'ip6tables', family: Family): Ruleset | null =>
    use(
      role,
      (text, file) => parseIptables(text, { file, family }),
      (r) => !yieldsNothing(r.ruleset, r.diagnostics),
    )?.ruleset ?? null;
  const ipv4 = ruleset('iptables', 'ipv4');
  const ipv6 = ruleset('ip6tables', 'ipv6');
  const nft =
    use(
      'nft-ruleset',
      parseNft,
      (r) => r.ruleset !== null && !yieldsNothing(r.ruleset, r.diagnostics),
    )?.ruleset ?? null;
  if (ipv4 === null && ipv6 === null && (nft === null || nft.tables.length === 0)) {
    const where = input.directory ?? Object.values(input.files ?? {})[0] ?? '.';
    const unusable = files.filter(
      (f) =>
        (f.role === 'iptables' || f.role === 'ip6tables' || f.role === 'nft-ruleset') &&
        f.status !== 'missing',
    );
    diagnostics.push(
      diagnostic(
        'no-ruleset',
        'error',
        unusable.length === 0
          ? 'no ruleset: a snapshot needs iptables-save.txt, ip6tables-save.txt or nft-ruleset.json (or --iptables / --ip6tables / --nft)'
          : `no ruleset could be used: ${unusable
              .map(
                (f) =>
                  `${f.path ?? f.role} ${f.status === 'invalid' ? 'gave no rule, only errors' : 'could not be read'}`,
              )
              .join('; ')}`,
        fileLocation(where),
        'collect one with `iptables-save > iptables-save.txt` or `nft -j list ruleset > nft-ruleset.json` (as root)',
      ),
    );
  }

  const daemon = use('daemon', loadDaemonFile)?.daemon ?? null;

  const networks: readonly Network[] = use('networks', loadNetworks)?.networks ?? [];
  const containers =
    use('containers', (text, file) => loadContainers(text, file, networks))?.containers ?? [];
  const listeners: readonly Listener[] = use('listeners', loadListeners)?.listeners ?? [];
  const interfaces: readonly HostInterface[] = use('ip-addr', loadIpAddr)?.interfaces ?? [];
  const routes: readonly Route[] = use('ip-route', loadIpRoute)?.routes ?? [];
  const policyRules = (role: 'ip-rule' | 'ip6-rule', family: Family) =>
    use(role, (text, file) => loadIpRule(text, file, family))?.rules;
  const ipv4Rules = policyRules('ip-rule', 'ipv4');
  const ipv6Rules = policyRules('ip6-rule', 'ipv6');
  const sysctls: Sysctls = use('sysctl', loadSysctl)?.sysctls ?? UNKNOWN_SYSCTLS;
  const manifestResult = use('manifest', (text, file) => {
    const parsed = parseJson(text, file);
    const value = parsed.value;
    return {
      diagnostics: parsed.diagnostics,
      manifest:
        value !== null && value.kind === 'object'
          ? (toPlain(value) as Readonly<Record<string, unknown>>)
          : null,
    };
  });
  const manifest = manifestResult?.manifest ?? null;
  if (manifest !== null && source.directory !== null) {
    for (const d of staleFiles(manifest, files, source.directory)) diagnostics.push(d);
  }

  // A snapshot written by `dockwall plan` states what the plan chose or guessed; every report
  // says it like any other assumption.
  assumptions.push(...plannedAssumptions(manifestResult?.manifest ?? null));

  return {
    directory: input.directory ?? null,
    files,
    ipv4,
    ipv6,
    nft,
    host: {
      dockerVersion,
      daemon,
      containers,
      networks,
      listeners,
      interfaces,
      routes,
      ...(ipv4Rules === undefined && ipv6Rules === undefined
        ? {}
        : {
            policyRules: {
              ...(ipv4Rules === undefined ? {} : { ipv4: ipv4Rules }),
              ...(ipv6Rules === undefined ? {} : { ipv6: ipv6Rules }),
            },
          }),
      sysctls,
    },
    manifest,
    diagnostics,
    assumptions,
  };
}

/**
 * Files the collector's manifest lists as not collected that are in the directory all the same:
 * left from an earlier run (or added by hand). They are read, with a warning that they may be
 * stale — a containers.json from last week is the kind of input that gives confident wrong
 * answers.
 */
function staleFiles(
  manifest: Readonly<Record<string, unknown>>,
  files: readonly SnapshotFile[],
  directory: string,
): Diagnostic[] {
  const missing = Array.isArray(manifest['missing']) ? (manifest['missing'] as unknown[]) : [];
  const out: Diagnostic[] = [];
  for (const entry of missing) {
    const name = (entry as { file?: unknown } | null)?.file;
    if (typeof name !== 'string') continue;
    const file = files.find(
      (f) =>
        f.status !== 'missing' && f.path === path.join(directory, name) && f.role !== 'manifest',
    );
    if (file === undefined || file.path === null) continue;
    out.push(
      diagnostic(
        'manifest-mismatch',
        'warning',
        `manifest.json says ${name} was not collected, yet it is here: it may be left from an earlier run, and what it says may be stale`,
        fileLocation(file.path),
        'collect again into an empty directory, or delete the file if it is stale',
      ),
    );
  }
  return out;
}
