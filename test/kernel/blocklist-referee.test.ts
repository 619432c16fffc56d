/**
 * The kernel referees a blocklist host: Docker 29.7.2's nftables tables with a CrowdSec-style
 * table ahead of them whose set of 2,000 addresses holds the lab client's. The client probes
 * from that address and from a second one the set does not hold; every probe's outcome must be
 * what the engine's trace of the same packet says, and the exposure table's exceptions must
 * hold the blocked address and not the other. Needs root; in CI a missing capability is a
 * failure.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cidrsToRanges } from '../../src/analysis/regions.ts';
import { buildLab, collectLabSnapshot, destroyLab, labSuffix, runProbes } from '../lab/netns.ts';
import { planProbes, type Probe } from '../lab/probes.ts';
import { compare, describeComparison, probePacket } from '../lab/referee.ts';
import { deriveTopology, EXTERNAL } from '../lab/topology.ts';
import { blocklistAddresses, blocklistNft } from '../support/blocklist.ts';
import { linkSnapshot, snapshotExposures } from './engine-link.ts';
import { capability, dockerNftablesWith, suiteRuns } from './nftables-capture.ts';

/** A second client address in the client's subnet, not in the set. */
const ALLOWED_CLIENT = '203.0.113.3';

/** Whether an IPv4 address lies in one of the CIDRs. */
function within(address: string, cidrs: readonly string[]): boolean {
  const [[a] = [0n]] = cidrsToRanges([address], 'ipv4');
  return cidrsToRanges(cidrs, 'ipv4').some(([lo, hi]) => a >= lo && a <= hi);
}

describe.runIf(suiteRuns)('kernel referee for a blocklist set on nftables', () => {
  it('has what the lab needs', () => {
    expect(capability.ok, capability.reason).toBe(true);
  });

  it('drops the blocked client, lets the other through, as the engine and table say', async () => {
    const blocked = blocklistAddresses(2000, 5, [EXTERNAL.clientAddress]);
    const scenario = dockerNftablesWith('blocklist-referee', blocklistNft(blocked));
    expect(scenario).toBeDefined();
    if (scenario === undefined) return;
    const topology = deriveTopology(scenario);
    // the client's IPv4 probes, from the blocked address and from the allowed one
    const fromClient = planProbes(topology).filter(
      (p) => p.origin.kind === 'client' && p.family === 'ipv4',
    );
    const probes: Probe[] = [
      ...fromClient,
      ...fromClient.map((p, i) => ({
        ...p,
        id: `${p.id}-allowed`,
        source: ALLOWED_CLIENT,
        sourcePort: 50000 + i,
        description: `${p.description} from ${ALLOWED_CLIENT}`,
      })),
    ];
    const lab = await buildLab(topology, labSuffix('block', 0));
    const dir = mkdtempSync(path.join(tmpdir(), 'dwk-block-'));
    try {
      execFileSync('ip', [
        '-n',
        lab.clientNs,
        'addr',
        'add',
        `${ALLOWED_CLIENT}/${EXTERNAL.prefixLength}`,
        'dev',
        'eth0',
      ]);
      const results = await runProbes(lab, probes);
      collectLabSnapshot(lab, dir, scenario);
      const engine = await linkSnapshot(dir);
      const comparisons = results.map((r) =>
        compare(topology, r, engine.trace(probePacket(r.probe))),
      );
      const lines = comparisons.map(describeComparison).join('\n');
      expect(comparisons.filter((c) => c.agree === false).map(describeComparison), lines).toEqual(
        [],
      );
      // the probes did tell the two sources apart: the published port answers only one
      const published = results.filter((r) => r.probe.protocol === 'tcp' && r.probe.port === 8080);
      expect(published.map((r) => `${r.probe.source} ${r.outcome}`).sort()).toEqual([
        `${EXTERNAL.clientAddress} timeout`,
        `${ALLOWED_CLIENT} connected`,
      ]);
      // and the table: every source but the set's, the blocked client among them
      const { exposures } = await snapshotExposures(dir);
      const row = exposures.find(
        (e) => e.family === 'ipv4' && e.protocol === 'tcp' && e.ports[0]?.from === 8080,
      );
      const from = row?.reachableFrom.find((f) => f.sources.includes('0.0.0.0/0'));
      expect(from?.exceptSources?.length ?? 0).toBeGreaterThan(1000);
      expect(within(EXTERNAL.clientAddress, from?.exceptSources ?? [])).toBe(true);
      expect(within(ALLOWED_CLIENT, from?.exceptSources ?? [])).toBe(false);
    } finally {
      destroyLab(lab);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
