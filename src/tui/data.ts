/**
 * What the review UI is given: the audit result every reporter gets, plus the parts of the
 * snapshot the panes show (rulesets for the chain tree, the Docker host for containers), a rule
 * documentation lookup and the engine's tracer. The UI never parses or analyses anything itself.
 */
import type { AuditResult } from '../model/audit.ts';
import type { DockerHost } from '../model/host.ts';
import type { Ruleset } from '../model/ruleset.ts';
import type { Packet, Trace } from '../model/trace.ts';

/**
 * Runs the engine's trace of one concrete packet, here or in a worker (then a Promise); throws
 * or rejects on a packet it cannot walk.
 */
export type Tracer = (packet: Packet) => Trace | Promise<Trace>;

export interface ReviewData {
  readonly audit: AuditResult;
  readonly rulesets: readonly Ruleset[];
  readonly host: DockerHost | null;
  /** One-line summary of a lint rule, from the rule registry; null when unknown. */
  readonly ruleDoc: (ruleId: string) => string | null;
  /** Null when the engine could not be built for this snapshot (the tracer form says so). */
  readonly trace: Tracer | null;
}
