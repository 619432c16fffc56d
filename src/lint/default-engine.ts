/**
 * Builds the symbolic engine for every ruleset of a snapshot (one per family) and wraps it in the
 * LintEngine port. The engine's own diagnostics (jump loops, missing chains, unmodelled options)
 * are passed on so reports show them.
 */
import { buildNetworkContext } from '../docker/context.ts';
import { createEngine } from '../engine/index.ts';
import type { NetworkContext } from '../engine/context.ts';
import type { Engine } from '../engine/types.ts';
import type { Diagnostic } from '../model/diagnostic.ts';
import { firewallOf, type Snapshot } from '../model/snapshot.ts';
import type { LintEngine } from './engine.ts';
import { adaptEngines } from './engine-adapter.ts';

export function createLintEngine(snapshot: Snapshot): {
  engine: LintEngine | null;
  diagnostics: Diagnostic[];
} {
  const engines: { engine: Engine; context: NetworkContext }[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    const ruleset = firewallOf(snapshot, family);
    if (ruleset === null) continue;
    const context = buildNetworkContext(snapshot, ruleset.family);
    engines.push({ engine: createEngine(ruleset, context), context });
  }
  const diagnostics = engines.flatMap((e) => e.engine.diagnostics);
  return { engine: engines.length === 0 ? null : adaptEngines(engines), diagnostics };
}
