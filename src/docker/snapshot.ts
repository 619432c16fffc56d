/**
 * A snapshot as read (src/ingest/snapshot.ts) interpreted with Docker's knowledge: the rule
 * layout era, the engine version (inferred from the era when docker-version.json does not name
 * it), the daemon configuration in effect (daemon.json over the version's defaults) and what
 * contradicts it, and what had to be assumed for each of them.
 */
import type { Diagnostic } from '../model/diagnostic.ts';
import { compareDiagnostics } from '../model/diagnostic.ts';
import type { DockerHost } from '../model/host.ts';
import type { Assumption, Snapshot, SnapshotRead } from '../model/snapshot.ts';
import { fileAbsence, inFileOrder } from '../model/snapshot.ts';
import { daemonConfigOf, daemonConfigProblems } from './daemon-config.ts';
import { checkDaemonAgainstHost } from './daemon-evidence.ts';
import { detectEra, versionForEra } from './era.ts';
import { daemonDefaults, parseDockerVersion } from './version.ts';

export function interpretSnapshot(read: SnapshotRead): Snapshot {
  const diagnostics: Diagnostic[] = [];
  // A loop, not push(...): a garbage file gives millions, more than a call takes arguments.
  for (const d of read.diagnostics) diagnostics.push(d);
  const assumptions: Assumption[] = [...read.assumptions];
  const statusOf = (role: 'docker-version' | 'daemon') =>
    read.files.find((f) => f.role === role)?.status;

  const era = detectEra({
    ipv4: read.ipv4,
    ipv6: read.ipv6,
    nftTables:
      read.nft?.tables.map((t) => ({
        family: t.nft?.family ?? '',
        name: t.name,
        line: t.location.line,
      })) ?? null,
    nftFile: read.nft?.file ?? null,
    dockerVersion: read.host.dockerVersion,
  });

  const inferred = versionForEra(era.era);
  if (read.host.dockerVersion === null) {
    // The file may be there without a server version (collected while the daemon was down).
    const status = statusOf('docker-version');
    const what =
      status === 'read' || status === 'invalid'
        ? 'docker-version.json has no engine version'
        : fileAbsence('docker-version', status);
    assumptions.push({
      role: 'docker-version',
      text:
        inferred === null
          ? `${what}: engine version unknown; the newest Docker defaults are assumed`
          : `${what}: engine version inferred from the ${era.era} rule layout; defaults of Docker ${inferred.major}.x assumed`,
    });
  }
  const version =
    read.host.dockerVersion !== null ? parseDockerVersion(read.host.dockerVersion) : inferred;

  const daemon = daemonConfigOf(version, read.host.daemon);
  for (const d of daemonConfigProblems(daemon, version)) diagnostics.push(d);
  if (read.host.daemon === null) {
    const d = daemonDefaults(version);
    assumptions.push({
      role: 'daemon',
      text: `${fileAbsence('daemon', statusOf('daemon'))}: Docker’s defaults assumed (iptables on, ip6tables ${d.ip6tables ? 'on' : 'off'}, userland-proxy on, icc on, ip ${d.ip})`,
    });
  }
  for (const d of checkDaemonAgainstHost(
    daemon,
    read.host.networks,
    read.ipv4,
    read.ipv6,
    read.host.networks.length > 0 || read.host.containers.length > 0,
    read.nft,
  )) {
    diagnostics.push(d);
  }

  const host: DockerHost = { ...read.host, daemon };
  return {
    directory: read.directory,
    files: read.files,
    ipv4: read.ipv4,
    ipv6: read.ipv6,
    nft: read.nft,
    host,
    era,
    diagnostics: diagnostics.sort(compareDiagnostics),
    assumptions: inFileOrder(assumptions),
    manifest: read.manifest,
  };
}
