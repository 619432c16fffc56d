/**
 * Which rule layout Docker wrote: none, classic (≤27), v28, v29, or the nftables backend. Decided
 * from the chains present (docker-firewall.md §1), with the evidence, and cross-checked with the
 * engine version when docker-version.json was collected.
 */
import type { SourceLocation } from '../model/diagnostic.ts';
import type { EraEvidence, LayoutEra } from '../model/host.ts';
import type { Ruleset } from '../model/ruleset.ts';
import { chainIn, rulesIn } from '../model/rule-queries.ts';
import type { DockerVersion } from './version.ts';
import { parseDockerVersion } from './version.ts';

export interface EraInput {
  readonly ipv4: Ruleset | null;
  readonly ipv6: Ruleset | null;
  /** Tables of the nftables ruleset when one was collected. */
  readonly nftTables?:
    readonly { readonly family: string; readonly name: string; readonly line: number }[] | null;
  readonly nftFile?: string | null;
  readonly dockerVersion: string | null;
}

type Evidence = { text: string; location?: SourceLocation };

function ev(text: string, location: SourceLocation | undefined): Evidence {
  return location === undefined ? { text } : { text, location };
}

/** The layout one ruleset shows, with evidence; null when it has no Docker chains. */
function eraOfRuleset(rs: Ruleset): { era: LayoutEra; evidence: Evidence[] } | null {
  const filter = (name: string) => chainIn(rs, 'filter', name);
  const forward = filter('DOCKER-FORWARD');
  const internal = filter('DOCKER-INTERNAL');
  const isolation = filter('DOCKER-ISOLATION-STAGE-1') ?? filter('DOCKER-ISOLATION');
  const where = `in ${rs.file}`;
  if (forward !== undefined) {
    if (internal !== undefined || isolation === undefined) {
      const evidence = [
        ev(`filter chain DOCKER-FORWARD exists (Docker ≥28.0.1) ${where}`, forward.location),
      ];
      evidence.push(
        internal !== undefined
          ? ev('filter chain DOCKER-INTERNAL exists (new in 29.0)', internal.location)
          : ev('no DOCKER-ISOLATION-STAGE-1 chain (removed in 29.0)', undefined),
      );
      return { era: 'v29', evidence };
    }
    return {
      era: 'v28',
      evidence: [
        ev(`filter chain DOCKER-FORWARD exists (Docker ≥28.0.1) ${where}`, forward.location),
        ev(
          'filter chain DOCKER-ISOLATION-STAGE-1 still exists (removed in 29.0)',
          isolation.location,
        ),
      ],
    };
  }
  const ipset = rulesIn(rs, 'filter', 'FORWARD').find((r) =>
    r.matches.some((m) =>
      m.options.some((o) => o.type === 'set' && o.name.startsWith('docker-ext-bridges')),
    ),
  );
  if (ipset !== undefined) {
    return {
      era: 'v28',
      evidence: [
        ev(`FORWARD matches ipset docker-ext-bridges (Docker 28.0.0) ${where}`, ipset.location),
      ],
    };
  }
  const docker = filter('DOCKER') ?? chainIn(rs, 'nat', 'DOCKER');
  if (isolation !== undefined || docker !== undefined) {
    const evidence: Evidence[] = [];
    if (docker !== undefined) evidence.push(ev(`chain DOCKER exists ${where}`, docker.location));
    if (isolation !== undefined) {
      evidence.push(
        ev(
          `filter chain ${isolation.name} exists without DOCKER-FORWARD (layout of ≤27)`,
          isolation.location,
        ),
      );
    } else {
      evidence.push(ev('no DOCKER-FORWARD chain (added in 28.0.1)', undefined));
    }
    return { era: 'classic', evidence };
  }
  return null;
}

export function detectEra(input: EraInput): EraEvidence {
  const evidence: Evidence[] = [];
  let era: LayoutEra = 'none';
  const nftDocker = (input.nftTables ?? []).filter((t) => t.name === 'docker-bridges');
  const fromRules = [input.ipv4, input.ipv6]
    .filter((r): r is Ruleset => r !== null)
    .map(eraOfRuleset)
    .find((r) => r !== null);
  const nftFile = input.nftFile ?? 'nft-ruleset';
  if (nftDocker.length > 0) {
    era = 'nftables';
    for (const t of nftDocker) {
      evidence.push(
        ev(`nftables table ${t.family} docker-bridges exists (Docker 29 nftables backend)`, {
          file: nftFile,
          line: t.line,
          column: 1,
        }),
      );
    }
    if (fromRules !== null && fromRules !== undefined) {
      evidence.push({
        text: `iptables also holds Docker chains of the ${fromRules.era} layout: leftovers from before the backend switch`,
      });
    }
  } else if (fromRules !== null && fromRules !== undefined) {
    era = fromRules.era;
    evidence.push(...fromRules.evidence);
    if (input.ipv4 !== null && chainIn(input.ipv4, 'filter', 'DOCKER-USER') === undefined) {
      evidence.push({
        text: 'no DOCKER-USER chain in the IPv4 filter table (28.x started with DOCKER_FIREWALL_BACKEND=nftables, or the chain was removed)',
      });
    }
  } else {
    evidence.push({
      text:
        'no Docker chains in the rules' + (input.nftTables ? ' nor in the nftables ruleset' : ''),
    });
  }
  return { era, evidence, versionMismatch: crossCheck(era, input.dockerVersion) };
}

/** The engine version whose defaults are assumed when only the rule layout is known. */
export function versionForEra(era: LayoutEra): DockerVersion | null {
  if (era === 'v28') return parseDockerVersion('28.0.0');
  if (era === 'v29' || era === 'nftables') return parseDockerVersion('29.0.0');
  if (era === 'classic') return parseDockerVersion('27.0.0');
  return null;
}

/** The eras an engine version can produce. */
export function erasForVersion(versionText: string): readonly LayoutEra[] | null {
  const v = parseDockerVersion(versionText);
  if (v === null) return null;
  if (v.major < 28) return ['classic', 'none'];
  if (v.major === 28) return ['v28', 'none'];
  return ['v29', 'nftables', 'none'];
}

function crossCheck(era: LayoutEra, version: string | null): string | null {
  if (version === null) return null;
  const allowed = erasForVersion(version);
  if (allowed === null || allowed.includes(era)) return null;
  return `docker-version.json says ${version}, which writes the ${allowed[0] ?? '?'} layout, but the rules show the ${era} layout: the rules and the version were probably collected at different times, or dockerd was upgraded without a restart`;
}
