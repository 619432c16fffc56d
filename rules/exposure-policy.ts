/**
 * exposure-policy: the exposures `.dockwall.yaml`'s `policy.allow` list permits, checked against
 * what the engine discovered. A reachable exposure with sources or interfaces no entry allows is
 * an error, with a witness from a forbidden source and its trace; an entry that matches nothing
 * any more is a warning at the entry, so the policy follows the host. Silent without a policy.
 */
import {
  exposureLocation,
  exposureObject,
  reachesService,
} from '../src/analysis/exposure-object.ts';
import { destinationText, exceptText, targetText } from '../src/analysis/exposure-text.ts';
import {
  disallowedSources,
  forbiddenSource,
  staleAllows,
  type DisallowedSource,
} from '../src/analysis/policy.ts';
import type { Exposure } from '../src/model/audit.ts';
import type { Policy } from '../src/model/exposure-policy.ts';
import { defineRule, listOf } from '../src/lint/rule.ts';

type MessageIds = 'violation' | 'staleAllow';

/** A disallowed source as the message says it: ` except …` the addresses the host blocks. */
function sourceText(b: DisallowedSource, family: Exposure['family']): string {
  return `${b.source}${exceptText(b.except, family, 2)} via ${b.interface}`;
}

export interface ExposurePolicyOptions {
  /** Set from the config's top-level `policy:` key. */
  readonly policy?: Policy;
}

export default defineRule<MessageIds, ExposurePolicyOptions, true>({
  meta: {
    id: 'exposure-policy',
    type: 'problem',
    severity: 'error',
    docs: {
      description:
        'Exposures the policy in .dockwall.yaml does not allow, and allowed exposures that no longer exist',
      recommended: true,
    },
    messages: {
      violation: '{{exposure}} is reachable from {{sources}}, which the policy does not allow.',
      staleAllow:
        'Allowed exposure {{allow}} is no longer reachable; remove it from the policy or check that the service still runs.',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: true,
  },
  create(context) {
    const policy = context.options.policy;
    if (policy === undefined) return {};
    const { engine } = context;
    return {
      end() {
        for (const e of context.exposures) {
          if (!reachesService(e)) continue;
          const bad = disallowedSources(e, policy);
          const first = bad[0];
          if (first === undefined) continue;
          // the proof shows a packet the policy forbids, not one it allows
          let witness = e.witness;
          let trace = e.trace;
          let certainty = e.certainty;
          let assumptions = e.assumptions;
          const source = forbiddenSource(e, policy, first.interface, first.source);
          if (source !== null && source !== e.witness.source) {
            witness = { ...e.witness, source, inInterface: first.interface };
            const t = engine?.trace(witness) ?? null;
            trace = t?.steps ?? [];
            if (t !== null && t.certainty === 'possible') certainty = 'possible';
            if (t !== null) assumptions = [...assumptions, ...t.assumptions];
          }
          context.report({
            messageId: 'violation',
            data: {
              exposure: `${destinationText(e)} (${targetText(e)})`,
              sources: listOf(
                bad.map((b) => sourceText(b, e.family)),
                3,
              ),
            },
            node: { location: exposureLocation(e, context.snapshot) },
            object: exposureObject(e),
            witness,
            trace,
            certainty,
            assumptions,
            related: [{ message: 'policy', location: policy.location }],
          });
        }
        for (const allow of staleAllows(context.exposures, policy)) {
          context.report({
            messageId: 'staleAllow',
            data: { allow: allow.description },
            node: allow,
            object: { address: allow.description },
            severity: 'warning',
            witness: null,
          });
        }
      },
    };
  },
});
