/**
 * Fuzzing in CI: mutated real dumps and JSON files (fixtures, ../shared/captures and
 * ../shared/corpora where present) through every reader, and mutated snapshots through the
 * whole audit. Seeded (DOCKWALL_FUZZ_SEED reproduces a run), bounded in count and in time; each
 * case must raise no exception and no internal error, finish within its limit, and point every
 * diagnostic inside the input. A failing case is written out to be replayed.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { diagnosticProblems, makeCase, positionProblem, seeds } from './fuzz-cases.ts';
import type { FuzzMessage, FuzzRun } from './fuzz-worker.ts';

const RUN: FuzzRun = {
  seed: Number(process.env['DOCKWALL_FUZZ_SEED'] ?? 20_261_122),
  readers: Number(process.env['DOCKWALL_FUZZ_READERS'] ?? 4000),
  snapshots: Number(process.env['DOCKWALL_FUZZ_SNAPSHOTS'] ?? 24),
  budgetMs: Number(process.env['DOCKWALL_FUZZ_BUDGET_MS'] ?? 60_000),
};
/** One case longer than this is a hang (generous: the CI machine is shared and loaded). */
const CASE_LIMIT_MS = 60_000;

interface Outcome {
  readonly ran: { readers: number; snapshots: number };
  readonly failures: string[];
}

function fuzz(run: FuzzRun): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./fuzz-worker.ts', import.meta.url), { workerData: run });
    const failures: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    let current = '';
    worker.on('message', (m: FuzzMessage) => {
      if (m.type === 'start') {
        current = m.label;
        clearTimeout(timer);
        const label = m.label;
        const index = m.index;
        timer = setTimeout(() => {
          failures.push(`${label}: no result after ${CASE_LIMIT_MS} ms (hang)${saved(index)}`);
          void worker.terminate();
          resolve({ ran: { readers: index, snapshots: 0 }, failures });
        }, CASE_LIMIT_MS);
      } else if (m.type === 'done') {
        clearTimeout(timer);
        if (m.problems.length > 0) {
          failures.push(
            `${current}${saved(m.index)}\n    ${m.problems.slice(0, 5).join('\n    ')}`,
          );
        }
      } else {
        clearTimeout(timer);
        void worker.terminate();
        resolve({ ran: { readers: m.readers, snapshots: m.snapshots }, failures });
      }
    });
    worker.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`the fuzz worker failed during ${current}: ${String(error)}`));
    });
  });
}

/** Writes a reader case's input where it can be replayed; the note says where. */
function saved(index: number): string {
  if (index >= RUN.readers) return ` (seed ${RUN.seed}, DOCKWALL_FUZZ_SEED reproduces it)`;
  const file = path.join(tmpdir(), `dockwall-fuzz-${RUN.seed}-${index}.txt`);
  writeFileSync(file, makeCase(RUN.seed, index, seeds()).text);
  return ` (seed ${RUN.seed}; input saved as ${file})`;
}

describe('fuzz: mutated dumps and JSON files', () => {
  it('the checks catch what they look for', () => {
    const texts = new Map([['f', 'ab\ncd']]);
    const at = (line: number, column: number, end?: [number, number]) => ({
      code: 'parse-error' as const,
      severity: 'error' as const,
      message: 'm',
      location: {
        file: 'f',
        line,
        column,
        ...(end === undefined ? {} : { endLine: end[0], endColumn: end[1] }),
      },
    });
    expect(positionProblem(at(2, 3), texts)).toBeNull();
    expect(positionProblem(at(3, 1), texts)).toBe(
      'parse-error at 3:1: outside the input (2 lines)',
    );
    expect(positionProblem(at(1, 4), texts)).toBe(
      'parse-error at 1:4: outside the input (2 lines)',
    );
    expect(positionProblem(at(2, 2, [1, 1]), texts)).toBe(
      'parse-error at 2:2-1:1: ends before it starts',
    );
    expect(
      diagnosticProblems([{ ...at(1, 1), code: 'internal-error', message: 'boom' }], texts),
    ).toEqual(['internal-error: boom']);
  });

  it('no exception, no hang, every diagnostic position inside its input', async () => {
    const corpus = seeds();
    expect(corpus.length).toBeGreaterThan(100);
    const started = Date.now();
    const outcome = await fuzz(RUN);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `fuzz seed ${RUN.seed}: ${outcome.ran.readers} reader and ${outcome.ran.snapshots} snapshot cases over ${corpus.length} seed files in ${seconds} s`,
    );
    expect(outcome.failures).toEqual([]);
    // The budget may cut the count on a loaded machine, but never to nothing.
    expect(outcome.ran.readers).toBeGreaterThanOrEqual(Math.min(RUN.readers, 50));
  }, 300_000);
});
