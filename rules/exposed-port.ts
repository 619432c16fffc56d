/**
 * exposed-port: what packets from outside the host reach — published container ports, host
 * ports open in INPUT, addresses the host forwards to. The engine discovers the exposures before
 * rules run; this rule ranks them: sensitive services (databases, the Docker API, etcd, …) are
 * errors, ports meant to be public and ports with nothing listening are notes, the rest follow
 * the rule severity. Forwarding straight to containers is direct-container-access's.
 */
import {
  exposureLocation,
  exposureObject,
  reachesService,
} from '../src/analysis/exposure-object.ts';
import {
  destinationText,
  interfaceText,
  portsText,
  singlePort,
  sourcesText,
  targetText,
} from '../src/analysis/exposure-text.ts';
import type { Exposure } from '../src/model/audit.ts';
import { defineRule, type ReportDescriptor } from '../src/lint/rule.ts';

type MessageIds = 'exposed' | 'sensitive' | 'forwards';

export interface Options {
  /** Ports that rank as errors when exposed (service name for the message). */
  readonly sensitivePorts?: readonly number[];
  /** Ports that are meant to be public (e.g. 80, 443): reported as notes only. */
  readonly publicPorts?: readonly number[];
}

const SENSITIVE: Readonly<Record<number, string>> = {
  2375: 'the Docker API (plain TCP)',
  2376: 'the Docker API (TLS)',
  2379: 'etcd',
  3306: 'MySQL',
  5432: 'PostgreSQL',
  5984: 'CouchDB',
  6379: 'Redis',
  9200: 'Elasticsearch',
  11211: 'memcached',
  27017: 'MongoDB',
};

/** The sentence starts with the target: `Container web (…)`, `Host sshd`. */
function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export default defineRule<MessageIds, Options, true>({
  meta: {
    id: 'exposed-port',
    type: 'problem',
    severity: 'warning',
    docs: {
      description:
        'Container ports and host listeners reachable from outside the host; databases, the Docker API and other sensitive services rank higher',
      recommended: true,
    },
    messages: {
      exposed: '{{target}} is reachable from outside at {{address}} ({{certainty}}) from {{from}}.',
      forwards:
        'The host forwards new {{protocol}} connections from {{from}} to {{address}}{{out}} ({{certainty}}): it routes for anyone who sends it such traffic.',
      sensitive:
        '{{target}} serves {{service}} and is reachable from outside at {{address}} ({{certainty}}) from {{from}}.',
    },
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        sensitivePorts: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 65535 } },
        publicPorts: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 65535 } },
      },
    },
    defaultOptions: {},
    requiresEngine: true,
  },
  create(context) {
    const extra = new Set(context.options.sensitivePorts ?? []);
    const publicPorts = new Set(context.options.publicPorts ?? []);
    return {
      end() {
        const routed = new Map<
          string,
          {
            common: Omit<ReportDescriptor<MessageIds>, 'messageId'>;
            data: Record<string, string>;
            certainty: Exposure['certainty'];
            protocols: string[];
          }
        >();
        for (const e of context.exposures) {
          // straight to a container or Docker network: direct-container-access says it
          if (e.kind === 'routed' && (e.target.kind === 'container' || e.target.network !== null))
            continue;
          if (!reachesService(e)) continue;
          const sent = singlePort(e.ports);
          const delivered = singlePort(e.target.ports);
          const service =
            (delivered === null ? null : (SENSITIVE[delivered] ?? null)) ??
            (sent === null ? null : (SENSITIVE[sent] ?? (extra.has(sent) ? `port ${sent}` : null)));
          const isPublic = sent !== null && publicPorts.has(sent);
          const common = {
            node: { location: exposureLocation(e, context.snapshot) },
            object: exposureObject(e),
            witness: e.witness,
            trace: e.trace,
            certainty: e.certainty,
            assumptions: e.assumptions,
          };
          const data = {
            target: capitalised(targetText(e)),
            address: destinationText(e),
            certainty: e.certainty === 'certain' ? 'certainly' : 'possibly',
            from: sourcesText(e.reachableFrom),
          };
          if (e.kind === 'routed') {
            // one finding per forwarding path, whatever the protocols
            // the target said in full: its text counts long address and port lists
            const t = e.target;
            const to = [t.kind, t.name, t.addresses, portsText(t.ports), t.outInterface, t.network];
            const key = [e.family, e.certainty, e.destinations, ...to, data.from].join('|');
            const seen = routed.get(key);
            if (seen !== undefined) seen.protocols.push(e.protocol.toUpperCase());
            else {
              const out = e.target.outInterface;
              routed.set(key, {
                common,
                data: {
                  ...data,
                  address: destinationText(e).replace(/\/[a-z]+$/, ''),
                  out: out === null ? '' : ` out of ${interfaceText(out, true)}`,
                },
                certainty: e.certainty,
                protocols: [e.protocol.toUpperCase()],
              });
            }
          } else if (service !== null && !isPublic) {
            context.report({
              ...common,
              messageId: 'sensitive',
              data: { ...data, service },
              severity: 'error',
            });
          } else {
            context.report({
              ...common,
              messageId: 'exposed',
              data,
              ...(isPublic ? { severity: 'note' as const } : {}),
            });
          }
        }
        // a host that routes: certain is a warning, resting on an assumed route a note
        for (const r of routed.values())
          context.report({
            ...r.common,
            messageId: 'forwards',
            data: { ...r.data, protocol: r.protocols.join('/') },
            ...(r.certainty === 'possible' ? { severity: 'note' as const } : {}),
          });
      },
    };
  },
});
