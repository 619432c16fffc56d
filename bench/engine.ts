/**
 * `npm run bench:engine`: engine benchmark cases, each measured in its own child process so its
 * peak RSS is its own. Prints seconds, peak RSS and BDD nodes per case, and whether the case's
 * targets were met (exit 1 when not).
 *
 * Cases are a plain list: add one by appending to CASES. Run one case in-process with
 * `node dist/bench/engine.js --case NAME` (prints one JSON line).
 *
 * (a) tum: the ~4,800-rule TUM firewall from ../shared/corpora — the packets reaching every rule
 *     of every chain, plus the FORWARD verdict partition for tcp/22 and tcp/80. Target < 2 s.
 * (b) host: the generated kube-proxy + Docker host (bench/engine-host.ts) — every published
 *     port's exposure from the external interface. Targets < 10 s, peak RSS < 1.5 GB.
 * (c) discovery: the same host, unconstrained (bench/engine-discovery.ts) — every new
 *     connection from the external interface (reach, discover) and ruleReach over all states.
 *     Targets < 10 s, peak RSS < 1.5 GB.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createEngine } from '../src/engine/index.ts';
import type { NetworkContext } from '../src/engine/context.ts';
import { parseIptables } from '../src/ingest/iptables/index.ts';
import { discoveryCase } from './engine-discovery.ts';
import { hostCase } from './engine-host.ts';
import { requireSupportedNode } from './supported-node.ts';

export interface CaseReport {
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly bddNodes: number;
  /** Case-specific figures, printed as `key=value`. */
  readonly details: Readonly<Record<string, string | number>>;
}

export interface BenchCase {
  readonly name: string;
  readonly description: string;
  readonly targetSeconds: number;
  readonly targetRssMb: number | null;
  /** null when the case's input is not available (the runner says so). */
  readonly available: () => string | null;
  readonly run: () => Promise<CaseReport>;
}

// Compiled to dist/bench/engine.js: the repository root is two levels up; from source, one.
const here = import.meta.dirname;
const repoRoot = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');
const TUM = path.resolve(
  repoRoot,
  '../shared/corpora/dumps/diekmann-Iptables_Semantics/thy/Iptables_Semantics/Examples/TUM_Net_Firewall/iptables-save-2015-05-13_10-53-20_cheating',
);

function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

const tum: BenchCase = {
  name: 'tum',
  description:
    'TUM firewall (~4,800 rules): reach of every rule of every chain + FORWARD partition for tcp/22, tcp/80',
  targetSeconds: 2,
  targetRssMb: null,
  available: () => (existsSync(TUM) ? null : `missing ${TUM}`),
  run: () => {
    const t0 = performance.now();
    const text = readFileSync(TUM, 'utf8');
    const { ruleset } = parseIptables(text, { file: TUM, family: 'ipv4' });
    const t1 = performance.now();
    // a router: the engine learns every interface the rules name; one default route
    const context: NetworkContext = {
      family: 'ipv4',
      interfaces: ['lo', 'eth0'],
      localAddresses: [],
      routes: [{ destination: 'default', device: 'eth0' }],
    };
    const engine = createEngine(ruleset, context);
    const t2 = performance.now();
    const reach = engine.ruleReach();
    const reached = reach.filter((r) => !r.reach.possible.isEmpty).length;
    const t3 = performance.now();
    const partition: Record<string, string | number> = {};
    for (const port of [22, 80]) {
      const r = engine.reach({
        ingress: '*',
        packets: { protocols: ['tcp'], destinationPorts: [{ from: port, to: port }] },
      });
      const forwarded = r.delivered.filter((d) => d.kind === 'forward');
      const stoppedInForward = r.stopped.filter((s) => s.hook === 'FORWARD');
      partition[`tcp${port}.accepted-by`] = new Set(
        forwarded.flatMap((d) => d.acceptedBy.map((x) => `${x.chain}#${x.index ?? 'policy'}`)),
      ).size;
      partition[`tcp${port}.stopped-at`] = stoppedInForward.length;
      partition[`tcp${port}.accepted-sources`] = forwarded.reduce(
        (n, d) => n + d.packets.possible.sources().length,
        0,
      );
    }
    const t4 = performance.now();
    return Promise.resolve({
      seconds: (t4 - t0) / 1000,
      peakRssMb: peakRssMb(),
      bddNodes: engine.nodeCount(),
      details: {
        rules: reach.length,
        'rules-reached': reached,
        'parse-s': ((t1 - t0) / 1000).toFixed(3),
        'compile-s': ((t2 - t1) / 1000).toFixed(3),
        'rule-reach-s': ((t3 - t2) / 1000).toFixed(3),
        'partition-s': ((t4 - t3) / 1000).toFixed(3),
        // Baseline, same run: reading the file. The proof costs this many parses.
        'engine/parse': ((t4 - t1) / (t1 - t0)).toFixed(1),
        ...partition,
      },
    });
  },
};

export const CASES: BenchCase[] = [tum, hostCase, discoveryCase];

async function runOne(name: string): Promise<void> {
  const c = CASES.find((x) => x.name === name);
  if (c === undefined) throw new Error(`unknown case ${name}`);
  const report = await c.run();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function runAll(): number {
  let failed = 0;
  for (const c of CASES) {
    const missing = c.available();
    if (missing !== null) {
      process.stdout.write(`${c.name}: skipped (${missing})\n`);
      continue;
    }
    const child = spawnSync(process.execPath, [import.meta.filename, '--case', c.name], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    const line = child.stdout.trim().split('\n').pop() ?? '';
    if (child.status !== 0 || !line.startsWith('{')) {
      process.stdout.write(`${c.name}: FAILED (exit ${child.status})\n${child.stderr}\n`);
      failed++;
      continue;
    }
    const r = JSON.parse(line) as CaseReport;
    const okTime = r.seconds < c.targetSeconds;
    const okRss = c.targetRssMb === null || r.peakRssMb < c.targetRssMb;
    if (!okTime || !okRss) failed++;
    const details = Object.entries(r.details)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    process.stdout.write(
      `${c.name}: ${r.seconds.toFixed(3)} s (target < ${c.targetSeconds} s${okTime ? '' : ' MISSED'}), ` +
        `peak RSS ${r.peakRssMb} MB${c.targetRssMb === null ? '' : ` (target < ${c.targetRssMb} MB${okRss ? '' : ' MISSED'})`}, ` +
        `BDD nodes ${r.bddNodes}\n  ${c.description}\n  ${details}\n`,
    );
  }
  return failed === 0 ? 0 : 1;
}

requireSupportedNode();
const caseArg = process.argv.indexOf('--case');
if (caseArg >= 0) {
  await runOne(process.argv[caseArg + 1] ?? '');
} else if (import.meta.filename === process.argv[1]) {
  process.exitCode = runAll();
}
