// Public library entry point: the model types. Stages add their entry points as they land.
export * from './model/index.ts';
// Host snapshot: reading a snapshot directory, and Docker knowledge over it.
export { loadSnapshot, SNAPSHOT_FILE_NAMES } from './ingest/snapshot.ts';
export type { SnapshotInput } from './ingest/snapshot.ts';
export * from './docker/index.ts';
