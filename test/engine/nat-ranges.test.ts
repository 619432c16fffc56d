/**
 * NAT to a range, as the kernel picks for a connection with no other in the way (nf_nat's
 * get_unique_tuple): a destination port already in the range is kept, any other becomes the
 * range's first; with a base (`:P-Q/BASE`) the port moves by its offset from the base; a random
 * pick (`--random`) and an address picked by a hash among several are not known, and say so.
 * Random seed randomw-35: `-t nat -A PREROUTING -p tcp -j DNAT --to-destination
 * 192.0.2.2:80-82` kept a connection to port 81 on port 81, which Docker's FORWARD rules
 * dropped, where dockwall had said "accepted (certain)" on port 80.
 */
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../src/engine/addr.ts';
import type { NetworkContext } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/index.ts';
import { natPort } from '../../src/engine/netfilter.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import type { Packet } from '../../src/model/trace.ts';
import { crossCheck, firstPacket } from './crosscheck.ts';

const router: NetworkContext = {
  family: 'ipv4',
  interfaces: ['lo', 'eth0', 'eth1'],
  localAddresses: ['203.0.113.1', '10.0.0.1'],
  routes: [
    { destination: '203.0.113.0/24', device: 'eth0', source: '203.0.113.1' },
    { destination: '10.0.0.0/24', device: 'eth1', source: '10.0.0.1' },
  ],
  forwarding: true,
  redirectAddresses: [
    { interface: 'eth0', address: '203.0.113.1' },
    { interface: 'eth1', address: '10.0.0.1' },
  ],
};

const rules = (target: string): string =>
  `*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -i eth0 -p tcp -j ${target}\nCOMMIT\n`;

const toPort = (port: number): Packet => ({
  family: 'ipv4',
  protocol: 'tcp',
  source: '203.0.113.9',
  sourcePort: 40000,
  destination: '203.0.113.1',
  destinationPort: port,
  inInterface: 'eth0',
  state: 'NEW',
  mark: 0,
});

function traced(target: string, port: number): string {
  const { ruleset, diagnostics } = parseIptables(rules(target), { file: 'rules.v4' });
  expect(diagnostics).toEqual([]);
  const t = createEngine(ruleset, router).trace(toPort(port));
  const to = t.delivery === null ? 'nowhere' : `${t.delivery.address}:${t.delivery.port ?? ''}`;
  return `${t.verdict} ${t.certainty} ${to}`;
}

describe('the port NAT picks from a range', () => {
  it('keeps a port in the range, and moves any other to its first', () => {
    const range = { from: 80, to: 82 };
    expect(natPort(range, 81, undefined, false)).toBe(81);
    expect(natPort(range, 82, undefined, false)).toBe(82);
    expect(natPort(range, 90, undefined, false)).toBe(80);
    expect(natPort(range, 79, undefined, false)).toBe(80);
    // by its offset from the base, wrapping at 65536
    expect(natPort(range, 8001, 8000, false)).toBe(81);
    expect(natPort(range, 81, 8000, false)).toBe(82);
    // at random: not known; one port is no choice
    expect(natPort(range, 81, undefined, true)).toBeNull();
    expect(natPort({ from: 80, to: 80 }, 81, undefined, true)).toBe(80);
  });

  it('traces DNAT and REDIRECT to a port range as the kernel picks', () => {
    expect(traced('DNAT --to-destination 10.0.0.2:80-82', 81)).toBe('accepted certain 10.0.0.2:81');
    expect(traced('DNAT --to-destination 10.0.0.2:80-82', 8080)).toBe(
      'accepted certain 10.0.0.2:80',
    );
    expect(traced('REDIRECT --to-ports 80-81', 81)).toBe('accepted certain 203.0.113.1:81');
    expect(traced('REDIRECT --to-ports 80-81', 22)).toBe('accepted certain 203.0.113.1:80');
    // a random pick, and an address among several, are what the trace takes, possibly
    expect(traced('DNAT --to-destination 10.0.0.2:80-82 --random', 81)).toBe(
      'accepted possible 10.0.0.2:80',
    );
    expect(traced('DNAT --to-destination 10.0.0.2-10.0.0.3:80', 81)).toBe(
      'accepted possible 10.0.0.2:80',
    );
  });

  it.each([
    'DNAT --to-destination 10.0.0.2:80-82',
    'DNAT --to-destination 10.0.0.2:80-82 --random',
    'DNAT --to-destination 10.0.0.2-10.0.0.3:80-81',
    'DNAT --to-destination 203.0.113.1:80-82',
    'REDIRECT --to-ports 80-81',
  ])('%s: the symbolic walk agrees with the trace', (target) => {
    const { ruleset } = parseIptables(rules(target), { file: 'rules.v4' });
    const v4 = (a: string): bigint => parseAddress(a, 'ipv4') ?? 0n;
    const packets = [79, 80, 81, 82, 83, 8080].map((dport) =>
      firstPacket({
        iif: 'eth0',
        state: 'NEW',
        proto: 6,
        src: v4('203.0.113.9'),
        dst: v4('203.0.113.1'),
        sport: 40000,
        dport,
        mark: 0,
        loc: true,
      }),
    );
    expect(crossCheck(ruleset, router, packets).failures).toEqual([]);
  });
});
