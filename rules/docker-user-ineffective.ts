/**
 * docker-user-ineffective: DOCKER-USER is where operators filter published ports, but only if
 * FORWARD jumps to it before Docker's accepts. Catches a missing chain, a missing jump (e.g. after
 * an iptables-restore, moby#48560), a jump placed below Docker's rules, and DOCKER-USER rules that
 * an unconditional rule above them hides.
 */
import { isProtocol, type Protocol } from '../src/model/host.ts';
import type { Rule, Ruleset } from '../src/model/ruleset.ts';
import { allOptions, findTable } from '../src/model/ruleset.ts';
import { damagedLines, isDamaged } from '../src/analysis/damaged-lines.ts';
import { connectionToHost } from '../src/analysis/packets.ts';
import { isLoopback } from '../src/docker/bindings.ts';
import { isDockerChain } from '../src/docker/chains.ts';
import { ruleEvidence, type MappingFact } from '../src/docker/rule-evidence.ts';
import { atLeast, parseDockerVersion } from '../src/docker/version.ts';
import { publishedFamily } from '../src/docker/topology.ts';
import {
  chainIn,
  effectiveOptions,
  jumpTarget,
  reachableChains,
} from '../src/model/rule-queries.ts';
import { defineRule, listOf } from '../src/lint/rule.ts';
import { filterPlace } from '../src/docker/filter-place.ts';

type MessageIds = 'missingChain' | 'notJumped' | 'jumpTooLate' | 'rulesHidden' | 'leftoverChains';

/** A FORWARD rule through which Docker lets published-port traffic in. */
function isDockerAccept(rule: Rule): boolean {
  // Replies (RELATED,ESTABLISHED only) are not what DOCKER-USER is meant to filter.
  const onlyReplies = allOptions(rule).some(
    (o) => o.type === 'ct-state' && !o.negated && !o.states.includes('NEW'),
  );
  if (onlyReplies) return false;
  const to = jumpTarget(rule);
  if (to !== null) return isDockerChain(to) && to !== 'DOCKER-ISOLATION-STAGE-1';
  return rule.target?.kind === 'ACCEPT' && rule.core.some((o) => o.type === 'interface');
}

/** Docker 23.0 or later by the version file (which creates DOCKER-USER for IPv6 too). */
function newerThan22(version: string | null): boolean {
  const v = version === null ? null : parseDockerVersion(version);
  return v !== null && atLeast(v, 23);
}

function hasDockerRules(ruleset: Ruleset): boolean {
  const filter = findTable(ruleset, 'filter');
  return filter?.chains.some((c) => isDockerChain(c.name)) ?? false;
}

export default defineRule<MessageIds, object>({
  meta: {
    id: 'docker-user-ineffective',
    type: 'problem',
    severity: 'error',
    docs: {
      description:
        "DOCKER-USER missing, not jumped to from FORWARD, jumped to after Docker's accepts, or its rules hidden behind an unconditional rule",
      recommended: true,
    },
    messages: {
      missingChain:
        "The {{family}} filter table has Docker's chains but no DOCKER-USER chain: there is no place to filter published ports that Docker will not bypass ({{why}}).",
      notJumped:
        'DOCKER-USER ({{count}} rule(s)) is never jumped to from FORWARD, so none of its rules apply to published ports.',
      jumpTooLate:
        'FORWARD jumps to DOCKER-USER at position {{position}}, after rule {{earlier}} ({{earlierText}}) which already passes traffic to containers; DOCKER-USER rules do not see it.',
      rulesHidden:
        'DOCKER-USER rule {{index}} can never match: rule {{coverIndex}} above it ({{coverText}}) takes every packet first.',
      leftoverChains:
        "The {{family}} filter table still holds Docker's chains ({{chains}}), but Docker runs its nftables backend and no longer writes them: they are left from the iptables backend{{live}}. Published ports are filtered in {{place}}, not in DOCKER-USER.",
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: false,
  },
  create(context) {
    const { snapshot, host, engine } = context;
    /** A remote client's connection to a published port and its trace: the path that skips DOCKER-USER. */
    const proof = (ruleset: Ruleset) => {
      const family = ruleset.family;
      const listed = host.containers
        .filter((c) => c.running && c.networkMode.kind !== 'host')
        .flatMap((c) => c.published)
        .find((p) => p.hostPort !== null && !isLoopback(p.hostIp) && publishedFamily(p) === family);
      // without a container list, a port Docker's rules map on every address of this family
      const ruled = ruleEvidence(ruleset).mappings.find(
        (m): m is MappingFact & { protocol: Protocol } =>
          m.hostAddress === null && isProtocol(m.protocol),
      );
      const mapping =
        listed ??
        (ruled === undefined
          ? undefined
          : { hostIp: '', hostPort: ruled.hostPort, protocol: ruled.protocol });
      if (mapping === undefined || mapping.hostPort === null) return {};
      const witness = connectionToHost(
        host,
        family,
        mapping.protocol,
        mapping.hostIp,
        mapping.hostPort,
        engine?.localAddresses(family),
      );
      const trace = engine?.trace(witness) ?? null;
      return trace === null
        ? {
            witness,
            certainty: 'possible' as const,
            assumptions: ['the witness was not traced: the packet engine did not run'],
          }
        : {
            witness,
            trace: trace.steps,
            certainty: trace.certainty,
            assumptions: trace.assumptions,
          };
    };
    return {
      Ruleset(ruleset) {
        if (!hasDockerRules(ruleset)) return;
        const family = ruleset.family === 'ipv4' ? 'iptables' : 'ip6tables';
        if (snapshot.era.era === 'nftables') {
          // DOCKER-USER is not the place on this backend, whether or not a leftover one is there.
          const chains = (findTable(ruleset, 'filter')?.chains ?? []).filter(
            (c) => isDockerChain(c.name) || c.name === 'DOCKER-USER',
          );
          const first = chains[0];
          if (first === undefined) return;
          const filter = findTable(ruleset, 'filter');
          const fed =
            filter !== undefined &&
            chains.some(
              (c) => c.name !== 'FORWARD' && reachableChains(filter, 'FORWARD').has(c.name),
            );
          context.report({
            messageId: 'leftoverChains',
            data: {
              family,
              chains: listOf(chains.map((c) => c.name)),
              live: fed
                ? ', and FORWARD still sends packets through them'
                : ' (nothing jumps to them any more)',
              place: filterPlace(snapshot.era.era).forward,
            },
            node: first,
            object: { table: 'filter', chain: first.name },
            severity: 'warning',
          });
          return;
        }
        const forward = chainIn(ruleset, 'filter', 'FORWARD');
        const user = chainIn(ruleset, 'filter', 'DOCKER-USER');
        if (forward === undefined) return;
        if (user === undefined) {
          const why =
            snapshot.host.daemon.firewallBackend.value === 'nftables'
              ? 'the nftables firewall backend does not create it'
              : ruleset.family === 'ipv6' && !newerThan22(host.dockerVersion)
                ? 'Docker before 23.0 creates it only for IPv4'
                : 'it was deleted or never created';
          context.report({
            messageId: 'missingChain',
            data: { family, why },
            node: forward,
            object: { table: 'filter', chain: 'DOCKER-USER' },
            severity: 'warning',
            ...proof(ruleset),
          });
          return;
        }
        const jumpIndex = forward.rules.findIndex((r) => jumpTarget(r) === 'DOCKER-USER');
        const meaningful = user.rules.filter(
          (r) => !(r.target?.kind === 'RETURN' && effectiveOptions(r).length === 0),
        );
        if (jumpIndex < 0) {
          context.report({
            messageId: 'notJumped',
            data: { count: meaningful.length },
            node: user,
            object: { table: 'filter', chain: 'DOCKER-USER' },
            // An empty DOCKER-USER loses nothing today, but the next rule added there is void.
            severity: meaningful.length > 0 ? 'error' : 'warning',
            ...proof(ruleset),
          });
        } else {
          const earlier = forward.rules.slice(0, jumpIndex).find(isDockerAccept);
          const jump = forward.rules[jumpIndex];
          if (earlier !== undefined && jump !== undefined) {
            context.report({
              messageId: 'jumpTooLate',
              data: {
                position: jumpIndex + 1,
                earlier: earlier.index,
                earlierText: earlier.text,
              },
              node: jump,
              object: { table: 'filter', chain: 'FORWARD', rule: jump.index },
              related: [{ message: 'Docker rule that runs first', location: earlier.location }],
              ...proof(ruleset),
            });
          }
        }
        // An unconditional terminal rule hides everything after it (e.g. a RETURN left on top).
        const damaged = damagedLines(snapshot);
        const coverIndex = user.rules.findIndex(
          (r) =>
            effectiveOptions(r).length === 0 &&
            !isDamaged(r, damaged) &&
            r.target !== null &&
            ['RETURN', 'ACCEPT', 'DROP', 'REJECT'].includes(r.target.kind),
        );
        const cover = user.rules[coverIndex];
        if (cover !== undefined) {
          for (const hidden of user.rules.slice(coverIndex + 1)) {
            context.report({
              messageId: 'rulesHidden',
              data: { index: hidden.index, coverIndex: cover.index, coverText: cover.text },
              node: hidden,
              object: { table: 'filter', chain: 'DOCKER-USER', rule: hidden.index },
              related: [{ message: 'the rule that takes every packet', location: cover.location }],
            });
          }
        }
      },
    };
  },
});
