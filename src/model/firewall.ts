/**
 * The firewall of one address family as the kernel runs it: iptables' tables (from iptables-save,
 * legacy or nft) and the nftables tables that see that family's packets (`ip` or `ip6`, `inet`,
 * and `netdev` ingress/egress), as one ruleset the engine walks hook by hook. iptables-nft's own
 * tables appear in both listings; iptables-save's reading of them is the one kept.
 */
import type { Family, NftRuleset, Ruleset, Table } from './ruleset.ts';

const BOTH: readonly Family[] = ['ipv4', 'ipv6'];

/** nftables tables whose chains see IP packets of `family` (bridge and arp tables do not). */
export function nftTablesFor(nft: NftRuleset, family: Family): Table[] {
  return nft.tables.filter((t) => {
    const f = t.nft?.family;
    return (
      f === 'inet' ||
      f === 'netdev' ||
      (f === 'ip' && family === 'ipv4') ||
      (f === 'ip6' && family === 'ipv6')
    );
  });
}

/**
 * The ruleset the engine walks for a family; null when neither listing holds anything for it.
 * An iptables-nft table of the nft listing is left out when iptables-save has the same table.
 */
export function combineRulesets(
  iptables: Ruleset | null,
  nft: NftRuleset | null,
  family: Family,
): Ruleset | null {
  const own = new Set(iptables?.tables.map((t) => t.name) ?? []);
  const native =
    nft === null
      ? []
      : nftTablesFor(nft, family).filter((t) => !(t.nft?.iptablesNft === true && own.has(t.name)));
  if (iptables === null) {
    if (nft === null || native.length === 0) return null;
    return { family, file: nft.file, kind: nft.kind, header: null, tables: native };
  }
  if (native.length === 0) return iptables;
  return { ...iptables, tables: [...iptables.tables, ...native] };
}

/**
 * The families whose packets a table's chains see: an iptables table its ruleset's, an nftables
 * `ip`/`ip6` table one, `inet` and `netdev` tables both.
 */
export function tableFamilies(table: Table, ruleset: Ruleset): readonly Family[] {
  switch (table.nft?.family) {
    case undefined:
      return [ruleset.family];
    case 'ip':
      return ['ipv4'];
    case 'ip6':
      return ['ipv6'];
    case 'inet':
    case 'netdev':
      return BOTH;
    default:
      return [];
  }
}
