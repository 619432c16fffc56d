/**
 * shadowed-rule on large rulesets: the cover search (the engine's rule-key index as pre-filter)
 * finds the first cover a full scan with the engine's covers finds on rules its written conditions
 * describe, the rule finishes
 * on a generated kube-proxy + Docker host of over 20,000 rules with an operator chain of thousands
 * of deciding rules, and a hit work bound is reported, naming the chain.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateHostFiles } from '../support/generate-host.ts';
import shadowedRule from '../../rules/shadowed-rule.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { createEngine } from '../../src/engine/index.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import { createLintEngine } from '../../src/lint/default-engine.ts';
import { DEFAULT_CONFIG } from '../../src/lint/config-types.ts';
import type { ResolvedConfig } from '../../src/lint/config-types.ts';
import { runRules } from '../../src/lint/runner.ts';
import { shadowsIn } from '../../src/analysis/shadowing.ts';
import { decides, matchCovers } from '../../src/analysis/covers.ts';
import type { Chain, Rule } from '../../src/model/ruleset.ts';
import { hostContext } from '../engine/build.ts';

/** The chain's rules and the engine's cover relation between two of them. */
function chainRules(lines: readonly string[]): {
  chain: Chain;
  rules: readonly Rule[];
  covers: (a: Rule, b: Rule) => boolean;
  matchesNothing: (a: Rule) => boolean;
} {
  const text = `*filter\n:INPUT ACCEPT [0:0]\n${lines.map((l) => `-A INPUT ${l}`).join('\n')}\nCOMMIT\n`;
  const { ruleset, diagnostics } = parseIptables(text, { file: 't.txt' });
  expect(diagnostics).toEqual([]);
  const engine = createEngine(ruleset, hostContext);
  const covers = (a: Rule, b: Rule): boolean => {
    const x = engine.ruleMatch('filter', 'INPUT', a.index);
    const y = engine.ruleMatch('filter', 'INPUT', b.index);
    return x !== null && y !== null && matchCovers(x, y);
  };
  const matchesNothing = (a: Rule): boolean =>
    engine.ruleMatch('filter', 'INPUT', a.index)?.possible.isEmpty ?? true;
  const chain = ruleset.tables[0]?.chains[0];
  if (chain === undefined) throw new Error('no INPUT chain');
  return { chain, rules: chain.rules, covers, matchesNothing };
}

describe('shadowsIn', () => {
  it('finds the same first cover as comparing with every earlier rule', () => {
    // Rules mixing every indexed condition, wider and narrower, negated and not.
    const parts = [
      // a destination both 10.1.2.3 and in 10.9.9.1-10.9.9.2: no packet, so every earlier
      // rule the index names covers them, whatever else it writes
      [
        '',
        '-d 10.0.0.0/8',
        '-d 10.1.0.0/16',
        '-d 10.1.2.3/32',
        '! -d 10.1.2.3/32',
        '-d 10.1.2.3/32 -m iprange --dst-range 10.9.9.1-10.9.9.2',
      ],
      ['', '-s 10.1.0.0/16', '-s 10.1.2.0/24', '-s 10.1.2.9/32'],
      ['', '-p tcp -m tcp --dport 22', '-p tcp -m tcp --dport 1:1024', '-p udp -m udp --dport 53'],
      ['', '-i eth0', '-i eth+', '! -i eth1'],
    ];
    const combos = parts.reduce<string[]>(
      (acc, options) => acc.flatMap((x) => options.map((o) => `${x} ${o}`)),
      [''],
    );
    // Without the rule of no conditions, which would cover every later one.
    const lines = combos
      .filter((c) => c.trim() !== '')
      .map((c, i) => `${c} -j ${i % 3 === 0 ? 'DROP' : 'ACCEPT'}`);
    // Visit them in an order where narrow rules come both before and after wide ones.
    const shuffled = lines
      .map((l, i) => ({ l, k: (i * 37) % lines.length }))
      .sort((x, y) => x.k - y.k);
    // First a rule the contradictory ones do not imply by what they write, though it covers them.
    const { chain, rules, covers, matchesNothing } = chainRules([
      '-d 10.0.0.0/8 -p udp -m udp --dport 53 -j ACCEPT',
      ...shuffled.map((x) => x.l),
    ]);
    const search = shadowsIn(chain, 'ipv4', Number.MAX_SAFE_INTEGER, covers, matchesNothing);
    expect(search.stoppedAt).toBeNull();
    const coverOf = new Map(search.shadows.map((s) => [s.rule.index, s.cover.index]));
    let found = 0;
    for (const [i, later] of rules.entries()) {
      const naive = rules.slice(0, i).find((e) => decides(e.target) && covers(e, later));
      expect(coverOf.get(later.index), `rule ${later.index}: ${later.text}`).toBe(naive?.index);
      if (naive !== undefined) found += 1;
    }
    // The comparison above is about real covers, not only about finding none.
    expect(found).toBeGreaterThan(50);
  });
});

/** An operator chain of 3,000 ACCEPTs with three rules shadowed by earlier ones. */
function operatorChain(): string[] {
  const rules: string[] = [];
  for (let i = 0; i < 3000; i += 1) {
    const d = `10.50.${Math.floor(i / 250)}.${(i % 250) + 1}/32`;
    rules.push(`-A OPERATOR-ALLOW -d ${d} -p tcp -m tcp --dport ${8000 + (i % 500)} -j ACCEPT`);
    if (i === 1500) rules.push('-A OPERATOR-ALLOW -d 10.60.0.0/16 -j DROP');
  }
  rules.push(
    // Same as the 8th ACCEPT but only for one source: never matches, different action.
    '-A OPERATOR-ALLOW -s 192.0.2.0/24 -d 10.50.0.8/32 -p tcp -m tcp --dport 8007 -j DROP',
    // A duplicate of the 101st ACCEPT: same action.
    '-A OPERATOR-ALLOW -d 10.50.0.101/32 -p tcp -m tcp --dport 8100 -j ACCEPT',
    // Inside the /16 dropped above.
    '-A OPERATOR-ALLOW -d 10.60.3.4/32 -p udp -m udp --dport 53 -j ACCEPT',
    // Not covered: a port no rule above names for this address.
    '-A OPERATOR-ALLOW -d 10.50.0.8/32 -p tcp -m tcp --dport 9999 -j ACCEPT',
  );
  return rules;
}

describe('shadowed-rule on a generated host of over 20,000 rules', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockwall-shadow-scale-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const g = generateHostFiles({ services: 700, containers: 200 });
  for (const [name, text] of Object.entries(g.files)) {
    const patched =
      name === 'iptables-save.txt'
        ? text
            .replace('*filter\n', '*filter\n:OPERATOR-ALLOW - [0:0]\n')
            .replace(/\*filter\n[\s\S]*?\nCOMMIT\n/, (t) =>
              t.replace(/\nCOMMIT\n$/, `\n${operatorChain().join('\n')}\nCOMMIT\n`),
            )
        : text;
    writeFileSync(path.join(dir, name), patched);
  }

  // The rule alone, with the engine built but without the exposure table it does not read.
  const built = loadSnapshot({ directory: dir }).then((snapshot) => ({
    snapshot,
    engine: createLintEngine(snapshot).engine,
  }));
  const run = async (options: Record<string, unknown> = {}) => {
    const { snapshot, engine } = await built;
    const config: ResolvedConfig = {
      ...DEFAULT_CONFIG,
      rules: { 'shadowed-rule': { severity: null, options, location: null } },
    };
    const output = runRules(snapshot, { 'shadowed-rule': shadowedRule }, config, engine);
    return { ...output, summary: { rules: output.ran.length } };
  };

  it(
    'finishes and names the shadowed rules of a 3,000-rule chain',
    { timeout: 60_000 },
    async () => {
      expect(g.rules).toBeGreaterThan(20_000);
      const started = performance.now();
      const result = await run();
      const seconds = (performance.now() - started) / 1000;
      expect(result.summary.rules).toBe(1);
      const operator = result.findings
        .filter((f) => f.object.chain === 'OPERATOR-ALLOW')
        .sort((a, b) => Number(a.object.rule) - Number(b.object.rule));
      expect(operator.map((f) => [f.object.rule, f.severity])).toEqual([
        [3002, 'warning'],
        [3003, 'note'],
        [3004, 'warning'],
      ]);
      expect(operator[0]?.message).toContain('rule 8 above it');
      expect(operator[1]?.message).toContain('rule 101 above it');
      expect(operator[2]?.message).toContain('rule 1502 above it');
      // Only the whole-ruleset reach walk is left out at this size, and the report says so.
      expect(
        result.diagnostics.filter((d) => d.code === 'rule-limited').map((d) => d.message),
      ).toEqual([expect.stringMatching(/reach check .* skipped .*engineRuleLimit/)]);
      // Comparing every pair took seconds on this chain; the index needs a fraction of that.
      expect(seconds).toBeLessThan(30);
    },
  );

  it('says which chain it stopped in when the comparison bound is hit', async () => {
    // No comparisons allowed: the first rule that has a candidate cover stops its chain.
    const result = await run({ comparisonLimit: 0 });
    const limited = result.diagnostics.filter(
      (d) => d.code === 'rule-limited' && d.message.includes('filter/OPERATOR-ALLOW (ipv4)'),
    );
    expect(limited).toHaveLength(1);
    expect(limited[0]?.severity).toBe('note');
    expect(limited[0]?.message).toContain('stopped at rule 3002 of 3005');
    // Rules past the bound are not claimed shadowed (nor silently passed: the note says so).
    expect(result.findings.filter((f) => f.object.chain === 'OPERATOR-ALLOW')).toEqual([]);
  });
});
