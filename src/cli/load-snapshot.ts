/**
 * The snapshot every command (and the library) works on: the files read into the model
 * (src/ingest/snapshot.ts), then interpreted with Docker's knowledge (src/docker/snapshot.ts).
 * The two stages meet only here, so the pipeline runs one way.
 */
import { interpretSnapshot } from '../docker/snapshot.ts';
import type { SnapshotInput } from '../ingest/snapshot.ts';
import { readSnapshot } from '../ingest/snapshot.ts';
import type { Snapshot } from '../model/snapshot.ts';

export type { SnapshotInput } from '../ingest/snapshot.ts';

export async function loadSnapshot(input: SnapshotInput): Promise<Snapshot> {
  return interpretSnapshot(await readSnapshot(input));
}
