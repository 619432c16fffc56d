/**
 * The analysis `dockwall review` runs, callable in this thread or as a worker thread so the
 * spinner keeps turning while a big host is analysed (analyze is synchronous and can take
 * minutes on 100,000 rules). Loaded as a worker, this module runs the analysis on the
 * snapshot it is sent and posts the result back; loaded normally it only exports the function.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { analyze } from '../../lint/analyze.ts';
import type { ResolvedConfig } from '../../lint/config-types.ts';
import { createLintEngine } from '../../lint/default-engine.ts';
import type { AuditResult } from '../../model/audit.ts';
import type { Diagnostic } from '../../model/diagnostic.ts';
import type { Snapshot } from '../../model/snapshot.ts';

export interface ReviewAnalysis {
  readonly result: AuditResult;
  /** The engine's own diagnostics, which analyze leaves to whoever built the engine. */
  readonly engineDiagnostics: readonly Diagnostic[];
}

export const WORKER_TAG = 'dockwall-review-analysis';

export function analyzeForReview(snapshot: Snapshot, config: ResolvedConfig): ReviewAnalysis {
  let built: ReturnType<typeof createLintEngine> | null = null;
  try {
    built = snapshot.ipv4 === null && snapshot.ipv6 === null ? null : createLintEngine(snapshot);
  } catch {
    // analyze then tries again and reports the failure as an `engine-error` diagnostic.
    built = null;
  }
  const result = analyze(snapshot, config, built === null ? {} : { engine: built.engine });
  return { result, engineDiagnostics: built?.diagnostics ?? [] };
}

interface WorkerInput {
  readonly tag: typeof WORKER_TAG;
  readonly snapshot: Snapshot;
  readonly config: ResolvedConfig;
}

function isWorkerInput(value: unknown): value is WorkerInput {
  return (
    typeof value === 'object' && value !== null && (value as { tag?: unknown }).tag === WORKER_TAG
  );
}

if (!isMainThread && parentPort !== null && isWorkerInput(workerData)) {
  parentPort.postMessage(analyzeForReview(workerData.snapshot, workerData.config));
}
