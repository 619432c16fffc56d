/**
 * The rule-key index (src/engine/rule-index.ts) on its own. Looked up by a packet, it must name
 * every rule the interpreter's own match takes or leaves undecided for that packet; looked up by
 * a rule, every earlier rule the engine's packet sets say covers it. Both on random chains of
 * every keyed condition (plain, negated, wide, contradictory, unreadable in the family) and on
 * the real rulesets of fixtures/ and ../shared/captures.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchCovers } from '../../src/analysis/covers.ts';
import { parseAddress } from '../../src/engine/addr.ts';
import { createEngine, type Engine } from '../../src/engine/index.ts';
import { Interpreter, type Concrete } from '../../src/engine/interpret.ts';
import { requirements, requirementsImply, RuleIndex } from '../../src/engine/rule-index.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import type { Chain, Family, MatchOption, Ruleset } from '../../src/model/ruleset.ts';
import { hostContext, o, ruleset, t } from './build.ts';
import { firstPacket } from './crosscheck.ts';
import { labContext, packetsFor } from './real-packets.ts';

const loc = { file: 'test.rules', line: 1, column: 1 };

/** An address under any mask, written as the reader keeps it (canonical address and mask). */
const masked = (field: 'src' | 'dst', address: string, mask: string, family: Family = 'ipv4') =>
  ({
    type: 'address',
    field,
    negated: false,
    location: loc,
    value: { family, address, mask, prefixLength: null },
  }) as const satisfies MatchOption;

const ports = (field: 'src' | 'dst' | 'either', ranges: { from: number; to: number }[]) =>
  ({ type: 'port', field, ranges, negated: false, location: loc }) as const satisfies MatchOption;

const ADDRESSES = [
  '10.0.0.0/8',
  '10.1.0.0/16',
  '10.1.2.0/24',
  '10.1.2.3',
  '10.1.2.4',
  '192.0.2.0/24',
];
const PORTS = [22, 53, 80, 443];

/** Every condition the index reads, in every form, and some it does not. */
const optionArb: fc.Arbitrary<MatchOption> = fc
  .tuple(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...ADDRESSES, '0.0.0.0/0').map((a) => o.dst(a)) },
      { weight: 4, arbitrary: fc.constantFrom(...ADDRESSES).map((a) => o.src(a)) },
      // a mask that is no prefix, and an address of the other family (unreadable here)
      fc.constant(masked('dst', '10.0.2.0', '255.0.255.0')),
      fc.constant(masked('src', '0.1.0.3', '0.255.0.255')),
      fc.constant(o.dst('2001:db8::/32', 'ipv6')),
      { weight: 4, arbitrary: fc.constantFrom(...PORTS).map((p) => o.dport(p)) },
      fc.constantFrom(
        ports('dst', [{ from: 80, to: 85 }]),
        ports('dst', [{ from: 1, to: 1024 }]),
        ports('dst', [
          { from: 443, to: 443 },
          { from: 80, to: 80 },
        ]),
        ports('dst', []),
        ports('src', [{ from: 80, to: 80 }]),
        ports('either', [{ from: 443, to: 443 }]),
      ),
      { weight: 3, arbitrary: fc.constantFrom('eth0', 'docker0', 'eth+').map((i) => o.in(i)) },
      fc.constantFrom('eth0', 'docker0').map((i) => o.out(i)),
      {
        weight: 3,
        arbitrary: fc
          .constantFrom<'tcp' | 'udp' | 'icmp' | number>('tcp', 'udp', 'icmp', 0)
          .map((p) => o.proto(p)),
      },
      fc.constantFrom(6, 17).map((n): MatchOption => ({
        type: 'ct-proto',
        number: n,
        negated: false,
        location: loc,
      })),
      fc.constantFrom(o.mark(1), o.ctstate('NEW'), o.recent()),
    ),
    fc.integer({ min: 0, max: 4 }),
  )
  .map(([opt, n]) => (n === 0 ? o.not(opt) : opt));

const targetArb = fc.constantFrom(t.accept(), t.drop(), t.reject(), t.ret(), t.log());

const chainArb = (maxLength: number): fc.Arbitrary<Ruleset> =>
  fc
    .array(fc.tuple(fc.array(optionArb, { maxLength: 4 }), targetArb), { minLength: 1, maxLength })
    .map((rules) => ruleset({ filter: { INPUT: { rules } } }));

/** Chains of rules that mostly name a destination and its ports, as firewalls of one host do. */
const addressPortChainArb = (maxLength: number): fc.Arbitrary<Ruleset> =>
  fc
    .array(
      fc.tuple(
        fc.constantFrom(...ADDRESSES.slice(2)).map((a) => o.dst(a)),
        fc.constantFrom(
          ...PORTS.map((p) => o.dport(p)),
          ports('dst', [{ from: 80, to: 85 }]),
          ports('dst', [{ from: 1, to: 1024 }]),
        ),
        fc.array(optionArb, { maxLength: 2 }),
        targetArb,
      ),
      { minLength: 1, maxLength },
    )
    .map((rules) =>
      ruleset({
        filter: {
          INPUT: { rules: rules.map(([d, p, more, target]) => [[d, p, ...more], target]) },
        },
      }),
    );

const chainOf = (rs: Ruleset): Chain => {
  const chain = rs.tables[0]?.chains[0];
  if (chain === undefined) throw new Error('no chain');
  return chain;
};

const addr = (a: string): bigint => parseAddress(a, 'ipv4') ?? 0n;
const packetArb: fc.Arbitrary<Concrete> = fc
  .record({
    iif: fc.constantFrom('eth0', 'docker0', 'eth1', 'lo', null),
    state: fc.constantFrom('NEW' as const, 'ESTABLISHED' as const),
    proto: fc.constantFrom(6, 6, 17, 1),
    src: fc.constantFrom('10.1.2.3', '10.1.2.4', '10.9.2.3', '10.2.3.3', '192.0.2.7', '8.8.8.8'),
    dst: fc.constantFrom('10.1.2.3', '10.1.2.4', '10.5.2.9', '10.1.9.9', '192.0.2.7', '8.8.8.8'),
    sport: fc.constantFrom(80, 443, 40000),
    dport: fc.constantFrom(...PORTS, 81, 1000, 9999),
    mark: fc.constantFrom(0, 1),
  })
  .map((r) => firstPacket({ ...r, src: addr(r.src), dst: addr(r.dst) }));

/** The rules of the chain the interpreter's own match takes or leaves undecided for `p`. */
function taking(it: readonly Interpreter[], chain: Chain, p: Concrete): number[] {
  return chain.rules.flatMap((rule, i) =>
    it.some((x) => {
      const m = x.matches(rule, p);
      return m.matched || m.uncertain;
    })
      ? [i]
      : [],
  );
}

function expectAscendingWithin(positions: readonly number[], size: number): void {
  positions.forEach((v, k) => {
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThan(size);
    if (k > 0) expect(v).toBeGreaterThan(positions[k - 1] ?? -1);
  });
}

/** What `forRule` visits before `before`, all of it (narrowed by ports when asked). */
function ruleCandidates(index: RuleIndex, chain: Chain, at: number, narrow = false): number[] {
  const out: number[] = [];
  const rule = chain.rules[at];
  if (rule !== undefined)
    index.forRule(
      rule,
      at,
      (i) => {
        out.push(i);
        return false;
      },
      () => narrow,
    );
  return out;
}

describe('rule-key index looked up by a packet', () => {
  it('names every rule the interpreter can match, in order, each once (random chains)', () => {
    let skipped = 0;
    let taken = 0;
    fc.assert(
      fc.property(chainArb(40), fc.array(packetArb, { minLength: 20, maxLength: 20 }), (rs, ps) => {
        const chain = chainOf(rs);
        const index = new RuleIndex(chain.rules, 'ipv4');
        // unmodelled options decided both ways: a rule they could let match is a candidate
        const it = [true, false].map(
          (v) =>
            new Interpreter(
              rs,
              hostContext,
              (r) => r.text,
              () => v,
            ),
        );
        for (const p of ps) {
          const got = index.forPacket(p);
          expectAscendingWithin(got, chain.rules.length);
          const need = taking(it, chain, p);
          expect(need.filter((i) => !got.includes(i))).toEqual([]);
          skipped += chain.rules.length - got.length;
          taken += need.length;
        }
      }),
      { numRuns: Number(process.env.ENGINE_RUNS ?? 150) },
    );
    // the index does skip rules, and the packets do match some
    expect(skipped).toBeGreaterThan(1000);
    expect(taken).toBeGreaterThan(1000);
  });

  it('names every rule the interpreter can match on the fixture rulesets', () => {
    let checked = 0;
    for (const { file, ruleset: rs, family } of fixtureRulesets()) {
      const ctx = labContext(family);
      const it = [true, false].map(
        (v) =>
          new Interpreter(
            rs,
            ctx,
            (r) => r.text,
            () => v,
          ),
      );
      const packets = packetsFor(rs, ctx, 100, 7);
      for (const table of rs.tables)
        for (const chain of table.chains) {
          const index = new RuleIndex(chain.rules, family);
          for (const p of packets) {
            const got = new Set(index.forPacket(p));
            const missed = taking(it, chain, p).filter((i) => !got.has(i));
            expect(missed, `${file} ${table.name}/${chain.name}`).toEqual([]);
            checked += 1;
          }
        }
    }
    expect(checked).toBeGreaterThan(10_000);
  });
});

describe('rule-key index looked up by a rule', () => {
  /** Pairs (earlier, later) of the chain where the engine says earlier covers later. */
  function coveringPairs(engine: Engine, table: string, chain: Chain): [number, number][] {
    const match = chain.rules.map((r) => engine.ruleMatch(table, chain.name, r.index));
    const pairs: [number, number][] = [];
    match.forEach((later, b) => {
      // a rule that matches nothing (`! -d 0.0.0.0/0`) is covered by every rule: the engine's
      // reach sets report it, the index need not name them
      if (later === null || later.possible.isEmpty) return;
      for (let a = 0; a < b; a++) {
        const cover = match[a];
        if (cover !== null && cover !== undefined && matchCovers(cover, later)) pairs.push([a, b]);
      }
    });
    return pairs;
  }

  it('names every earlier rule that covers it (random chains)', () => {
    let covers = 0;
    let earlier = 0;
    let named = 0;
    fc.assert(
      fc.property(chainArb(16), (rs) => {
        const chain = chainOf(rs);
        const index = new RuleIndex(chain.rules, 'ipv4');
        for (const [a, b] of coveringPairs(createEngine(rs, hostContext), 'filter', chain)) {
          const [ra, rb] = [chain.rules[a], chain.rules[b]];
          // the documented miss: a rule that narrows a field past what it writes positively
          // (`--dport 80,443 ! --dport 443`) shows no requirement the cover's implies
          if (ra === undefined || rb === undefined) continue;
          if (!requirementsImply(requirements(rb, 'ipv4'), requirements(ra, 'ipv4'))) continue;
          expect(ruleCandidates(index, chain, b), `rule ${a + 1} covers rule ${b + 1}`).toContain(
            a,
          );
          covers += 1;
        }
        chain.rules.forEach((_, b) => {
          const got = ruleCandidates(index, chain, b);
          expectAscendingWithin(got, b);
          earlier += b;
          named += got.length;
        });
      }),
      { numRuns: Number(process.env.ENGINE_RUNS ?? 60) },
    );
    expect(covers).toBeGreaterThan(100);
    // and it does leave rules out
    expect(named).toBeLessThan(earlier * 0.75);
  });

  it('narrowed by ports, leaves out only rules whose requirements it does not imply', () => {
    let left = 0;
    fc.assert(
      fc.property(fc.oneof(chainArb(24), addressPortChainArb(24)), (rs) => {
        const chain = chainOf(rs);
        const index = new RuleIndex(chain.rules, 'ipv4');
        chain.rules.forEach((rule, b) => {
          const narrowed = ruleCandidates(index, chain, b, true);
          expectAscendingWithin(narrowed, b);
          const all = ruleCandidates(index, chain, b);
          expect(all).toEqual(expect.arrayContaining(narrowed));
          const wants = requirements(rule, 'ipv4');
          for (const a of all.filter((i) => !narrowed.includes(i))) {
            const earlier = chain.rules[a];
            if (earlier === undefined) continue;
            expect(requirementsImply(wants, requirements(earlier, 'ipv4'))).toBe(false);
            left += 1;
          }
        });
      }),
      { numRuns: Number(process.env.ENGINE_RUNS ?? 60) },
    );
    // and it does leave some out
    expect(left).toBeGreaterThan(20);
  });

  it('names every earlier rule that covers it on the fixture rulesets', () => {
    let covers = 0;
    for (const { file, ruleset: rs, family } of fixtureRulesets()) {
      const engine = createEngine(rs, labContext(family));
      for (const table of rs.tables)
        for (const chain of table.chains) {
          const index = new RuleIndex(chain.rules, family);
          for (const [a, b] of coveringPairs(engine, table.name, chain)) {
            const where = `${file} ${table.name}/${chain.name}: rule ${a + 1} covers rule ${b + 1}`;
            expect(ruleCandidates(index, chain, b), where).toContain(a);
            covers += 1;
          }
        }
    }
    expect(covers).toBeGreaterThan(50);
  });
});

const repoRoot = path.resolve(import.meta.dirname, '../..');

/** Every iptables/ip6tables listing under fixtures/ and ../shared/captures. */
function fixtureRulesets(): { file: string; ruleset: Ruleset; family: Family }[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/ip6?tables-save/.test(e.name)) files.push(p);
    }
  };
  walk(path.join(repoRoot, 'fixtures'));
  walk(path.resolve(repoRoot, '../shared/captures'));
  return files.sort().map((file) => {
    // by the suffix: a capture's name may say ip6tables (s7-usernet-ipv6-ip6tables.iptables-save)
    const family: Family = /ip6tables-save(\.txt)?$/.test(path.basename(file)) ? 'ipv6' : 'ipv4';
    const { ruleset: rs } = parseIptables(readFileSync(file, 'utf8'), { file, family });
    return { file: path.relative(repoRoot, file), ruleset: rs, family };
  });
}
