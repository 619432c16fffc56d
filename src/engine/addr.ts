/** Addresses as bigints, so one code path serves IPv4 (32 bits) and IPv6 (128 bits). */
import ipaddr from 'ipaddr.js';
import type { Family } from '../model/ruleset.ts';

export function addressBits(family: Family): number {
  return family === 'ipv4' ? 32 : 128;
}

/** Four decimal octets, none with a leading zero: read directly (ipaddr.js tries IPv6 first). */
const DOTTED_QUAD =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** The address as an unsigned integer, or null when it is not an address of the family. */
export function parseAddress(text: string, family: Family): bigint | null {
  const t = text.trim();
  if (DOTTED_QUAD.test(t)) {
    if (family !== 'ipv4') return null;
    const [a = 0, b = 0, c = 0, d = 0] = t.split('.').map(Number);
    return BigInt(((a << 24) | (b << 16) | (c << 8) | d) >>> 0);
  }
  if (!ipaddr.isValid(t)) return null;
  const a = ipaddr.parse(t);
  if ((a.kind() === 'ipv4') !== (family === 'ipv4')) return null;
  let v = 0n;
  for (const b of a.toByteArray()) v = (v << 8n) | BigInt(b);
  return v;
}

const remembered: Record<Family, Map<string, bigint | null>> = { ipv4: new Map(), ipv6: new Map() };

/** `parseAddress`, remembered by text: rules name the same few addresses over and over. */
export function addressValue(text: string, family: Family): bigint | null {
  const known = remembered[family];
  let v = known.get(text);
  if (v === undefined) {
    v = parseAddress(text, family);
    known.set(text, v);
  }
  return v;
}

export function formatAddress(value: bigint, family: Family): string {
  if (family === 'ipv4') {
    // dotted quad, as ipaddr.js writes it, without a byte array and an object per address
    const n = Number(value & 0xffffffffn);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const bytes: number[] = [];
  for (let i = 15; i >= 0; i--) bytes.push(Number((value >> BigInt(i * 8)) & 0xffn));
  return (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String();
}

/** `10.0.0.0/8`, `fd00::/64`, or a bare address (full length). Host bits are cleared. */
export function parseCidr(
  text: string,
  family: Family,
): { readonly value: bigint; readonly length: number } | null {
  const [addr, len, extra] = text.trim().split('/');
  if (addr === undefined || extra !== undefined) return null;
  const value = addressValue(addr, family);
  if (value === null) return null;
  const width = addressBits(family);
  const length = len === undefined ? width : Number(len);
  if (
    !Number.isInteger(length) ||
    length < 0 ||
    length > width ||
    (len !== undefined && !/^\d+$/.test(len))
  ) {
    return null;
  }
  return { value: value & prefixMask(length, width), length };
}

export function prefixMask(length: number, width: number): bigint {
  const all = (1n << BigInt(width)) - 1n;
  return length === 0 ? 0n : (all << BigInt(width - length)) & all;
}

export function formatCidr(value: bigint, length: number, family: Family): string {
  return `${formatAddress(value, family)}/${length}`;
}

/** Whether an IPv6 address's value is link-local (fe80::/10). */
export function isLinkLocal6(value: bigint): boolean {
  return value >> 118n === 0x3fan;
}
