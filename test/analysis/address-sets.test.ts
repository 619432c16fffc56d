/** CIDR texts read by analysis: exactly what ipaddr.js's own generic parsers accept. */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { cidrWithin, cidrsId, complement, parseCidr } from '../../src/analysis/address-sets.ts';

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
