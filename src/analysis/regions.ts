/**
 * Sets of packets as unions of boxes: each box is one set of intervals per field (ingress
 * interface, source address, destination address, destination port). Two reachable sets from
 * different snapshots live in different engines, so `dockwall diff` subtracts them here, exactly:
 * a box minus a box is at most two boxes per field.
 */
import ipaddr from 'ipaddr.js';
import type { Family } from '../model/ruleset.ts';

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

export function intersect(a: Ranges, b: Ranges): Ranges {
  const out: [bigint, bigint][] = [];
  for (const [a0, a1] of a) {
    for (const [b0, b1] of b) {
      const lo = a0 > b0 ? a0 : b0;
      const hi = a1 < b1 ? a1 : b1;
      if (lo <= hi) out.push([lo, hi]);
    }
  }
  return normalise(out);
}

export function subtract(a: Ranges, b: Ranges): Ranges {
  let pieces: [bigint, bigint][] = a.map(([x, y]) => [x, y]);
  for (const [b0, b1] of b) {
    const next: [bigint, bigint][] = [];
    for (const [x, y] of pieces) {
      if (b1 < x || b0 > y) next.push([x, y]);
      else {
        if (x < b0) next.push([x, b0 - 1n]);
        if (b1 < y) next.push([b1 + 1n, y]);
      }
    }
    pieces = next;
  }
  return normalise(pieces);
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

function toBig(address: string): bigint {
  return ipaddr
    .parse(address)
    .toByteArray()
    .reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
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
    const [addr, bits] = cidr.includes('/')
      ? ipaddr.parseCIDR(cidr)
      : [ipaddr.parse(cidr), width(family)];
    if ((addr.kind() === 'ipv4') !== (family === 'ipv4')) return null;
    const host = BigInt(width(family) - bits);
    const base = (toBig(addr.toString()) >> host) << host;
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
