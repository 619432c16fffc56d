/**
 * Covers come from the engine's packet sets: a cover is claimed only where every packet one rule
 * could match is one the other certainly matches, including covers the written conditions do not
 * show (a negation inside a wider one) and never through a condition the engine cannot decide.
 */
import { describe, expect, it } from 'vitest';
import { matchCovers } from '../../src/analysis/covers.ts';
import { createEngine } from '../../src/engine/index.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import { hostContext } from '../engine/build.ts';

const covers = (a: string, b: string): boolean => {
  const text = `*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ${a}\n-A INPUT ${b}\nCOMMIT\n`;
  const { ruleset, diagnostics } = parseIptables(text, { file: 't.txt' });
  expect(diagnostics).toEqual([]);
  const engine = createEngine(ruleset, hostContext);
  const x = engine.ruleMatch('filter', 'INPUT', 1);
  const y = engine.ruleMatch('filter', 'INPUT', 2);
  return x !== null && y !== null && matchCovers(x, y);
};

describe('matchCovers', () => {
  it('wider prefixes, port ranges, interface wildcards and state sets cover narrower ones', () => {
    expect(covers('-s 10.0.0.0/8 -j DROP', '-s 10.1.2.0/24 -p tcp -j ACCEPT')).toBe(true);
    expect(
      covers('-p tcp -m tcp --dport 1:1024 -j DROP', '-p tcp -m tcp --dport 22 -j ACCEPT'),
    ).toBe(true);
    expect(covers('-i eth+ -j DROP', '-i eth0 -j ACCEPT')).toBe(true);
    expect(
      covers(
        '-m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT',
        '-m conntrack --ctstate NEW -j DROP',
      ),
    ).toBe(true);
    expect(covers('-j DROP', '-p udp -m udp --dport 53 -j ACCEPT')).toBe(true);
  });

  it('sees covers the written conditions do not show', () => {
    // Outside 10.1/16 includes everything outside 10/8.
    expect(covers('! -s 10.1.0.0/16 -j DROP', '! -s 10.0.0.0/8 -j ACCEPT')).toBe(true);
    // Two port lists, one inside the other.
    expect(
      covers(
        '-p tcp -m multiport --dports 20:30,80 -j DROP',
        '-p tcp -m multiport --dports 22,80 -j ACCEPT',
      ),
    ).toBe(true);
    // A rule no packet matches is covered by anything.
    expect(
      covers('-p udp -j DROP', '-p tcp -m tcp --dport 22 -m multiport --dports 80,443 -j ACCEPT'),
    ).toBe(true);
  });

  it('never claims coverage that does not hold', () => {
    expect(covers('-s 10.1.2.0/24 -j DROP', '-s 10.0.0.0/8 -j ACCEPT')).toBe(false);
    expect(covers('-p tcp -j DROP', '-p udp -j ACCEPT')).toBe(false);
    expect(
      covers('-p tcp -m tcp --dport 22 -j DROP', '-p tcp -m tcp --dport 20:30 -j ACCEPT'),
    ).toBe(false);
    expect(covers('-i eth0 -j DROP', '-i eth+ -j ACCEPT')).toBe(false);
    expect(covers('! -s 10.0.0.0/8 -j DROP', '! -s 10.1.0.0/16 -j ACCEPT')).toBe(false);
    expect(
      covers(
        '-s 192.0.2.1/32 -m mac --mac-source 00:11:22:33:44:55 -j RETURN',
        '-s 192.0.2.1/32 -j DROP',
      ),
    ).toBe(false);
  });

  it('does not trust matches it cannot decide', () => {
    expect(
      covers('-m recent --rcheck --name x -j DROP', '-m recent --rcheck --name x -p tcp -j ACCEPT'),
    ).toBe(false);
  });
});

describe('ruleMatchesNothing', () => {
  it('says which rules no packet could match, as ruleMatch’s possible side does', () => {
    const rules = [
      '-f -j DROP',
      '-p tcp -m tcp --dport 22 -m multiport --dports 80,443 -j ACCEPT',
      '-s 10.0.0.0/8 -p udp -j ACCEPT',
      '-j DROP',
    ];
    const text = `*filter\n:INPUT ACCEPT [0:0]\n${rules.map((r) => `-A INPUT ${r}`).join('\n')}\nCOMMIT\n`;
    const { ruleset } = parseIptables(text, { file: 't.txt' });
    const engine = createEngine(ruleset, hostContext);
    const nothing = [1, 2, 3, 4, 5].map((i) => engine.ruleMatchesNothing('filter', 'INPUT', i));
    expect(nothing).toEqual([true, true, false, false, null]);
    const possible = [1, 2, 3, 4].map((i) => engine.ruleMatch('filter', 'INPUT', i)?.possible);
    expect(possible.map((p) => p?.isEmpty)).toEqual(nothing.slice(0, 4));
  });
});
