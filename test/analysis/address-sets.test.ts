/** CIDR texts read by analysis: exactly what ipaddr.js's own generic parsers accept. */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import {
  briefCidrs,
  cidrWithin,
  cidrsId,
  complement,
  parseCidr,
} from '../../src/analysis/address-sets.ts';

/** ipaddr.js's generic parsers, which try IPv6 first. */
function reference(text: string): [string, number] | null {
  try {
    if (text.includes('/')) {
      const [a, n] = ipaddr.parseCIDR(text);
      return [a.toString(), n];
    }
    const a = ipaddr.parse(text);
    return [a.toString(), a.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return null;
  }
}

describe('parseCidr', () => {
  const part = fc.constantFrom(
    '10.0.0.0',
    '10.1',
    '010.1.2.3',
    '0x0a.1.2.3',
    '255.255.255.255',
    '256.1.1.1',
    '1.2.3.4.5',
    '::',
    '::1',
    'fe80::1',
    '2001:db8::',
    '::ffff:10.1.2.3',
    '1:2:3:4:5:6:7:8',
    ':::',
    'x',
    '',
  );
  const length = fc.constantFrom('', '/0', '/8', '/32', '/33', '/64', '/128', '/129', '/x', '/');
  it('accepts and reads what ipaddr.parse and parseCIDR do, IPv4 and IPv6', () => {
    fc.assert(
      fc.property(part, length, (p, l) => {
        const got = parseCidr(p + l);
        expect(got === null ? null : [got[0].toString(), got[1]]).toEqual(reference(p + l));
      }),
      { numRuns: 500 },
    );
  });

  it('tells containment by the network bits', () => {
    expect(cidrWithin('10.1.2.3', '10.0.0.0/8')).toBe(true);
    expect(cidrWithin('10.0.0.0/8', '10.1.0.0/16')).toBe(false);
    expect(cidrWithin('2001:db8::5', '2001:db8::/32')).toBe(true);
    expect(cidrWithin('10.1.2.3', '::/0')).toBe(false);
  });
});

describe('complement', () => {
  /**
   * The reference: split the address space in halves until a half is wholly in the list (left
   * out) or wholly outside it (listed), in BigInt.
   */
  function splitting(cidrs: readonly string[], family: 'ipv4' | 'ipv6'): string[] {
    const width = family === 'ipv4' ? 32 : 128;
    const ranges = cidrs.map((c) => {
      const [a, n] = parseCidr(c) as NonNullable<ReturnType<typeof parseCidr>>;
      const from = a.toByteArray().reduce((v, b) => (v << 8n) | BigInt(b), 0n);
      const size = 1n << BigInt(width - n);
      return { from: from - (from % size), to: from - (from % size) + size - 1n };
    });
    const out: string[] = [];
    const visit = (base: bigint, len: number): void => {
      const last = base + (1n << BigInt(width - len)) - 1n;
      if (ranges.some((r) => r.from <= base && last <= r.to)) return;
      if (!ranges.some((r) => r.from <= last && base <= r.to) || len === width) {
        const bytes = Array.from({ length: width / 8 }, (_, i) =>
          Number((base >> BigInt(width - 8 - 8 * i)) & 255n),
        );
        const a = ipaddr.fromByteArray(bytes);
        const text = family === 'ipv6' ? (a as ipaddr.IPv6).toRFC5952String() : a.toString();
        out.push(len === width ? text : `${text}/${len}`);
        return;
      }
      visit(base, len + 1);
      visit(base + (1n << BigInt(width - len - 1)), len + 1);
    };
    visit(0n, 0);
    return out;
  }

  const v4 = fc
    .tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }))
    .map(([a, n]) => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${n}`);
  const v6 = fc
    .tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 0, max: 128 }))
    .map(([a, n]) => {
      const bytes = Array.from({ length: 16 }, (_, i) => Number((a >> BigInt(120 - 8 * i)) & 255n));
      return `${(ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String()}/${n}`;
    });

  it('lists the fewest CIDRs of what a list leaves out, in order, IPv4 and IPv6', () => {
    fc.assert(
      fc.property(fc.array(v4, { maxLength: 6 }), (cidrs) => {
        expect(complement(cidrs, 'ipv4')).toEqual(splitting(cidrs, 'ipv4'));
      }),
      { numRuns: 400 },
    );
    fc.assert(
      fc.property(fc.array(v6, { maxLength: 4 }), (cidrs) => {
        expect(complement(cidrs, 'ipv6')).toEqual(splitting(cidrs, 'ipv6'));
      }),
      { numRuns: 100 },
    );
    expect(complement(['0.0.0.0/0'], 'ipv4')).toEqual([]);
    expect(complement([], 'ipv4')).toEqual(['0.0.0.0/0']);
    expect(complement(['0.0.0.0/1'], 'ipv4')).toEqual(['128.0.0.0/1']);
    expect(complement(['255.255.255.255', '0.0.0.0/1'], 'ipv4')).toHaveLength(31);
  });
});

describe('briefCidrs', () => {
  it('says a short list as it is', () => {
    expect(briefCidrs(['10.0.0.0/8', '192.168.0.1/32'], 'ipv4')).toBe('10.0.0.0/8, 192.168.0.1');
  });

  it('says every address but a few by what it leaves out, counting what it does not show', () => {
    const few = ['127.0.0.0/8', '172.17.0.0/16'];
    expect(briefCidrs(complement(few, 'ipv4'), 'ipv4')).toBe(
      'any address except 127.0.0.0/8, 172.17.0.0/16',
    );
    // what a forwarding row reaches: every address but loopback, two subnets and the groups
    const five = [...few, '192.0.2.0/24', '224.0.0.0/4', '255.255.255.255'];
    expect(briefCidrs(complement(five, 'ipv4'), 'ipv4')).toBe(
      'any address except 127.0.0.0/8, 172.17.0.0/16, 192.0.2.0/24 and 2 more',
    );
  });

  it('says a long list that leaves out more than a handful by its first few and a count', () => {
    const list = ['10.0.0.1', '10.0.0.3', '10.0.0.5', '10.0.0.7'];
    expect(briefCidrs(list, 'ipv4')).toBe('10.0.0.1, 10.0.0.3, 10.0.0.5 and 1 more');
    // a /64 but its first address: 64 prefixes, and 129 outside them
    const subnet = complement([...complement(['2001:db8:1::/64'], 'ipv6'), '2001:db8:1::'], 'ipv6');
    expect(subnet).toHaveLength(64);
    expect(briefCidrs(subnet, 'ipv6')).toBe(
      '2001:db8:1::1, 2001:db8:1::2/127, 2001:db8:1::4/126 and 61 more',
    );
  });
});

describe('cidrsId', () => {
  it('says every address but a few by what it leaves out', () => {
    // "every IPv6 address but ::1" as prefixes: ::/128, ::2/127, ::4/126, … 128 of them
    const rest = complement(['::1'], 'ipv6');
    expect(rest).toHaveLength(128);
    expect(cidrsId(rest, 'ipv6')).toBe('::/0-::1');
    expect(cidrsId(complement(['10.0.0.0/8', '192.168.0.1'], 'ipv4'), 'ipv4')).toBe(
      '0.0.0.0/0-10.0.0.0/8,192.168.0.1',
    );
  });

  it('keeps a list as it is when it is not longer than what it leaves out', () => {
    expect(cidrsId(['10.0.0.0/8'], 'ipv4')).toBe('10.0.0.0/8');
    expect(cidrsId(['10.0.0.0/8', '172.16.0.0/12'], 'ipv4')).toBe('10.0.0.0/8,172.16.0.0/12');
    expect(cidrsId([], 'ipv4')).toBe('');
  });

  it('says a list that covers the family as every address', () => {
    expect(cidrsId(['0.0.0.0/1', '128.0.0.0/1'], 'ipv4')).toBe('0.0.0.0/0');
  });

  it('leaves a list with an address of the other family as it is', () => {
    // the except form would drop the address it cannot read
    const mixed = [...complement(['::1'], 'ipv6'), '192.0.2.2/32'];
    expect(cidrsId(mixed, 'ipv6')).toBe(mixed.join(','));
  });

  it('gives the same id for the same addresses however the list splits them', () => {
    const cidr = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 8 }));
    fc.assert(
      fc.property(fc.array(cidr, { maxLength: 6 }), (picked) => {
        const list = picked.map(([a, len]) => `${a & (0xff << (8 - len)) & 0xff}.0.0.0/${len}`);
        // the same set written canonically (the complement of its complement)
        const canonical = complement(complement(list, 'ipv4'), 'ipv4');
        const id = cidrsId(list, 'ipv4');
        if (id.includes('-')) expect(id).toBe(cidrsId(canonical, 'ipv4'));
      }),
      { numRuns: 300 },
    );
  });
});
