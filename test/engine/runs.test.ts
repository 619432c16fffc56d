import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompiledRuleset } from '../../src/engine/compile.ts';
import { FALSE } from '../../src/engine/bdd.ts';
import type { Pair } from '../../src/engine/match.ts';
import { built, unionAll, Walk } from '../../src/engine/netfilter.ts';
import { runPath, type PathResult } from '../../src/engine/path.ts';
import { STATES } from '../../src/engine/space.ts';
import { acceptRunRulesetArb, longRulesetArb } from './arbitraries.ts';
import { hostContext, o, ruleset, t } from './build.ts';

// Long chains are walked run by run (rules with disjoint keys split the arriving set once). The
// plain rule-by-rule walk of the same compiled ruleset is the reference: every outcome, every
// delivered set and every rule's reach must be the very same BDD node.

const same = (a: Pair, b: Pair): boolean => a.c === b.c && a.p === b.p;

/**
 * `b` as a walk that does not attribute accepts sees it (`attributes: false`): the same
 * deliveries and stops, no accept among the outcomes.
 */
function unattributed(b: PathResult): PathResult {
  return { ...b, outcomes: b.outcomes.filter((o) => o.kind !== 'accept') };
}

function differences(a: PathResult, b: PathResult): string[] {
  const out: string[] = [];
  if (a.local.length !== b.local.length || a.local.some((x, i) => !same(x, b.local[i] ?? x)))
    out.push('local');
  if (
    a.forward.length !== b.forward.length ||
    a.forward.some((x, i) => !same(x, b.forward[i] ?? x))
  )
    out.push('forward');
  if (!same(a.noRoute, b.noRoute)) out.push('noRoute');
  if (a.outcomes.length !== b.outcomes.length)
    out.push(`outcomes ${a.outcomes.length} vs ${b.outcomes.length}`);
  a.outcomes.forEach((x, i) => {
    const y = b.outcomes[i];
    if (
      y === undefined ||
      x.kind !== y.kind ||
      x.hook !== y.hook ||
      x.ref !== y.ref ||
      x.reason !== y.reason ||
      !same(x.set, y.set)
    )
      out.push(`outcome ${i} (${x.ref.chain}#${x.ref.index ?? 'policy'})`);
  });
  return out;
}

describe('run walk equals the rule-by-rule walk', () => {
  it.each([
    ['long keyed chains', longRulesetArb],
    ['long chains of plain accepts', acceptRunRulesetArb],
  ])('on random rulesets with %s: outcomes, deliveries and rule reach', (_, arbitrary) => {
    let runsWalked = 0;
    let acceptSegments = 0;
    let firstFailure: string | null = null;
    const out = fc.check(
      fc.property(arbitrary, fc.constantFrom('NEW', 'ALL'), (rs, states) => {
        const nf = new CompiledRuleset(rs, hostContext, (r) => r.text);
        const s = nf.space;
        const m = s.m;
        for (const tb of rs.tables)
          for (const c of tb.chains)
            for (const run of nf.chain(tb.name, c.name)?.runs ?? [])
              acceptSegments += run.segments.filter((x) => x.accepts).length;
        runsWalked += [...rs.tables].reduce(
          (n, tb) =>
            n +
            tb.chains.reduce(
              (k, c) =>
                k + (nf.chain(tb.name, c.name)?.runs.filter((x) => x.to - x.from > 1).length ?? 0),
              0,
            ),
          0,
        );
        const failures: string[] = [];
        // a run's keys and each segment's are the unions of their rules' keys
        for (const tb of rs.tables) {
          for (const c of tb.chains) {
            const chain = nf.chain(tb.name, c.name);
            for (const run of chain?.runs ?? []) {
              const keysOf = (from: number, to: number): number =>
                m.orAll((chain?.rules ?? []).slice(from, to).map((r) => r.key));
              if (run.to - run.from > 1 && run.keys !== keysOf(run.from, run.to))
                failures.push(`run keys ${c.name}@${run.from}`);
              for (const seg of run.segments)
                if (seg.keys !== keysOf(seg.from, seg.to))
                  failures.push(`segment keys ${c.name}@${seg.from}`);
            }
          }
        }
        let input = m.and(m.and(s.universe, s.unNatted), s.eq('dnat', 0n));
        input = m.and(input, s.eq('oif', BigInt(s.interfaces.none)));
        input = m.and(input, s.eq('mark', 0n));
        if (states === 'NEW') input = m.and(input, s.isNew);
        else input = m.and(input, s.range('state', 0n, BigInt(STATES.length - 1)));
        for (const [record, attributes] of [
          [false, true],
          [true, true],
          // discovery's walk and the recording behind ruleReach: no one asks which rule accepted
          [false, false],
          [true, false],
        ] as const) {
          const fast = new Walk(nf, record, { attributes });
          const plain = new Walk(nf, record, { plain: true });
          const a = runPath(fast, nf, { c: input, p: input });
          const b = runPath(plain, nf, { c: input, p: input });
          failures.push(
            ...differences(a, attributes ? b : unattributed(b)).map(
              (d) => `record=${record} attributes=${attributes} ${d}`,
            ),
          );
          if ([...fast.uncertain].some((r) => !plain.uncertain.has(r)))
            failures.push('uncertain rules');
          if (fast.uncertain.size !== plain.uncertain.size) failures.push('uncertain count');
          if (!record) continue;
          for (const tb of rs.tables) {
            for (const c of tb.chains) {
              for (const rule of nf.chain(tb.name, c.name)?.rules ?? []) {
                const x = fast.reached.get(rule);
                const y = plain.reached.get(rule);
                const where = `${tb.name}/${c.name}#${rule.rule.index}`;
                if ((x === undefined) !== (y === undefined)) {
                  failures.push(`reached ${where}`);
                  continue;
                }
                if (x === undefined || y === undefined) continue;
                const reach = (v: typeof x): Pair => unionAll(s, v.reach.map(built));
                if (!same(reach(x), reach(y))) failures.push(`reach ${where}`);
                // a rule that passes packets on unchanged has its match built when read
                const matched = (v: typeof x): Pair =>
                  unionAll(
                    s,
                    v.matched.map((r) => ('build' in r ? r.build() : r)),
                  );
                if (!same(matched(x), matched(y))) failures.push(`matched ${where}`);
                for (const r of x.matched) {
                  if ('build' in r && r.certainEmpty !== (r.build().c === FALSE))
                    failures.push(`certain match emptiness ${where}`);
                  // a visit that matched nothing is not one
                  if (('build' in r ? r.build() : r).p === FALSE)
                    failures.push(`empty match recorded ${where}`);
                }
                if ([...x.hooks].sort().join() !== [...y.hooks].sort().join())
                  failures.push(`hooks ${where}`);
                if (reach(x).p === FALSE) failures.push(`empty reach recorded ${where}`);
              }
            }
          }
        }
        if (failures.length > 0) firstFailure ??= failures.slice(0, 5).join('; ');
        return failures.length === 0;
      }),
      { numRuns: Number(process.env.ENGINE_RUNS ?? 40), endOnFailure: true },
    );
    expect(firstFailure).toBeNull();
    expect(out.failed).toBe(false);
    // the generator must really produce runs, or the test proves nothing
    console.log(`runs walked: ${runsWalked}, segments of plain accepts: ${acceptSegments}`);
    expect(runsWalked).toBeGreaterThan(40);
    if (arbitrary === acceptRunRulesetArb) expect(acceptSegments).toBeGreaterThan(40);
  });
});

describe('a mark the packets already carry', () => {
  // kube-proxy's shape: every endpoint chain marks its own pod's hairpin packets, which the
  // service chain marked already; the walk leaves such a set whole instead of splitting it
  const rs = ruleset({
    nat: {
      PREROUTING: {
        rules: [[[o.dst('10.96.0.1/32'), o.proto('tcp'), o.dport(80)], t.jump('SVC')]],
      },
      SVC: {
        rules: [
          [[o.not(o.src('10.0.0.0/8'))], t.jump('MARK-MASQ')],
          [[o.src('10.0.0.0/8')], t.jump('MARK-MASQ')],
          [[o.src('10.1.2.3/32')], t.jump('MARK-MASQ')],
          [[o.src('10.1.2.3/32')], t.mark(0x4000, 0x4000)],
          [[o.proto('tcp')], t.dnat('10.1.2.3', 8080)],
        ],
      },
      'MARK-MASQ': { rules: [[[], t.mark(0x4000, 0x4000)]] },
    },
    filter: {
      FORWARD: { policy: 'DROP', rules: [[[o.mark(0x4000, 0x4000)], t.accept()]] },
    },
  });

  function walk(nf: CompiledRuleset, plain: boolean): { result: PathResult; made: number } {
    const s = nf.space;
    const m = s.m;
    let input = m.and(m.and(s.universe, s.unNatted), s.eq('dnat', 0n));
    input = m.and(m.and(input, s.eq('oif', BigInt(s.interfaces.none))), s.isNew);
    input = m.and(input, s.eq('mark', 0n));
    const before = m.nodeCount;
    const result = runPath(new Walk(nf, false, { plain }), nf, { c: input, p: input });
    return { result, made: m.nodeCount - before };
  }

  it('is left as it is: the same sets as the rule-by-rule walk, with fewer nodes made', () => {
    const nf = new CompiledRuleset(rs, hostContext, (r) => r.text);
    const fast = walk(nf, false);
    expect(differences(fast.result, walk(nf, true).result)).toEqual([]);
    // the DNATed pod's packets are forwarded: the mark let them through
    expect(fast.result.forward.some((x) => x.c !== FALSE)).toBe(true);
    const apart = new CompiledRuleset(rs, hostContext, (r) => r.text);
    expect(fast.made).toBeLessThan(walk(apart, true).made);
  });
});

describe('jumps found at compile time', () => {
  const rs = ruleset({
    filter: {
      FORWARD: {
        policy: 'DROP',
        rules: [
          [[o.in('eth0')], t.jump('SHARED')],
          [[o.in('eth1')], t.jump('SHARED')],
          [[o.proto('tcp')], t.jump('ONCE')],
          [[o.proto('udp')], t.jump('LOOP-A')],
        ],
      },
      SHARED: { rules: [[[o.proto('tcp'), o.dport(22)], t.accept()]] },
      ONCE: { rules: [[[o.dport(80)], t.accept()]] },
      'LOOP-A': { rules: [[[], t.jump('LOOP-B')]] },
      'LOOP-B': {
        rules: [
          [[o.dport(53)], t.accept()],
          [[], t.jump('LOOP-A')],
        ],
      },
    },
  });

  it('name the chain each jump goes to, and the chains several rules jump to', () => {
    const nf = new CompiledRuleset(rs, hostContext, (r) => r.text);
    const forward = nf.chain('filter', 'FORWARD');
    const targets = (forward?.rules ?? []).map((r) => {
      const tg = r.rule.target;
      return tg?.kind === 'jump' ? nf.jumpTarget('filter', tg)?.chain.name : undefined;
    });
    expect(targets).toEqual(['SHARED', 'SHARED', 'ONCE', 'LOOP-A']);
    const shared = (name: string): boolean => {
      const c = nf.chain('filter', name);
      return c !== undefined && nf.sharedChain(c);
    };
    expect(shared('SHARED')).toBe(true);
    expect(shared('ONCE')).toBe(false);
    // LOOP-A: jumped to from FORWARD and from LOOP-B
    expect(shared('LOOP-A')).toBe(true);
    expect(nf.diagnostics.map((d) => d.code)).toContain('jump-loop');
  });

  it('walk a loop of jumps once around, as the rule-by-rule reference does', () => {
    const nf = new CompiledRuleset(rs, hostContext, (r) => r.text);
    const s = nf.space;
    const m = s.m;
    const input = m.and(m.and(s.universe, s.unNatted), s.isNew);
    const run = (plain: boolean): PathResult =>
      runPath(new Walk(nf, false, { plain }), nf, { c: input, p: input });
    const fast = run(false);
    expect(differences(fast, run(true))).toEqual([]);
    // udp to port 53 arrives through LOOP-A and LOOP-B and is accepted there
    expect(fast.outcomes.some((x) => x.ref.chain === 'LOOP-B' && x.kind === 'accept')).toBe(true);
  });
});
