/**
 * The capture scenarios of ../shared/captures and the Compose files that rebuild them
 * (fixtures/plan/<version>/<scenario>/), planned on a fresh host of the same Docker version
 * (fixtures/plan/base/<version>/) the way the captures were made.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { CommandIo } from '../../src/cli/command.ts';
import { main } from '../../src/cli/main.ts';
import { tempDir } from './temp-dir.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const capturesDir = path.resolve(repoRoot, '../shared/captures');
export const planFixtures = path.join(repoRoot, 'fixtures/plan');

export interface PlanScenario {
  /** `28.5.2/s3-usernet-portmap` */
  readonly id: string;
  readonly version: string;
  /** The capture files' common prefix (`…/docker-28.5.2/s3-usernet-portmap`). */
  readonly capture: string;
  readonly compose: string;
  readonly daemon: string | null;
  readonly base: string;
  /** The nftables backend: Docker's rules are in nft-ruleset.txt. */
  readonly nftables: boolean;
}

/** Captures no Compose file can rebuild, with the reason. */
export const NOT_REBUILT: Readonly<Record<string, string>> = {
  '20.10.24/s0-new-daemon':
    'this capture holds the rules of s1 (taken after its container started); s1’s Compose file rebuilds it',
  '28.5.2/s19-env-DOCKER_FIREWALL_BACKEND-nftables-bridge-still-iptables':
    'dockerd ran with the environment variable DOCKER_FIREWALL_BACKEND=nftables, which no daemon.json or Compose file expresses',
};

export function planScenarios(): PlanScenario[] {
  const out: PlanScenario[] = [];
  for (const version of readdirSync(planFixtures)
    .filter((d) => /^\d/.test(d))
    .sort()) {
    for (const scenario of readdirSync(path.join(planFixtures, version)).sort()) {
      const dir = path.join(planFixtures, version, scenario);
      const daemon = path.join(dir, 'daemon.json');
      const nftables = scenario.includes('nftables');
      out.push({
        id: `${version}/${scenario}`,
        version,
        capture: path.join(capturesDir, `docker-${version}`, scenario),
        compose: path.join(dir, 'compose.yaml'),
        daemon: existsSync(daemon) ? daemon : null,
        // The nftables captures were made with forwarding already on (dockerd does not switch it).
        base: path.join(planFixtures, 'base', nftables ? `${version}-forwarding` : version),
        nftables,
      });
    }
  }
  return out;
}

export function captureIo(cwd = repoRoot): { io: CommandIo; err: () => string } {
  let err = '';
  const io = {
    stdout: { write: () => true },
    stderr: { write: (s: string) => ((err += s), true) },
    stdin: process.stdin,
    env: {},
    cwd,
  } as unknown as CommandIo;
  return { io, err: () => err };
}

/**
 * Runs `dockwall plan` for a scenario into a new temporary directory, removed when the test
 * finishes; returns it.
 */
export async function runPlan(
  s: PlanScenario,
): Promise<{ dir: string; code: number; err: string }> {
  const dir = path.join(tempDir('dwplan-'), 'out');
  const { io, err } = captureIo();
  const args = ['plan', s.base, '--compose', s.compose, '--out', dir];
  if (s.daemon !== null) args.push('--daemon', s.daemon);
  const code = await main(args, io);
  return { dir, code, err: err() };
}

/** iptables-save text without comments and without tables that hold nothing (no rules, no user
 * chains, every policy ACCEPT): such a table is there when something merely looked at it. */
export function significantRules(text: string): string {
  const blocks = text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .split(/^(?=\*)/m)
    .filter((b) => b.trim() !== '');
  return blocks.filter((b) => /^-A |^:\S+ (DROP|-) /m.test(b)).join('');
}

/** `nft list ruleset` as Docker's planned text is: counters at zero, nft 1.0.6's `-100` named. */
export function normalisedNft(text: string): string {
  return text
    .replace(/packets \d+ bytes \d+/g, 'packets 0 bytes 0')
    .replace(/priority -100;/g, 'priority dstnat;');
}
