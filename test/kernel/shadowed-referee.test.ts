/**
 * The kernel referees shadowed-rule on nftables: an operator's tables (every rule counting its
 * packets) are loaded beside Docker 29.7.2's real nftables tables in network namespaces, the
 * referee's probes are sent, and the lab's own snapshot (with the kernel's counters) is audited.
 * Every rule shadowed-rule says no packet reaches or matches counted none; rules it leaves alone
 * counted some, so the probes did exercise the chains. Needs root; in CI a missing capability
 * is a failure.
 */
import { describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { tableId } from '../../src/model/ruleset.ts';
import { buildLab, collectLabSnapshot, destroyLab, labSuffix, runProbes } from '../lab/netns.ts';
import { planProbes } from '../lab/probes.ts';
import { deriveTopology } from '../lab/topology.ts';
import { runRule } from '../rules/tester.ts';
import { capability, dockerNftablesWith, suiteRuns } from './nftables-capture.ts';
import { tempDir } from '../support/temp-dir.ts';

/** The operator's tables: input filtering on the host, and a forward chain after Docker's. */
const OPERATOR = `
table inet host {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "lo" counter accept
		ct state established,related counter accept
		tcp dport 2222 counter accept
		ip saddr 203.0.113.0/24 tcp dport 2222 counter accept
		tcp dport { 2222, 2223 } counter accept
		tcp dport 2223 counter drop
		meta l4proto udp counter accept
		udp dport 2222 counter drop
	}
}
table ip late {
	chain forward {
		type filter hook forward priority filter + 10; policy accept;
		iifname "ext0" ip daddr 172.17.0.4 tcp dport 81 counter drop
		ip daddr 172.17.0.2 counter accept
		counter
	}
}
`;

describe.runIf(suiteRuns)('kernel referee for shadowed-rule on nftables', () => {
  it('has what the lab needs', () => {
    expect(capability.ok, capability.reason).toBe(true);
  });

  it('rules called unreached count no packet; the others count some', async () => {
    const scenario = dockerNftablesWith('shadowed-referee', OPERATOR);
    expect(scenario).toBeDefined();
    if (scenario === undefined) return;
    const topology = deriveTopology(scenario);
    const lab = await buildLab(topology, labSuffix('shadow', 0));
    const dir = tempDir('dwk-shadow-');
    try {
      await runProbes(lab, planProbes(topology));
      collectLabSnapshot(lab, dir, scenario);
    } finally {
      destroyLab(lab);
    }
    const snapshot = await loadSnapshot({ directory: dir });
    const operator = (snapshot.nft?.tables ?? []).filter(
      (t) => t.name === 'host' || t.name === 'late',
    );
    const counted = new Map(
      operator.flatMap((t) =>
        t.chains.flatMap((c) =>
          c.rules.map((r) => [`${tableId(t)}/${c.name}#${r.index}`, r.counters?.packets ?? null]),
        ),
      ),
    );
    const found = runRule(RULES['shadowed-rule']!, snapshot).map((r) => {
      const o = r.descriptor.object as { table: string; chain: string; rule: number };
      return `${o.table}/${o.chain}#${o.rule}`;
    });
    // what the rule says (by reasoning: 4 is covered by 3; 6 by the set of 5; 8 by 7; the
    // forward drop of direct access is taken by Docker's raw-PREROUTING drop)
    expect(found.sort()).toEqual([
      'inet host/input#4',
      'inet host/input#6',
      'inet host/input#8',
      'ip late/forward#1',
    ]);
    // and the kernel: none of them counted a packet, while the chains saw traffic
    for (const key of found) expect(counted.get(key), key).toBe(0n);
    expect(counted.get('inet host/input#3'), 'probes to the host service').toBeGreaterThan(0n);
    expect(counted.get('ip late/forward#2'), 'probes forwarded to web0').toBeGreaterThan(0n);
  }, 300_000);
});
