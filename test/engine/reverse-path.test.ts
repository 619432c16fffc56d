/**
 * nftables' reverse path test (`fib saddr . iif oif missing drop`, firewalld's and NixOS's
 * rpfilter), against what the kernel did in a namespace (nft 1.0.6): a host with vb
 * (10.9.0.2/24) and vc (10.8.0.2/24) and no default route, a rule per source in a `priority raw`
 * prerouting chain, one packet from each source arriving on vb.
 */
import { describe, expect, it } from 'vitest';
import type { NetworkContext } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/index.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import { parseNft } from '../../src/ingest/nft/index.ts';
import { combineRulesets } from '../../src/model/firewall.ts';
import type { Ruleset } from '../../src/model/ruleset.ts';
import type { Packet } from '../../src/model/trace.ts';

const HOST: NetworkContext = {
  family: 'ipv4',
  interfaces: ['lo', 'vb', 'vc'],
  localAddresses: ['10.9.0.2', '10.8.0.2'],
  routes: [
    { destination: '10.9.0.0/24', device: 'vb', source: '10.9.0.2' },
    { destination: '10.8.0.0/24', device: 'vc', source: '10.8.0.2' },
  ],
  // the namespace's own reverse path filtering was off (rp-filter.ts): only the rule decides
  rpFilter: {
    all: 0,
    interfaces: new Map([
      ['vb', 0],
      ['vc', 0],
    ]),
  },
  // and so was accept_local: a source of the host's own from outside is a martian
  acceptLocal: {
    all: false,
    interfaces: new Map([
      ['vb', false],
      ['vc', false],
    ]),
  },
};

const ruleset = (test: string): Ruleset => {
  const text = `table ip t {\n\tchain pre {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\t${test} drop\n\t}\n}\n`;
  const read = parseNft(text, 'ruleset.nft');
  expect(read.diagnostics).toEqual([]);
  const rs = combineRulesets(null, read.ruleset, 'ipv4');
  if (rs === null) throw new Error('no ruleset');
  return rs;
};

const from = (source: string, inInterface = 'vb'): Packet => ({
  family: 'ipv4',
  protocol: 'tcp',
  source,
  sourcePort: 40000,
  destination: '10.9.0.2',
  destinationPort: 22,
  inInterface,
  state: 'NEW',
  mark: 0,
});

/**
 * The trace's verdict and certainty, and whether the chain's one rule was not what dropped the
 * packet (the host's answer to a source of its own comes back over lo, where `exists drop`
 * drops it).
 */
const outcome = (rs: Ruleset, chain: string, packet: Packet, context = HOST): string => {
  const t = createEngine(rs, context).trace(packet);
  const byRule = t.steps.some((x) => x.chain === chain && x.rule === 1);
  return `${t.verdict} ${t.certainty}${t.verdict === 'dropped' && !byRule ? ' (not by the rule)' : ''}`;
};

const verdict = (test: string, packet: Packet, context = HOST): string =>
  outcome(ruleset(test), 'pre', packet, context);

// source → dropped by the strict test (`. iif`), by the loose one (measured)
const measured: readonly [string, boolean, boolean][] = [
  ['10.9.0.1', false, false], // routed back by vb, where it came in
  ['10.8.0.5', true, false], // routed back by vc
  ['192.0.2.9', true, true], // no route back
  ['10.9.0.2', true, true], // the host's own address: a local route, none back
];

/** The trace's outcome for what the kernel did with the packet from `source`. */
const expected = (source: string, dropped: boolean): string =>
  dropped
    ? 'dropped certain'
    : source === '10.9.0.2'
      ? 'dropped certain (not by the rule)'
      : 'accepted certain';

describe('fib saddr . iif oif: the route back to the source', () => {
  it.each(measured)('from %s on vb: as the kernel', (source, strict, loose) => {
    const answer = (dropped: boolean) => expected(source, dropped);
    expect(verdict('fib saddr . iif oif missing', from(source))).toBe(answer(strict));
    expect(verdict('fib saddr . mark . iif oif missing', from(source))).toBe(answer(strict));
    expect(verdict('fib saddr oif missing', from(source))).toBe(answer(loose));
    expect(verdict('fib saddr . iif oif exists', from(source))).toBe(answer(!strict));
  });

  it('lets in what came in on loopback', () => {
    expect(verdict('fib saddr . iif oif missing', from('192.0.2.9', 'lo'))).toBe(
      'accepted certain',
    );
  });

  it('rests on an assumed route only possibly', () => {
    const assumed: NetworkContext = {
      ...HOST,
      routes: [...HOST.routes, { destination: 'default', device: 'vb', provenance: 'assumed' }],
    };
    // the trace takes an undecided rule to match, and says so
    expect(verdict('fib saddr . iif oif missing', from('192.0.2.9'), assumed)).toBe(
      'dropped possible',
    );
    expect(verdict('fib saddr . iif oif exists', from('192.0.2.9'), assumed)).toBe(
      'dropped possible',
    );
    expect(verdict('fib saddr . iif oif missing', from('10.8.0.5'), assumed)).toBe(
      'dropped certain',
    );
  });

  it('the symbolic walk agrees: from vb, only what vb routes back is let in', () => {
    const engine = createEngine(ruleset('fib saddr . iif oif missing'), HOST);
    const delivered = engine
      .reach({ ingress: 'vb', packets: { protocols: ['tcp'] } })
      .deliveredTo({ kind: 'local' });
    expect(delivered.certain.sources()).toEqual([
      '10.9.0.0/31',
      '10.9.0.3/32',
      '10.9.0.4/30',
      '10.9.0.8/29',
      '10.9.0.16/28',
      '10.9.0.32/27',
      '10.9.0.64/26',
      '10.9.0.128/25',
    ]);
    expect(delivered.possible.sources()).toEqual(delivered.certain.sources());
  });

  it('IPv6: a link-local source is looked up on the interface it came in on', () => {
    const host6: NetworkContext = {
      family: 'ipv6',
      interfaces: ['lo', 'eth0', 'eth1'],
      localAddresses: ['2001:db8:1::1'],
      routes: [
        { destination: '2001:db8:1::/64', device: 'eth0' },
        { destination: 'fe80::/64', device: 'eth0' },
      ],
    };
    const read = parseNft(
      'table ip6 t {\n\tchain pre {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tfib saddr . mark . iif oif missing drop\n\t}\n}\n',
      'ruleset.nft',
    );
    const rs = combineRulesets(null, read.ruleset, 'ipv6');
    if (rs === null) throw new Error('no ruleset');
    const trace = (source: string, inInterface: string) => {
      const t = createEngine(rs, host6).trace({
        ...from(source, inInterface),
        family: 'ipv6',
        destination: '2001:db8:1::1',
      });
      return [t.verdict, t.certainty, t.assumptions.some((a) => a.includes('link-local'))];
    };
    expect(trace('fe80::9', 'eth0')).toEqual(['accepted', 'certain', false]);
    expect(trace('2001:db8:1::9', 'eth0')).toEqual(['accepted', 'certain', false]);
    // eth1 has no link-local route the snapshot lists: undecided, and said why
    expect(trace('fe80::9', 'eth1')).toEqual(['dropped', 'possible', true]);
    expect(trace('2001:db8:1::9', 'eth1')).toEqual(['dropped', 'certain', false]);
  });

  it("iptables' rpfilter reads the same (measured: `-t raw -m rpfilter --invert -j DROP`)", () => {
    const iptables = (rule: string): Ruleset => {
      const text = `*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING ${rule} -j DROP\nCOMMIT\n`;
      const read = parseIptables(text, { file: 'rules', family: 'ipv4' });
      expect(read.diagnostics).toEqual([]);
      return read.ruleset;
    };
    const answer = (flags: string, source: string) =>
      outcome(iptables(`-m rpfilter ${flags}`), 'PREROUTING', from(source));
    for (const [source, strict, loose] of measured) {
      expect(answer('--invert', source)).toBe(expected(source, strict));
      expect(answer('--loose --invert', source)).toBe(expected(source, loose));
    }
    // --accept-local: the host's own address counts; the kernel's local route names the
    // interface that holds it (10.9.0.2 on vb held, 10.8.0.2 of vc did not), which the
    // snapshot's routes do not say: undecided unless loose. Past the rule, routing refuses a
    // source of the host's own from outside (a martian; accept_local was off, as by default)
    expect(answer('--loose --accept-local --invert', '10.9.0.2')).toBe(
      'dropped certain (not by the rule)',
    );
    expect(answer('--accept-local --invert', '10.8.0.2')).toBe('dropped possible');
    // `! --invert`, which iptables refuses, is not guessed at
    expect(answer('! --invert', '10.9.0.1')).toBe('dropped possible');
  });
});
