/**
 * `dockwall collect [--out DIR] [--force] [--keep-env]`: writes a snapshot directory on a Docker
 * host (run as root). The same files as scripts/collect.sh. Only read-only commands run; a
 * missing tool, permission or daemon is recorded in manifest.json and the collection goes on.
 * Nothing is sent anywhere.
 *
 * It runs as root where others may have prepared the ground: it writes only into a new or empty
 * directory of its own (mode 0700; `--force` replaces a previous snapshot in it), creates each
 * file exclusively without following links (mode 0600), and drops containers' environment
 * variables (passwords live there) unless `--keep-env`.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PER_INTERFACE_SWITCHES } from '../../ingest/sysctl.ts';
import { SNAPSHOT_FILE_NAMES } from '../../model/snapshot.ts';
import { safeText } from '../../model/safe-text.ts';
import type { Command, CommandIo } from '../command.ts';
import { parseCommandArgs, UsageError } from '../command.ts';
import { ioErrorMessage } from '../io-error.ts';
import { VERSION } from '../../version.ts';

const USAGE = `Usage: dockwall collect [--out DIR] [--force] [--keep-env]

Collects a host snapshot for \`dockwall audit DIR\` (run as root on the Docker host):
iptables-save.txt, ip6tables-save.txt, daemon.json, containers.json, networks.json,
docker-version.json, ip-addr.json, ip-route.json, ip-rule.json, ip6-rule.json, listeners.txt,
sysctl.txt, nft-ruleset.json and manifest.json (host, time, and what was missing and why). Only read-only commands run;
nothing is changed on the host and nothing is sent anywhere. Hosts without Node can run the
same collection with scripts/collect.sh.

The directory is created with mode 0700 and each file with mode 0600; files are created
exclusively and never through a symbolic link. Containers' environment variables
(Config.Env in docker inspect, where passwords usually are) are left out unless --keep-env.

Options:
  --out DIR    output directory (default ./dockwall-snapshot-<host>-<UTC time>); it must be
               new or empty
  --force      collect into a directory that holds an earlier snapshot: its snapshot files
               are removed first (nothing else is touched)
  --keep-env   keep containers' environment variables in containers.json

Exit codes: 0 snapshot written, 2 nothing written (the directory was refused) or no ruleset
could be read (not root?); what is missing and why is in manifest.json and on stderr.`;

interface Missing {
  readonly file: string;
  readonly command: string;
  readonly reason: string;
}

interface RunResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly reason: string;
}

/**
 * iptables-nft-save's warning, on stderr, that iptables-legacy tables hold rules it does not
 * print: kept in the dump (a comment line), where reading it says what the dump lacks.
 */
const LEGACY_WARNING =
  /^# Warning: ip6?tables-legacy tables present, use ip6?tables-legacy-save to see them$/m;

/** Runs a read-only command; never throws. */
function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env, timeout: 60_000, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ ok: true, stdout, stderr, reason: '' });
          return;
        }
        const code = (error as NodeJS.ErrnoException).code;
        const reason =
          code === 'ENOENT'
            ? `${command} is not installed`
            : `exit status ${String(error.code ?? 'unknown')}: ${stderr.trim().slice(0, 300) || error.message}`;
        resolve({ ok: false, stdout, stderr, reason });
      },
    );
  });
}

export const SYSCTL_KEYS: readonly string[] = [
  'net.ipv4.ip_forward',
  'net.ipv6.conf.all.forwarding',
  'net.bridge.bridge-nf-call-iptables',
  'net.bridge.bridge-nf-call-ip6tables',
  'net.ipv4.conf.all.route_localnet',
  'net.ipv4.conf.all.rp_filter',
  'net.ipv4.conf.all.accept_local',
];

/**
 * `route_localnet`, `rp_filter`, `forwarding` and `accept_local` of each interface (`all` is one
 * of SYSCTL_KEYS; `default` decides nothing), as sysctl writes the keys: a dot in an interface
 * name becomes `/`. Whether a DNAT to 127.0.0.1 from outside is delivered depends on the first,
 * which sources routing takes from each interface on the second, whether IPv4 forwards what
 * arrives on it on the third, whether a source of the host's own is routed on the fourth; an
 * interface that vanished meanwhile is left out.
 */
async function perInterfaceLines(procSys: string): Promise<string[]> {
  const conf = path.join(procSys, 'net', 'ipv4', 'conf');
  let names: string[];
  try {
    names = await readdir(conf);
  } catch {
    return [];
  }
  const lines: string[] = [];
  for (const name of names.sort()) {
    if (name === 'all' || name === 'default') continue;
    for (const which of PER_INTERFACE_SWITCHES) {
      try {
        const value = (await readFile(path.join(conf, name, which), 'utf8')).trim();
        lines.push(`net.ipv4.conf.${name.replaceAll('.', '/')}.${which} = ${value}`);
      } catch {
        // gone between the listing and the read
      }
    }
  }
  return lines;
}

/** Merges `ip -j -4 …` and `ip -j -6 …` arrays into one array text. */
function mergeJsonArrays(a: string, b: string): string {
  const parse = (t: string): unknown[] => {
    try {
      const v: unknown = JSON.parse(t === '' ? '[]' : t);
      return Array.isArray(v) ? v : [];
    } catch {
      return [];
    }
  };
  return `${JSON.stringify([...parse(a), ...parse(b)])}\n`;
}

export interface CollectOptions {
  readonly out: string;
  readonly env: NodeJS.ProcessEnv;
  /** Where daemon.json lives (tests point it elsewhere). */
  readonly daemonJson?: string;
  /** Root of /proc/sys. */
  readonly procSys?: string;
  /** Replace an earlier snapshot in `out` (its snapshot files are removed first). */
  readonly force?: boolean;
  /** Keep containers' environment variables (Config.Env) in containers.json. */
  readonly keepEnv?: boolean;
}

/** The output directory was refused; nothing was written. */
export class CollectRefused extends Error {
  override readonly name = 'CollectRefused';
}

/** Every name a snapshot directory may hold, and the collector's own scratch file. */
const SNAPSHOT_NAMES = new Set([...Object.values(SNAPSHOT_FILE_NAMES).flat(), '.collect-stderr']);

/**
 * Makes `out` a directory of ours with mode 0700 holding no file: created when missing; an
 * existing one must be a real directory (not a link) owned by us, and empty — or, with `force`,
 * hold only snapshot files, which are removed (unlink removes a planted link, not its target).
 */
async function prepareDirectory(out: string, force: boolean): Promise<void> {
  let stats;
  try {
    stats = await lstat(out);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(out, { recursive: true, mode: 0o700 });
    await chmod(out, 0o700);
    return;
  }
  const shown = safeText(out);
  if (stats.isSymbolicLink()) {
    throw new CollectRefused(`${shown} is a symbolic link; give a new directory`);
  }
  if (!stats.isDirectory()) throw new CollectRefused(`${shown} exists and is not a directory`);
  if (stats.uid !== (process.getuid?.() ?? stats.uid)) {
    throw new CollectRefused(`${shown} belongs to another user; give a new directory`);
  }
  const entries = await readdir(out);
  if (entries.length > 0 && !force) {
    throw new CollectRefused(
      `${shown} is not empty; give a new directory, or --force to replace the snapshot in it`,
    );
  }
  const foreign = entries.filter((name) => !SNAPSHOT_NAMES.has(name));
  if (foreign.length > 0) {
    throw new CollectRefused(
      `${shown} holds files that are not part of a snapshot (${safeText(foreign.slice(0, 5).join(', '))}${foreign.length > 5 ? ', …' : ''}); give a new directory`,
    );
  }
  for (const name of entries) await unlink(path.join(out, name));
  await chmod(out, 0o700);
}

/**
 * `docker inspect` output without the containers' environment variables. Null when the text is
 * not the JSON array docker writes (then it is not kept either: it may hold them).
 */
export function withoutEnvironment(text: string): string | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(data)) return null;
  for (const container of data as unknown[]) {
    const config = (container as { Config?: unknown } | null)?.Config;
    if (typeof config === 'object' && config !== null && 'Env' in config) {
      delete (config as { Env?: unknown }).Env;
    }
  }
  return `${JSON.stringify(data, null, 4)}\n`;
}

/** Collects into `out`; returns the manifest written. Throws CollectRefused before writing. */
export async function collect(options: CollectOptions): Promise<Record<string, unknown>> {
  const { out, env } = options;
  await prepareDirectory(out, options.force === true);
  const files: string[] = [];
  const missing: Missing[] = [];
  /** Exclusive, no-follow, 0600: nothing already there (or planted meanwhile) is written through. */
  const create = async (file: string, text: string): Promise<void> => {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const handle = await open(path.join(out, file), flags, 0o600);
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
  };
  const write = async (file: string, text: string): Promise<void> => {
    await create(file, text);
    files.push(file);
  };
  const capture = async (
    file: string,
    command: string,
    args: readonly string[],
  ): Promise<boolean> => {
    const r = await run(command, args, env);
    const warning = LEGACY_WARNING.exec(r.stderr)?.[0];
    if (r.ok) await write(file, warning === undefined ? r.stdout : `${r.stdout}${warning}\n`);
    else missing.push({ file, command: [command, ...args].join(' '), reason: r.reason });
    return r.ok;
  };

  await capture('iptables-save.txt', 'iptables-save', []);
  await capture('ip6tables-save.txt', 'ip6tables-save', []);

  const daemonJson = options.daemonJson ?? '/etc/docker/daemon.json';
  try {
    await write('daemon.json', await readFile(daemonJson, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    missing.push({
      file: 'daemon.json',
      command: `cat ${daemonJson}`,
      reason:
        code === 'ENOENT'
          ? `no ${daemonJson}: dockerd runs with its defaults`
          : `not readable (${code ?? 'error'}; run as root)`,
    });
  }

  const version = await run('docker', ['version', '--format', '{{json .}}'], env);
  const info = version.ok
    ? await run('docker', ['info', '--format', '{{json .ID}}'], env)
    : version;
  // The client prints its own part even when the daemon is down: keep it.
  if (version.stdout.trim().startsWith('{')) await write('docker-version.json', version.stdout);
  if (version.ok && info.ok) {
    const ids = await run('docker', ['ps', '-aq'], env);
    const idList = ids.stdout.split(/\s+/).filter((x) => x !== '');
    if (!ids.ok)
      missing.push({ file: 'containers.json', command: 'docker ps -aq', reason: ids.reason });
    else if (idList.length === 0) await write('containers.json', '[]\n');
    else {
      const inspect = await run('docker', ['inspect', ...idList], env);
      const kept =
        inspect.ok && options.keepEnv !== true ? withoutEnvironment(inspect.stdout) : null;
      if (!inspect.ok) {
        missing.push({
          file: 'containers.json',
          command: `docker inspect ${idList.join(' ')}`,
          reason: inspect.reason,
        });
      } else if (options.keepEnv === true) await write('containers.json', inspect.stdout);
      else if (kept !== null) await write('containers.json', kept);
      else {
        missing.push({
          file: 'containers.json',
          command: 'docker inspect',
          reason:
            'its output is not the JSON array docker writes, so its environment variables could not be removed',
        });
      }
    }
    const nets = await run('docker', ['network', 'ls', '-q'], env);
    const netList = nets.stdout.split(/\s+/).filter((x) => x !== '');
    if (!nets.ok)
      missing.push({ file: 'networks.json', command: 'docker network ls -q', reason: nets.reason });
    else if (netList.length > 0)
      await capture('networks.json', 'docker', ['network', 'inspect', ...netList]);
  } else {
    const reason = version.reason.includes('not installed')
      ? 'docker CLI is not installed'
      : `the Docker daemon is not reachable: ${(version.ok ? info : version).reason}`;
    for (const file of ['containers.json', 'networks.json'])
      missing.push({ file, command: 'docker', reason });
    if (!files.includes('docker-version.json')) {
      missing.push({ file: 'docker-version.json', command: 'docker version', reason });
    }
  }

  await capture('ip-addr.json', 'ip', ['-j', 'addr', 'show']);
  const v4 = await run('ip', ['-j', '-4', 'route', 'show', 'table', 'all'], env);
  if (v4.ok) {
    const v6 = await run('ip', ['-j', '-6', 'route', 'show', 'table', 'all'], env);
    await write('ip-route.json', mergeJsonArrays(v4.stdout.trim(), v6.ok ? v6.stdout.trim() : ''));
  } else {
    missing.push({
      file: 'ip-route.json',
      command: 'ip -j route show table all',
      reason: v4.reason,
    });
  }

  // policy routing rules, one file per family: a rule before the main table routes otherwise
  await capture('ip-rule.json', 'ip', ['-j', '-4', 'rule', 'show']);
  await capture('ip6-rule.json', 'ip', ['-j', '-6', 'rule', 'show']);

  await capture('listeners.txt', 'ss', ['-Htlnup']);

  const procSys = options.procSys ?? '/proc/sys';
  const sysctl: string[] = [];
  for (const key of SYSCTL_KEYS) {
    const file = path.join(procSys, ...key.split('.'));
    try {
      sysctl.push(`${key} = ${(await readFile(file, 'utf8')).trim()}`);
    } catch {
      missing.push({
        file: `sysctl.txt:${key}`,
        command: `cat ${file}`,
        reason: 'not present (for net.bridge.*: br_netfilter not loaded)',
      });
    }
  }
  sysctl.push(...(await perInterfaceLines(procSys)));
  await write('sysctl.txt', sysctl.map((l) => `${l}\n`).join(''));

  await capture('nft-ruleset.json', 'nft', ['-j', 'list', 'ruleset']);

  const manifest = {
    collector: 'dockwall collect',
    dockwallVersion: VERSION,
    host: os.hostname(),
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    uid: process.getuid?.() ?? null,
    kernel: os.release(),
    containerEnvironment: options.keepEnv === true ? 'kept' : 'dropped',
    files,
    missing,
  };
  await create('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** The ruleset files; a snapshot without any of them cannot be audited. */
const RULESET_FILES = ['iptables-save.txt', 'ip6tables-save.txt', 'nft-ruleset.json'];

function defaultOut(): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `dockwall-snapshot-${os.hostname()}-${stamp}`;
}

export const collectCommand: Command = {
  name: 'collect',
  summary: 'Collect a host snapshot (rules, daemon.json, containers, addresses) into a directory',
  usage: USAGE,
  async run(argv: readonly string[], io: CommandIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(argv, {
      out: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      'keep-env': { type: 'boolean' },
    });
    if (positionals.length > 0)
      throw new UsageError(`unexpected argument: ${positionals.join(' ')}`);
    const out = path.resolve(io.cwd, values.out ?? defaultOut());
    let manifest: Record<string, unknown>;
    try {
      manifest = await collect({
        out,
        env: { ...process.env, ...io.env },
        force: values.force === true,
        keepEnv: values['keep-env'] === true,
      });
    } catch (error) {
      if (error instanceof CollectRefused) {
        io.stderr.write(`dockwall collect: ${error.message}\n`);
        return 2;
      }
      const file = (error as NodeJS.ErrnoException).path ?? out;
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        io.stderr.write(
          `dockwall collect: ${safeText(file)} appeared while collecting; stopped without writing through it\n`,
        );
        return 2;
      }
      if ((error as NodeJS.ErrnoException).code !== undefined) {
        io.stderr.write(`dockwall collect: ${ioErrorMessage('write', file, error)}\n`);
        return 2;
      }
      throw error;
    }
    const files = manifest['files'] as readonly string[];
    const missing = manifest['missing'] as readonly Missing[];
    const notRoot = typeof process.getuid === 'function' && process.getuid() !== 0;
    if (!RULESET_FILES.some((f) => files.includes(f))) {
      const why = missing
        .filter((m) => RULESET_FILES.includes(m.file))
        .map((m) => `${m.file}: ${m.reason}`);
      io.stderr.write(
        `dockwall collect: no ruleset could be read${notRoot ? ' (not running as root)' : ''}; the snapshot in ${safeText(out)} cannot be audited\n`,
      );
      for (const line of why) io.stderr.write(`  ${safeText(line)}\n`);
      return 2;
    }
    io.stderr.write(`dockwall snapshot written to ${safeText(out)}\n`);
    for (const m of missing) io.stderr.write(`  missing ${safeText(`${m.file}: ${m.reason}`)}\n`);
    if (values['keep-env'] !== true) {
      io.stderr.write("  containers' environment variables left out (--keep-env keeps them)\n");
    }
    if (notRoot) {
      io.stderr.write('  note: not running as root; rules and process names may be incomplete\n');
    }
    return 0;
  },
};
