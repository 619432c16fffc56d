/**
 * Sets of packets as unions of boxes: each box is one set of intervals per field (ingress
 * interface, source address, destination address, destination port). Two reachable sets from
 * different snapshots live in different engines, so `dockwall diff` subtracts them here, exactly:
 * a box minus a box is at most two boxes per field.
 */
import ipaddr from 'ipaddr.js';
import type { Family } from '../model/ruleset.ts';
import { everyAddress } from '../model/address-text.ts';

/** Inclusive intervals, sorted and disjoint. */
export type Ranges = readonly (readonly [bigint, bigint])[];

export type Box = readonly Ranges[];

export function normalise(ranges: Ranges): Ranges {
  const sorted = [...ranges]
    .filter(([a, b]) => a <= b)
    .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && a <= last[1] + 1n) {
      if (b > last[1]) last[1] = b;
    } else out.push([a, b]);
  }
  return out;
}

/**
 * Both operations sweep the two lists once, in order: a blocklist's source field holds tens of
 * thousands of ranges, where a range-by-range product took minutes.
 */
export function intersect(a: Ranges, b: Ranges): Ranges {
  const x = normalise(a);
  const y = normalise(b);
  const out: [bigint, bigint][] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const [a0, a1] = x[i] ?? [0n, -1n];
    const [b0, b1] = y[j] ?? [0n, -1n];
    const lo = a0 > b0 ? a0 : b0;
    const hi = a1 < b1 ? a1 : b1;
    if (lo <= hi) out.push([lo, hi]);
    if (a1 < b1) i++;
    else j++;
  }
  return out;
}

export function subtract(a: Ranges, b: Ranges): Ranges {
  const y = normalise(b);
  const out: [bigint, bigint][] = [];
  let j = 0;
  for (const [a0, a1] of normalise(a)) {
    let lo = a0;
    while (j < y.length && (y[j]?.[1] ?? 0n) < lo) j++;
    for (let k = j; k < y.length && lo <= a1; k++) {
      const [b0, b1] = y[k] ?? [0n, -1n];
      if (b0 > a1) break;
      if (b0 > lo) out.push([lo, b0 - 1n]);
      if (b1 + 1n > lo) lo = b1 + 1n;
    }
    if (lo <= a1) out.push([lo, a1]);
  }
  return out;
}

function empty(box: Box): boolean {
  return box.some((d) => d.length === 0);
}

/** `a` minus `b`: pieces that differ from `b` in the first field, then in the second, …. */
export function subtractBox(a: Box, b: Box): Box[] {
  const common = a.map((d, i) => intersect(d, b[i] ?? []));
  if (empty(common)) return [a];
  const out: Box[] = [];
  for (let i = 0; i < a.length; i++) {
    const piece = a.map((d, j) =>
      j < i ? (common[j] ?? []) : j === i ? subtract(d, b[j] ?? []) : d,
    );
    if (!empty(piece)) out.push(piece);
  }
  return out;
}

/** (∪ as) minus (∪ bs). */
export function subtractAll(as: readonly Box[], bs: readonly Box[]): Box[] {
  let pieces = as.filter((a) => !empty(a));
  for (const b of bs) pieces = pieces.flatMap((p) => subtractBox(p, b));
  return pieces;
}

// ---------------------------------------------------------------------------------------------
// Addresses and ports as ranges

function width(family: Family): number {
  return family === 'ipv4' ? 32 : 128;
}

function fromBig(value: bigint, family: Family): string {
  const bytes: number[] = [];
  let v = value;
  for (let i = 0; i < width(family) / 8; i++) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** `10.0.0.0/8` → its interval; a bare address is one address. Null when not an address. */
export function cidrRange(cidr: string, family: Family): readonly [bigint, bigint] | null {
  try {
    // the family's own parser: ipaddr's generic one tries IPv6 first and throws on every IPv4
    // text, which cost a blocklist's 20,000 sources a second
    const parser = family === 'ipv4' ? ipaddr.IPv4 : ipaddr.IPv6;
    const [addr, bits] = cidr.includes('/')
      ? parser.parseCIDR(cidr)
      : [parser.parse(cidr), width(family)];
    const host = BigInt(width(family) - bits);
    const value = addr.toByteArray().reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
    const base = (value >> host) << host;
    return [base, base + (1n << host) - 1n];
  } catch {
    return null;
  }
}

export function cidrsToRanges(cidrs: readonly string[], family: Family): Ranges {
  return normalise(
    cidrs.flatMap((c) => {
      const r = cidrRange(c, family);
      return r === null ? [] : [r];
    }),
  );
}

/** The fewest CIDRs covering exactly the ranges. */
export function rangesToCidrs(ranges: Ranges, family: Family): string[] {
  const out: string[] = [];
  const bits = width(family);
  for (const [lo, hi] of ranges) {
    let start = lo;
    while (start <= hi) {
      let size = 0;
      while (size < bits) {
        const next = size + 1;
        const block = 1n << BigInt(next);
        if (start % block !== 0n || start + block - 1n > hi) break;
        size = next;
      }
      out.push(`${fromBig(start, family)}/${bits - size}`);
      start += 1n << BigInt(size);
    }
  }
  return out;
}

/** Source lists past this many ranges are said by what they leave out when that is shorter. */
const EXCEPT_FROM_RANGES = 64;

/**
 * Source ranges as a row's `sources`: listed, or (a blocklist's shape) every address of the
 * family with `exceptSources` taken out when those are fewer.
 */
export function sourcesOf(
  ranges: Ranges,
  family: Family,
): { sources: string[]; exceptSources?: string[] } {
  if (ranges.length > EXCEPT_FROM_RANGES) {
    const everything: Ranges = [[0n, (1n << BigInt(width(family))) - 1n]];
    const rest = subtract(everything, ranges);
    if (rest.length < ranges.length)
      return { sources: [everyAddress(family)], exceptSources: rangesToCidrs(rest, family) };
  }
  return { sources: rangesToCidrs(ranges, family) };
}

/** Source ranges as a piece's id says them (`sourcesOf`, the exceptions after a `-`). */
export function sourcesId(ranges: Ranges, family: Family): string {
  const { sources, exceptSources } = sourcesOf(ranges, family);
  return exceptSources === undefined
    ? sources.join(',')
    : `${sources.join(',')}-${exceptSources.join(',')}`;
}

export function portsToRanges(
  ports: readonly { readonly from: number; readonly to: number }[],
): Ranges {
  return normalise(ports.map((p) => [BigInt(p.from), BigInt(p.to)] as const));
}

export function rangesToPorts(ranges: Ranges): { from: number; to: number }[] {
  return ranges.map(([a, b]) => ({ from: Number(a), to: Number(b) }));
}

export function firstAddress(ranges: Ranges, family: Family): string | null {
  const r = ranges[0];
  if (r === undefined) return null;
  // Prefer an address that is not a network's first (all-zero host part) when there is room.
  const v = r[1] > r[0] ? r[0] + 1n : r[0];
  return fromBig(v, family);
}
