/** Structural coverage is sound: it claims coverage only where every packet of one rule hits the other. */
import { describe, expect, it } from 'vitest';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import { ruleCovers } from '../../src/analysis/covers.ts';
import type { Rule } from '../../src/model/ruleset.ts';

function rules(...lines: string[]): Rule[] {
  const text = `*filter\n:INPUT ACCEPT [0:0]\n${lines.map((l) => `-A INPUT ${l}`).join('\n')}\nCOMMIT\n`;
  const { ruleset, diagnostics } = parseIptables(text, { file: 't.txt' });
  expect(diagnostics).toEqual([]);
  return ruleset.tables[0]?.chains[0]?.rules.slice() ?? [];
}

const covers = (a: string, b: string): boolean => {
  const [x, y] = rules(a, b);
  return x !== undefined && y !== undefined && ruleCovers(x, y);
};

describe('ruleCovers', () => {
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
