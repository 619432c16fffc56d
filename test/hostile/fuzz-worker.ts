/**
 * Runs the fuzz cases in a worker thread, reporting each start and end, so the test can stop a
 * case that hangs (terminate() interrupts even a synchronous loop) and name it.
 */
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { makeCase, repoRoot, runReaderCase, runSnapshotCase, seeds } from './fuzz-cases.ts';

export interface FuzzRun {
  readonly seed: number;
  readonly readers: number;
  readonly snapshots: number;
  /** Time after which no new case starts (the count is an upper bound). */
  readonly budgetMs: number;
}

export type FuzzMessage =
  | { readonly type: 'start'; readonly index: number; readonly label: string }
  | { readonly type: 'done'; readonly index: number; readonly problems: readonly string[] }
  | { readonly type: 'end'; readonly readers: number; readonly snapshots: number };

const run = workerData as FuzzRun;
const port = parentPort;
const send = (m: FuzzMessage): void => port?.postMessage(m);
const all = seeds();
const started = Date.now();
const inBudget = (): boolean => Date.now() - started < run.budgetMs;

let readers = 0;
for (let i = 0; i < run.readers && inBudget(); i += 1) {
  const c = makeCase(run.seed, i, all);
  send({
    type: 'start',
    index: i,
    label: `reader case ${i}: ${path.relative(repoRoot, c.seed.file)} read as ${c.seed.kind}, mutations ${c.mutations.join(',')}`,
  });
  send({ type: 'done', index: i, problems: runReaderCase(c) });
  readers += 1;
}
let snapshots = 0;
for (let i = 0; i < run.snapshots && inBudget(); i += 1) {
  send({ type: 'start', index: run.readers + i, label: `snapshot case ${i}` });
  const { label, problems } = await runSnapshotCase(run.seed, i);
  send({ type: 'done', index: run.readers + i, problems: problems.map((p) => `${label}: ${p}`) });
  snapshots += 1;
}
send({ type: 'end', readers, snapshots });
