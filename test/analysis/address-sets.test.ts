/** CIDR texts read by analysis: exactly what ipaddr.js's own generic parsers accept. */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { cidrWithin, parseCidr } from '../../src/analysis/address-sets.ts';

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
