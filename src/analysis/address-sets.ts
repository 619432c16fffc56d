/**
 * Lists of CIDRs read as address sets, for saying them briefly: a set that is everything but a
 * few addresses reads better as "any address except …" than as the hundred prefixes it takes.
 */
import ipaddr from 'ipaddr.js';
import { everyAddress } from '../model/address-text.ts';
import type { Family } from '../model/ruleset.ts';

interface Range {
  readonly from: bigint;
  readonly to: bigint;
}

const WIDTH: Readonly<Record<Family, number>> = { ipv4: 32, ipv6: 128 };

const ranges: Record<Family, Map<string, Range | null>> = { ipv4: new Map(), ipv6: new Map() };

/** The CIDR's addresses, remembered by text: every exposure's lists are read, several times. */
function toRange(cidr: string, family: Family): Range | null {
  const known = ranges[family];
  let r = known.get(cidr);
  if (r === undefined) {
    r = readRange(cidr, family);
    known.set(cidr, r);
  }
  return r;
}

function readRange(cidr: string, family: Family): Range | null {
  try {
    const text = cidr.includes('/') ? cidr : `${cidr}/${WIDTH[family]}`;
    // The family's own parser: ipaddr.parseCIDR tries IPv6 first and so throws (slowly) on every
    // IPv4 text, and a long list of flows' destinations is read here for every exposure.
    const [net, len] =
      family === 'ipv4' ? ipaddr.IPv4.parseCIDR(text) : ipaddr.IPv6.parseCIDR(text);
    const from = net.toByteArray().reduce((v, b) => (v << 8n) | BigInt(b), 0n);
    const size = 1n << BigInt(WIDTH[family] - len);
    const base = from - (from % size);
    return { from: base, to: base + size - 1n };
  } catch {
    return null;
  }
}

function addressOf(value: bigint, family: Family): string {
  const bytes: number[] = [];
  for (let i = WIDTH[family] / 8 - 1; i >= 0; i--)
    bytes.push(Number((value >> BigInt(i * 8)) & 255n));
  const a = ipaddr.fromByteArray(bytes);
  return a.kind() === 'ipv6' ? (a as ipaddr.IPv6).toRFC5952String() : a.toString();
}

/**
 * The fewest aligned blocks that cover exactly [from, to], in order: `visit(start, k)` for each
 * block of 2^k addresses. IPv4 in plain numbers (every exposure's lists are said, and the
 * BigInt steps were a tenth of a small audit); IPv6 in BigInt.
 */
function forEachBlock(
  r: Range,
  family: Family,
  visit4: (start: number, k: number) => void,
  visit6: (start: bigint, k: number) => void,
): void {
  if (family === 'ipv4') {
    const to = Number(r.to);
    for (let cur = Number(r.from); cur <= to;) {
      // the largest block aligned at cur (its trailing zero bits) that ends by `to`
      const align = cur === 0 ? 32 : 31 - Math.clz32(cur & -cur);
      const span = to - cur + 1;
      const k = Math.min(align, span >= 2 ** 32 ? 32 : 31 - Math.clz32(span));
      visit4(cur, k);
      cur += 2 ** k;
    }
    return;
  }
  const width = WIDTH[family];
  for (let cur = r.from; cur <= r.to;) {
    let k = 0;
    while (k < width) {
      const size = 1n << BigInt(k + 1);
      if (cur % size !== 0n || cur + size - 1n > r.to) break;
      k++;
    }
    visit6(cur, k);
    cur += 1n << BigInt(k);
  }
}

/** The smallest list of CIDRs covering exactly [from, to]. */
function rangeToCidrs(r: Range, family: Family, out: string[]): void {
  forEachBlock(
    r,
    family,
    (cur, k) => {
      const text = `${cur >>> 24}.${(cur >>> 16) & 255}.${(cur >>> 8) & 255}.${cur & 255}`;
      out.push(k === 0 ? text : `${text}/${32 - k}`);
    },
    (cur, k) => {
      const text = addressOf(cur, family);
      out.push(k === 0 ? text : `${text}/${WIDTH[family] - k}`);
    },
  );
}

/** How many CIDRs `rangeToCidrs` would list. */
function cidrCount(r: Range, family: Family): number {
  let n = 0;
  const count = (): void => {
    n++;
  };
  forEachBlock(r, family, count, count);
  return n;
}

const mergedOf: Record<Family, WeakMap<readonly string[], Range[]>> = {
  ipv4: new WeakMap(),
  ipv6: new WeakMap(),
};

/**
 * The list's addresses as sorted, disjoint, non-adjacent ranges (unreadable CIDRs left out).
 * Remembered per list: a row's lists are said for its text, its id and its message, and the
 * long ones (a thousand prefixes) come sorted and merged from discovery already.
 */
function mergedRanges(cidrs: readonly string[], family: Family): Range[] {
  let out = mergedOf[family].get(cidrs);
  if (out !== undefined) return out;
  const ranges: Range[] = [];
  let sorted = true;
  for (const c of cidrs) {
    const r = toRange(c, family);
    if (r === null) continue;
    const last = ranges.at(-1);
    if (last !== undefined && r.from <= last.to + 1n) sorted = false;
    ranges.push(r);
  }
  if (sorted) out = ranges;
  else {
    ranges.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
    out = [];
    for (const r of ranges) {
      const last = out.at(-1);
      if (last !== undefined && r.from <= last.to + 1n) {
        if (r.to > last.to) out[out.length - 1] = { from: last.from, to: r.to };
      } else out.push(r);
    }
  }
  mergedOf[family].set(cidrs, out);
  return out;
}

/** The ranges of the family's addresses between the merged ranges. */
function gaps(merged: readonly Range[], family: Family): Range[] {
  const out: Range[] = [];
  let next = 0n;
  for (const r of merged) {
    if (r.from > next) out.push({ from: next, to: r.from - 1n });
    next = r.to + 1n;
  }
  const end = (1n << BigInt(WIDTH[family])) - 1n;
  if (next <= end) out.push({ from: next, to: end });
  return out;
}

/** The share of the family's address space the list covers, from 0 to 1 (overlaps counted once). */
export function addressShare(cidrs: readonly string[], family: Family): number {
  const total = 1n << BigInt(WIDTH[family]);
  let outside = 0n;
  for (const c of complement(cidrs, family)) {
    const r = toRange(c, family);
    if (r !== null) outside += r.to - r.from + 1n;
  }
  return Number(((total - outside) * 1_000_000n) / total) / 1_000_000;
}

/** The addresses of the family not in the list, as CIDRs (single addresses bare). */
export function complement(cidrs: readonly string[], family: Family): string[] {
  const out: string[] = [];
  for (const r of gaps(mergedRanges(cidrs, family), family)) rangeToCidrs(r, family, out);
  return out;
}

/**
 * A list of CIDRs said briefly: as it is when short, as "any address except …" when what it
 * leaves out is a handful (at most twice what is shown: its first few and a count) and shorter
 * than the list, else its first few and a count.
 */
export function briefCidrs(cidrs: readonly string[], family: Family, max = 3): string {
  if (cidrs.length <= max) return firstCidrs(cidrs, family, max);
  const rest = complement(cidrs, family);
  if (rest.length === 0) return 'any address';
  if (rest.length <= 2 * max && rest.length < cidrs.length)
    return `any address except ${firstCidrs(rest, family, max)}`;
  return firstCidrs(cidrs, family, max);
}

/**
 * A list of CIDRs as an id says it, exactly: the list, or every address and, after a `-`, the
 * ones it leaves out when those are fewer (`::/0-::1` rather than the 128 prefixes of the rest).
 */
export function cidrsId(cidrs: readonly string[], family: Family): string {
  // a row may name addresses of the other family (docker-proxy relays IPv6 clients to IPv4)
  if (cidrs.length > 1 && cidrs.every((c) => toRange(c, family) !== null)) {
    const merged = mergedRanges(cidrs, family);
    const rest = gaps(merged, family);
    if (rest.length === 0) return everyAddress(family);
    // fewer than the list takes once overlaps and neighbours are joined: an id of the set
    const count = (list: readonly Range[]): number =>
      list.reduce((n, r) => n + cidrCount(r, family), 0);
    if (count(rest) < count(merged)) {
      const out: string[] = [];
      for (const r of rest) rangeToCidrs(r, family, out);
      return `${everyAddress(family)}-${out.join(',')}`;
    }
  }
  return cidrs.join(',');
}

/** The first few CIDRs of a list (single addresses bare) and how many more there are. */
export function firstCidrs(cidrs: readonly string[], family: Family, max = 3): string {
  const bare = (c: string): string => c.replace(family === 'ipv4' ? /\/32$/ : /\/128$/, '');
  const shown = cidrs.slice(0, max).map(bare).join(', ');
  return cidrs.length <= max ? shown : `${shown} and ${cidrs.length - max} more`;
}

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

export function parseCidr(text: string): Cidr | null {
  // only IPv6 text has a colon: ipaddr.parse and parseCIDR try IPv6 first and throw on IPv4
  const v6 = text.includes(':');
  try {
    if (text.includes('/')) return v6 ? ipaddr.IPv6.parseCIDR(text) : ipaddr.IPv4.parseCIDR(text);
    const addr = v6 ? ipaddr.IPv6.parse(text) : ipaddr.IPv4.parse(text);
    return [addr, v6 ? 128 : 32];
  } catch {
    return null;
  }
}

/** True when every address of `inner` is inside `outer` (same family). */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = parseCidr(inner);
  const b = parseCidr(outer);
  return a !== null && b !== null && cidrInside(a, b);
}

/** cidrWithin on parsed CIDRs. */
export function cidrInside(inner: Cidr, outer: Cidr): boolean {
  return inner[0].kind() === outer[0].kind() && inner[1] >= outer[1] && inner[0].match(outer);
}
