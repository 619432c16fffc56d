/**
 * Walks every file of the shared corpus: nothing throws, save/restore files give no parse
 * errors, transcript-like files give located diagnostics and still their rules.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIptables } from '../../../src/ingest/iptables/index.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const corpora = resolve(repoRoot, '../shared/corpora');
const present = existsSync(join(corpora, 'INDEX.tsv'));

/** Files iptables-restore itself rejects, with the reason (not parser gaps). */
const INVALID_FOR_IPTABLES: Readonly<Record<string, string>> = {
  'dumps/kubernetes-kubernetes/pkg/proxy/iptables/cleanup_test.go__TestCleanupLeftovers_initial.kube-fake-restore':
    "kube-proxy's fake restore fixture: multi-word comments without quotes (iptables: Bad argument)",
};

function walk(dir: string, out: string[]): string[] {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

describe.skipIf(!present)('corpus walk (../shared/corpora)', () => {
  it('reads every dump; save and restore files have no parse errors', () => {
    const index = new Map<string, string[]>();
    for (const line of readFileSync(join(corpora, 'INDEX.tsv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)) {
      const cols = line.split('\t');
      index.set(`${cols[0] ?? ''}/${cols[1] ?? ''}`, cols);
    }
    const files = [...walk(join(corpora, 'dumps'), []), ...walk(join(corpora, 'derived'), [])];
    const byCode = new Map<string, number>();
    let rules = 0;
    const failures: string[] = [];
    let transcripts = 0;
    for (const path of files) {
      const rel = relative(corpora, path);
      const text = readFileSync(path, 'utf8');
      const result = parseIptables(text, { file: rel });
      const lineCount = text.split('\n').length;
      let fileRules = 0;
      for (const t of result.ruleset.tables) for (const c of t.chains) fileRules += c.rules.length;
      rules += fileRules;
      for (const d of result.diagnostics) {
        byCode.set(d.code, (byCode.get(d.code) ?? 0) + 1);
        expect(d.location.line).toBeGreaterThanOrEqual(1);
        expect(d.location.line).toBeLessThanOrEqual(lineCount);
        expect(d.location.column).toBeGreaterThanOrEqual(1);
        expect(d.message.length).toBeGreaterThan(0);
      }
      expect(result.diagnostics.some((d) => d.code === 'internal-error')).toBe(false);
      const row = index.get(rel);
      if (row === undefined) continue;
      const kind = row[2] ?? '';
      const oddities = row[11] ?? '';
      const parseErrors = result.diagnostics.filter((d) => d.code === 'parse-error');
      if (oddities.includes('non-grammar-lines')) {
        transcripts++;
        // Transcript-like: the foreign lines are located, the rules are still read.
        expect(parseErrors.length, rel).toBeGreaterThan(0);
        if (Number(row[5]) > 0) expect(fileRules, rel).toBeGreaterThan(0);
      } else if (
        (kind === 'save' || kind === 'restore') &&
        INVALID_FOR_IPTABLES[rel] === undefined
      ) {
        if (parseErrors.length > 0) failures.push(`${rel}: ${parseErrors[0]?.message ?? ''}`);
      }
    }
    const summary = [...byCode]
      .sort()
      .map(([code, n]) => `${code}=${n}`)
      .join(' ');
    console.log(
      `corpus: ${files.length} files, ${rules} rules, ${transcripts} transcript-like; diagnostics ${summary}; allowed invalid: ${Object.keys(INVALID_FOR_IPTABLES).length}`,
    );
    expect(failures).toEqual([]);
    expect(rules).toBeGreaterThan(60_000);
  });
});
