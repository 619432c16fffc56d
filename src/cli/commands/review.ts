/**
 * `dockwall review`: the interactive terminal UI over the same audit result every reporter
 * gets. Wiring only: arguments, the terminal check, and the loading steps the spinner names.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { loadSnapshot } from '../load-snapshot.ts';
import { loadConfig } from '../../lint/config.ts';
import { DEFAULT_CONFIG } from '../../lint/config-types.ts';
import type { ResolvedConfig } from '../../lint/config-types.ts';
import { compareDiagnostics } from '../../model/diagnostic.ts';
import type { Diagnostic } from '../../model/diagnostic.ts';
import { firewallOf, type Snapshot } from '../../model/snapshot.ts';
import type { Trace } from '../../model/trace.ts';
import { ruleCount } from '../../model/rule-queries.ts';
import type { ReviewData, Tracer } from '../../tui/data.ts';
import type { Progress } from '../../tui/run.tsx';
import { runReview } from '../../tui/run.tsx';
import { RULES } from '../../../rules/index.ts';
import type { Command, CommandIo } from '../command.ts';
import type { ReviewAnalysis, TraceReply, TraceRequest } from './review-analysis.ts';
import { WORKER_TAG, analyzeForReview, traceWith } from './review-analysis.ts';
import { parseCommandArgs } from '../command.ts';
import { SNAPSHOT_OPTIONS, SNAPSHOT_USAGE, snapshotInputFrom } from '../snapshot-args.ts';

const USAGE = `Usage: dockwall review [SNAPSHOT_DIR | --iptables FILE …] [--config FILE]

Opens a full-screen terminal UI to review a host: findings with their proof, exposures, the
chains as a tree of jumps, containers, and a packet tracer. Needs a terminal; for pipes and
CI use \`dockwall audit --format text|json|sarif|markdown\`.

Options:
  --config FILE            .dockwall.yaml (severity overrides, ignores, policy)

${SNAPSHOT_USAGE}

Keys: Tab switches panes, ↑↓/jk move, Enter opens, / filters, t traces, ? help, q quits.`;

interface Analysed {
  readonly analysis: ReviewAnalysis;
  readonly trace: Tracer | null;
  /** Ends the worker, when there is one. */
  readonly close: () => void;
}

function inThread(snapshot: Snapshot, config: ResolvedConfig): Analysed {
  const { analysis, engine } = analyzeForReview(snapshot, config);
  return {
    analysis,
    trace: engine === null ? null : (packet) => traceWith(engine, packet),
    close: () => undefined,
  };
}

/**
 * Runs the analysis in a worker thread, which then keeps the engine and answers traces, so the
 * UI never blocks on the engine. In this thread when no worker can be started (running from the
 * TypeScript sources, or a worker failure).
 */
async function analyzeOffThread(snapshot: Snapshot, config: ResolvedConfig): Promise<Analysed> {
  const url = new URL('./review-analysis.js', import.meta.url);
  if (!existsSync(fileURLToPath(url))) return inThread(snapshot, config);
  const worker = new Worker(url, { workerData: { tag: WORKER_TAG, snapshot, config } });
  let analysis: ReviewAnalysis;
  let onMessage = (_: ReviewAnalysis): void => undefined;
  let onError = (_: Error): void => undefined;
  let onExit = (_: number): void => undefined;
  try {
    analysis = await new Promise<ReviewAnalysis>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => {
        reject(new Error(`analysis worker exited with code ${code}`));
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
    });
  } catch {
    void worker.terminate();
    return inThread(snapshot, config);
  }
  // Only our own listeners: the Worker keeps internal ones that removeAllListeners would drop.
  worker.off('message', onMessage);
  worker.off('error', onError);
  worker.off('exit', onExit);
  // The worker must not keep the process alive once the UI has quit.
  worker.unref();
  const pending = new Map<number, { resolve: (t: Trace) => void; reject: (e: Error) => void }>();
  let next = 0;
  const fail = (error: Error): void => {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  worker.on('message', (reply: TraceReply) => {
    const p = pending.get(reply.id);
    if (p === undefined) return;
    pending.delete(reply.id);
    if ('trace' in reply) p.resolve(reply.trace);
    else p.reject(new Error(reply.error));
  });
  worker.on('error', fail);
  worker.on('exit', () => {
    fail(new Error('the analysis worker stopped'));
  });
  const hasRules = snapshot.ipv4 !== null || snapshot.ipv6 !== null || snapshot.nft !== null;
  return {
    analysis,
    trace: !hasRules
      ? null
      : (packet) =>
          new Promise<Trace>((resolve, reject) => {
            next += 1;
            pending.set(next, { resolve, reject });
            const request: TraceRequest = { id: next, packet };
            worker.postMessage(request);
          }),
    close: () => {
      void worker.terminate();
    },
  };
}

/** Lets the spinner draw before the next synchronous step runs. */
const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function ruleDoc(id: string): string | null {
  const rule = (RULES as Readonly<Record<string, { meta: { docs: { description: string } } }>>)[id];
  return rule?.meta.docs.description ?? null;
}

async function load(
  input: ReturnType<typeof snapshotInputFrom>,
  configPath: string | undefined,
  progress: Progress,
  onClose: (close: () => void) => void,
): Promise<ReviewData> {
  progress(`reading snapshot ${input.directory ?? 'files'}…`);
  await breathe();
  const snapshot = await loadSnapshot(input);
  let config = DEFAULT_CONFIG;
  let configDiagnostics: readonly Diagnostic[] = [];
  if (configPath !== undefined) {
    progress(`reading config ${configPath}…`);
    const loaded = await loadConfig(configPath, RULES);
    config = loaded.config;
    configDiagnostics = loaded.diagnostics;
  }
  const rulesets = [firewallOf(snapshot, 'ipv4'), firewallOf(snapshot, 'ipv6')].filter(
    (r) => r !== null,
  );
  const rules = rulesets.reduce((n, r) => n + ruleCount(r), 0);
  progress(`analysing ${rules} rules and ${snapshot.host.containers.length} containers…`);
  await breathe();
  const analysed = await analyzeOffThread(snapshot, config);
  onClose(analysed.close);
  const { result, engineDiagnostics } = analysed.analysis;
  const extra = [...configDiagnostics, ...engineDiagnostics];
  const diagnostics = [...result.diagnostics, ...extra].sort(compareDiagnostics);
  const counts = { error: 0, warning: 0, note: 0 };
  for (const d of diagnostics) counts[d.severity] += 1;
  const audit =
    extra.length === 0
      ? result
      : { ...result, diagnostics, summary: { ...result.summary, diagnostics: counts } };
  return { audit, rulesets, host: snapshot.host, ruleDoc, trace: analysed.trace };
}

export const review: Command = {
  name: 'review',
  summary: 'Review a host interactively in the terminal (findings, exposures, chains, tracer)',
  usage: USAGE,
  async run(argv: readonly string[], io: CommandIo): Promise<number> {
    const parsed = parseCommandArgs(argv, { ...SNAPSHOT_OPTIONS, config: { type: 'string' } });
    const input = snapshotInputFrom(parsed.values, parsed.positionals, io.cwd);
    if (io.stdin.isTTY !== true || io.stdout.isTTY !== true) {
      io.stderr.write(
        'dockwall review: needs an interactive terminal (stdin and stdout).\n' +
          'For pipes and CI, use `dockwall audit --format text|json|sarif|markdown`.\n',
      );
      return 2;
    }
    const configPath = typeof parsed.values.config === 'string' ? parsed.values.config : undefined;
    let close = (): void => undefined;
    try {
      return await runReview(
        (progress) =>
          load(input, configPath, progress, (c) => {
            close = c;
          }),
        io,
      );
    } finally {
      close();
    }
  },
};
