/**
 * Parse then print gives iptables' own canonical text: the netfilter extension test pairs and
 * the iptables 1.8.9 save files and rule round trips.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIptables } from '../../../src/ingest/iptables/index.ts';
import type { Family } from '../../../src/model/ruleset.ts';
import { printRule, printRuleset } from '../../../src/model/print-ruleset.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const derived = resolve(repoRoot, '../shared/corpora/derived');
const present = existsSync(derived);

/** Round trips dockwall does not reproduce, with the reason for each. */
const NOT_REPRODUCED: Readonly<Record<string, string>> = {
  c14: 'the stored save text is cut at an embedded line break of the comment (TSV cell), so there is no exact text to compare',
};

function printOne(
  table: string,
  chain: string,
  spec: string,
  family: Family,
): { text: string; errors: string[] } {
  const r = parseIptables(`*${table}\n:${chain} ACCEPT [0:0]\n-A ${chain} ${spec}\nCOMMIT\n`, {
    file: 't',
    family,
  });
  const rules = r.ruleset.tables.flatMap((t) => t.chains.flatMap((c) => c.rules));
  return {
    text: rules.map(printRule).join(' || '),
    errors: r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message),
  };
}

describe.skipIf(!present)('round trip against iptables (../shared/corpora/derived)', () => {
  it('reproduces every OK pair of extensions-t-canonical.tsv exactly', () => {
    const lines = readFileSync(
      join(derived, 'netfilter-extensions-t/extensions-t-canonical.tsv'),
      'utf8',
    )
      .split('\n')
      .slice(1);
    const mismatches: string[] = [];
    let checked = 0;
    for (const line of lines) {
      const [file = '', fam, table = '', chain = '', input = '', canonical = '', result] =
        line.split('\t');
      if (result !== 'OK') continue;
      const families: Family[] =
        fam === 'both'
          ? ['ipv4', 'ipv6']
          : [fam === 'ipv6' || file.startsWith('libip6t') ? 'ipv6' : 'ipv4'];
      for (const family of families) {
        checked++;
        const got = printOne(table, chain, input, family);
        const want = `-A ${chain} ${canonical}`.trimEnd();
        if (got.text !== want || got.errors.length > 0)
          mismatches.push(
            `${file} ${family}: ${input} → ${got.text} (want ${want}) ${got.errors.join('; ')}`,
          );
      }
    }
    expect(checked).toBeGreaterThan(1000);
    expect(mismatches).toEqual([]);
  });

  it('reproduces the 1.8.9 rule round trips (nft output; legacy where both agree)', () => {
    const rows = readFileSync(
      join(derived, 'roundtrip-iptables-1.8.9/roundtrip-results.tsv'),
      'utf8',
    )
      .trim()
      .split('\n')
      .slice(1);
    const mismatches: string[] = [];
    let checked = 0;
    for (const row of rows) {
      const [id = '', fam, table = '', chain = '', input = '', , nft = ''] = row.split('\t');
      if (nft === '' || NOT_REPRODUCED[id] !== undefined) continue;
      checked++;
      const got = printOne(table, chain, input, fam === '6' ? 'ipv6' : 'ipv4');
      if (got.text !== nft) mismatches.push(`${id}: ${input} → ${got.text} (want ${nft})`);
    }
    expect(checked).toBeGreaterThan(150);
    expect(mismatches).toEqual([]);
  });

  for (const name of [
    'fullfile-legacy-save.txt',
    'fullfile-legacy-save-c.txt',
    'fullfile-nft-save.txt',
    'fullfile-nft-save-c.txt',
  ]) {
    it(`prints ${name} back exactly (comment lines aside)`, () => {
      const text = readFileSync(join(derived, 'roundtrip-iptables-1.8.9', name), 'utf8');
      const r = parseIptables(text, { file: name });
      expect(r.diagnostics.filter((d) => d.severity !== 'note')).toEqual([]);
      const expected = text
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n');
      expect(printRuleset(r.ruleset)).toBe(expected);
    });
  }
});
