/**
 * exposed-port: a container port or host listener that packets from outside the host reach.
 * The exposures are computed by the engine before rules run; this rule ranks them: sensitive
 * services (databases, the Docker API, etcd, …) are errors, the rest follow the rule severity.
 */
import type { Exposure } from '../src/model/audit.ts';
import { defineRule, ruleDocsUrl } from '../src/lint/rule.ts';

type MessageIds = 'exposed' | 'sensitive';

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

function describe(e: Exposure): string {
  const addr = e.family === 'ipv6' ? `[${e.hostAddress}]` : e.hostAddress;
  return `${addr}:${e.hostPort}/${e.protocol}`;
}

function whoReaches(e: Exposure): string {
  return e.reachableFrom
    .map((r) => `${r.sources.join(', ')}${r.interface === '*' ? '' : ` via ${r.interface}`}`)
    .join('; ');
}

export default defineRule<MessageIds, Options>({
  meta: {
    id: 'exposed-port',
    type: 'problem',
    severity: 'warning',
    docs: {
      description:
        'Container ports and host listeners reachable from outside the host; databases, the Docker API and other sensitive services rank higher',
      recommended: true,
      url: ruleDocsUrl('exposed-port'),
    },
    messages: {
      exposed: '{{target}} is reachable from outside at {{address}} ({{certainty}}) from {{from}}.',
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
        for (const e of context.exposures) {
          const target =
            e.target.kind === 'container'
              ? `Container ${e.target.name ?? e.target.address} port ${e.target.port}/${e.protocol}`
              : `Host ${e.target.name ?? 'service'} on port ${e.target.port}/${e.protocol}`;
          const service =
            SENSITIVE[e.target.port] ??
            SENSITIVE[e.hostPort] ??
            (extra.has(e.hostPort) ? `port ${e.hostPort}` : null);
          const node = { location: locationOf(e, context.snapshot) };
          const object = {
            ...(e.target.kind === 'container' && e.target.name !== null
              ? { container: e.target.name }
              : {}),
            port: e.hostPort,
            protocol: e.protocol,
            address: e.hostAddress,
          };
          const common = {
            node,
            object,
            witness: e.witness,
            trace: e.trace,
            certainty: e.certainty,
          };
          const data = {
            target,
            address: describe(e),
            certainty: e.certainty === 'certain' ? 'certainly' : 'possibly',
            from: whoReaches(e),
          };
          if (service !== null && !publicPorts.has(e.hostPort)) {
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
              ...(publicPorts.has(e.hostPort) ? { severity: 'note' as const } : {}),
            });
          }
        }
      },
    };
  },
});

/** The DNAT or ACCEPT step of the trace locates the finding; else the ruleset file. */
function locationOf(
  e: Exposure,
  snapshot: {
    readonly ipv4: { readonly file: string } | null;
    readonly ipv6: { readonly file: string } | null;
  },
): { file: string; line: number; column: number } {
  const located = e.trace.filter((s) => s.file !== null && s.line !== null);
  const step =
    located.find((s) => s.action.startsWith('DNAT')) ??
    located.find((s) => s.rule !== null && s.action.startsWith('ACCEPT')) ??
    located[located.length - 1];
  if (step !== undefined && step.file !== null && step.line !== null)
    return { file: step.file, line: step.line, column: 1 };
  const file =
    (e.family === 'ipv4' ? snapshot.ipv4?.file : snapshot.ipv6?.file) ?? 'iptables-save.txt';
  return { file, line: 1, column: 1 };
}
