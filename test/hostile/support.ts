/** Shared by the hostile-input tests: what a raw control character is, and the built CLI. */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/temp-dir.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const built = existsSync(path.join(repoRoot, 'dist/src/cli/main.js'));
export const node = path.join(repoRoot, 'node_modules/.bin/node');

/**
 * A character a terminal or a reader could be fooled by: C0 controls other than tab and line
 * feed (those are layout in our own output), DEL, C1, bidi controls, separators, BOM.
 */
export const RAW_CONTROL =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/u;

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time in milliseconds. */
  readonly ms: number;
  /** Peak resident memory of the child in KiB (from /proc, sampled), 0 when unknown. */
  readonly peakKib: number;
}

/** Runs the built CLI with a time limit, sampling its peak memory. */
export function dockwall(
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(node, [path.join(repoRoot, 'bin/dockwall.js'), ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let peakKib = 0;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const sample = setInterval(() => {
      try {
        peakKib = Math.max(peakKib, peakResidentKib(child.pid));
      } catch {
        // the process is gone
      }
    }, 20);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearInterval(sample);
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started, peakKib });
    });
  });
}

/** VmHWM (peak resident set) of a live process, in KiB. */
function peakResidentKib(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(text)?.[1] ?? 0);
}

/** Escape sequences a dump could carry: title change, clear screen, bold red, C1 CSI, bidi. */
export const INJECT = {
  title: '\u001b]0;PWNED\u0007',
  clear: '\u001b[2J',
  fake: '\u001b[1;31mFAKE: all good\u001b[0m',
  c1: '\u009b31m',
  bidi: '\u202e',
};
const ALL = `${INJECT.title}${INJECT.clear}${INJECT.fake}`;

/**
 * The example host with escape sequences everywhere input reaches output: a rule comment, an
 * unknown option (echoed by a parse error), a user chain's name, an interface, container and
 * process names, a daemon.json key, and the snapshot directory's own name. It is in a temporary
 * directory, removed as `tempDir` says.
 */
export function hostileSnapshot(): string {
  const base = tempDir('dockwall-hostile-');
  const dir = path.join(base, `snap${INJECT.clear}${INJECT.bidi}`);
  cpSync(path.join(repoRoot, 'fixtures/example-host'), dir, { recursive: true });
  const edit = (file: string, change: (text: string) => string): void => {
    const p = path.join(dir, file);
    writeFileSync(p, change(readFileSync(p, 'utf8')));
  };
  const chain = `EVIL${INJECT.clear}`;
  edit('iptables-save.txt', (t) =>
    t
      .replace(':ufw-user-input - [0:0]', `:ufw-user-input - [0:0]\n:${chain} - [0:0]`)
      .replace(
        '-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT',
        [
          `-A ufw-user-input -p tcp -m tcp --dport 22 -m comment --comment "${ALL}" -j ACCEPT`,
          `-A ufw-user-input -p tcp --bogus${INJECT.c1}opt x -j ACCEPT`,
          `-A ufw-user-input -i eth${INJECT.clear} -p tcp -m tcp --dport 22 -j ${chain}`,
          `-A ${chain} -p tcp -m tcp --dport 22 -m comment --comment "${INJECT.bidi}evil" -j ACCEPT`,
          `-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT`,
        ].join('\n'),
      ),
  );
  edit('containers.json', (t) =>
    t.replace('"Name": "/shop-web-1"', '"Name": "/shop\\u001b[2J\\u009b31m\\u202eweb-1"'),
  );
  edit('listeners.txt', (t) => t.replace('(("sshd",pid=902', '(("ss\u001b[2Jhd",pid=902'));
  // a macvlan network and a container on it, both named with escapes (unfiltered-network's
  // finding and a trace taken below the host echo them)
  edit('networks.json', (t) => {
    const networks = JSON.parse(t) as Record<string, unknown>[];
    networks.push({
      Name: `lan${INJECT.clear}`,
      Id: '7a1e5c9b3d2f4e6a8c0b1d3f5e7a9c2b4d6f8e0a1c3e5b7d9f2a4c6e8b0d1f3a',
      Driver: 'macvlan',
      IPAM: { Driver: 'default', Config: [{ Subnet: '203.0.113.0/24' }] },
      Internal: false,
      Options: { parent: 'eth0', macvlan_mode: `bridge${INJECT.c1}` },
    });
    return JSON.stringify(networks);
  });
  edit('containers.json', (t) => {
    const containers = JSON.parse(t) as Record<string, unknown>[];
    const db = containers.find((c) => c['Name'] === '/shop-db-1');
    if (db === undefined) return t;
    const mv = structuredClone(db);
    mv['Id'] = '5e9d1c7b3a2f4d6e8c0a1b3d5f7e9a2c4b6d8f0e1a3c5e7b9d2f4a6c8e0b1d3f';
    mv['Name'] = `/mv${INJECT.bidi}pihole`;
    mv['HostConfig'] = {
      ...(mv['HostConfig'] as Record<string, unknown>),
      NetworkMode: `lan${INJECT.clear}`,
    };
    mv['NetworkSettings'] = {
      Ports: {},
      Networks: {
        [`lan${INJECT.clear}`]: {
          NetworkID: '7a1e5c9b3d2f4e6a8c0b1d3f5e7a9c2b4d6f8e0a1c3e5b7d9f2a4c6e8b0d1f3a',
          IPAddress: '203.0.113.53',
          IPPrefixLen: 24,
        },
      },
    };
    containers.push(mv);
    return JSON.stringify(containers);
  });
  edit('daemon.json', (t) => t.replace('"live-restore"', '"live\\u001b]0;x\\u0007-restore"'));
  return dir;
}
