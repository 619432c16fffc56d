/**
 * The packets the engine models: whole, and over IPv6 without extension headers; neighbour
 * discovery with a hop limit of 255. Rules of fragments and extension headers match none of them.
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/index.ts';
import { laterPacketsMayDiffer } from '../../src/engine/later-packets.ts';
import { matchesOnlyUnmodelled } from '../../src/engine/packet-model.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import { parseNft } from '../../src/ingest/nft/index.ts';
import { combineRulesets } from '../../src/model/firewall.ts';
import type { Family, Ruleset } from '../../src/model/ruleset.ts';
import type { Packet } from '../../src/model/trace.ts';
import { HOST4, HOST6, SSH4, SSH6 } from '../support/one-host.ts';
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

const ctx6 = HOST6;
const ssh6 = SSH6;

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
    const verdict = (rule: string) => {
      const t = createEngine(parse(filter('ACCEPT', [rule]), 'ipv4'), HOST4).trace(SSH4);
      return [t.verdict, t.certainty];
    };
    expect(verdict('-A INPUT -f -j DROP')).toEqual(['accepted', 'certain']);
    expect(verdict('-A INPUT ! -f -j DROP')).toEqual(['dropped', 'certain']);
  });

  it("part no connection's later packets from its first", () => {
    expect(laterPacketsMayDiffer(parse(filter('DROP', UFW6, UFW6_CHAINS), 'ipv6'))).toBe(false);
  });
});

/** An `inet` table filtering input: its policy and rules, as `nft list ruleset` prints them. */
const nftInput = (policy: string, rules: readonly string[]): string =>
  [
    'table inet host {',
    '\tchain input {',
    `\t\ttype filter hook input priority filter; policy ${policy};`,
    ...rules.map((r) => `\t\t${r}`),
    '\t}',
    '}',
    '',
  ].join('\n');

/** The family's ruleset of an nft listing; `undecided`: the expressions nft warns it leaves so. */
const nftRules = (text: string, family: Family, undecided: readonly string[] = []) => {
  const read = parseNft(text, 'ruleset.nft');
  expect(read.diagnostics.map((d) => d.message)).toEqual(
    undecided.map(
      (e) => `nftables expression not modelled: ${e}; rules that depend on it are only possible`,
    ),
  );
  const rs = combineRulesets(null, read.ruleset, family);
  if (rs === null) throw new Error('no ruleset');
  return rs;
};

describe('nftables: extension headers, IP options and fragments', () => {
  const headerRules = [
    'exthdr rt exists drop',
    'rt type 0 drop',
    'rt type != 0 drop',
    'frag frag-off != 0 drop',
    'hbh nexthdr tcp drop',
    'dst hdrlength > 0 drop',
    'mh type home-test-init drop',
    'ip frag-off & 0x1fff != 0 drop',
    'ip option rr exists drop',
    'ip option lsrr type 131 drop',
  ];

  it('match none of the modelled packets, in both families', () => {
    for (const family of ['ipv4', 'ipv6'] as const) {
      const rules = nftRules(nftInput('accept', headerRules), family).tables[0]?.chains[0]?.rules;
      expect(rules?.map((r) => matchesOnlyUnmodelled(r, family))).toEqual(
        headerRules.map(() => true),
      );
    }
  });

  it('leave a connection certain, where they had made it possible', () => {
    // neighbour discovery let in, so that the answer rests on the header rules alone
    const rules = [
      'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept',
      ...headerRules,
      'exthdr frag missing tcp dport 22 accept',
    ];
    const v6 = createEngine(nftRules(nftInput('drop', rules), 'ipv6'), ctx6).trace(ssh6);
    expect([v6.verdict, v6.certainty]).toEqual(['accepted', 'certain']);
    // `exthdr frag missing` carries nft's dependency on IPv6: IPv4 meets the policy
    const v4 = createEngine(nftRules(nftInput('drop', rules), 'ipv4'), HOST4).trace(SSH4);
    expect([v4.verdict, v4.certainty]).toEqual(['dropped', 'certain']);
  });

  it('read the same from `nft -j list ruleset`', () => {
    const rule = (expr: unknown[]) => ({
      rule: { family: 'inet', table: 'host', chain: 'input', handle: 2, expr },
    });
    const json = JSON.stringify({
      nftables: [
        { table: { family: 'inet', name: 'host', handle: 1 } },
        {
          chain: {
            ...{ family: 'inet', table: 'host', name: 'input', handle: 1 },
            ...{ type: 'filter', hook: 'input', prio: 0, policy: 'accept' },
          },
        },
        rule([
          { match: { op: '==', left: { exthdr: { name: 'rt' } }, right: true } },
          { drop: null },
        ]),
        rule([
          { match: { op: '==', left: { exthdr: { name: 'rt', field: 'type' } }, right: 0 } },
          { drop: null },
        ]),
        rule([
          { match: { op: '==', left: { 'ip option': { name: 'rr' } }, right: true } },
          { drop: null },
        ]),
        rule([
          {
            match: {
              op: '!=',
              left: { '&': [{ payload: { protocol: 'ip', field: 'frag-off' } }, 8191] },
              right: 0,
            },
          },
          { drop: null },
        ]),
        rule([
          { match: { op: '==', left: { exthdr: { name: 'frag' } }, right: false } },
          {
            match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 22 },
          },
          { accept: null },
        ]),
      ],
    });
    const rules = nftRules(json, 'ipv6').tables[0]?.chains[0]?.rules ?? [];
    expect(rules.map((r) => matchesOnlyUnmodelled(r, 'ipv6'))).toEqual([
      true,
      true,
      true,
      true,
      false,
    ]);
    const v6 = createEngine(nftRules(json, 'ipv6'), ctx6).trace(ssh6);
    expect([v6.verdict, v6.certainty]).toEqual(['accepted', 'certain']);
  });

  it('IPv4 fragment bits: decided but for DF', () => {
    const verdict = (rule: string, undecided: readonly string[] = []) => {
      const rs = nftRules(nftInput('accept', [rule]), 'ipv4', undecided);
      const t = createEngine(rs, HOST4).trace(SSH4);
      return [t.verdict, t.certainty];
    };
    expect(verdict('ip frag-off & 0x1fff != 0 drop')).toEqual(['accepted', 'certain']);
    expect(verdict('ip frag-off & 0x1fff == 0 drop')).toEqual(['dropped', 'certain']);
    expect(verdict('ip frag-off & 0x2000 != 0 drop')).toEqual(['accepted', 'certain']);
    // whether the sender set "don't fragment" is not known
    expect(verdict('ip frag-off & 0x4000 != 0 drop', ['ip frag-off & 16384 != 0'])).toEqual([
      'dropped',
      'possible',
    ]);
    expect(verdict('ip frag-off 0 drop', ['ip frag-off 0'])).toEqual(['dropped', 'possible']);
  });

  it('an existence test negated, and one that is missing, hold on every packet', () => {
    const verdict = (rule: string) => {
      const t = createEngine(nftRules(nftInput('accept', [rule]), 'ipv6'), ctx6).trace(ssh6);
      return [t.verdict, t.certainty];
    };
    expect(verdict('exthdr hbh missing drop')).toEqual(['dropped', 'certain']);
    expect(verdict('exthdr hbh != exists drop')).toEqual(['dropped', 'certain']);
    expect(verdict('exthdr hbh != missing drop')).toEqual(['accepted', 'certain']);
  });
});

describe("nftables' th: the transport header's first words on any protocol", () => {
  // measured in a namespace (nft 1.0.6, Linux 6.x): `th sport 2048 drop` drops an ICMP echo
  // request (type 8, code 0), `th sport 2049` lets it through, and `th dport 0-65535` counts
  // it (its checksum)
  const ECHO: Packet = { ...SSH4, protocol: 'icmp', sourcePort: null, destinationPort: 8 << 8 };
  const verdict = (rule: string, packet: Packet = ECHO) => {
    const t = createEngine(nftRules(nftInput('accept', [rule]), 'ipv4'), HOST4).trace(packet);
    return [t.verdict, t.certainty];
  };

  it("reads ICMP's type and code as the source port", () => {
    expect(verdict('th sport 2048 drop')).toEqual(['dropped', 'certain']);
    expect(verdict('th sport 2049 drop')).toEqual(['accepted', 'certain']);
    expect(verdict('th sport != 2048 drop')).toEqual(['accepted', 'certain']);
    expect(verdict('th sport { 0, 2048 } drop')).toEqual(['dropped', 'certain']);
  });

  it("leaves ICMP's checksum and other protocols' headers undecided", () => {
    expect(verdict('th dport 22 drop')).toEqual(['dropped', 'possible']);
    expect(verdict('th dport != 22 drop')).toEqual(['dropped', 'possible']);
    const gre: Packet = { ...ECHO, protocol: 47, destinationPort: null };
    expect(verdict('th sport 22 drop', gre)).toEqual(['dropped', 'possible']);
    // a protocol named in the rule is what the rule reads: ICMP never carries a TCP port
    expect(verdict('tcp dport 2048 drop')).toEqual(['accepted', 'certain']);
  });

  it('reads the ports of TCP as tcp dport does', () => {
    expect(verdict('th dport 22 drop', SSH4)).toEqual(['dropped', 'certain']);
    expect(verdict('th dport != 22 drop', SSH4)).toEqual(['accepted', 'certain']);
  });

  it('the symbolic walk agrees: no echo request is left to a later rule, every reply is', () => {
    const rules = [
      // type 8, every code
      'th sport 2048-2303 drop',
      'icmp type echo-request accept',
      'icmp type echo-reply accept',
    ];
    const engine = createEngine(nftRules(nftInput('drop', rules), 'ipv4'), HOST4);
    const matched = engine
      .ruleReach({ ingress: 'eth0' })
      .filter((r) => r.rule.chain === 'input')
      .map((r) => [r.matched.possible.isEmpty, r.matched.certain.isEmpty]);
    expect(matched).toEqual([
      [false, false],
      [true, true],
      [false, false],
    ]);
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
