/**
 * iptables' `--ctstatus` on a connection's first packet, as the kernel decides it: measured in
 * namespaces (Linux 6.18, iptables 1.8.9), each rule's counter after one connection attempt from
 * another namespace over a veth, and from the host to itself over lo. The kernel tests whether
 * some bit of the list is set, so NONE (no bit) never holds; the packet that comes back in over
 * lo has left by POSTROUTING, where conntrack confirmed its connection. dockwall had read NONE
 * as "no bit set", holding on every new connection, and CONFIRMED as never set: "dropped
 * (certain)" where the kernel accepted.
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/index.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import type { Packet } from '../../src/model/trace.ts';
import { HOST4, SSH4 } from '../support/one-host.ts';
import { parseAddress } from '../../src/engine/addr.ts';
import { crossCheck, firstPacket } from './crosscheck.ts';

/**
 * `--ctstatus` argument of `-A INPUT -p tcp -m conntrack … -j DROP` → dockwall's answer for a
 * client's connection from outside and the host's to itself over lo, where the kernel
 * (measured with a listener) connected or timed out as the verdict says. The first packet and
 * the first reply decide; an accept is possible where the later packets' bits (ASSURED) are not
 * modelled, and certain only where the list names no bit.
 */
const MEASURED: readonly [string, string, string][] = [
  ['NONE', 'accepted certain', 'accepted certain'],
  ['! NONE', 'dropped certain', 'dropped certain'],
  ['CONFIRMED', 'accepted possible', 'dropped certain'],
  ['! CONFIRMED', 'dropped certain', 'accepted possible'],
  ['EXPECTED', 'accepted possible', 'accepted possible'],
  // the reply (SYN-ACK) over lo is seen replied, and INPUT drops it
  ['SEEN_REPLY', 'accepted possible', 'dropped certain'],
  ['ASSURED', 'accepted possible', 'accepted possible'],
  ['EXPECTED,CONFIRMED', 'accepted possible', 'dropped certain'],
];

/** The host's own connection to itself, which leaves by lo and comes back in. */
const OVER_LO: Packet = {
  ...SSH4,
  source: '127.0.0.1',
  destination: '127.0.0.1',
  inInterface: null,
};

const v4 = (a: string): bigint => parseAddress(a, 'ipv4') ?? 0n;

function rules(status: string): string {
  const negated = status.startsWith('! ');
  const list = negated ? status.slice(2) : status;
  const match = `-m conntrack ${negated ? '! ' : ''}--ctstatus ${list}`;
  return `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp ${match} -j DROP\nCOMMIT\n`;
}

describe('conntrack status on the first packet', () => {
  it.each(MEASURED)('--ctstatus %s: as the kernel', (status, outside, overLo) => {
    const { ruleset, diagnostics } = parseIptables(rules(status), { file: 'rules.v4' });
    expect(diagnostics).toEqual([]);
    const engine = createEngine(ruleset, HOST4);
    const verdict = (p: Packet): string => {
      const t = engine.trace(p);
      return `${t.verdict} ${t.certainty}`;
    };
    expect(verdict(SSH4)).toBe(outside);
    expect(verdict(OVER_LO)).toBe(overLo);
  });

  it.each(MEASURED)('--ctstatus %s: the symbolic walk agrees with the trace', (status) => {
    const { ruleset } = parseIptables(rules(status), { file: 'rules.v4' });
    const syn = (iif: string | null, src: string, dst: string, loc: boolean) =>
      firstPacket({
        iif,
        state: 'NEW',
        proto: 6,
        src: v4(src),
        dst: v4(dst),
        sport: 40000,
        dport: 22,
        mark: 0,
        loc,
      });
    const packets = [
      syn('eth0', '203.0.113.9', '203.0.113.1', true),
      syn(null, '127.0.0.1', '127.0.0.1', true),
      syn(null, '203.0.113.1', '203.0.113.1', true),
    ];
    expect(crossCheck(ruleset, HOST4, packets).failures).toEqual([]);
  });
});
