/**
 * nft-port-mismatch: an operator's nftables chain that sees packets after DNAT — on the forward
 * hook, on postrouting, or on prerouting after Docker's `dstnat` chain — and matches a published
 * host port (`tcp dport 8080`) or a host address (`ip daddr 203.0.113.1`). By then the packet
 * carries the container's address and port, so the rule never matches the connections it was
 * written for; `ct original proto-dst` and `ct original ip daddr` match what the client sent.
 * The nftables twin of docker-user-port-mismatch (Docker 29's nftables backend has no
 * DOCKER-USER: operators filter in base chains of their own).
 */
import { isDockerNftTable } from '../src/docker/nft-layout.ts';
import { publishedPortConnection } from '../src/analysis/packets.ts';
import { mappingByHostPort, remappedPorts } from '../src/docker/ports.ts';
import { containerAddresses, publishedFamily } from '../src/docker/topology.ts';
import { dstAddress, matchesOriginalDestination, protocolName } from '../src/model/rule-queries.ts';
import { defineRule } from '../src/lint/rule.ts';
import type { Container, PublishedPort } from '../src/model/host.ts';
import type { Chain, Family, PortRange, Rule, Table } from '../src/model/ruleset.ts';
import { allOptions, findChain, ruleActions, tableId } from '../src/model/ruleset.ts';

type MessageIds = 'hostPort' | 'hostAddress';

/** Docker's nat chain on prerouting runs at priority dstnat (-100); later chains see its DNAT. */
const DSTNAT = -100;

/** Base chains of an operator table whose packets were already DNATed, and why. */
function afterDnat(chain: Chain): string | null {
  const b = chain.base;
  if (b === undefined || b.type !== 'filter') return null;
  if (b.hook === 'forward') return 'forward hook';
  if (b.hook === 'postrouting') return 'postrouting hook';
  if (b.hook === 'prerouting' && b.priority > DSTNAT) return 'prerouting hook after dstnat';
  return null;
}

/** The chains a base chain leads to by jump, goto and verdict maps (itself included). */
function reached(table: Table, from: Chain): Chain[] {
  const out: Chain[] = [];
  const seen = new Set<string>();
  const stack = [from.name];
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const chain = findChain(table, name);
    if (chain === undefined) continue;
    out.push(chain);
    for (const rule of chain.rules) {
      for (const a of ruleActions(rule)) if (a.kind === 'jump') stack.push(a.chain);
    }
  }
  return out;
}

/** Destination ports the rule requires: `th/tcp dport …`, or a set of ports it must be in. */
function requiredDstPorts(rule: Rule): PortRange[] | null {
  for (const o of allOptions(rule)) {
    if (o.negated) continue;
    if (o.type === 'port' && o.field === 'dst') return [...o.ranges];
    if (o.type === 'member' && o.elements !== null && o.elements !== undefined) {
      const ranges: PortRange[] = [];
      for (const el of o.elements) {
        const only = el.length === 1 ? el[0] : undefined;
        if (only?.type !== 'port' || only.field !== 'dst') return null;
        ranges.push(...only.ranges);
      }
      return ranges;
    }
  }
  return null;
}

/** The families of packets a table of this nft family sees. */
function familiesOf(table: Table): Family[] {
  const f = table.nft?.family;
  if (f === 'ip') return ['ipv4'];
  if (f === 'ip6') return ['ipv6'];
  if (f === 'inet' || f === 'netdev') return ['ipv4', 'ipv6'];
  return [];
}

function bare(cidr: string): string {
  const i = cidr.indexOf('/');
  return i < 0 ? cidr : cidr.slice(0, i);
}

export default defineRule<MessageIds, object>({
  meta: {
    id: 'nft-port-mismatch',
    type: 'problem',
    severity: 'error',
    docs: {
      description:
        'nftables rules after DNAT (forward hook, postrouting, prerouting after dstnat) that match a published host port or host address, which no longer exist there; use ct original proto-dst / ip daddr',
      recommended: true,
    },
    messages: {
      hostPort:
        "{{chain}} ({{where}}) matches destination port {{port}}, the host port of {{container}}'s mapping {{port}}→{{containerPort}}; this hook sees the packet after DNAT, with port {{containerPort}}, so the rule never matches it. Match `ct original proto-dst {{port}}` instead.",
      hostAddress:
        '{{chain}} ({{where}}) matches destination {{address}}, a host address that published ports are DNATed away from (to {{container}} at {{target}}); match `ct original {{selector}} daddr {{address}}` instead.',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: false,
  },
  create(context) {
    const { host, engine, snapshot } = context;
    const running = host.containers.filter((c) => c.running && c.networkMode.kind !== 'host');
    const mappings = remappedPorts(host);
    const localAddresses = new Set(
      host.interfaces.flatMap((i) => i.addresses.map((a) => a.address)),
    );

    /** A remote client's connection to the published port, and what the engine says of it. */
    const witnessFor = (family: Family, rule: Rule, p: PublishedPort) => {
      const dst = dstAddress(rule);
      const packet = publishedPortConnection(
        host,
        family,
        p,
        dst === null ? null : bare(dst),
        engine?.localAddresses(family),
      );
      const trace = engine?.trace(packet) ?? null;
      return {
        witness: packet,
        trace: trace?.steps ?? [],
        certainty: trace?.certainty ?? ('certain' as const),
        assumptions: trace?.assumptions ?? [],
      };
    };

    const checkRule = (
      table: Table,
      chain: Chain,
      where: string,
      rule: Rule,
      families: readonly Family[],
    ): void => {
      if (matchesOriginalDestination(rule)) return;
      const name = `${tableId(table)}/${chain.name}`;
      const ports = requiredDstPorts(rule);
      const proto = protocolName(rule);
      if (ports !== null) {
        const hit = mappingByHostPort(mappings, ports, proto, families);
        if (hit !== undefined) {
          const port = hit.p.hostPort ?? 0;
          context.report({
            messageId: 'hostPort',
            data: {
              chain: name,
              where,
              port,
              container: hit.c.name,
              containerPort: hit.p.containerPort,
            },
            node: rule,
            object: { table: tableId(table), chain: chain.name, rule: rule.index, port },
            ...witnessFor(publishedFamily(hit.p), rule, hit.p),
          });
          return;
        }
      }
      const dst = dstAddress(rule);
      if (dst === null) return;
      const address = bare(dst);
      if (!localAddresses.has(address)) return;
      const family: Family = address.includes(':') ? 'ipv6' : 'ipv4';
      const published = (c: Container) =>
        c.published.find(
          (p) =>
            p.hostPort !== null &&
            publishedFamily(p) === family &&
            (p.hostIp === address || p.hostIp === '0.0.0.0' || p.hostIp === '::'),
        );
      const target = running.find((c) => published(c) !== undefined);
      const port = target === undefined ? undefined : published(target);
      if (target === undefined || port === undefined) return;
      context.report({
        messageId: 'hostAddress',
        data: {
          chain: name,
          where,
          address,
          selector: family === 'ipv4' ? 'ip' : 'ip6',
          container: target.name,
          target: `${containerAddresses(target)[0] ?? '?'}:${port.containerPort}`,
        },
        node: rule,
        object: { table: tableId(table), chain: chain.name, rule: rule.index, address },
        ...witnessFor(family, rule, port),
      });
    };

    return {
      end() {
        if (snapshot.nft === null || mappings.length + localAddresses.size === 0) return;
        for (const table of snapshot.nft.tables) {
          if (isDockerNftTable(table) || table.nft?.iptablesNft === true) continue;
          const families = familiesOf(table);
          if (families.length === 0) continue;
          const checked = new Set<string>();
          for (const base of table.chains) {
            const where = afterDnat(base);
            if (where === null) continue;
            for (const chain of reached(table, base)) {
              if (checked.has(chain.name)) continue;
              checked.add(chain.name);
              const at = chain === base ? where : `${where}, reached from ${base.name}`;
              for (const rule of chain.rules) checkRule(table, chain, at, rule, families);
            }
          }
        }
      },
    };
  },
});
