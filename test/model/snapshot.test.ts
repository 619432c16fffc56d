import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { ruleEvidence } from '../../src/docker/rule-evidence.ts';
import { firewallOf } from '../../src/model/snapshot.ts';

const fixtures = path.resolve(import.meta.dirname, '../../fixtures/snapshots');

describe('firewallOf', () => {
  it('gives one combined ruleset per snapshot and family', async () => {
    // a Docker 29 nftables host: its iptables dump and Docker's nftables tables, combined
    const snapshot = await loadSnapshot({
      directory: path.join(fixtures, '29.7.2/s2a-nftables-portmap'),
    });
    const v4 = firewallOf(snapshot, 'ipv4');
    expect(v4?.tables.some((t) => t.nft?.family === 'ip' && t.name === 'docker-bridges')).toBe(
      true,
    );
    expect(v4).not.toBe(snapshot.ipv4);
    expect(firewallOf(snapshot, 'ipv4')).toBe(v4);
    expect(firewallOf(snapshot, 'ipv6')).not.toBe(v4);
    // so what is read once per ruleset is read once per snapshot
    expect(ruleEvidence(firewallOf(snapshot, 'ipv4'))).toBe(ruleEvidence(v4));
  });
});
