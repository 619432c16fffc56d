/**
 * input-rule-bypassed: the "Docker bypasses ufw" problem. An INPUT-side DROP or REJECT (a rule,
 * ufw's chains, or INPUT's DROP policy) looks like it blocks a published port, but the packets
 * are DNATed in PREROUTING and forwarded to the container: INPUT never sees them.
 */
import type { Container, DockerHost, PublishedPort } from '../src/model/host.ts';
import type { Chain, Rule, Ruleset } from '../src/model/ruleset.ts';
import { findTable } from '../src/model/ruleset.ts';
import type { Trace } from '../src/model/trace.ts';
import type { LintEngine } from '../src/lint/engine.ts';
import { hostAddressFor, newConnection, remoteClient } from '../src/analysis/packets.ts';
import { externalInterfaces } from '../src/docker/interfaces.ts';
import { dnatRules } from '../src/docker/rules.ts';
import { publishedFamily } from '../src/docker/topology.ts';
import { dstPorts, inRange, protocolName, reachableChains } from '../src/model/rule-queries.ts';
import { defineRule, ruleDocsUrl } from '../src/lint/rule.ts';

type MessageIds = 'ruleBypassed' | 'policyBypassed';

interface Mapping {
  readonly c: Container;
  readonly p: PublishedPort;
}

function isBlocking(rule: Rule): boolean {
  return rule.target?.kind === 'DROP' || rule.target?.kind === 'REJECT';
}

/** Evidence that a remote client's connection to the mapping is forwarded, not delivered locally. */
function bypassEvidence(
  ruleset: Ruleset,
  m: Mapping,
  engine: LintEngine | null,
  hostAddress: string,
  iface: string,
  host: DockerHost,
): { trace: Trace | null; dnat: Rule | null } | null {
  const family = ruleset.family;
  const packet = newConnection(
    family,
    m.p.protocol,
    remoteClient(family, host),
    hostAddress,
    m.p.hostPort ?? 0,
    iface,
  );
  if (engine !== null) {
    const trace = engine.trace(packet);
    if (trace !== null) {
      if (trace.verdict !== 'accepted' || trace.delivery?.kind !== 'forward') return null;
      return { trace, dnat: null };
    }
  }
  const dnat = dnatRules(ruleset).find(
    (d) =>
      m.p.hostPort !== null &&
      (d.protocol === null || d.protocol === m.p.protocol) &&
      (d.hostPorts === null || inRange(m.p.hostPort, d.hostPorts)),
  );
  return dnat === undefined ? null : { trace: null, dnat: dnat.rule };
}

export default defineRule<MessageIds, object>({
  meta: {
    id: 'input-rule-bypassed',
    type: 'problem',
    severity: 'error',
    docs: {
      description:
        'INPUT-side DROP/REJECT rules and policies (ufw included) that published ports bypass through DNAT and FORWARD',
      recommended: true,
      url: ruleDocsUrl('input-rule-bypassed'),
    },
    messages: {
      ruleBypassed:
        '{{chain}} rule {{action}}s {{port}}/{{protocol}}, but connections to that published port are DNATed to {{container}} ({{target}}) and forwarded: this rule never sees them.',
      policyBypassed:
        'INPUT policy {{policy}} does not protect published ports: {{ports}} reach containers through FORWARD instead.',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: false,
  },
  create(context) {
    const { host, engine } = context;
    const mappings: Mapping[] = host.containers
      .filter((c) => c.running && c.networkMode.kind !== 'host')
      .flatMap((c) => c.published.filter((p) => p.hostPort !== null).map((p) => ({ c, p })));

    return {
      Ruleset(ruleset) {
        const filter = findTable(ruleset, 'filter');
        const input = filter?.chains.find((c) => c.name === 'INPUT');
        if (filter === undefined || input === undefined) return;
        const iface = externalInterfaces(host, ruleset.family)[0] ?? 'eth0';
        const inputChains = reachableChains(filter, 'INPUT');
        const mine = mappings.filter(
          (m) => publishedFamily(m.p) === ruleset.family && !m.p.hostIp.startsWith('127.'),
        );
        const bypassed: {
          m: Mapping;
          ev: NonNullable<ReturnType<typeof bypassEvidence>>;
          addr: string;
        }[] = [];
        for (const m of mine) {
          const addr = hostAddressFor(
            host,
            ruleset.family,
            m.p.hostIp,
            engine?.localAddresses(ruleset.family),
          );
          const ev = bypassEvidence(ruleset, m, engine, addr, iface, host);
          if (ev !== null) bypassed.push({ m, ev, addr });
        }
        const report = (
          node: Rule | Chain,
          messageId: MessageIds,
          data: Record<string, string | number>,
          b: (typeof bypassed)[number],
          chain: string,
          rule?: number,
        ) => {
          const family = ruleset.family;
          const witness =
            b.ev.trace?.packet ??
            newConnection(
              family,
              b.m.p.protocol,
              remoteClient(family, host),
              b.addr,
              b.m.p.hostPort ?? 0,
              iface,
            );
          context.report({
            messageId,
            data,
            node,
            // The policy finding is about the chain, not about whichever port is listed first.
            object:
              rule === undefined
                ? { table: 'filter', chain }
                : {
                    table: 'filter',
                    chain,
                    rule,
                    container: b.m.c.name,
                    port: b.m.p.hostPort ?? 0,
                    protocol: b.m.p.protocol,
                  },
            witness,
            trace: b.ev.trace?.steps ?? [],
            certainty: b.ev.trace?.certainty ?? 'possible',
            related:
              b.ev.dnat === null
                ? []
                : [{ message: 'the DNAT that diverts the packet', location: b.ev.dnat.location }],
          });
        };
        for (const chain of filter.chains) {
          if (!inputChains.has(chain.name)) continue;
          for (const rule of chain.rules) {
            if (!isBlocking(rule)) continue;
            const ports = dstPorts(rule);
            if (ports === null) continue;
            const proto = protocolName(rule);
            for (const b of bypassed) {
              const hp = b.m.p.hostPort ?? -1;
              if (!inRange(hp, ports) || (proto !== null && proto !== b.m.p.protocol)) continue;
              report(
                rule,
                'ruleBypassed',
                {
                  chain: chain.name,
                  action: rule.target?.kind === 'REJECT' ? 'reject' : 'drop',
                  port: hp,
                  protocol: b.m.p.protocol,
                  container: b.m.c.name,
                  target: `${b.m.p.containerPort}/${b.m.p.protocol}`,
                },
                b,
                chain.name,
                rule.index,
              );
            }
          }
        }
        if ((input.policy === 'DROP' || endsWithBlock(input)) && bypassed.length > 0) {
          const first = bypassed[0];
          if (first !== undefined) {
            report(
              input,
              'policyBypassed',
              {
                policy: input.policy ?? 'DROP',
                ports: bypassed
                  .map(
                    (b) =>
                      `${b.m.p.hostIp}:${b.m.p.hostPort ?? ''}/${b.m.p.protocol} → ${b.m.c.name}`,
                  )
                  .join(', '),
              },
              first,
              'INPUT',
            );
          }
        }
      },
    };
  },
});

/** INPUT ending in an unconditional DROP/REJECT (or a jump to a ufw-style reject chain) acts as a policy. */
function endsWithBlock(chain: Chain): boolean {
  const last = chain.rules[chain.rules.length - 1];
  return (
    last !== undefined && isBlocking(last) && last.core.length === 0 && last.matches.length === 0
  );
}
