import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompiledRuleset } from '../../src/engine/compile.ts';
import type { NetworkContext } from '../../src/engine/context.ts';
import type { Pair } from '../../src/engine/match.ts';
import { printRule } from '../../src/model/print-ruleset.ts';
import { ruleset } from './build.ts';

// Routes that split the address space among three interfaces, one of them only assumed, and
// leave 10.0.0.0/8 outside 10.1.0.0/16 without a route.
const context: NetworkContext = {
  family: 'ipv4',
  interfaces: ['lo', 'eth0', 'docker0', 'br1'],
  localAddresses: ['127.0.0.1', '203.0.113.1', '172.17.0.1'],
  routes: [
    { destination: '0.0.0.0/1', device: 'eth0' },
    { destination: '172.17.0.0/16', device: 'docker0' },
    { destination: '172.17.5.0/24', device: 'br1', provenance: 'assumed' },
    { destination: '10.1.0.0/16', device: 'eth0' },
  ],
};

const prefixes = [
  '0.0.0.0/0',
  '0.0.0.0/1',
  '10.0.0.0/8',
  '10.1.2.0/24',
  '172.17.0.0/16',
  '172.17.0.2/32',
  '172.17.5.0/24',
  '172.17.5.9/32',
  '192.168.0.0/16',
  '203.0.113.7/32',
];

describe('routing a set of packets', () => {
  it('is the routing relation and-ed with the set, whatever its destinations', () => {
    const nf = new CompiledRuleset(ruleset({ filter: {} }), context, printRule);
    const s = nf.space;
    const m = s.m;
    // a set: destinations from a few prefixes, each under its own source, port and in-interface
    const pieceArb = fc.record({
      dst: fc.constantFrom(...prefixes),
      src: fc.constantFrom('0.0.0.0/0', '198.51.100.0/24', '172.17.0.3/32'),
      dport: fc.integer({ min: 0, max: 3 }),
      iif: fc.constantFrom('eth0', 'docker0'),
    });
    fc.assert(
      fc.property(
        fc.array(pieceArb, { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        (pieces, same) => {
          let p = m.and(s.universe, s.eq('oif', BigInt(s.interfaces.none)));
          let set = 0;
          for (const x of pieces) {
            const piece = [
              s.cidr('dst', x.dst),
              s.cidr('src', x.src),
              s.eq('dport', BigInt(8080 + x.dport)),
              s.eq('iif', BigInt(s.interfaces.classOf(x.iif))),
            ].reduce<number>((a, b) => m.and(a, b ?? 0), p);
            set = m.or(set, piece);
          }
          p = set;
          const c = same ? p : m.diff(p, s.eq('dport', 8080n));
          const pair: Pair = { c, p };
          const free = (x: number): number => m.exists(x, s.cube('oif'));
          expect(nf.route(pair)).toEqual({
            c: m.and(m.and(free(c), nf.routing.relation), nf.routing.certain),
            p: m.and(free(p), nf.routing.relation),
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
