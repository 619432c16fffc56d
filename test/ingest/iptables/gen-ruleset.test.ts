/** The benchmark generator: deterministic, ≥ 100k rules by default, canonical iptables-save text. */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_OPTIONS,
  dockerContainer,
  expectedRuleCount,
  generateKubeDockerRuleset,
} from '../../../bench/gen-ruleset.ts';
import { parseIptables } from '../../../src/ingest/iptables/index.ts';
import { printRuleset } from '../../../src/model/print-ruleset.ts';

function countRules(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n-A '); i !== -1; i = text.indexOf('\n-A ', i + 1)) n++;
  return n;
}

describe('generateKubeDockerRuleset', () => {
  it('writes at least 100,000 rules with the default options', () => {
    const text = generateKubeDockerRuleset(DEFAULT_OPTIONS);
    expect(countRules(text)).toBe(expectedRuleCount(DEFAULT_OPTIONS));
    expect(countRules(text)).toBeGreaterThanOrEqual(100_000);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const small = { services: 20, endpointsPerService: 2, containers: 30 };
    expect(generateKubeDockerRuleset({ ...small, seed: 7 })).toBe(
      generateKubeDockerRuleset({ ...small, seed: 7 }),
    );
    expect(generateKubeDockerRuleset({ ...small, seed: 7 })).not.toBe(
      generateKubeDockerRuleset({ ...small, seed: 8 }),
    );
  });

  it('reads back without diagnostics and prints back exactly (it is canonical save text)', () => {
    const options = { services: 60, endpointsPerService: 3, containers: 450, seed: 3 };
    const text = generateKubeDockerRuleset(options);
    const r = parseIptables(text, { file: 'gen' });
    expect(r.diagnostics).toEqual([]);
    expect(printRuleset(r.ruleset)).toBe(
      text
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n'),
    );
    const rules = r.ruleset.tables.flatMap((t) => t.chains.flatMap((c) => c.rules));
    expect(rules).toHaveLength(expectedRuleCount(options));
  });

  it('publishes container i as documented (host port 20000+i → address:port)', () => {
    const text = generateKubeDockerRuleset({
      services: 1,
      endpointsPerService: 1,
      containers: 250,
    });
    const c = dockerContainer(219);
    expect(c).toMatchObject({
      address: '10.100.1.21',
      hostPort: 20219,
      containerPort: 6379,
      protocol: 'udp',
    });
    expect(text).toContain(
      `-A DOCKER ! -i ${c.network.bridge} -p udp -m udp --dport 20219 -j DNAT --to-destination 10.100.1.21:6379`,
    );
  });
});
