/**
 * docker-user-port-mismatch: in FORWARD and DOCKER-USER a published port's packets already carry
 * the container's address and port (DNAT ran in PREROUTING). A rule there that names the host
 * port or a host address matches something that no longer exists; `--ctorigdstport` and
 * `--ctorigdst` match the original values. The published ports are the engine's discovered
 * exposures, so the rules alone show the mistake.
 */
import {
  intersectPorts,
  portsOverlap,
  portsText,
  targetName,
} from '../src/analysis/exposure-text.ts';
import { isLoopback } from '../src/docker/bindings.ts';
import { isDockerChain } from '../src/docker/chains.ts';
import { ruleEvidence } from '../src/docker/rule-evidence.ts';
import type { Exposure } from '../src/model/audit.ts';
import type { PortRange, Rule, Table } from '../src/model/ruleset.ts';
import { findTable } from '../src/model/ruleset.ts';
import {
  dstAddress,
  dstPorts,
  matchesOriginalDestination,
  protocolName,
  reachableChains,
} from '../src/model/rule-queries.ts';
import { defineRule } from '../src/lint/rule.ts';

type MessageIds = 'hostPort' | 'hostAddress';

function bare(cidr: string): string {
  const i = cidr.indexOf('/');
  return i < 0 ? cidr : cidr.slice(0, i);
}

/** Chains whose rules see forwarded packets after DNAT: FORWARD, DOCKER-USER and what they jump to. */
function forwardSideChains(filter: Table): Set<string> {
  const out = new Set<string>();
  for (const name of reachableChains(filter, 'FORWARD')) {
    if (!isDockerChain(name)) out.add(name);
  }
  return out;
}

/** Host ports of a rule or mapping counted (ranges can be wide). */
function portCount(ranges: readonly PortRange[]): number {
  return ranges.reduce((n, r) => n + r.to - r.from + 1, 0);
}

/**
 * The exposures whose host ports may meet a rule's ports, in their order, found through an index
 * by port (a host of thousands of mappings and rules is not compared pair by pair). Exposures of
 * wide port ranges, and rules of wide ranges, fall back to the whole list.
 */
function byHostPort(exposures: readonly Exposure[]): (ports: readonly PortRange[]) => Exposure[] {
  const at = new Map<number, number[]>();
  const wide: number[] = [];
  exposures.forEach((e, i) => {
    if (portCount(e.ports) > 256) {
      wide.push(i);
      return;
    }
    for (const r of e.ports)
      for (let p = r.from; p <= r.to; p += 1) {
        const list = at.get(p);
        if (list === undefined) at.set(p, [i]);
        else list.push(i);
      }
  });
  return (ports) => {
    if (portCount(ports) > 4096) return [...exposures];
    const found = new Set(wide);
    for (const r of ports)
      for (let p = r.from; p <= r.to; p += 1) for (const i of at.get(p) ?? []) found.add(i);
    return [...found].sort((a, b) => a - b).flatMap((i) => exposures[i] ?? []);
  };
}

/** A port published to a container or other address: DNATed, then forwarded. */
function isForwardedPublish(e: Exposure): boolean {
  return e.kind === 'published' && e.target.outInterface !== null;
}

export default defineRule<MessageIds, object, true>({
  meta: {
    id: 'docker-user-port-mismatch',
    type: 'problem',
    severity: 'error',
    docs: {
      description:
        'DOCKER-USER or FORWARD rules that match a published host port or host address, which no longer exist after DNAT',
      recommended: true,
    },
    messages: {
      hostPort:
        "{{chain}} rule matches --dport {{port}}, the host port of {{container}}'s mapping {{port}}→{{containerPort}}; after DNAT the packet carries port {{containerPort}}, so this rule never matches it. Use -m conntrack --ctorigdstport {{port}} --ctdir ORIGINAL.",
      hostAddress:
        '{{chain}} rule matches -d {{address}}, a host address that published ports are DNATed away from (to {{container}} at {{target}}); use -m conntrack --ctorigdst {{address}}.',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: true,
  },
  create(context) {
    const { host, snapshot } = context;
    const published = context.exposures.filter(isForwardedPublish);
    // Addresses known to be the host's: its interfaces, and mappings bound to one address.
    const hostAddresses = new Set([
      ...host.interfaces.flatMap((i) => i.addresses.map((a) => a.address)),
      ...[snapshot.ipv4, snapshot.ipv6].flatMap((r) =>
        ruleEvidence(r).hostAddresses.map((f) => f.address),
      ),
    ]);
    const evidence = (e: Exposure) => ({
      witness: e.witness,
      trace: e.trace,
      certainty: e.certainty,
      assumptions: e.assumptions,
    });

    const candidates = new Map(
      (['ipv4', 'ipv6'] as const).map((f) => [
        f as string,
        byHostPort(published.filter((e) => e.family === f)),
      ]),
    );
    /** An exposure whose host port the rule names but whose container port it does not. */
    const byPort = (rule: Rule, family: string): Exposure | undefined => {
      const ports = dstPorts(rule);
      if (ports === null) return undefined;
      const proto = protocolName(rule);
      return candidates
        .get(family)?.(ports)
        .find(
          (e) =>
            (proto === null || proto === e.protocol) &&
            portsOverlap(ports, e.ports) &&
            !portsOverlap(ports, e.target.ports),
        );
    };

    return {
      Ruleset(ruleset) {
        const filter = findTable(ruleset, 'filter');
        if (filter === undefined) return;
        const chains = forwardSideChains(filter);
        const mine = published.filter((e) => e.family === ruleset.family);
        if (mine.length === 0) return;
        for (const chain of filter.chains) {
          if (!chains.has(chain.name)) continue;
          for (const rule of chain.rules) {
            if (matchesOriginalDestination(rule)) continue;
            const e = byPort(rule, ruleset.family);
            if (e !== undefined) {
              const ports = dstPorts(rule) ?? [];
              const hostPort = intersectPorts(e.ports, ports);
              context.report({
                messageId: 'hostPort',
                data: {
                  chain: chain.name,
                  port: portsText(hostPort),
                  container: targetName(e),
                  containerPort: portsText(e.target.ports),
                },
                node: rule,
                object: {
                  table: 'filter',
                  chain: chain.name,
                  rule: rule.index,
                  port: hostPort[0]?.from ?? 0,
                },
                ...evidence(e),
              });
              continue;
            }
            const dst = dstAddress(rule);
            if (dst === null) continue;
            const address = bare(dst);
            if (!hostAddresses.has(address) || isLoopback(address)) continue;
            const target = mine.find(
              (x) => x.anyHostAddress || x.destinations.some((d) => bare(d) === address),
            );
            if (target === undefined) continue;
            context.report({
              messageId: 'hostAddress',
              data: {
                chain: chain.name,
                address,
                container: targetName(target),
                target: `${target.target.addresses.map(bare).join(', ')}:${portsText(target.target.ports)}`,
              },
              node: rule,
              object: { table: 'filter', chain: chain.name, rule: rule.index, address },
              ...evidence(target),
            });
          }
        }
      },
    };
  },
});
