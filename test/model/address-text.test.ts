import { describe, expect, it } from 'vitest';
import { bareAddress, hostPrefix } from '../../src/model/address-text.ts';

describe('bareAddress', () => {
  it('drops a prefix length and leaves a bare address as it is', () => {
    expect(bareAddress('192.168.0.1/24')).toBe('192.168.0.1');
    expect(bareAddress('fd00::/64')).toBe('fd00::');
    expect(bareAddress('10.0.0.2')).toBe('10.0.0.2');
    expect(bareAddress('fe80::1')).toBe('fe80::1');
    expect(bareAddress('')).toBe('');
  });
});

describe('hostPrefix', () => {
  it('gives an address its family’s full-length prefix', () => {
    expect(hostPrefix('10.0.0.2')).toBe('10.0.0.2/32');
    expect(hostPrefix('fd00::2')).toBe('fd00::2/128');
  });
});
