/**
 * ipv6-unfiltered: the IPv6 side of a container without the filtering its IPv4 side has. The
 * engine's discovered exposures of both families are compared: a container port that IPv6
 * clients reach from most of the address space while IPv4 admits only a few sources (or none)
 * has an IPv4 filter with no IPv6 twin — DOCKER-USER missing or empty in ip6tables, a ufw rule
 * written for one family. docker-proxy relaying IPv6 clients to an IPv4-only container is the
 * same gap through INPUT. With ip6tables off, Docker writes no IPv6 rule at all: said once, from
 * the daemon setting.
 */
import { addressShare, briefCidrs } from '../src/analysis/address-sets.ts';
import { exposureLocation, exposureObject } from '../src/analysis/exposure-object.ts';
import { interfaceText, portsOverlap, portsText } from '../src/analysis/exposure-text.ts';
import { familyOfAddress, isWildcard } from '../src/docker/bindings.ts';
import { filterPlace } from '../src/docker/filter-place.ts';
import { dockerNftTable } from '../src/docker/nft-layout.ts';
import { dockerProgramsIpv6 } from '../src/docker/topology.ts';
import type { Exposure, ReachableFrom } from '../src/model/audit.ts';
import type { Container } from '../src/model/host.ts';
import type { Family } from '../src/model/ruleset.ts';
import { chainIn } from '../src/model/rule-queries.ts';
import { firewallOf } from '../src/model/snapshot.ts';
import { defineRule, type Located } from '../src/lint/rule.ts';
import { bareAddress } from '../src/model/address-text.ts';

type MessageIds = 'ip6tablesOff' | 'ip6tablesUnseen' | 'wider' | 'proxied';

/** Below this share of its address space, a family's sources count as a restriction. */
const RESTRICTED = 0.5;

function v6Containers(containers: readonly Container[]): Container[] {
  return containers.filter((c) => c.running && c.endpoints.some((e) => e.ipv6 !== null));
}

/** The widest share of the address space any one ingress admits. */
function widest(from: readonly ReachableFrom[], family: Family): number {
  return Math.max(0, ...from.map((f) => addressShare(f.sources, family)));
}

function fromText(e: Exposure, family: Family): string {
  return e.reachableFrom
    .map((f) => `from ${briefCidrs(f.sources, family)} via ${interfaceText(f.interface)}`)
    .join('; ');
}

/** Whether the container publishes any of these container ports for IPv4 clients too. */
function publishedForIpv4(c: Container, protocol: string, e: Exposure): boolean {
  return c.published.some(
    (p) =>
      p.protocol === protocol &&
      (isWildcard(p.hostIp) || familyOfAddress(p.hostIp) === 'ipv4') &&
      e.target.ports.some((r) => p.containerPort >= r.from && p.containerPort <= r.to),
  );
}

export default defineRule<MessageIds, object, true>({
  meta: {
    id: 'ipv6-unfiltered',
    type: 'problem',
    severity: 'warning',
    docs: {
      description:
        'Containers reachable over IPv6 without the filtering their IPv4 side has (ip6tables off, an IPv4-only filter, IPv6 proxied to IPv4)',
      recommended: true,
    },
    messages: {
      ip6tablesOff:
        'IPv6 containers ({{names}}) but {{why}}: Docker adds no IPv6 NAT or filter rules, so their addresses are routable from outside subject only to {{forwardPolicy}}.',
      ip6tablesUnseen:
        "IPv6 containers ({{names}}) but {{why}}: whether Docker's IPv6 rules filter their addresses could not be checked.",
      wider:
        'Container {{container}} port {{ports}}/{{protocol}} is reachable over IPv6 {{v6}}, but over IPv4 {{v4}}: the IPv4 filter has no IPv6 twin.',
      proxied:
        'docker-proxy relays IPv6 clients on port {{port}}/{{protocol}} to IPv4-only container {{container}} ({{target}}) {{v6}}: they are filtered in {{input}}, not in {{forward}}.',
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: true,
  },
  create(context) {
    const { host, snapshot } = context;
    const place = filterPlace(snapshot.era.era);
    return {
      end() {
        if (!host.daemon.iptables.value) return;
        const v6 = v6Containers(host.containers);
        // Docker's IPv6 rules: ip6tables-save, or its ip6 docker-bridges table on nftables.
        const nftBackend = place.backend === 'nftables';
        const haveV6Dump =
          snapshot.ipv6 !== null ||
          (nftBackend && dockerNftTable(snapshot.nft, 'ipv6') !== undefined);
        const programs = dockerProgramsIpv6(snapshot);
        if (v6.length > 0 && (!programs || !haveV6Dump)) {
          const setting = host.daemon.ip6tables;
          const node =
            setting.location !== undefined ? { location: setting.location } : (v6[0] as Container);
          const names = v6.map((c) => c.name).join(', ');
          if (programs) {
            // Docker writes IPv6 rules, but the snapshot does not hold them: nothing is known
            context.report({
              messageId: 'ip6tablesUnseen',
              data: {
                names,
                why: nftBackend
                  ? 'no ip6tables dump and no ip6 docker-bridges table in the nftables listing were captured'
                  : 'no ip6tables dump was captured',
              },
              node,
              object: { setting: 'ip6tables' },
              severity: 'warning',
              certainty: 'possible',
              assumptions: [
                "Docker's IPv6 rules, which the snapshot does not hold, may leave these containers' addresses open",
              ],
            });
          } else {
            // off by daemon.json, or off as a captured IPv6 ruleset shows; off only by Docker's
            // default, with neither captured, it may still be on from dockerd's command line
            const known = haveV6Dump || setting.source === 'file';
            const policy = chainIn(snapshot.ipv6, 'filter', 'FORWARD')?.policy ?? 'unknown';
            context.report({
              messageId: 'ip6tablesOff',
              data: {
                names,
                why: known
                  ? '"ip6tables" is off in the daemon'
                  : '"ip6tables" is off by Docker\'s default for this version (daemon.json does not set it, and neither dockerd\'s command line nor its IPv6 rules were captured)',
                forwardPolicy: nftBackend
                  ? "the host's own IPv6 forward-hook chains"
                  : `the host's own ip6tables FORWARD policy (${policy})`,
              },
              node,
              object: { setting: 'ip6tables' },
              severity: policy === 'DROP' ? 'warning' : 'error',
              certainty: known ? 'certain' : 'possible',
              assumptions: [
                '"ip6tables" is taken to be off, Docker\'s default for this version: neither daemon.json, dockerd\'s command line nor its IPv6 rules say so',
              ],
            });
          }
        }
        const byName = new Map(host.containers.map((c) => [c.name, c]));
        const v4Known = firewallOf(snapshot, 'ipv4') !== null;
        const ipv4 = context.exposures.filter(
          (e) => e.family === 'ipv4' && e.target.kind === 'container',
        );
        // docker-proxy relaying the row's IPv6 clients to an IPv4-only container
        const proxied = (e: Exposure, container: string, target: string, node: Located): void =>
          context.report({
            messageId: 'proxied',
            data: {
              port: portsText(e.ports),
              protocol: e.protocol,
              container,
              target: `${target}:${portsText(e.target.ports)}`,
              v6: fromText(e, 'ipv6'),
              input: place.input,
              forward: place.forward,
            },
            severity: 'note',
            node,
            object: exposureObject(e),
            witness: e.witness,
            trace: e.trace,
            certainty: e.certainty,
            assumptions: e.assumptions,
          });
        for (const e of context.exposures) {
          if (e.family !== 'ipv6' || e.target.kind !== 'container') continue;
          if (e.target.name === null) {
            // no container list: docker-proxy named from the rules relays to an IPv4 address
            // (this family's rules map nothing there), as possibly as the row says
            const target = e.target.addresses.map(bareAddress);
            if (
              e.target.proxiedBy === null ||
              target.length === 0 ||
              target.some((a) => familyOfAddress(a) !== 'ipv4') ||
              widest(e.reachableFrom, 'ipv6') < RESTRICTED
            )
              continue;
            const at = target.join(', ');
            proxied(e, `at ${at}`, at, { location: exposureLocation(e, snapshot) });
            continue;
          }
          const c = byName.get(e.target.name);
          if (c === undefined || !c.running) continue;
          const v6Share = widest(e.reachableFrom, 'ipv6');
          if (v6Share < RESTRICTED) continue;
          if (e.target.proxiedBy !== null) {
            if (c.endpoints.some((x) => x.ipv6 !== null)) continue;
            proxied(e, c.name, e.target.addresses.join(', '), c);
            continue;
          }
          // the same container ports over IPv4, however they get there
          const twins = ipv4.filter(
            (x) =>
              x.target.name === c.name &&
              x.protocol === e.protocol &&
              portsOverlap(x.target.ports, e.target.ports),
          );
          // with no IPv4 rules in the snapshot, what IPv4 lets through is not known
          if (!v4Known) continue;
          if (twins.length === 0 && !publishedForIpv4(c, e.protocol, e)) continue;
          const v4Share = Math.max(0, ...twins.map((x) => widest(x.reachableFrom, 'ipv4')));
          if (v4Share >= RESTRICTED) continue;
          context.report({
            messageId: 'wider',
            data: {
              container: c.name,
              ports: portsText(e.target.ports),
              protocol: e.protocol,
              v6: fromText(e, 'ipv6'),
              v4:
                twins.length === 0
                  ? 'from no address'
                  : `only ${twins.map((x) => fromText(x, 'ipv4')).join('; ')}`,
            },
            node: c,
            object: exposureObject(e),
            witness: e.witness,
            trace: e.trace,
            certainty: e.certainty,
            assumptions: e.assumptions,
          });
        }
      },
    };
  },
});
