/**
 * The rules' engine port (LintEngine) over the snapshot's engines, built once per analysis
 * (src/analysis/engines.ts) and shared with the exposure table.
 */
import { buildEngines, type SnapshotEngines } from '../analysis/engines.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { LintEngine } from './engine.ts';
import { adaptEngines } from './engine-adapter.ts';

export function lintEngineOf(engines: SnapshotEngines): LintEngine | null {
  return engines.families.length === 0
    ? null
    : adaptEngines(engines.families.map((f) => ({ engine: f.engine, context: f.host.context })));
}

/** The engines of a snapshot and the port over them (for callers outside `analyze`). */
export function createLintEngine(snapshot: Snapshot): {
  engines: SnapshotEngines;
  engine: LintEngine | null;
} {
  const engines = buildEngines(snapshot);
  return { engines, engine: lintEngineOf(engines) };
}
