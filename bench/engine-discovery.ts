/**
 * Engine benchmark, case (c): discovery on the generated kube-proxy + Docker host (≥ 100,000
 * rules, test/support/generate-host.ts). What exposure discovery and shadowed-rule ask of the
 * engine, unconstrained: every new TCP/UDP/SCTP connection from each ingress interface
 * (`reach`, then `discover`, which cuts the same walk into flows), and the packets reaching
 * every rule of every table over all states (`ruleReach`).
 *
 * Per phase it prints wall and CPU seconds, BDD nodes created and BDD steps (recursive steps of
 * the set operations: the work, whatever the machine's load). Baseline, same run: reading the
 * snapshot (parse); each phase is also given as a multiple of it.
 *
 * Standalone, for profiling one snapshot: `node dist/bench/engine-discovery.js DIR [IFACE…]`.
 */
import { pathToFileURL } from 'node:url';
import { buildHostContext } from '../src/docker/context.ts';
import { createEngine, type Engine } from '../src/engine/index.ts';
import { loadSnapshot } from '../src/cli/load-snapshot.ts';
import type { BenchCase } from './engine.ts';
import { withGeneratedHost } from './engine-host.ts';
import { EXTERNAL_INTERFACE } from '../test/support/generate-host.ts';
import { ruleCount } from '../src/model/rule-queries.ts';
import { requireSupportedNode } from './supported-node.ts';

export interface Phase {
  readonly name: string;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly nodes: number;
  readonly steps: number;
  readonly note: string;
}

export interface DiscoveryResult {
  readonly rules: number;
  readonly phases: readonly Phase[];
  readonly totalWallSeconds: number;
  readonly totalCpuSeconds: number;
  readonly peakRssMb: number;
  readonly bddNodes: number;
}

const TARGET_SECONDS = 10;
const TARGET_RSS_MB = 1536;

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export async function measureDiscovery(
  dir: string,
  ingresses: readonly string[] = [EXTERNAL_INTERFACE],
): Promise<DiscoveryResult> {
  const phases: Phase[] = [];
  let engine: Engine | null = null;
  const phase = async <T>(
    name: string,
    work: () => T | Promise<T>,
    note: (value: T) => string = () => '',
  ): Promise<T> => {
    const w0 = performance.now();
    const c0 = cpuSeconds();
    const n0 = engine?.nodeCount() ?? 0;
    const s0 = engine?.bddSteps() ?? 0;
    const value = await work();
    phases.push({
      name,
      wallSeconds: (performance.now() - w0) / 1000,
      cpuSeconds: cpuSeconds() - c0,
      nodes: (engine?.nodeCount() ?? 0) - n0,
      steps: (engine?.bddSteps() ?? 0) - s0,
      note: note(value),
    });
    return value;
  };
  const w0 = performance.now();
  const c0 = cpuSeconds();
  const snapshot = await phase('parse (baseline)', () => loadSnapshot({ directory: dir }));
  const ruleset = snapshot.ipv4;
  if (ruleset === null) throw new Error(`${dir}: no IPv4 ruleset was read`);
  const e = await phase(
    'compile',
    () => (engine = createEngine(ruleset, buildHostContext(snapshot, 'ipv4').context)),
  );
  for (const iface of ingresses) {
    await phase(
      `reach ${iface}`,
      () => e.reach({ ingress: [iface], packets: { protocols: ['tcp', 'udp', 'sctp'] } }),
      (r) => `${r.delivered.length} delivery groups, ${r.stopped.length} stop groups`,
    );
  }
  await phase(
    `discover ${ingresses.join(',')}`,
    () => e.discover({ ingress: [...ingresses] }),
    (d) =>
      `${d.flows.length} flows${d.unlisted.length > 0 ? `, NOT LISTED: ${d.unlisted.join('; ')}` : ''}`,
  );
  await phase(
    'ruleReach (all tables, all states)',
    () => e.ruleReach(),
    (reach) =>
      `${reach.length} rules, ${reach.filter((r) => !r.matched.possible.isEmpty).length} matched`,
  );
  return {
    rules: ruleCount(ruleset),
    phases,
    totalWallSeconds: (performance.now() - w0) / 1000,
    totalCpuSeconds: cpuSeconds() - c0,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    bddNodes: e.nodeCount(),
  };
}

export function formatDiscovery(r: DiscoveryResult): string {
  const base = r.phases[0]?.cpuSeconds ?? 0;
  const lines = [`(c) discovery on the generated host: ${r.rules} rules`];
  for (const p of r.phases) {
    const ratio = base > 0 ? ` (${(p.cpuSeconds / base).toFixed(1)}× parse)` : '';
    lines.push(
      `    ${p.name.padEnd(38)} wall ${p.wallSeconds.toFixed(2)} s, cpu ${p.cpuSeconds.toFixed(2)} s${ratio}, ` +
        `+${p.nodes} nodes, ${(p.steps / 1e6).toFixed(1)}M steps ${p.note}`,
    );
  }
  lines.push(
    `    total wall ${r.totalWallSeconds.toFixed(2)} s, cpu ${r.totalCpuSeconds.toFixed(2)} s ` +
      `(target < ${TARGET_SECONDS} s), peak RSS ${r.peakRssMb.toFixed(0)} MB ` +
      `(target < ${TARGET_RSS_MB} MB), BDD nodes ${r.bddNodes}`,
  );
  return lines.join('\n');
}

/** Case (c) of bench/engine.ts: the generated host loaded, compiled and queried here. */
export const discoveryCase: BenchCase = {
  name: 'discovery',
  description:
    'generated kube-proxy + Docker host (≥ 100,000 rules): unconstrained reach and discover from eth0, ruleReach over all states',
  targetSeconds: TARGET_SECONDS,
  targetRssMb: TARGET_RSS_MB,
  available: () => null,
  run: () =>
    withGeneratedHost(async (dir) => {
      const r = await measureDiscovery(dir);
      const details: Record<string, string | number> = { rules: r.rules };
      for (const p of r.phases) {
        const key = p.name.split(' ')[0] ?? p.name;
        details[`${key}-wall-s`] = p.wallSeconds.toFixed(2);
        details[`${key}-cpu-s`] = p.cpuSeconds.toFixed(2);
        details[`${key}-nodes`] = p.nodes;
      }
      details['cpu-s'] = r.totalCpuSeconds.toFixed(2);
      return {
        seconds: r.totalWallSeconds,
        peakRssMb: Math.round(r.peakRssMb),
        bddNodes: r.bddNodes,
        details,
      };
    }),
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  requireSupportedNode();
  const dir = process.argv[2];
  if (dir === undefined) {
    process.stderr.write(
      'usage: engine-discovery SNAPSHOT_DIR [IFACE…] (npm run bench:engine runs the case)\n',
    );
    process.exitCode = 2;
  } else {
    const ifaces = process.argv.slice(3);
    console.log(
      formatDiscovery(await measureDiscovery(dir, ifaces.length > 0 ? ifaces : undefined)),
    );
  }
}
