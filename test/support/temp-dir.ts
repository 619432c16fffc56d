/**
 * Temporary directories that go away when the tests using them are done, whether they passed or
 * not: each run of the suite otherwise leaves its directories in /tmp.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, onTestFinished } from 'vitest';

const remover = (dir: string) => (): void => rmSync(dir, { recursive: true, force: true });

/**
 * A new directory `<tmpdir>/<prefix>XXXXXX`. Made in a test (or its beforeEach), it is removed
 * when that test finishes; made at module or describe level, after that block's tests (afterAll).
 * A skipped block runs no afterAll, and one added from a beforeAll hook never runs: there, and
 * in a block that may be skipped (describe.skipIf), use `suiteTempDir`.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  try {
    onTestFinished(remover(dir));
  } catch {
    // not in a test: the file or describe block being collected
    afterAll(remover(dir));
  }
  return dir;
}

/**
 * A directory for the tests of the file or describe block this is called in: made before they
 * run (beforeAll), removed after them (afterAll), and not made at all when they are skipped.
 * Called ahead of the block's own hooks, it is there for their beforeAll and removed after their
 * afterAll (which run the latest first). Read it with the returned function, in hooks and tests.
 */
export function suiteTempDir(prefix: string): () => string {
  let dir: string | undefined;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), prefix));
  });
  afterAll(() => {
    if (dir !== undefined) remover(dir)();
  });
  return () => {
    if (dir === undefined) throw new Error(`suiteTempDir(${prefix}): read before its beforeAll`);
    return dir;
  };
}
