/** The address family of a dump that does not say it. */
import type { Family } from '../../model/index.ts';

/**
 * The address family of a dump: an `ip6tables-save` header decides; otherwise the addresses in
 * `-s`/`-d` vote (IPv4 wins ties), then ICMPv6 matches.
 */
export function detectFamily(text: string): Family {
  const head = text.slice(0, 4096);
  if (/^#.*ip6tables/m.test(head)) return 'ipv6';
  // Count address votes in the first megabyte (enough for any mixed file, cheap for huge ones).
  const sample = text.length > 1_000_000 ? text.slice(0, 1_000_000) : text;
  const count = (re: RegExp): number => {
    let n = 0;
    while (re.exec(sample) !== null && n < 10_000) n++;
    return n;
  };
  const v6 = count(
    /\s(?:-s|-d|--source|--destination)\s+(?:!\s+)?[0-9a-fA-F]*:[0-9a-fA-F:.]*[/\s]/g,
  );
  const v4 = count(/\s(?:-s|-d|--source|--destination)\s+(?:!\s+)?\d+\.\d+\.\d+\.\d+/g);
  if (v6 > v4) return 'ipv6';
  if (v4 > 0) return 'ipv4';
  if (/\s-p\s+(?:ipv6-icmp|icmpv6)\b|icmpv6-type|\s-m\s+icmp6\b|--reject-with icmp6-/.test(sample))
    return 'ipv6';
  return 'ipv4';
}
