/** Real dockerd captures (20.10, 26.1, 28.5): read without findings and printed back exactly. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIptables } from '../../../src/ingest/iptables/index.ts';
import { printRuleset } from '../../../src/model/print-ruleset.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const captures = resolve(repoRoot, '../shared/captures');

function saveFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) saveFiles(path, out);
    else if (/tables-save$/.test(entry)) out.push(path);
  }
  return out;
}

describe.skipIf(!existsSync(captures))('real Docker captures (../shared/captures)', () => {
  it('reads every iptables-save / ip6tables-save capture cleanly and prints it back exactly', () => {
    const files = saveFiles(captures);
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const r = parseIptables(text, { file });
      expect(
        r.diagnostics.filter((d) => d.severity !== 'note'),
        file,
      ).toEqual([]);
      // Empty captures (dockerd 20.10 wrote no IPv6 rules) carry nothing to tell the family by.
      if (text.length > 0) {
        expect(r.ruleset.family, file).toBe(file.endsWith('ip6tables-save') ? 'ipv6' : 'ipv4');
      }
      const expected = text
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n');
      expect(printRuleset(r.ruleset), file).toBe(expected);
    }
  });
});
