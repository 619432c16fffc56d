import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import { parseNft } from '../../src/ingest/nft/index.ts';
import { combineRulesets } from '../../src/model/firewall.ts';
import type { Family } from '../../src/model/ruleset.ts';
import { crossCheck } from './crosscheck.ts';
import { labContext, packetsFor } from './real-packets.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const captures = path.resolve(repoRoot, '../shared/captures/docker-29.7.2');
const goldens = path.resolve(repoRoot, '../shared/reference/moby-golden/nftabler');

interface Case {
  readonly name: string;
  readonly nft: string;
  readonly iptables: Partial<Record<Family, string>>;
  readonly families: readonly Family[];
  readonly packets: number;
}

function cases(): Case[] {
  const out: Case[] = [];
  if (existsSync(captures)) {
    for (const f of readdirSync(captures).sort()) {
      if (!f.endsWith('.nft-ruleset.json')) continue;
      const base = f.slice(0, -'.nft-ruleset.json'.length);
      const read = (suffix: string): string =>
        readFileSync(path.join(captures, `${base}${suffix}`), 'utf8');
      out.push({
        name: f,
        nft: read('.nft-ruleset.json'),
        iptables: { ipv4: read('.iptables-save'), ipv6: read('.ip6tables-save') },
        families: ['ipv4', 'ipv6'],
        packets: 2000,
      });
    }
  }
  if (existsSync(goldens)) {
    for (const f of readdirSync(goldens).sort()) {
      if (f.startsWith('cleaned')) continue;
      out.push({
        name: f,
        nft: readFileSync(path.join(goldens, f), 'utf8'),
        iptables: {},
        families: [f.endsWith('__ip6.golden') ? 'ipv6' : 'ipv4'],
        packets: 100,
      });
    }
  }
  return out;
}

const all = cases();

describe.skipIf(all.length === 0)(
  'engine agrees with the interpreter on real nftables rulesets (needs ../shared)',
  () => {
    it(`on the Docker 29.7.2 captures (both families, 2,000 packets each) and ${all.length - 3} moby nftabler goldens (100 each)`, () => {
      let total = 0;
      let certain = 0;
      const failures: string[] = [];
      for (const [i, c] of all.entries()) {
        const nft = parseNft(c.nft, c.name).ruleset;
        for (const family of c.families) {
          const text = c.iptables[family];
          const ipt =
            text === undefined ? null : parseIptables(text, { file: c.name, family }).ruleset;
          const rs = combineRulesets(ipt, nft, family);
          if (rs === null) continue;
          const ctx = labContext(family);
          const r = crossCheck(rs, ctx, packetsFor(rs, ctx, c.packets, 7000 + i));
          total += r.checked;
          certain += r.certainChecks;
          for (const f of r.failures.slice(0, 2)) failures.push(`${c.name} ${family}: ${f}`);
        }
      }
      console.log(
        `nft fixtures: ${all.length} rulesets, ${total} packet verdicts agree (${certain} against the certain set)`,
      );
      expect(failures).toEqual([]);
      expect(certain).toBeGreaterThan(total / 3);
    }, 600_000);
  },
);
