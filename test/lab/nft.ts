/**
 * nftables listings in the lab, read by text and independently of dockwall's reader: which of a
 * capture's tables to load with `nft -f` (native ones; iptables-nft's own tables come from
 * iptables-restore), and Docker's nftables rule shapes written as the iptables rule lines the
 * topology is derived from (a DNAT, a raw drop of direct access, a per-port accept, a masquerade).
 */
import type { RuleLine } from './topology.ts';

interface TableBlock {
  readonly family: string;
  readonly name: string;
  readonly text: string;
}

/** The top-level `table FAMILY NAME { … }` blocks of a listing, as written. */
export function tableBlocks(text: string): TableBlock[] {
  const out: TableBlock[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^table\s+(\S+)\s+(\S+)\s*\{/.exec(lines[i] ?? '');
    if (m === null) continue;
    let depth = 0;
    let j = i;
    for (; j < lines.length; j++) {
      const l = lines[j] ?? '';
      depth += (l.match(/\{/g) ?? []).length - (l.match(/\}/g) ?? []).length;
      if (depth === 0) break;
    }
    out.push({
      family: m[1] ?? '',
      name: m[2] ?? '',
      text: `${lines.slice(i, j + 1).join('\n')}\n`,
    });
    i = j;
  }
  return out;
}

const IPTABLES_TABLES = new Set(['filter', 'nat', 'mangle', 'raw', 'security']);

/**
 * The tables `nft -f` must load: all but iptables-nft's own (`ip`/`ip6` tables named as
 * iptables' tables), which iptables-restore loads from the save file. Null when none is left.
 */
export function nativeTables(text: string): string | null {
  const keep = tableBlocks(text).filter(
    (t) => !((t.family === 'ip' || t.family === 'ip6') && IPTABLES_TABLES.has(t.name)),
  );
  return keep.length === 0 ? null : keep.map((t) => t.text).join('');
}

/** A rule's words: quotes dropped, `{ a, b }` kept as one word. */
function words(line: string): string[] {
  return (line.match(/\{[^}]*\}|"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"|"$/g, ''));
}

/**
 * Docker's rules of the `docker-bridges` table of `family` (`ip` or `ip6`) as iptables rule
 * lines with the options topology.ts reads: `-d`, `-s`, `-i`/`-o` (negated where nft says `!=`),
 * `-p`, `--dport`, `-j`, `--to-destination`.
 */
export function nftRuleLines(text: string | undefined, family: 'ip' | 'ip6'): RuleLine[] {
  if (text === undefined) return [];
  const out: RuleLine[] = [];
  for (const t of tableBlocks(text)) {
    if (t.family !== family) continue;
    let chain = '';
    for (const raw of t.text.split('\n')) {
      const line = raw.trim();
      const c = /^chain\s+(\S+)\s*\{/.exec(line);
      if (c !== null) {
        chain = c[1] ?? '';
        continue;
      }
      if (chain === '' || line === '' || line === '}' || /^(type|policy)\s/.test(line)) continue;
      const w = words(line);
      const options = new Map<string, { value: string; negated: boolean }>();
      const host = family === 'ip' ? '/32' : '/128';
      for (let i = 0; i < w.length; i++) {
        const key = w[i] ?? '';
        const neg = w[i + 1] === '!=';
        const value = w[i + (neg ? 2 : 1)] ?? '';
        const set = (k: string, v: string): void => {
          options.set(k, { value: v, negated: neg });
        };
        if ((key === 'ip' || key === 'ip6') && w[i + 1] === 'daddr') {
          const n = w[i + 2] === '!=';
          const v = w[i + (n ? 3 : 2)] ?? '';
          options.set('-d', { value: v.includes('/') ? v : `${v}${host}`, negated: n });
        } else if ((key === 'ip' || key === 'ip6') && w[i + 1] === 'saddr') {
          const n = w[i + 2] === '!=';
          const v = w[i + (n ? 3 : 2)] ?? '';
          options.set('-s', { value: v.includes('/') ? v : `${v}${host}`, negated: n });
        } else if (key === 'iifname') set('-i', value);
        else if (key === 'oifname') set('-o', value);
        else if ((key === 'tcp' || key === 'udp') && w[i + 1] === 'dport') {
          options.set('-p', { value: key, negated: false });
          options.set('--dport', { value: w[i + 2] ?? '', negated: false });
        } else if (key === 'dnat' && w[i + 1] === 'to') {
          options.set('-j', { value: 'DNAT', negated: false });
          options.set('--to-destination', { value: w[i + 2] ?? '', negated: false });
        } else if (key === 'drop' || key === 'accept' || key === 'masquerade') {
          options.set('-j', { value: key.toUpperCase(), negated: false });
        }
      }
      // where the iptables backend puts the same rule
      const table =
        chain === 'raw-PREROUTING' ? 'raw' : chain.startsWith('nat-') ? 'nat' : 'filter';
      const bridge = /^filter-forward-in__(.+)$/.exec(chain)?.[1];
      if (bridge !== undefined && !options.has('-o'))
        options.set('-o', { value: bridge, negated: false });
      out.push({ table, chain, options });
    }
  }
  return out;
}
