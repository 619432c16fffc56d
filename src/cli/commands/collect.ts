/**
 * `dockwall collect [--out DIR]`: writes a snapshot directory on a Docker host (run as root).
 * The same files as scripts/collect.sh. Only read-only commands run; a missing tool, permission
 * or daemon is recorded in manifest.json and the collection goes on. Nothing is sent anywhere.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command, CommandIo } from '../command.ts';
import { parseCommandArgs, UsageError } from '../command.ts';
import { VERSION } from '../../version.ts';

const USAGE = `Usage: dockwall collect [--out DIR]

Collects a host snapshot for \`dockwall audit DIR\` (run as root on the Docker host):
iptables-save.txt, ip6tables-save.txt, daemon.json, containers.json, networks.json,
docker-version.json, ip-addr.json, ip-route.json, listeners.txt, sysctl.txt, nft-ruleset.json
and manifest.json (host, time, and what was missing and why). Only read-only commands run;
nothing is changed on the host and nothing is sent anywhere. Hosts without Node can run the
same collection with scripts/collect.sh.

Options:
  --out DIR   output directory (default ./dockwall-snapshot-<host>-<UTC time>)`;

interface Missing {
  readonly file: string;
  readonly command: string;
  readonly reason: string;
}

interface RunResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly reason: string;
}

/** Runs a read-only command; never throws. */
function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env, timeout: 60_000, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ ok: true, stdout, reason: '' });
          return;
        }
        const code = (error as NodeJS.ErrnoException).code;
        const reason =
          code === 'ENOENT'
            ? `${command} is not installed`
            : `exit status ${String(error.code ?? 'unknown')}: ${stderr.trim().slice(0, 300) || error.message}`;
        resolve({ ok: false, stdout, reason });
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
];

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
}

/** Collects into `out`; returns the manifest written. */
export async function collect(options: CollectOptions): Promise<Record<string, unknown>> {
  const { out, env } = options;
  await mkdir(out, { recursive: true });
  const files: string[] = [];
  const missing: Missing[] = [];
  const write = async (file: string, text: string): Promise<void> => {
    await writeFile(path.join(out, file), text);
    files.push(file);
  };
  const capture = async (
    file: string,
    command: string,
    args: readonly string[],
  ): Promise<boolean> => {
    const r = await run(command, args, env);
    if (r.ok) await write(file, r.stdout);
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
    else await capture('containers.json', 'docker', ['inspect', ...idList]);
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
  await write('sysctl.txt', sysctl.map((l) => `${l}\n`).join(''));

  await capture('nft-ruleset.json', 'nft', ['-j', 'list', 'ruleset']);

  const manifest = {
    collector: 'dockwall collect',
    dockwallVersion: VERSION,
    host: os.hostname(),
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    uid: process.getuid?.() ?? null,
    kernel: os.release(),
    files,
    missing,
  };
  await writeFile(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

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
    });
    if (positionals.length > 0)
      throw new UsageError(`unexpected argument: ${positionals.join(' ')}`);
    const out = path.resolve(io.cwd, values.out ?? defaultOut());
    const manifest = await collect({
      out,
      env: { ...process.env, ...io.env },
    });
    const missing = manifest['missing'] as readonly Missing[];
    io.stderr.write(`dockwall snapshot written to ${out}\n`);
    for (const m of missing) io.stderr.write(`  missing ${m.file}: ${m.reason}\n`);
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      io.stderr.write('  note: not running as root; rules and process names may be incomplete\n');
    }
    return 0;
  },
};
