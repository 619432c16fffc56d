/**
 * The packets the engine models: whole, and over IPv6 without extension headers; neighbour
 * discovery with a hop limit of 255. Rules of fragments and extension headers match none of them.
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/index.ts';
import { laterPacketsMayDiffer } from '../../src/engine/later-packets.ts';
import { matchesOnlyUnmodelled } from '../../src/engine/packet-model.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import type { Family, Ruleset } from '../../src/model/ruleset.ts';
import type { Packet } from '../../src/model/trace.ts';
import { UFW6_CHAINS, ufw6Rules } from '../support/ufw6.ts';

const parse = (text: string, family: Family): Ruleset =>
  parseIptables(text, { file: 'rules', family }).ruleset;

/** A filter table: INPUT's policy and rules, and more chains with theirs. */
const filter = (policy: string, rules: readonly string[], chains: readonly string[] = []): string =>
  [
    '*filter',
    `:INPUT ${policy} [0:0]`,
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ...chains.map((c) => `:${c} - [0:0]`),
    ...rules,
    'COMMIT',
    '',
  ].join('\n');

const ctx6 = {
  family: 'ipv6' as const,
  interfaces: ['lo', 'eth0'],
  localAddresses: ['2001:db8:1::1'],
  routes: [
    { destination: 'default', device: 'eth0' },
    { destination: '2001:db8:1::/64', device: 'eth0', source: '2001:db8:1::1' },
  ],
};

const ssh6: Packet = {
  family: 'ipv6',
  protocol: 'tcp',
  source: '2001:db8:9::9',
  sourcePort: 40000,
  destination: '2001:db8:1::1',
  destinationPort: 22,
  inInterface: 'eth0',
  state: 'NEW',
  mark: 0,
};

/** The IPv6 host's port 22 from eth0: the trace's answer and what reach delivers certainly. */
function sshOn(text: string) {
  const engine = createEngine(parse(text, 'ipv6'), ctx6);
  const trace = engine.trace(ssh6);
  const delivered = engine
    .reach({
      ingress: 'eth0',
      packets: { protocols: ['tcp'], destinationPorts: [{ from: 22, to: 22 }] },
    })
    .deliveredTo({ kind: 'local' });
  return {
    verdict: trace.verdict,
    certainty: trace.certainty,
    assumptions: trace.assumptions,
    certainly: delivered.certain.destinations(),
  };
}

const UFW6 = ufw6Rules(22);

describe('matchesOnlyUnmodelled', () => {
  const rulesOf = (family: Family, ...rules: string[]) =>
    parse(filter('ACCEPT', rules), family).tables[0]?.chains[0]?.rules ?? [];

  it('takes the extension header matches of ip6tables, negated or not, and -f', () => {
    const six = rulesOf(
      'ipv6',
      '-A INPUT -m rt --rt-type 0 -j DROP',
      '-A INPUT -m rt ! --rt-type 0 -j DROP',
      '-A INPUT -m frag -j DROP',
      '-A INPUT -m ah --ahspi 5 -j DROP',
      '-A INPUT -m hl --hl-eq 255 -j ACCEPT',
      '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT',
    );
    expect(six.map((r) => matchesOnlyUnmodelled(r, 'ipv6'))).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
    const four = rulesOf('ipv4', '-A INPUT -f -j DROP', '-A INPUT ! -f -j DROP');
    expect(four.map((r) => matchesOnlyUnmodelled(r, 'ipv4'))).toEqual([true, false]);
  });
});

describe('IPv6 extension headers', () => {
  it("ufw's routing header drops and hop-limited neighbour discovery leave ssh certain", () => {
    expect(sshOn(filter('DROP', UFW6, UFW6_CHAINS))).toEqual({
      verdict: 'accepted',
      certainty: 'certain',
      assumptions: [],
      certainly: ['2001:db8:1::1/128'],
    });
  });

  it('a drop of fragments at the head of INPUT drops no connection', () => {
    // it had matched every packet: "dropped, certain" where the kernel connects
    const r = sshOn(filter('ACCEPT', ['-A INPUT -m frag -j DROP', '-A INPUT -m hbh -j DROP']));
    expect([r.verdict, r.certainty, r.certainly]).toEqual([
      'accepted',
      'certain',
      ['2001:db8:1::1/128'],
    ]);
  });

  it('IPv4: -f drops no connection, ! -f every one', () => {
    const ctx4 = {
      family: 'ipv4' as const,
      interfaces: ['lo', 'eth0'],
      localAddresses: ['203.0.113.1'],
      routes: [{ destination: '203.0.113.0/24', device: 'eth0', source: '203.0.113.1' }],
    };
    const packet: Packet = {
      ...ssh6,
      family: 'ipv4',
      source: '203.0.113.9',
      destination: '203.0.113.1',
    };
    const verdict = (rule: string) => {
      const t = createEngine(parse(filter('ACCEPT', [rule]), 'ipv4'), ctx4).trace(packet);
      return [t.verdict, t.certainty];
    };
    expect(verdict('-A INPUT -f -j DROP')).toEqual(['accepted', 'certain']);
    expect(verdict('-A INPUT ! -f -j DROP')).toEqual(['dropped', 'certain']);
  });

  it("part no connection's later packets from its first", () => {
    expect(laterPacketsMayDiffer(parse(filter('DROP', UFW6, UFW6_CHAINS), 'ipv6'))).toBe(false);
  });
});

describe('hop limit', () => {
  it("is the sender's on a connection: a test of it stays undecided", () => {
    const r = sshOn(filter('ACCEPT', ['-A INPUT -m hl --hl-eq 64 -j DROP']));
    expect([r.certainty, r.certainly]).toEqual(['possible', []]);
  });

  it('is 255 on neighbour discovery: an accept that tests another lets none of it in', () => {
    const rules = [
      '-A INPUT -p ipv6-icmp -m hl --hl-eq 64 -j ACCEPT',
      '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT',
    ];
    const engine = createEngine(parse(filter('DROP', rules), 'ipv6'), ctx6);
    expect(engine.neighbourDiscovery().map((s) => [s.interface, s.certain])).toEqual([
      ['eth0', true],
      ['*other*', true],
    ]);
    const r = sshOn(filter('DROP', rules));
    expect([r.verdict, r.certainty, r.certainly]).toEqual(['accepted', 'possible', []]);
    expect(r.assumptions[0]).toMatch(/neighbour discovery on eth0 may be stopped by filter\/INPUT/);
  });
});
