/**
 * The option kinds and rule shapes nftables brings — set membership over concatenations, the
 * IP-family condition, verdict maps, `continue`, and statements in order before the verdict —
 * in the engine and the interpreter, checked against each other and against what they mean.
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/index.ts';
import { parseAddress } from '../../src/engine/addr.ts';
import type { MatchOption, Rule, Ruleset, Target } from '../../src/model/ruleset.ts';
import { crossCheck, firstPacket } from './crosscheck.ts';
import { hostContext, o, ruleset, t } from './build.ts';

const loc = { file: 'test.rules', line: 1, column: 1 };

const member = (elements: MatchOption[][] | null, negated = false): MatchOption => ({
  type: 'member',
  key: 'k',
  set: null,
  elements,
  negated,
  location: loc,
});
const family = (f: 'ipv4' | 'ipv6'): MatchOption => ({
  type: 'family',
  family: f,
  negated: false,
  location: loc,
});
const vmap = (entries: [MatchOption[], Target][] | null): Target => ({
  kind: 'vmap',
  key: 'k',
  map: null,
  entries: entries === null ? null : entries.map(([when, verdict]) => ({ when, verdict })),
  location: loc,
});
const cont: Target = { kind: 'CONTINUE', location: loc };

/** Gives one rule of the FORWARD chain statement steps (built rules have none). */
function withSteps(
  rs: Ruleset,
  chain: string,
  index: number,
  steps: NonNullable<Rule['steps']>,
): Ruleset {
  return {
    ...rs,
    tables: rs.tables.map((tb) => ({
      ...tb,
      chains: tb.chains.map((c) =>
        c.name !== chain
          ? c
          : { ...c, rules: c.rules.map((r) => (r.index === index ? { ...r, steps } : r)) },
      ),
    })),
  };
}

const base = ruleset({
  filter: {
    FORWARD: {
      policy: 'DROP',
      rules: [
        // ip daddr . tcp dport { 172.17.0.2 . 80, 172.17.0.3 . 443 } accept
        [
          [
            member([
              [o.dst('172.17.0.2'), o.proto('tcp'), o.dport(80)],
              [o.dst('172.17.0.3'), o.proto('tcp'), o.dport(443)],
            ]),
          ],
          t.accept(),
        ],
        // iifname != { "eth0", "docker0" } drop
        [[member([[o.in('eth0')], [o.in('docker0')]], true)], t.drop()],
        // meta mark set 0x10 (then) tcp dport 22 (then) accept — steps added below
        [[o.proto('tcp')], t.accept()],
        // oifname vmap { "docker0" : jump A, "eth0" : continue }
        [
          [],
          vmap([
            [[o.out('docker0')], t.jump('A')],
            [[o.out('eth0')], cont],
          ]),
        ],
        // a set whose members are unknown, only for port 9999
        [[member(null), o.dport(9999)], t.drop()],
        [[family('ipv6')], t.drop()],
        [[o.mark(0x10)], t.accept()],
      ],
    },
    A: {
      rules: [
        [[o.dport(8080)], t.drop()],
        [[], vmap(null)],
      ],
    },
  },
});
const rs = withSteps(base, 'FORWARD', 3, [
  { kind: 'statement', target: t.mark(0x10) },
  {
    kind: 'match',
    module: { name: 'tcp dport', location: loc, known: true, options: [o.dport(22)] },
  },
]);

const addr = (a: string): bigint => parseAddress(a, 'ipv4') ?? 0n;

describe('nftables shapes in the engine', () => {
  it('engine and interpreter agree on every packet of a grid', () => {
    const packets = [];
    for (const iif of ['eth0', 'docker0', 'wlan0'])
      for (const dst of ['172.17.0.2', '172.17.0.3', '203.0.113.9', '8.8.8.8'])
        for (const proto of [6, 17, 1])
          for (const dport of [22, 80, 443, 8080])
            packets.push(
              firstPacket({
                iif,
                state: 'NEW',
                proto,
                src: addr('203.0.113.7'),
                dst: addr(dst),
                sport: 40000,
                dport,
                mark: 0,
              }),
            );
    const r = crossCheck(rs, hostContext, packets);
    expect(r.failures).toEqual([]);
    expect(r.checked).toBe(packets.length * 2);
    // those from eth0: from docker0 and wlan0, a source routed back by eth0 is routed only as
    // long as rp_filter is off, as taken
    expect(r.certainChecks).toBeGreaterThan(50);
  });

  const engine = createEngine(rs, hostContext);
  const trace = (iif: string, dst: string, port: number) =>
    engine.trace({
      family: 'ipv4',
      protocol: 'tcp',
      source: '203.0.113.7',
      sourcePort: 40000,
      destination: dst,
      destinationPort: port,
      inInterface: iif,
      state: 'NEW',
      mark: 0,
    });

  it('a concatenation set admits exactly its tuples', () => {
    expect(trace('eth0', '172.17.0.2', 80).steps.at(-1)?.rule).toBe(1);
    expect(trace('eth0', '172.17.0.2', 443).steps.at(-1)?.rule).not.toBe(1);
  });

  it('a negated anonymous set drops the interfaces outside it', () => {
    const r = trace('wlan0', '172.17.0.2', 80);
    expect(r.verdict).toBe('accepted'); // rule 1 takes it first
    const x = trace('wlan0', '172.17.0.9', 80);
    expect([x.verdict, x.steps.at(-1)?.rule]).toEqual(['dropped', 2]);
  });

  it('a statement before a failing condition still changes the packet', () => {
    // tcp to 8.8.8.8:80: the mark is set, `tcp dport 22` fails, the vmap goes on for eth0, and
    // rule 7 (mark 0x10) accepts
    const r = trace('eth0', '8.8.8.8', 80);
    expect(r.steps.map((s) => `${s.rule}:${s.action}`)).toEqual([
      '3:MARK set 0x10',
      '4:continue',
      '7:ACCEPT',
    ]);
    expect(r.verdict).toBe('accepted');
    expect(r.certainty).toBe('certain');
  });

  it('a verdict map jumps by key; a map of unknown contents makes the result possible', () => {
    const r = trace('eth0', '172.17.0.9', 8080);
    expect(r.steps.map((s) => `${s.chain}#${s.rule}:${s.action}`)).toEqual([
      'FORWARD#3:MARK set 0x10',
      'FORWARD#4:jump A',
      'A#1:DROP',
    ]);
    expect(r.certainty).toBe('certain');
    // udp to docker0: rule 3 misses (not tcp), the vmap jumps to A, A's unknown map decides
    const udp = engine.reach({
      ingress: 'eth0',
      packets: {
        destinations: ['172.17.0.9'],
        protocols: ['udp'],
        destinationPorts: [{ from: 53, to: 53 }],
      },
    });
    expect(udp.deliveredAll.certain.isEmpty).toBe(true);
    expect(udp.deliveredAll.possible.isEmpty).toBe(false);
    expect(udp.uncertainRules.map((x) => `${x.chain}#${x.index}`)).toEqual(['A#2']);
  });
});
