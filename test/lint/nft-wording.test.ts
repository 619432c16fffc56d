/**
 * What the findings say on Docker 29's nftables backend (the real captures s2a and s3b, and the
 * same hosts changed so that each rule that speaks of where to filter has something to say):
 * no finding advises about a DOCKER-USER chain that does not exist or writes iptables syntax for a
 * rule that is not in iptables; the place to filter is the operator's own forward base chain
 * before Docker's (src/docker/filter-place.ts).
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { analyze } from '../../src/lint/analyze.ts';
import { DEFAULT_CONFIG } from '../../src/lint/config-types.ts';
import type { Finding } from '../../src/model/audit.ts';
import { repoRoot } from '../rules/tester.ts';
import { tempDir } from '../support/temp-dir.ts';

const captured = path.join(repoRoot, 'fixtures/snapshots/29.7.2');
const captures = path.resolve(repoRoot, '../shared/captures/docker-29.7.2');
const NFT_PLACE = "a forward base chain of your own with a priority before Docker's (filter - 1)";

/** A copy of a capture with some files replaced (null: removed). */
function variant(base: string, files: Readonly<Record<string, string | null>>): string {
  const dir = path.join(tempDir('dwnftword-'), base);
  cpSync(path.join(captured, base), dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    if (text === null) rmSync(path.join(dir, name), { force: true });
    else writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

async function findings(dir: string): Promise<readonly Finding[]> {
  const snapshot = await loadSnapshot({ directory: dir });
  expect(snapshot.era.era).toBe('nftables');
  return analyze(snapshot, DEFAULT_CONFIG, { rules: RULES }).findings;
}

/** Nothing says DOCKER-USER is a place to filter, or hands out iptables syntax. */
function expectNftWording(all: readonly Finding[]): void {
  for (const f of all) {
    expect(f.message, `${f.ruleId}: ${f.message}`).not.toMatch(
      /(?<!not )\b(in|to|use|into) DOCKER-USER|DOCKER-USER (chain|rules?) (is|are|where)|-m conntrack|--ctorig|-I DOCKER-USER/,
    );
  }
}

const s2aText = () => readFileSync(path.join(captures, 's2a-nftables-portmap.nft-ruleset'), 'utf8');

describe('findings on Docker 29 nftables-backend hosts speak of nftables', () => {
  for (const base of ['s2a-nftables-portmap', 's3b-nftables-ipv6-dualstack']) {
    it(`${base} as captured`, async () => {
      const all = await findings(path.join(captured, base));
      expect(all.length).toBeGreaterThan(0);
      expectNftWording(all);
      expect(all.some((f) => f.ruleId === 'docker-user-ineffective')).toBe(false);
      // where the finding says where to filter, it is the nftables place
      const proxy = all.filter(
        (f) => f.object.setting === 'userland-proxy' || f.message.startsWith('docker-proxy relays'),
      );
      expect(proxy.length).toBeGreaterThan(0);
      for (const f of proxy) expect(f.message).toContain(NFT_PLACE);
    });
  }

  it('iptables chains Docker left behind before the switch to nftables are called leftovers', async () => {
    // the 29.7.2 iptables-backend capture's rules beside the nftables backend's tables
    const leftovers = readFileSync(
      path.join(captured, 's1a-iptables-portmap/iptables-save.txt'),
      'utf8',
    );
    const all = await findings(variant('s2a-nftables-portmap', { 'iptables-save.txt': leftovers }));
    const user = all.filter((f) => f.ruleId === 'docker-user-ineffective');
    expect(user.map((f) => f.message)).toEqual([
      `The iptables filter table still holds Docker's chains (DOCKER, DOCKER-BRIDGE, DOCKER-CT, DOCKER-FORWARD, DOCKER-INTERNAL and DOCKER-USER), but Docker runs its nftables backend and no longer writes them: they are left from the iptables backend, and FORWARD still sends packets through them. Published ports are filtered in ${NFT_PLACE}, not in DOCKER-USER.`,
    ]);
    expectNftWording(all);
    // without DOCKER-USER among the leftovers nothing asks for one
    const noUser = leftovers
      .split('\n')
      .filter((l) => !l.includes('DOCKER-USER'))
      .join('\n');
    const without = await findings(
      variant('s2a-nftables-portmap', { 'iptables-save.txt': noUser }),
    );
    const said = without.filter((f) => f.ruleId === 'docker-user-ineffective');
    expect(said.map((f) => f.object.chain)).toEqual(['DOCKER']);
    expect(said[0]?.message).toContain(NFT_PLACE);
    expectNftWording(without);
  });

  it('an iptables INPUT policy bypassed by published ports names INPUT and FORWARD, not DOCKER-USER', async () => {
    const ufwLike =
      '*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 8081 -j DROP\nCOMMIT\n';
    const all = await findings(variant('s2a-nftables-portmap', { 'iptables-save.txt': ufwLike }));
    const bypassed = all.filter((f) => f.ruleId === 'input-rule-bypassed');
    expect(bypassed.map((f) => f.message)).toEqual([
      'INPUT policy DROP does not protect published ports: 0.0.0.0:8080/tcp → web0, 0.0.0.0:8081/tcp → web1 reach containers through FORWARD instead.',
      'INPUT rule drops 8081/tcp, but connections to that published port are DNATed to web1 (80/tcp) and forwarded: this rule never sees them.',
    ]);
    expectNftWording(all);
  });

  it('direct access left open by a deleted raw-PREROUTING drop gives no iptables advice', async () => {
    // lo0's direct-access drop gone: its port published on 127.0.0.1 only is routable straight to it
    const text = s2aText()
      .split('\n')
      .filter((l) => !l.includes('ip daddr 172.17.0.3 iifname != "docker0"'))
      .join('\n');
    const all = await findings(
      variant('s2a-nftables-portmap', { 'nft-ruleset.json': null, 'nft-ruleset.txt': text }),
    );
    const direct = all.filter((f) => f.ruleId === 'direct-container-access');
    expect(direct.length).toBeGreaterThan(0);
    expect(direct.some((f) => f.message.includes('172.17.0.3'))).toBe(true);
    expectNftWording(all);
  });

  it('IPv6 containers whose Docker IPv6 rules were not captured: said possibly, of both places', async () => {
    const text = readFileSync(
      path.join(captures, 's3b-nftables-ipv6-dualstack.nft-ruleset'),
      'utf8',
    );
    const ipOnly = text.slice(0, text.indexOf('table ip6 docker-bridges'));
    const all = await findings(
      variant('s3b-nftables-ipv6-dualstack', {
        'nft-ruleset.json': null,
        'nft-ruleset.txt': ipOnly,
        'ip6tables-save.txt': null,
      }),
    );
    const off = all.filter(
      (f) => f.ruleId === 'ipv6-unfiltered' && f.object.setting === 'ip6tables',
    );
    // Docker writes IPv6 rules here (ip6tables is on by default); they are only not in the
    // snapshot, so nothing is claimed about them
    expect(off.map((f) => [f.message, f.certainty])).toEqual([
      [
        "IPv6 containers (priv6, lo6, web6) but no ip6tables dump and no ip6 docker-bridges table in the nftables listing were captured: whether Docker's IPv6 rules filter their addresses could not be checked.",
        'possible',
      ],
    ]);
    expectNftWording(all);
  });
});
