/**
 * The packets the engine models and what lies outside them. Every packet it walks is one an
 * ordinary stack sends: a connection's first packet (or a later one, or an answer) whole, not a
 * non-first fragment, and over IPv6 with no extension header: no routing, fragment, hop-by-hop,
 * destination-options, authentication or segment-routing header. The kernel's own neighbour
 * discovery carries none either. A rule that matches only packets outside that model (`-f`,
 * ip6tables' `-m rt`, `-m frag`, `-m hbh`, `-m dst`, `-m ah`, `-m srh`) matches none of the
 * engine's: the kernel's header matches do not hold on a packet without the header, negated
 * options or not (ip6t_rt, ip6t_frag, ip6t_hbh, ip6t_ah and ip6t_srh return false when the
 * header is absent). ufw writes `-m rt --rt-type 0 -j DROP` at the head of its IPv6 input,
 * output and forward chains; left undecided, it made every IPv6 answer on a ufw host possible.
 * nftables says the same with `exthdr`, `ip option` and `ip frag-off` (read as `ext-header`
 * options): a field load of an absent header ends the rule (NFT_BREAK), and `exthdr X exists`
 * is false.
 */
import type { Family, MatchOption, Rule } from '../model/ruleset.ts';

/** ip6tables modules that read an extension header: they hold only where the header is. */
const EXTENSION_HEADER_MODULES: ReadonlySet<string> = new Set([
  'rt',
  'frag',
  'hbh',
  'dst',
  'ah',
  'srh',
]);

/**
 * The option matches only packets outside the model: a non-first fragment (`-f`; `! -f` matches
 * the modelled packets), or one carrying a header they never carry (nftables' `ext-header`).
 */
function outsideOnly(o: MatchOption): boolean {
  return (o.type === 'fragment' || o.type === 'ext-header') && !o.negated;
}

/**
 * Whether the rule matches only packets outside the model: it then matches none the engine
 * walks, and whether it is shadowed, reached or redundant is not the engine's to judge.
 */
export function matchesOnlyUnmodelled(rule: Rule, family: Family): boolean {
  if (rule.core.some(outsideOnly)) return true;
  if (rule.dialect === 'nft') return rule.matches.some((m) => m.options.some(outsideOnly));
  if (family !== 'ipv6') return false;
  return rule.matches.some((m) => EXTENSION_HEADER_MODULES.has(m.name));
}
