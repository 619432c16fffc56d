/** Addresses as numbers and back: dockwall's own IPv4 text must be the one ipaddr.js writes. */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { formatAddress, parseAddress } from '../../src/engine/addr.ts';

describe('reading an address', () => {
  it('reads dotted quads as ipaddr.js does, and every other form through it', () => {
    const octet = fc.oneof(
      fc.integer({ min: 0, max: 255 }).map(String),
      fc.constantFrom('00', '01', '010', '0x1f', '256', '999', '-1', ''),
    );
    const text = fc.oneof(
      fc.array(octet, { minLength: 1, maxLength: 5 }).map((o) => o.join('.')),
      fc.constantFrom('10.1', '127.1', '1.2.3.4 ', ' 1.2.3.4', '::ffff:1.2.3.4', '::1', 'a.b.c.d'),
    );
    fc.assert(
      fc.property(text, (t) => {
        const trimmed = t.trim();
        const valid = ipaddr.isValid(trimmed);
        const a = valid ? ipaddr.parse(trimmed) : null;
        const value =
          a === null ? null : a.toByteArray().reduce((v, b) => (v << 8n) | BigInt(b), 0n);
        expect(parseAddress(t, 'ipv4')).toBe(a?.kind() === 'ipv4' ? value : null);
        expect(parseAddress(t, 'ipv6')).toBe(a?.kind() === 'ipv6' ? value : null);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('formatting an address', () => {
  it('writes IPv4 as ipaddr.js does, and reads back the same value', () => {
    const v4 = fc.oneof(
      fc.constantFrom(0n, 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0xac110002n),
      fc.bigInt({ min: 0n, max: 0xffffffffn }),
    );
    fc.assert(
      fc.property(v4, (v) => {
        const bytes = [24n, 16n, 8n, 0n].map((k) => Number((v >> k) & 0xffn));
        const text = formatAddress(v, 'ipv4');
        expect(text).toBe(ipaddr.fromByteArray(bytes).toString());
        expect(parseAddress(text, 'ipv4')).toBe(v);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes IPv6 in RFC 5952 form', () => {
    expect(formatAddress(0n, 'ipv6')).toBe('::');
    expect(formatAddress(1n, 'ipv6')).toBe('::1');
    expect(formatAddress(parseAddress('2001:DB8:0:0:0:0:2:1', 'ipv6') ?? -1n, 'ipv6')).toBe(
      '2001:db8::2:1',
    );
    expect(formatAddress(parseAddress('::ffff:192.0.2.1', 'ipv6') ?? -1n, 'ipv6')).toBe(
      '::ffff:c000:201',
    );
  });
});
