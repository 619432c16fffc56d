/**
 * Where Docker 29's nftables backend keeps its rules, as the readers of a snapshot look them up:
 * one table `docker-bridges` per family (`ip`, `ip6`); published ports DNATed in
 * `nat-prerouting-and-output`, accepted per bridge in `filter-forward-in__<bridge>` (reached
 * through the `filter-forward-in-jumps` verdict map), direct access and remote loopback dropped
 * in `raw-PREROUTING`. The iptables layouts keep the same rules in nat DOCKER, filter DOCKER and
 * raw PREROUTING.
 */
import type { Family, NftRuleset, Rule, Table } from '../model/ruleset.ts';
import { findChain } from '../model/ruleset.ts';

export const DOCKER_NFT_TABLE = 'docker-bridges';

/** Docker's chains in its nftables table. */
export const DOCKER_NFT_CHAINS = {
  forward: 'filter-FORWARD',
  dnat: 'nat-prerouting-and-output',
  raw: 'raw-PREROUTING',
} as const;

/** The chain that accepts forwarded traffic into a bridge's containers. */
export function forwardInChain(bridge: string): string {
  return `filter-forward-in__${bridge}`;
}

/** The bridge a `filter-forward-in__<bridge>` chain belongs to, or null for other chains. */
export function bridgeOfForwardInChain(chain: string): string | null {
  return /^filter-forward-in__(.+)$/.exec(chain)?.[1] ?? null;
}

/** True for Docker's own nftables table (`ip docker-bridges`, `ip6 docker-bridges`). */
export function isDockerNftTable(table: Table): boolean {
  const f = table.nft?.family;
  return table.name === DOCKER_NFT_TABLE && (f === 'ip' || f === 'ip6');
}

/** Docker's nftables table of a family, when the listing has one. */
export function dockerNftTable(nft: NftRuleset | null, family: Family): Table | undefined {
  const want = family === 'ipv4' ? 'ip' : 'ip6';
  return nft?.tables.find((t) => isDockerNftTable(t) && t.nft?.family === want);
}

/** The rules of one chain of Docker's nftables table (none when table or chain is absent). */
export function dockerNftRules(table: Table | undefined, chain: string): readonly Rule[] {
  return table === undefined ? [] : (findChain(table, chain)?.rules ?? []);
}
