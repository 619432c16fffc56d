/** The exposure policy's answers over plain exposures (the rule's reports: its fixtures). */
import { describe, expect, it } from 'vitest';
import { cidrWithin } from '../../src/analysis/address-sets.ts';
import { disallowedSources, forbiddenSource, staleAllows } from '../../src/analysis/policy.ts';
import type { Exposure } from '../../src/model/audit.ts';
import type { Policy } from '../../src/model/exposure-policy.ts';

const at = (line: number) => ({ file: '.dockwall.yaml', line, column: 1 });

describe('exposure policy', () => {
  const exposure: Exposure = {
    id: 'ipv4/tcp/host:8080→container:web:80',
    family: 'ipv4',
    protocol: 'tcp',
    kind: 'published',
    toHost: true,
    destinations: ['198.51.100.1/32'],
    anyHostAddress: true,
    ports: [{ from: 8080, to: 8080 }],
    target: {
      kind: 'container',
      name: 'web',
      addresses: ['172.17.0.2/32'],
      ports: [{ from: 80, to: 80 }],
      outInterface: 'docker0',
      network: 'bridge',
      listening: null,
      proxiedBy: null,
      namedFrom: 'containers.json',
    },
    reachableFrom: [{ interface: 'eth0', sources: ['10.1.0.0/16', '203.0.113.0/24'] }],
    certainty: 'certain',
    assumptions: [],
    witness: {
      family: 'ipv4',
      protocol: 'tcp',
      source: '203.0.113.10',
      sourcePort: 40000,
      destination: '198.51.100.1',
      destinationPort: 8080,
      inInterface: 'eth0',
      state: 'NEW',
      mark: 0,
    },
    trace: [],
  };
  const policy = (from: string[]): Policy => ({
    location: at(1),
    allow: [
      {
        protocol: 'tcp',
        ports: { from: 8080, to: 8080 },
        fromCidrs: from.filter((f) => f.includes('/')),
        fromInterfaces: from.filter((f) => !f.includes('/')),
        to: { kind: 'container', name: 'web' },
        description: 'tcp/8080',
        location: at(2),
      },
    ],
  });

  it('CIDR containment', () => {
    expect(cidrWithin('10.1.0.0/16', '10.0.0.0/8')).toBe(true);
    expect(cidrWithin('10.0.0.0/8', '10.1.0.0/16')).toBe(false);
    expect(cidrWithin('2001:db8::/48', '2001:db8::/32')).toBe(true);
    expect(cidrWithin('10.0.0.0/8', '::/0')).toBe(false);
  });

  it('is silent when every reachable source is allowed', () => {
    expect(disallowedSources(exposure, policy(['10.0.0.0/8', '203.0.113.0/24']))).toEqual([]);
    expect(disallowedSources(exposure, policy(['eth0']))).toEqual([]);
  });

  it('names the sources the policy does not allow, per ingress', () => {
    expect(disallowedSources(exposure, policy(['10.0.0.0/8']))).toEqual([
      { interface: 'eth0', source: '203.0.113.0/24' },
    ]);
    // an entry for another port or container does not cover it
    const other = {
      ...policy([]),
      allow: [{ ...policy([]).allow[0]!, ports: { from: 443, to: 443 } }],
    };
    expect(disallowedSources(exposure, other).length).toBe(2);
  });

  it('counts the allowed CIDRs together', () => {
    const wide: Exposure = {
      ...exposure,
      reachableFrom: [{ interface: 'eth0', sources: ['10.0.0.0/8'] }],
    };
    // two halves in one entry, or in two entries, allow the whole
    expect(disallowedSources(wide, policy(['10.0.0.0/9', '10.128.0.0/9']))).toEqual([]);
    const two = policy(['10.0.0.0/9']);
    const halves: Policy = {
      ...two,
      allow: [...two.allow, { ...two.allow[0]!, fromCidrs: ['10.128.0.0/9'] }],
    };
    expect(disallowedSources(wide, halves)).toEqual([]);
    // one half alone does not, and the witness lies in the other
    expect(disallowedSources(wide, two)).toEqual([{ interface: 'eth0', source: '10.0.0.0/8' }]);
    expect(forbiddenSource(wide, two, 'eth0', '10.0.0.0/8')).toBe('10.255.255.255');
    // an IPv6 entry allows nothing of an IPv4 source
    expect(disallowedSources(wide, policy(['::/0']))).toEqual([
      { interface: 'eth0', source: '10.0.0.0/8' },
    ]);
  });

  it('picks a witness source the policy forbids', () => {
    // the exposure's own witness (203.0.113.10) is forbidden: kept
    expect(forbiddenSource(exposure, policy(['10.0.0.0/8']), 'eth0', '203.0.113.0/24')).toBe(
      '203.0.113.10',
    );
    // an allowed witness is replaced by an address of the forbidden prefix
    const allowedWitness = { ...exposure, witness: { ...exposure.witness, source: '10.1.0.5' } };
    expect(forbiddenSource(allowedWitness, policy(['10.0.0.0/8']), 'eth0', '203.0.113.0/24')).toBe(
      '203.0.113.0',
    );
    // the first address allowed, the last not
    expect(
      forbiddenSource(allowedWitness, policy(['203.0.113.0/25']), 'eth0', '203.0.113.0/24'),
    ).toBe('203.0.113.255');
  });

  it('leaves out the sources an exposure excepts (a blocklist)', () => {
    // every source but 0.0.0.0/8 and the upper half of the space
    const blocked: Exposure = {
      ...exposure,
      reachableFrom: [
        { interface: 'eth0', sources: ['0.0.0.0/0'], exceptSources: ['0.0.0.0/8', '128.0.0.0/1'] },
      ],
    };
    // what is left lies inside 0.0.0.0/1: allowed
    expect(disallowedSources(blocked, policy(['0.0.0.0/1']))).toEqual([]);
    expect(
      disallowedSources(
        blocked,
        policy([
          '1.0.0.0/8',
          '2.0.0.0/7',
          '4.0.0.0/6',
          '8.0.0.0/5',
          '16.0.0.0/4',
          '32.0.0.0/3',
          '64.0.0.0/2',
        ]),
      ),
    ).toEqual([]);
    // not inside 10.0.0.0/8
    expect(disallowedSources(blocked, policy(['10.0.0.0/8']))).toEqual([
      { interface: 'eth0', source: '0.0.0.0/0', except: ['0.0.0.0/8', '128.0.0.0/1'] },
    ]);
    // the witness (203.0.113.10), 0.0.0.0 and 255.255.255.255 are all excepted: the first
    // address that reaches and is not allowed
    expect(forbiddenSource(blocked, policy(['10.0.0.0/8']), 'eth0', '0.0.0.0/0')).toBe('1.0.0.1');
    expect(forbiddenSource(blocked, policy(['0.0.0.0/1']), 'eth0', '0.0.0.0/0')).toBeNull();
  });

  it('finds the allowed entries that match no exposure', () => {
    expect(staleAllows([exposure], policy(['10.0.0.0/8']))).toEqual([]);
    const [stale] = staleAllows([], policy(['10.0.0.0/8']));
    expect(stale?.location.line).toBe(2);
  });
});
