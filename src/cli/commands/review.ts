/**
 * `dockwall review`: the interactive terminal UI over the same audit result every reporter
 * gets. Wiring only: arguments, the terminal check, and the loading steps the spinner names.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { loadSnapshot } from '../../ingest/snapshot.ts';
import { loadConfig } from '../../lint/config.ts';
import { DEFAULT_CONFIG } from '../../lint/config-types.ts';
import type { ResolvedConfig } from '../../lint/config-types.ts';
import { createLintEngine } from '../../lint/default-engine.ts';
import type { LintEngine } from '../../lint/engine.ts';
import { compareDiagnostics } from '../../model/diagnostic.ts';
import type { Diagnostic } from '../../model/diagnostic.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import type { ReviewData } from '../../tui/data.ts';
import type { Progress } from '../../tui/run.tsx';
import { runReview } from '../../tui/run.tsx';
import { RULES } from '../../../rules/index.ts';
import type { Command, CommandIo } from '../command.ts';
import type { ReviewAnalysis } from './review-analysis.ts';
import { WORKER_TAG, analyzeForReview } from './review-analysis.ts';
import { UsageError } from '../command.ts';
import { SNAPSHOT_OPTIONS, SNAPSHOT_USAGE, snapshotInputFrom } from '../snapshot-args.ts';

const USAGE = `Usage: dockwall review [SNAPSHOT_DIR | --iptables FILE …] [--config FILE]

Opens a full-screen terminal UI to review a host: findings with their proof, exposures, the
chains as a tree of jumps, containers, and a packet tracer. Needs a terminal; for pipes and
CI use \`dockwall audit --format text|json|sarif|markdown\`.

Options:
  --config FILE            .dockwall.yaml (severity overrides, ignores, policy)

${SNAPSHOT_USAGE}

Keys: Tab switches panes, ↑↓/jk move, Enter opens, / filters, t traces, ? help, q quits.`;

/**
 * Runs the analysis in a worker thread so the UI stays alive; in this thread when no worker
 * can be started (running from the TypeScript sources, or a worker failure).
 */
async function analyzeOffThread(
  snapshot: Snapshot,
  config: ResolvedConfig,
): Promise<ReviewAnalysis> {
  const url = new URL('./review-analysis.js', import.meta.url);
  if (!existsSync(fileURLToPath(url))) return analyzeForReview(snapshot, config);
  try {
    return await new Promise<ReviewAnalysis>((resolve, reject) => {
      const worker = new Worker(url, { workerData: { tag: WORKER_TAG, snapshot, config } });
      worker.once('message', (message: ReviewAnalysis) => {
        resolve(message);
        void worker.terminate();
      });
      worker.once('error', reject);
      worker.once('exit', (code) => {
        reject(new Error(`analysis worker exited with code ${code}`));
      });
    });
  } catch {
    return analyzeForReview(snapshot, config);
  }
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
  const rulesets = [snapshot.ipv4, snapshot.ipv6].filter((r) => r !== null);
  const rules = rulesets
    .flatMap((r) => r.tables)
    .reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0), 0);
  progress(`analysing ${rules} rules and ${snapshot.host.containers.length} containers…`);
  await breathe();
  const { result, engineDiagnostics } = await analyzeOffThread(snapshot, config);
  const extra = [...configDiagnostics, ...engineDiagnostics];
  const diagnostics = [...result.diagnostics, ...extra].sort(compareDiagnostics);
  const counts = { error: 0, warning: 0, note: 0 };
  for (const d of diagnostics) counts[d.severity] += 1;
  const audit =
    extra.length === 0
      ? result
      : { ...result, diagnostics, summary: { ...result.summary, diagnostics: counts } };
  // The tracer's engine is built on the first trace (the analysis had its own in the worker).
  let engine: LintEngine | null = null;
  return {
    audit,
    rulesets,
    host: snapshot.host,
    ruleDoc,
    trace:
      rulesets.length === 0
        ? null
        : (packet) => {
            engine ??= createLintEngine(snapshot).engine;
            const trace = engine?.trace(packet) ?? null;
            if (trace === null) {
              throw new Error(`the snapshot has no ${packet.family} ruleset to trace through`);
            }
            return trace;
          },
  };
}

export const review: Command = {
  name: 'review',
  summary: 'Review a host interactively in the terminal (findings, exposures, chains, tracer)',
  usage: USAGE,
  async run(argv: readonly string[], io: CommandIo): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...argv],
        options: { ...SNAPSHOT_OPTIONS, config: { type: 'string' } },
        allowPositionals: true,
        strict: true,
      });
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    const input = snapshotInputFrom(parsed.values, parsed.positionals, io.cwd);
    if (io.stdin.isTTY !== true || io.stdout.isTTY !== true) {
      io.stderr.write(
        'dockwall review: needs an interactive terminal (stdin and stdout).\n' +
          'For pipes and CI, use `dockwall audit --format text|json|sarif|markdown`.\n',
      );
      return 2;
    }
    const configPath = typeof parsed.values.config === 'string' ? parsed.values.config : undefined;
    return runReview((progress) => load(input, configPath, progress), io);
  },
};
