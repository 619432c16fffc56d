/**
 * Engine benchmark, case (b): the generated kube-proxy + Docker host (≥ 100,000 rules, thousands
 * of DNAT services, test/support/generate-host.ts). Loads the snapshot, builds the engine, and computes
 * every published port's exposure: which packets from the external interface reach the
 * container behind each published host port. Prints seconds per phase, peak RSS and BDD nodes.
 * Targets: under 10 s in all, peak RSS under 1.5 GB.
 *
 * bench/engine.ts runs each case in its own child process, so the peak RSS is this case's own.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildNetworkContext } from '../src/docker/context.ts';
import { createEngine } from '../src/engine/index.ts';
import { loadSnapshot } from '../src/cli/load-snapshot.ts';
import type { Packet } from '../src/model/trace.ts';
import type { BenchCase } from './engine.ts';
import { EXTERNAL_INTERFACE } from '../test/support/generate-host.ts';
import { ruleCount } from '../src/model/rule-queries.ts';
import { requireSupportedNode } from './supported-node.ts';

export interface HostCaseResult {
  readonly rules: number;
  readonly publishedPorts: number;
  /** Ports some external packet certainly reaches / possibly reaches. */
  readonly exposedCertain: number;
  readonly exposedPossible: number;
  readonly loadSeconds: number;
  readonly engineSeconds: number;
  readonly exposureSeconds: number;
  readonly totalSeconds: number;
  /** Baseline: the concrete interpreter replaying one witness per exposed port. */
  readonly replaySeconds: number;
  readonly replayedAccepted: number;
  readonly peakRssMb: number;
  readonly bddNodes: number;
  readonly diagnostics: number;
}

const TARGET_SECONDS = 10;
const TARGET_RSS_MB = 1536;

/** The measured work, in this process: load, build, one reach, then every published port. */
export async function measureHost(dir: string): Promise<HostCaseResult> {
  const t0 = performance.now();
  const snapshot = await loadSnapshot({ directory: dir });
  const t1 = performance.now();
  if (snapshot.ipv4 === null) throw new Error(`${dir}: no IPv4 ruleset was read`);
  const context = buildNetworkContext(snapshot, 'ipv4');
  const engine = createEngine(snapshot.ipv4, context);
  const t2 = performance.now();
  // Every published IPv4 mapping, by host port. The question "what does each published port
  // expose?" is asked once, scoped to the packets that can be such exposures at all: addressed
  // to one of the host's own addresses on a published host port. (Walking *every* packet that
  // arrives on the interface gives the same answer but carries all of kube-proxy's service
  // DNATs through FORWARD: 4 minutes and 3 GB on this host.)
  const mappings: {
    address: string;
    port: number;
    protocol: 'tcp' | 'udp' | 'sctp';
    host: number;
  }[] = [];
  for (const c of snapshot.host.containers) {
    const address = c.endpoints.find((e) => e.ipv4 !== null)?.ipv4;
    if (address === undefined || address === null) continue;
    for (const p of c.published) {
      if (p.hostPort === null || p.hostIp.includes(':')) continue;
      mappings.push({ address, port: p.containerPort, protocol: p.protocol, host: p.hostPort });
    }
  }
  const reach = engine.reach({
    ingress: EXTERNAL_INTERFACE,
    packets: {
      destinations: context.localAddresses,
      destinationPorts: [...new Set(mappings.map((m) => m.host))].map((p) => ({ from: p, to: p })),
    },
  });
  const publishedPorts = mappings.length;
  let exposedCertain = 0;
  let exposedPossible = 0;
  const witnesses: Packet[] = [];
  for (const m of mappings) {
    const to = reach.deliveredTo({ address: m.address, port: m.port, protocol: m.protocol });
    const viaHostPort = {
      protocols: [m.protocol],
      originalDestinationPorts: [{ from: m.host, to: m.host }],
    };
    const certain = to.certain.and(viaHostPort);
    if (!certain.isEmpty) exposedCertain += 1;
    const possible = to.possible.and(viaHostPort);
    if (!possible.isEmpty) {
      exposedPossible += 1;
      const w = possible.witness();
      if (w !== null) witnesses.push(w);
    }
  }
  const t3 = performance.now();
  // Baseline, same run: the concrete interpreter replaying one packet per exposed port. It checks
  // one packet each; the symbolic walk above proved the answer for every packet.
  let replayedAccepted = 0;
  for (const w of witnesses) if (engine.trace(w).verdict === 'accepted') replayedAccepted += 1;
  const t4 = performance.now();
  const rules = ruleCount(snapshot.ipv4);
  return {
    rules,
    publishedPorts,
    exposedCertain,
    exposedPossible,
    loadSeconds: (t1 - t0) / 1000,
    engineSeconds: (t2 - t1) / 1000,
    exposureSeconds: (t3 - t2) / 1000,
    totalSeconds: (t3 - t0) / 1000,
    replaySeconds: (t4 - t3) / 1000,
    replayedAccepted,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    bddNodes: engine.nodeCount(),
    diagnostics: snapshot.diagnostics.length + engine.diagnostics.length,
  };
}

export function formatHostCase(r: HostCaseResult): string {
  const met = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  return [
    `(b) generated kube-proxy + Docker host: ${r.rules} rules, ${r.publishedPorts} published ports`,
    `    exposure from ${EXTERNAL_INTERFACE}: ${r.exposedCertain} ports certainly reachable, ` +
      `${r.exposedPossible} possibly; ${r.diagnostics} diagnostics`,
    `    seconds: load ${r.loadSeconds.toFixed(2)}, engine ${r.engineSeconds.toFixed(2)}, ` +
      `exposure ${r.exposureSeconds.toFixed(2)}, total ${r.totalSeconds.toFixed(2)} ` +
      `(target < ${TARGET_SECONDS} s: ${met(r.totalSeconds < TARGET_SECONDS)})`,
    `    peak RSS ${r.peakRssMb.toFixed(0)} MB (target < ${TARGET_RSS_MB} MB: ` +
      `${met(r.peakRssMb < TARGET_RSS_MB)}), BDD nodes ${r.bddNodes}`,
    `    baseline: concrete replay of one witness per exposed port ${r.replaySeconds.toFixed(2)} s ` +
      `(${r.replayedAccepted}/${r.exposedPossible} accepted); symbolic exposure / replay = ` +
      `${(r.exposureSeconds / r.replaySeconds).toFixed(1)}×`,
  ].join('\n');
}

/** Case (b) of bench/engine.ts: the generated host loaded, compiled and queried here. */
export const hostCase: BenchCase = {
  name: 'host',
  description:
    'generated kube-proxy + Docker host (≥ 100,000 rules): load, build, exposure of every published port',
  targetSeconds: TARGET_SECONDS,
  targetRssMb: TARGET_RSS_MB,
  available: () => null,
  run: () =>
    withGeneratedHost(async (dir) => {
      const r = await measureHost(dir);
      return {
        seconds: r.totalSeconds,
        peakRssMb: Math.round(r.peakRssMb),
        bddNodes: r.bddNodes,
        details: {
          rules: r.rules,
          'published-ports': r.publishedPorts,
          'exposed-certain': r.exposedCertain,
          'exposed-possible': r.exposedPossible,
          diagnostics: r.diagnostics,
          'load-s': r.loadSeconds.toFixed(3),
          'engine-s': r.engineSeconds.toFixed(3),
          'exposure-s': r.exposureSeconds.toFixed(3),
          'baseline-replay-s': r.replaySeconds.toFixed(3),
          'replayed-accepted': r.replayedAccepted,
          'exposure/replay': (r.exposureSeconds / r.replaySeconds).toFixed(1),
        },
      };
    }),
};

/**
 * Generate the host into a temporary directory by a separate process (so neither its time nor
 * its memory is counted), measure it, and remove it.
 */
export async function withGeneratedHost<T>(measure: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockwall-bench-host-'));
  try {
    const ext = path.extname(import.meta.filename);
    const generator = path.join(import.meta.dirname, `../test/support/generate-host${ext}`);
    const gen = spawnSync(process.execPath, [generator, dir], { encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`generate-host failed: ${gen.stderr}`);
    return await measure(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Standalone, for profiling one snapshot: `node --cpu-prof dist/bench/engine-host.js DIR`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  requireSupportedNode();
  const dir = process.argv[2];
  if (dir === undefined) {
    process.stderr.write('usage: engine-host SNAPSHOT_DIR (npm run bench:engine runs the case)\n');
    process.exitCode = 2;
  } else {
    console.log(formatHostCase(await measureHost(dir)));
  }
}
