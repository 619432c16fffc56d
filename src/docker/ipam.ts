/**
 * Addresses the way Docker's default IPAM hands them out, deterministically:
 *
 * - a network without a subnet gets the first subnet, in the order of the daemon's
 *   `default-address-pools` (each pool split into subnets of its size, lowest first), that
 *   overlaps no existing network's subnet and no route or address of the host (libnetwork's
 *   `allocatePredefinedPool` walks the pools the same way);
 * - its gateway is the subnet's first host address;
 * - a container gets the lowest free address after the highest one in use (Docker allocates
 *   serially; what a real host holds back after containers were removed is not in a snapshot),
 *   inside `ip_range` when one is set.
 */
import ipaddr from 'ipaddr.js';
import type { Family } from '../model/ruleset.ts';

function bitsOf(family: Family): number {
  return family === 'ipv4' ? 32 : 128;
}

export function toBig(address: string): bigint {
  return bigOfBytes(ipaddr.parse(address).toByteArray());
}

/** An address's bytes, most significant first, as one number. */
export function bigOfBytes(bytes: readonly number[]): bigint {
  return bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

export function fromBig(value: bigint, family: Family): string {
  const n = bitsOf(family) / 8;
  const bytes: number[] = [];
  let v = value;
  for (let i = 0; i < n; i++) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

export interface Prefix {
  readonly family: Family;
  readonly base: bigint;
  readonly bits: number;
}

export function parsePrefix(cidr: string): Prefix | null {
  try {
    const [addr, bits] = ipaddr.parseCIDR(cidr);
    const family: Family = addr.kind() === 'ipv4' ? 'ipv4' : 'ipv6';
    const width = BigInt(bitsOf(family) - bits);
    const base = (toBig(addr.toString()) >> width) << width;
    return { family, base, bits };
  } catch {
    return null;
  }
}

export function prefixText(p: Prefix): string {
  return `${fromBig(p.base, p.family)}/${p.bits}`;
}

function size(p: Prefix): bigint {
  return 1n << BigInt(bitsOf(p.family) - p.bits);
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  if (a.family !== b.family) return false;
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

export function contains(p: Prefix, address: string): boolean {
  try {
    const v = toBig(address);
    return (
      ipaddr.parse(address).kind() === (p.family === 'ipv4' ? 'ipv4' : 'ipv6') &&
      v >= p.base &&
      v < p.base + size(p)
    );
  } catch {
    return false;
  }
}

/**
 * The first `size`-bit subnet of the pools (in order) free of every `taken` prefix; null when the
 * pools are exhausted.
 */
export function allocateSubnet(
  pools: readonly { readonly base: string; readonly size: number }[],
  taken: readonly Prefix[],
): Prefix | null {
  for (const pool of pools) {
    const p = parsePrefix(pool.base);
    if (p === null || pool.size < p.bits || pool.size > bitsOf(p.family)) continue;
    const step = 1n << BigInt(bitsOf(p.family) - pool.size);
    for (let base = p.base; base < p.base + size(p); base += step) {
      const candidate: Prefix = { family: p.family, base, bits: pool.size };
      if (!taken.some((t) => overlaps(t, candidate))) return candidate;
    }
  }
  return null;
}

/** The first host address of a subnet (Docker's default gateway). */
export function firstHost(p: Prefix): string {
  return fromBig(p.base + 1n, p.family);
}

/**
 * The lowest free address above the highest used one in `range` (within `subnet`), skipping the
 * network and broadcast addresses of IPv4; null when the range is full.
 */
export function nextAddress(subnet: Prefix, range: Prefix, used: readonly string[]): string | null {
  const inRange = used.filter((u) => contains(range, u)).map(toBig);
  const last = inRange.length === 0 ? range.base : inRange.reduce((a, b) => (a > b ? a : b));
  const end = range.base + size(range);
  const broadcast = subnet.base + size(subnet) - 1n;
  const taken = new Set(inRange);
  const ok = (v: bigint) =>
    v !== subnet.base && !(subnet.family === 'ipv4' && v === broadcast) && !taken.has(v);
  for (let v = last + 1n; v < end; v++) if (ok(v)) return fromBig(v, subnet.family);
  for (let v = range.base; v <= last; v++) if (ok(v)) return fromBig(v, subnet.family);
  return null;
}
