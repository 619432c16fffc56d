/**
 * The packet engine of every ruleset of a snapshot (one per family), each with the host context
 * it walks with. Built once per analysis; the exposure table and the rules' engine port both
 * read from it.
 */
import { buildHostContext, type HostContext } from '../docker/context.ts';
import { BddLimitError } from '../engine/bdd.ts';
import { createEngine } from '../engine/index.ts';
import type { Engine } from '../engine/types.ts';
import type { Diagnostic, DiagnosticCode } from '../model/diagnostic.ts';
import type { Family } from '../model/ruleset.ts';
import { firewallOf, type Snapshot } from '../model/snapshot.ts';

export interface FamilyEngine {
  readonly family: Family;
  readonly engine: Engine;
  readonly host: HostContext;
}

export interface SnapshotEngines {
  readonly families: readonly FamilyEngine[];
  /** The engines' own diagnostics (jump loops, missing chains, unmodelled options). */
  readonly diagnostics: readonly Diagnostic[];
}

export function buildEngines(snapshot: Snapshot): SnapshotEngines {
  const families: FamilyEngine[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    // iptables and nftables of one family walk as one pipeline of base chains
    const ruleset = firewallOf(snapshot, family);
    if (ruleset === null) continue;
    const host = buildHostContext(snapshot, family);
    families.push({ family, engine: createEngine(ruleset, host.context), host });
  }
  const said = new Set(
    snapshot.diagnostics.map((d) => `${d.code}|${d.location.file}|${d.location.line}`),
  );
  const diagnostics: Diagnostic[] = [];
  for (const f of families) {
    for (const d of f.engine.diagnostics) {
      const reader = RESTATES[d.code];
      const where = `${d.location.file}|${d.location.line}`;
      if (reader === undefined || !said.has(`${reader}|${where}`)) diagnostics.push(d);
    }
  }
  return { families, diagnostics };
}

/**
 * Engine diagnostics that only restate, on the same line, what the reader already said: a jump
 * to a chain the table does not declare is the reader's `unknown-chain`.
 */
const RESTATES: Partial<Record<DiagnosticCode, DiagnosticCode>> = {
  'jump-to-missing-chain': 'unknown-chain',
};

/**
 * What the engine says when it stopped at its node budget (see BddLimitError), else null: not a
 * bug but a ruleset too large to follow, said as such by the callers.
 */
export function engineLimitOf(error: unknown): string | null {
  return error instanceof BddLimitError ? error.message : null;
}
