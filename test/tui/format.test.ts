import { describe, expect, it } from 'vitest';
import { addressPort, type Packet, type Trace, type TraceStep } from '../../src/model/trace.ts';
import { describePacket } from '../../src/report/describe.ts';
import {
  compactCount,
  decidingStep,
  formatNetworkMode,
  formatPacket,
  traceSummary,
} from '../../src/tui/format.ts';
import { findingLines, traceLines, wrapText } from '../../src/tui/lines.ts';
import type { Finding } from '../../src/model/audit.ts';
import { parseForm } from '../../src/tui/packet-form.ts';

const step = (hook: TraceStep['hook'], table: string, action: string): TraceStep => ({
  hook,
  table,
  chain: hook,
  rule: null,
  line: 1,
  file: 'f',
  ruleText: '',
  action,
  uncertain: false,
});

describe('the deciding step of a trace', () => {
  it('is the filter verdict, not a NAT policy that follows it', () => {
    const steps = [
      step('PREROUTING', 'nat', 'DNAT 172.17.0.2:80'),
      step('FORWARD', 'filter', 'jump DOCKER'),
      step('FORWARD', 'filter', 'ACCEPT'),
      step('POSTROUTING', 'nat', 'policy ACCEPT'),
    ];
    expect(decidingStep(steps)).toBe(2);
  });

  it('is a raw-table DROP when the packet never reached the filter table', () => {
    expect(decidingStep([step('PREROUTING', 'raw', 'DROP')])).toBe(0);
  });
});

describe('text forms', () => {
  it('brackets IPv6 addresses before a port and shortens counters', () => {
    expect(addressPort('::1', 80)).toBe('[::1]:80');
    expect(addressPort('10.0.0.1', null)).toBe('10.0.0.1');
    expect(compactCount(999n)).toBe('999');
    expect(compactCount(1500n)).toBe('1.5K');
    expect(compactCount(123_456_789n)).toBe('123M');
  });
});

describe('the tracer form', () => {
  const base = { from: '198.51.100.7', in: 'eth0', to: '192.0.2.10:443', proto: 'tcp' };

  it('builds a new TCP connection from an ephemeral port', () => {
    expect(parseForm(base)).toEqual({
      ok: true,
      packet: {
        family: 'ipv4',
        protocol: 'tcp',
        source: '198.51.100.7',
        sourcePort: 40000,
        destination: '192.0.2.10',
        destinationPort: 443,
        inInterface: 'eth0',
        state: 'NEW',
        mark: 0,
      },
    });
  });

  it('reads [v6]:port, allows no port for icmp, and treats an empty interface as the host', () => {
    const v6 = parseForm({ ...base, from: '2001:db8::7', to: '[2001:db8::1]:8080' });
    expect(v6).toMatchObject({ ok: true, packet: { family: 'ipv6', destinationPort: 8080 } });
    const ping = parseForm({ ...base, to: '192.0.2.10', proto: 'icmp', in: '' });
    expect(ping).toMatchObject({ ok: true, packet: { destinationPort: null, inInterface: null } });
  });

  it('names the field that is wrong', () => {
    expect(parseForm({ ...base, to: '192.0.2.10' })).toMatchObject({ ok: false, field: 'to' });
    expect(parseForm({ ...base, to: '2001:db8::1' })).toMatchObject({
      ok: false,
      message: 'source and destination are different families',
    });
    expect(parseForm({ ...base, proto: 'gre' })).toMatchObject({ ok: false, field: 'proto' });
    expect(parseForm({ ...base, to: '192.0.2.10:70000' })).toMatchObject({
      ok: false,
      field: 'to',
    });
  });
});

describe('wrapping prose in detail views', () => {
  it('breaks at spaces within the width and cuts words longer than a line', () => {
    expect(wrapText('the quick brown fox jumps', 10)).toEqual(['the quick', 'brown fox', 'jumps']);
    expect(wrapText('abcdefghijkl xy', 5)).toEqual(['abcde', 'fghij', 'kl xy']);
    expect(wrapText('', 5)).toEqual(['']);
  });
});

describe('network modes', () => {
  it('shortens a container: id to the 12 characters docker ps shows and names the owner', () => {
    const id = '590e4cf4178d488b719dfb250c1d8dc1263761ff80e6228df39750bbba72ecc6';
    expect(formatNetworkMode({ kind: 'container', ref: id, resolved: 'cbase' })).toBe(
      'container:590e4cf4178d → cbase',
    );
    expect(formatNetworkMode({ kind: 'container', ref: 'gone', resolved: null })).toBe(
      'container:gone → unresolved',
    );
  });
});

describe('a trace in the review', () => {
  const packet = {
    family: 'ipv4' as const,
    protocol: 'tcp' as const,
    source: '198.51.100.7',
    sourcePort: 40000,
    destination: '203.0.113.1',
    destinationPort: 5000,
    inInterface: 'eth0',
    state: 'NEW' as const,
    mark: 0,
  };
  const text = (t: Trace): string =>
    traceLines(t)
      .map((l) => l.map((s) => s.text).join(''))
      .join('\n');

  it('says why routing dropped a packet no rule stopped', () => {
    const t: Trace = {
      packet,
      verdict: 'dropped',
      certainty: 'certain',
      steps: [step('PREROUTING', 'nat', 'DNAT 127.0.0.1')],
      delivery: null,
      uncertainRules: [],
      assumptions: [],
      unrouted: 'a loopback destination arriving on eth0, and route_localnet is off there',
    };
    expect(traceSummary(t)).toBe(
      'dropped: not routed, a loopback destination arriving on eth0, and route_localnet is off there',
    );
  });

  it("says a connection's later packets are stopped where its handshake was made", () => {
    const t: Trace = {
      packet,
      verdict: 'accepted',
      certainty: 'certain',
      steps: [],
      delivery: { kind: 'local', address: '203.0.113.1', port: 5000, outInterface: null },
      uncertainRules: [],
      assumptions: [],
      answer: {
        kind: 'later',
        packet: { ...packet, source: '203.0.113.1', destination: '10.1.2.3', inInterface: null },
        verdict: 'dropped',
        steps: [],
        stoppedBy: 'filter/OUTPUT#1',
        unrouted: null,
      },
    };
    expect(traceSummary(t)).toBe(
      'accepted: delivered to the host at 203.0.113.1:5000; its later packets from the server are dropped by filter/OUTPUT#1',
    );
    // the sender's own later packets, stopped where its first went through
    const onward: Trace = {
      ...t,
      answer: {
        kind: 'onward',
        packet: { ...packet, state: 'ESTABLISHED' },
        verdict: 'dropped',
        steps: [],
        stoppedBy: 'mangle/PREROUTING#1',
        unrouted: null,
      },
    };
    expect(traceSummary(onward)).toBe(
      'accepted: delivered to the host at 203.0.113.1:5000; its later packets from the sender are dropped by mangle/PREROUTING#1',
    );
  });

  it('names what a possible verdict assumed, not an unmodelled match it did not meet', () => {
    const assumed = 'route_localnet is taken to be on for eth0';
    const t: Trace = {
      packet,
      verdict: 'accepted',
      certainty: 'possible',
      steps: [step('PREROUTING', 'nat', 'DNAT 127.0.0.1')],
      delivery: { kind: 'local', address: '127.0.0.1', port: 5000, outInterface: null },
      uncertainRules: [],
      assumptions: [assumed],
    };
    expect(traceSummary(t)).toBe(
      'accepted (possibly: it rests on an assumption): delivered to the host at 127.0.0.1:5000',
    );
    expect(text(t)).toContain(assumed);
  });

  it("lists a possible finding's assumptions under its location", () => {
    const f: Finding = {
      ruleId: 'exposed-port',
      severity: 'warning',
      message: 'Unknown container 192.0.2.2:80 via docker-proxy is reachable from outside',
      location: { file: 'ip6tables-save.txt', line: 21, column: 1 },
      object: { port: 8080, protocol: 'tcp' },
      certainty: 'possible',
      assumptions: ['docker-proxy is taken to listen on port 8080/tcp'],
      witness: null,
      trace: [],
      related: [],
      fingerprint: 'f',
    };
    const shown = findingLines(f, null, 80).map((l) => l.map((s) => s.text).join(''));
    const where = shown.findIndex((l) => l.startsWith('Where'));
    expect(shown[where + 1]).toMatch(
      /^Assumed\s+docker-proxy is taken to listen on port 8080\/tcp$/,
    );
    const certain: Finding = { ...f, certainty: 'certain' };
    delete (certain as { assumptions?: readonly string[] }).assumptions;
    const plain = findingLines(certain, null, 80);
    expect(plain.map((l) => l.map((s) => s.text).join('')).join('\n')).not.toContain('Assumed');
  });
});

describe('a witness packet in words', () => {
  // the neighbour discovery rule's witness: a solicitation, type 135, held in the port field
  const solicitation: Packet = {
    family: 'ipv6',
    protocol: 'icmpv6',
    source: 'fe80::77',
    sourcePort: null,
    destination: 'ff02::1:ff00:0',
    destinationPort: 135 << 8,
    inInterface: 'eth0',
    state: 'UNTRACKED',
    mark: 0,
  };
  it("says an ICMP packet's type and code, not a port, in the report and the review UI", () => {
    expect(describePacket(solicitation)).toBe(
      'icmpv6 type 135 code 0 [fe80::77] → [ff02::1:ff00:0] (in on eth0, UNTRACKED)',
    );
    expect(formatPacket(solicitation)).toBe(
      'icmpv6 type 135 code 0 [fe80::77] → [ff02::1:ff00:0] in eth0 UNTRACKED',
    );
  });
  it('keeps the ports of TCP', () => {
    const tcp: Packet = {
      ...solicitation,
      protocol: 'tcp',
      sourcePort: 40000,
      destinationPort: 80,
    };
    expect(formatPacket(tcp)).toBe('tcp [fe80::77]:40000 → [ff02::1:ff00:0]:80 in eth0 UNTRACKED');
  });
});
