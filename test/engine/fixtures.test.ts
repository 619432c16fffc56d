import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import type { Family } from '../../src/model/ruleset.ts';
import { crossCheck } from './crosscheck.ts';
import { labContext, packetsFor } from './real-packets.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const captures = path.resolve(repoRoot, '../shared/captures');
const goldens = path.resolve(repoRoot, '../shared/reference/moby-golden/iptabler');

function fixtureFiles(): string[] {
  const out: string[] = [];
  if (existsSync(captures)) {
    for (const d of readdirSync(captures)) {
      const dir = path.join(captures, d);
      if (!existsSync(dir) || d.endsWith('.md')) continue;
      for (const f of readdirSync(dir))
        if (/\.ip6?tables-save$/.test(f)) out.push(path.join(dir, f));
    }
  }
  if (existsSync(goldens)) {
    for (const f of readdirSync(goldens))
      if (!f.startsWith('cleaned') && /__ip6?tables\.golden$/.test(f))
        out.push(path.join(goldens, f));
  }
  return out.sort();
}

const files = fixtureFiles();

describe.skipIf(files.length === 0)(
  'engine agrees with the interpreter on real Docker rulesets (needs ../shared)',
  () => {
    // Real dockerd captures get thousands of packets each; moby's golden files (one bridge under
    // every option combination, hundreds of near-identical rulesets) 200 each.
    const packetsPer = (file: string): number => (file.startsWith(captures) ? 2000 : 200);
    it(`on ${files.filter((f) => f.startsWith(captures)).length} captures (2,000 random packets each) and ${files.filter((f) => !f.startsWith(captures)).length} moby goldens (200 each)`, () => {
      let total = 0;
      let certain = 0;
      const failures: string[] = [];
      for (const [i, file] of files.entries()) {
        const text = readFileSync(file, 'utf8');
        // by the suffix: a capture's name may say ip6tables (s7-usernet-ipv6-ip6tables.iptables-save)
        const family: Family = /(\.ip6tables-save|__ip6tables\.golden)$/.test(file)
          ? 'ipv6'
          : 'ipv4';
        const { ruleset } = parseIptables(text, { file, family });
        const ctx = labContext(family);
        const r = crossCheck(ruleset, ctx, packetsFor(ruleset, ctx, packetsPer(file), 1000 + i));
        total += r.checked;
        certain += r.certainChecks;
        for (const f of r.failures.slice(0, 2)) failures.push(`${path.basename(file)}: ${f}`);
      }
      console.log(
        `fixtures: ${files.length} rulesets, ${total} packet verdicts agree (${certain} against the certain set)`,
      );
      expect(failures).toEqual([]);
      expect(certain).toBeGreaterThan(total / 3);
      // ~300,000 verdicts: about 40 s of CPU alone, several times that on a shared, loaded machine.
    }, 600_000);
  },
);
