/**
 * Reads a snapshot directory (or single files) into the `Snapshot` model. Every file is optional
 * except one ruleset; each missing file is stated together with the assumption made for it.
 * Never throws: unreadable and malformed files become diagnostics and the rest is still read.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkDaemonAgainstHost } from '../docker/daemon-evidence.ts';
import { detectEra } from '../docker/era.ts';
import type { DockerVersion } from '../docker/version.ts';
import { daemonDefaults, parseDockerVersion } from '../docker/version.ts';
import type { Diagnostic } from '../model/diagnostic.ts';
import { compareDiagnostics, diagnostic, fileLocation } from '../model/diagnostic.ts';
import type {
  DaemonConfig,
  DockerHost,
  HostInterface,
  Listener,
  Network,
  Route,
  Sysctls,
} from '../model/host.ts';
import type { Family, Ruleset } from '../model/ruleset.ts';
import type { Assumption, Snapshot, SnapshotFile, SnapshotFileRole } from '../model/snapshot.ts';
import { loadContainers } from './containers.ts';
import { defaultDaemonConfig, loadDaemonConfig } from './daemon.ts';
import { loadDockerVersion } from './docker-version.ts';
import { loadIpAddr, loadIpRoute } from './ip.ts';
import { parseIptables } from './iptables/index.ts';
import { parseJson, toPlain } from './json.ts';
import { loadListeners } from './listeners.ts';
import { loadNetworks } from './networks.ts';
import type { NftSummary } from './nft.ts';
import { loadNftRuleset } from './nft.ts';
import { loadSysctl, UNKNOWN_SYSCTLS } from './sysctl.ts';

export interface SnapshotInput {
  readonly directory?: string;
  readonly files?: Partial<Record<SnapshotFileRole, string>>;
}

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
  sysctl: ['sysctl.txt'],
  manifest: ['manifest.json'],
};

const ROLES = Object.keys(SNAPSHOT_FILE_NAMES) as SnapshotFileRole[];

type Read =
  | { readonly status: 'read'; readonly path: string; readonly text: string }
  | { readonly status: 'missing' | 'unreadable'; readonly path: string | null };

async function readRole(
  role: SnapshotFileRole,
  input: SnapshotInput,
  diagnostics: Diagnostic[],
): Promise<Read> {
  const explicit = input.files?.[role];
  const candidates =
    explicit !== undefined
      ? [explicit]
      : input.directory !== undefined
        ? SNAPSHOT_FILE_NAMES[role].map((name) => path.join(input.directory ?? '', name))
        : [];
  for (const candidate of candidates) {
    try {
      return { status: 'read', path: candidate, text: await readFile(candidate, 'utf8') };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && explicit === undefined) continue;
      const reason =
        code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`;
      diagnostics.push(
        diagnostic(
          code === 'ENOENT' ? 'file-not-found' : 'file-unreadable',
          'error',
          `${candidate} ${reason}`,
          fileLocation(candidate),
        ),
      );
      return { status: code === 'ENOENT' ? 'missing' : 'unreadable', path: candidate };
    }
  }
  return { status: 'missing', path: null };
}

const ASSUMPTIONS: Partial<Record<SnapshotFileRole, string>> = {
  iptables: 'no iptables-save.txt: IPv4 rules are not analysed',
  ip6tables: 'no ip6tables-save.txt: IPv6 rules are not analysed; IPv6 exposure is unknown',
  containers:
    'no containers.json: published ports and network modes are unknown; rules are analysed without container context and rule drift is not checked',
  networks:
    'no networks.json: only the default bridge (docker0) is known; user networks’ bridges and options are unknown',
  listeners: 'no listeners.txt: host listeners are unknown; only published ports are considered',
  'ip-addr':
    'no ip-addr.json: host addresses taken from bridge gateways and DNAT rules; interfaces taken to be lo, the Docker bridges and an assumed external interface eth0',
  'ip-route':
    'no ip-route.json: container subnets are routed to their bridges and everything else to the external interface (the first up interface with a global address in ip-addr.json, else eth0)',
  sysctl:
    'no sysctl.txt: IP forwarding assumed on (Docker turns it on); br_netfilter state unknown',
  'nft-ruleset': 'no nft-ruleset.json: nftables rules outside iptables (if any) are not known',
};

/** The engine version the daemon defaults are taken for when docker-version.json is missing. */
function versionForEra(era: string): DockerVersion | null {
  if (era === 'v28') return parseDockerVersion('28.0.0');
  if (era === 'v29' || era === 'nftables') return parseDockerVersion('29.0.0');
  if (era === 'classic') return parseDockerVersion('27.0.0');
  return null;
}

export async function loadSnapshot(input: SnapshotInput): Promise<Snapshot> {
  const diagnostics: Diagnostic[] = [];
  const assumptions: Assumption[] = [];
  const files: SnapshotFile[] = [];
  const reads = new Map<SnapshotFileRole, Read>();
  for (const role of ROLES) reads.set(role, await readRole(role, input, diagnostics));

  /** Runs a loader on a role's text and records the file's status. */
  const use = <T>(
    role: SnapshotFileRole,
    load: (text: string, file: string) => { diagnostics: readonly Diagnostic[] } & T,
  ): T | null => {
    const read = reads.get(role);
    if (read === undefined || read.status !== 'read') {
      files.push({ role, path: read?.path ?? null, status: read?.status ?? 'missing' });
      const text = ASSUMPTIONS[role];
      if (text !== undefined) assumptions.push({ role, text });
      return null;
    }
    const result = load(read.text, read.path);
    diagnostics.push(...result.diagnostics);
    const broken = result.diagnostics.some((d) => d.code === 'invalid-json');
    files.push({ role, path: read.path, status: broken ? 'invalid' : 'read' });
    return result;
  };

  const versionResult = use('docker-version', loadDockerVersion);
  const dockerVersion = versionResult?.version ?? null;

  const ruleset = (role: 'iptables' | 'ip6tables', family: Family): Ruleset | null =>
    use(role, (text, file) => parseIptables(text, { file, family }))?.ruleset ?? null;
  const ipv4 = ruleset('iptables', 'ipv4');
  const ipv6 = ruleset('ip6tables', 'ipv6');
  if (ipv4 === null && ipv6 === null) {
    const where = input.directory ?? Object.values(input.files ?? {})[0] ?? '.';
    diagnostics.push(
      diagnostic(
        'no-ruleset',
        'error',
        'no ruleset: a snapshot needs iptables-save.txt or ip6tables-save.txt (or --iptables / --ip6tables)',
        fileLocation(where),
        'collect one with `iptables-save > iptables-save.txt` (as root)',
      ),
    );
  }

  const nft: { summary: NftSummary | null } | null = use('nft-ruleset', loadNftRuleset);
  const era = detectEra({
    ipv4,
    ipv6,
    nftTables: nft?.summary?.tables ?? null,
    nftFile: nft?.summary?.file ?? null,
    dockerVersion,
  });
  if (dockerVersion === null) {
    const assumed = versionForEra(era.era);
    // The file may exist without a server version (collected while the daemon was down).
    const what =
      versionResult === null
        ? 'no docker-version.json'
        : 'docker-version.json has no engine version';
    assumptions.push({
      role: 'docker-version',
      text:
        assumed === null
          ? `${what}: engine version unknown; the newest Docker defaults are assumed`
          : `${what}: engine version inferred from the ${era.era} rule layout; defaults of Docker ${assumed.major}.x assumed`,
    });
  }
  const version =
    dockerVersion !== null ? parseDockerVersion(dockerVersion) : versionForEra(era.era);

  const daemonResult = use('daemon', (text, file) => loadDaemonConfig(text, file, version));
  const daemon: DaemonConfig = daemonResult?.config ?? defaultDaemonConfig(version);
  if (daemonResult === null) {
    const d = daemonDefaults(version);
    assumptions.push({
      role: 'daemon',
      text: `no daemon.json: Docker’s defaults assumed (iptables on, ip6tables ${d.ip6tables ? 'on' : 'off'}, userland-proxy on, icc on, ip ${d.ip})`,
    });
  }

  const networks: readonly Network[] = use('networks', loadNetworks)?.networks ?? [];
  const containers =
    use('containers', (text, file) => loadContainers(text, file, networks))?.containers ?? [];
  diagnostics.push(
    ...checkDaemonAgainstHost(
      daemon,
      networks,
      ipv4,
      ipv6,
      networks.length > 0 || containers.length > 0,
    ),
  );
  const listeners: readonly Listener[] = use('listeners', loadListeners)?.listeners ?? [];
  const interfaces: readonly HostInterface[] = use('ip-addr', loadIpAddr)?.interfaces ?? [];
  const routes: readonly Route[] = use('ip-route', loadIpRoute)?.routes ?? [];
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

  const host: DockerHost = {
    dockerVersion,
    daemon,
    containers,
    networks,
    listeners,
    interfaces,
    routes,
    sysctls,
  };
  return {
    directory: input.directory ?? null,
    files,
    ipv4,
    ipv6,
    host,
    era,
    diagnostics: diagnostics.sort(compareDiagnostics),
    assumptions,
    manifest: manifestResult?.manifest ?? null,
  };
}
