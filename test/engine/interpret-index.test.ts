import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../src/engine/addr.ts';
import { Interpreter, type Concrete } from '../../src/engine/interpret.ts';
import type { Rule } from '../../src/model/ruleset.ts';
import { LONG_HOSTS, LONG_PORTS, longRulesetArb } from './arbitraries.ts';
import { hostContext, o, ruleset, t, type RuleSpec } from './build.ts';
import { firstPacket } from './crosscheck.ts';

// Long chains are walked through a destination/port index; the same interpreter with the index
// turned off is the plain rule-by-rule walk. Both must give identical results, step for step.

const addr = (a: string): bigint => parseAddress(a, 'ipv4') ?? 0n;
const packetArb: fc.Arbitrary<Concrete> = fc
  .record({
    iif: fc.constantFrom('eth0', 'docker0', 'lo', null),
    state: fc.constantFrom('NEW' as const, 'NEW' as const, 'ESTABLISHED' as const),
    proto: fc.constantFrom(6, 6, 17, 1),
    src: fc.constantFrom(...LONG_HOSTS, '192.0.2.1'),
    dst: fc.constantFrom(...LONG_HOSTS, '172.17.5.5', '8.8.8.8'),
    dport: fc.constantFrom(...LONG_PORTS, 85, 300, 9999),
    mark: fc.constantFrom(0, 1),
  })
  .map((r) => firstPacket({ ...r, src: addr(r.src), dst: addr(r.dst), sport: 40000 }));

const print = (r: Rule): string => r.text;

describe('indexed walk of long chains', () => {
  it('gives the same result and steps as the plain rule-by-rule walk on random packets', () => {
    let steps = 0;
    fc.assert(
      fc.property(
        longRulesetArb,
        fc.array(packetArb, { minLength: 40, maxLength: 40 }),
        fc.boolean(),
        (rs, packets, unknownMatches) => {
          const indexed = new Interpreter(rs, hostContext, print, () => unknownMatches, true);
          const plain = new Interpreter(rs, hostContext, print, () => unknownMatches, false);
          for (const p of packets) {
            const a = indexed.run(p);
            expect(a).toEqual(plain.run(p));
            steps += a.steps.length;
          }
        },
      ),
      { numRuns: Number(process.env.ENGINE_RUNS ?? 60) },
    );
    // the packets really walked the chains (not all stopped before them)
    expect(steps).toBeGreaterThan(1000);
  });

  it('finds a rule deep in a 2,000-rule chain of -d/--dport rules and skips none before it', () => {
    const rules: RuleSpec[] = [];
    for (let i = 0; i < 2000; i++) {
      const a = `10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`;
      rules.push([[o.dst(a), o.proto('tcp'), o.dport(80 + (i % 3))], t.jump('SVC')]);
      if (i === 1500) rules.push([[o.dport(82)], t.log()]);
    }
    const rs = ruleset({
      filter: {
        OUTPUT: { rules: [[[], t.jump('LONG')]] },
        LONG: { rules },
        SVC: { rules: [[[], t.drop()]] },
      },
    });
    const p: Concrete = {
      iif: null,
      oif: null,
      state: 'NEW',
      dnat: false,
      proto: 6,
      src: addr('203.0.113.1'),
      dst: addr('10.96.7.101'),
      odst: addr('10.96.7.101'),
      sport: 40000,
      dport: 82,
      odport: 82,
      mark: 0,
      loc: false,
      oloc: false,
    };
    const r = new Interpreter(rs, hostContext, print, () => true).run(p);
    // 10.96.7.101 is i = 7*250+100 = 1850 (rule 1852 after the LOG rule) with port 80+1850%3 = 82
    expect(r.verdict).toBe('dropped');
    expect(r.stoppedBy).toBe('filter/SVC#1');
    expect(r.steps.map((s) => `${s.chain}#${s.rule ?? '-'} ${s.action}`)).toEqual([
      'OUTPUT#1 jump LONG',
      'LONG#1502 LOG',
      'LONG#1852 jump SVC',
      'SVC#1 DROP',
    ]);
    expect(r).toEqual(new Interpreter(rs, hostContext, print, () => true, false).run(p));
  });
});
