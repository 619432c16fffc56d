/**
 * The analysis `dockwall review` runs, callable in this thread or as a worker thread so the UI
 * stays alive while a big host is analysed (analyze is synchronous and can take minutes on
 * 100,000 rules). Loaded as a worker, this module analyses the snapshot it is sent, posts the
 * result, then keeps its engine and answers trace requests; loaded normally it only exports.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { RULES } from '../../../rules/index.ts';
import { analyze } from '../../lint/analyze.ts';
import type { ResolvedConfig } from '../../lint/config-types.ts';
import { createLintEngine } from '../../lint/default-engine.ts';
import type { LintEngine } from '../../lint/engine.ts';
import type { AuditResult } from '../../model/audit.ts';
import type { Diagnostic } from '../../model/diagnostic.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import type { Packet, Trace } from '../../model/trace.ts';

export interface ReviewAnalysis {
  readonly result: AuditResult;
  /** The engine's own diagnostics, which analyze leaves to whoever built the engine. */
  readonly engineDiagnostics: readonly Diagnostic[];
}

export const WORKER_TAG = 'dockwall-review-analysis';

/** A trace request and its answer between the UI thread and the worker. */
export interface TraceRequest {
  readonly id: number;
  readonly packet: Packet;
}
export type TraceReply =
  { readonly id: number; readonly trace: Trace } | { readonly id: number; readonly error: string };

export function analyzeForReview(
  snapshot: Snapshot,
  config: ResolvedConfig,
): { analysis: ReviewAnalysis; engine: LintEngine | null } {
  let built: ReturnType<typeof createLintEngine> | null = null;
  try {
    built =
      snapshot.ipv4 === null && snapshot.ipv6 === null && snapshot.nft === null
        ? null
        : createLintEngine(snapshot);
  } catch {
    // analyze then tries again and reports the failure as an `engine-error` diagnostic.
    built = null;
  }
  const result = analyze(
    snapshot,
    config,
    built === null ? { rules: RULES } : { rules: RULES, engines: built.engines },
  );
  return {
    analysis: { result, engineDiagnostics: built?.engines.diagnostics ?? [] },
    engine: built?.engine ?? null,
  };
}

/** One trace with the engine, as the tracer form expects: a Trace, or an Error thrown. */
export function traceWith(engine: LintEngine | null, packet: Packet): Trace {
  const trace = engine?.trace(packet) ?? null;
  if (trace === null) {
    throw new Error(`the snapshot has no ${packet.family} ruleset to trace through`);
  }
  return trace;
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
  const port = parentPort;
  const { analysis, engine } = analyzeForReview(workerData.snapshot, workerData.config);
  port.postMessage(analysis);
  port.on('message', (request: TraceRequest) => {
    let reply: TraceReply;
    try {
      reply = { id: request.id, trace: traceWith(engine, request.packet) };
    } catch (error) {
      reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(reply);
  });
}
