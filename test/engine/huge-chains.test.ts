/**
 * Sizes past what a JavaScript call takes as arguments (~125,000 here): a spread into `push` or
 * `Math.max` of that many items throws "Maximum call stack size exceeded". A chain of 140,000
 * rules is a big host, not an attack, and must be analysed like any other.
 */
import { describe, expect, it } from 'vitest';
import { entryHooks } from '../../src/engine/entry.ts';
import { createEngine } from '../../src/engine/index.ts';
import { formatTraceText } from '../../src/report/trace.ts';
import type { TraceView } from '../../src/analysis/trace-view.ts';
import { hostContext, o, ruleset, t } from './build.ts';

const N = 140_000;

const address = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`;

describe('a chain of 140,000 rules', () => {
  it('is discovered: its accepts are the flows, none lost to the call stack', () => {
    const accepts = Array.from(
      { length: N },
      (_, i) => [[o.dst(address(i)), o.proto('tcp'), o.dport(80)], t.accept()] as const,
    );
    const rs = ruleset({
      filter: {
        FORWARD: { policy: 'DROP', rules: [[[], t.jump('BIG')]] },
        BIG: { rules: accepts.map(([m, a]) => [[...m], a]) },
      },
    });
    const engine = createEngine(rs, hostContext);
    const forwarded = engine
      .discover({ ingress: 'eth0' })
      .flows.filter((f) => f.delivery.kind === 'forward' && f.protocol === 'tcp');
    // every destination of the chain, port 80, and nothing else
    const destinations = forwarded.flatMap((f) => f.destinations);
    expect(destinations).toContain('10.0.0.0/15');
    expect(destinations).toContain('10.2.0.0/19');
    expect(
      forwarded.every((f) => f.destinationPorts.every((p) => p.from === 80 && p.to === 80)),
    ).toBe(true);
  }, 60_000);

  it('of jumps: the entry hook reaches every chain it leads to', () => {
    const jumps = Array.from(
      { length: N },
      (_, i) => [[o.dst(address(i))], t.jump('LEAF')] as const,
    );
    const rs = ruleset({
      filter: {
        INPUT: { rules: [[[], t.jump('JUMPS')]] },
        JUMPS: { rules: jumps.map(([m, a]) => [[...m], a]) },
        LEAF: { rules: [[[], t.accept()]] },
      },
    });
    const table = rs.tables[0];
    const hooks = table === undefined ? undefined : entryHooks(rs).get(table);
    expect([...(hooks?.get('LEAF') ?? [])]).toEqual(['INPUT']);
  });

  it('in a trace: the text report lays out every step', () => {
    const step = {
      hook: 'FORWARD',
      table: 'filter',
      chain: 'BIG',
      rule: 1,
      line: 1,
      file: 'rules',
      text: '-A BIG -j RETURN',
      action: 'no match',
      uncertain: false,
    };
    const view: TraceView = {
      result: 'dropped',
      certainty: 'certain',
      packet: {
        family: 'ipv4',
        protocol: 'tcp',
        source: '203.0.113.7',
        sourcePort: 40000,
        destination: '10.0.0.1',
        destinationPort: 80,
        inInterface: 'eth0',
        state: 'NEW',
        mark: 0,
      },
      destination: null,
      nat: [],
      steps: Array.from({ length: N }, () => step),
      uncertainRules: [],
      assumptions: [],
      unrouted: null,
      below: null,
      answer: null,
    };
    const text = formatTraceText(view);
    expect(text.split('\n').filter((l) => l.includes('filter/BIG')).length).toBeGreaterThanOrEqual(
      N,
    );
  });
});

describe('jumps nested deeper than the walks follow', () => {
  // C0 → C1 → … → C599, the last accepting tcp/80: legal for iptables-legacy, past the walks'
  // depth, and each recursing walk once overflowed the stack on it (no exposure, no trace)
  const depth = 600;
  const chains: Record<
    string,
    { policy?: 'DROP'; rules: Parameters<typeof ruleset>[0][string][string]['rules'] }
  > = {
    FORWARD: { policy: 'DROP', rules: [[[], t.jump('C0')]] },
  };
  for (let i = 0; i < depth - 1; i++) chains[`C${i}`] = { rules: [[[], t.jump(`C${i + 1}`)]] };
  chains[`C${depth - 1}`] = { rules: [[[o.proto('tcp'), o.dport(80)], t.accept()]] };
  const rs = ruleset({ filter: chains });

  it('are said once, and what lies past them is only possible', () => {
    const engine = createEngine(rs, hostContext);
    const deep = engine.diagnostics.filter((d) => d.code === 'jump-too-deep');
    expect(deep).toHaveLength(1);
    expect(deep[0]?.message).toContain('at most 256 nested jumps');
    const tcp80 = engine
      .discover({ ingress: 'eth0' })
      .flows.filter((f) => f.delivery.kind === 'forward' && f.protocol === 'tcp');
    // the accept lies past the cut: forwarded possibly, never certainly
    expect(tcp80.length).toBeGreaterThan(0);
    expect(tcp80.every((f) => f.certainty === 'possible')).toBe(true);
  });

  it('are not followed by a trace, which says so', () => {
    const engine = createEngine(rs, hostContext);
    const trace = engine.trace({
      family: 'ipv4',
      protocol: 'tcp',
      source: '203.0.113.7',
      sourcePort: 40000,
      destination: '198.51.100.9',
      destinationPort: 80,
      inInterface: 'eth0',
      state: 'NEW',
      mark: 0,
    });
    expect(trace.certainty).toBe('possible');
    expect(trace.steps.some((s) => s.action.includes('not followed: nested too deep'))).toBe(true);
  });
});
