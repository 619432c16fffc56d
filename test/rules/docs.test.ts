/**
 * Rule docs and registry agree, and the docs' examples are true: every `incorrect` example fires
 * its rule and every `correct` example does not (the way ESLint runs its rule examples).
 */
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { SNAPSHOT_FILE_NAMES } from '../../src/model/snapshot.ts';
import { validateOptions } from '../../src/lint/options.ts';
import type { RuleModule } from '../../src/lint/rule.ts';
import { ruleDocs, ruleDocsUrl } from '../../src/lint/rule.ts';
import type { SnapshotFileRole } from '../../src/model/snapshot.ts';
import { CASE_CONFIG, configOptions, repoRoot, ruleCases, runRule } from './tester.ts';
import { tempDir } from '../support/temp-dir.ts';

const rules = RULES;
const ids = Object.keys(rules).sort();
const SECTIONS = [
  '## Rule Details',
  '## Examples',
  '## Options',
  '## When Not To Use It',
  '## Known Limitations',
];

interface Example {
  readonly file: string;
  readonly kind: 'incorrect' | 'correct';
  readonly base: string;
  readonly text: string;
}

/** Fenced blocks whose info string is `<lang> <file> incorrect|correct base=<dir>`. */
function examples(doc: string): Example[] {
  const out: Example[] = [];
  const re = /^```\w+ (\S+) (incorrect|correct) base=(\S+)\n([\s\S]*?)\n```$/gm;
  for (const m of doc.matchAll(re)) {
    out.push({
      file: m[1] ?? '',
      kind: m[2] as Example['kind'],
      base: m[3] ?? '',
      text: `${m[4] ?? ''}\n`,
    });
  }
  return out;
}

function roleOf(file: string): SnapshotFileRole {
  const found = Object.entries(SNAPSHOT_FILE_NAMES).find(([, names]) => names.includes(file));
  if (found === undefined) throw new Error(`example names unknown snapshot file ${file}`);
  return found[0] as SnapshotFileRole;
}

describe('rule registry, files, docs and fixtures', () => {
  it('every rule file is registered under its file name, and every registered rule has a file', () => {
    const files = readdirSync(path.join(repoRoot, 'rules'))
      .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect(files).toEqual(ids);
  });
  it('every rule has a doc page and every doc page a rule', () => {
    const docs = readdirSync(path.join(repoRoot, 'docs/rules'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => f.replace(/\.md$/, ''))
      .sort();
    expect(docs).toEqual(ids);
  });
  it('every rule has a fixture directory', () => {
    for (const id of ids) expect(ruleCases(id).length, id).toBeGreaterThan(0);
  });
});

const ajv = new Ajv2020({ strict: true, allErrors: true });

for (const id of ids) {
  const rule = rules[id] as RuleModule;
  const docPath = path.join(repoRoot, 'docs/rules', `${id}.md`);
  const doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '';
  describe(`docs/rules/${id}.md`, () => {
    it('meta names the rule by its file name and links its doc page', () => {
      expect(rule.meta.id).toBe(id);
      expect(ruleDocs(rule.meta)).toBe(ruleDocsUrl(id));
    });
    it('front matter matches the rule metadata and the fixed sections are in order', () => {
      expect(doc).toContain(`\nid: ${id}\n`);
      expect(doc).toContain(`\ntype: ${rule.meta.type}\n`);
      expect(doc).toContain(`\nseverity: ${rule.meta.severity}\n`);
      const positions = SECTIONS.map((s) => doc.indexOf(`\n${s}\n`));
      expect(positions.every((p) => p > 0)).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    });
    it('options: defaults validate against the schema (ajv and our validator agree)', () => {
      if (rule.meta.schema === null) {
        expect(rule.meta.defaultOptions).toEqual({});
        return;
      }
      const validate = ajv.compile(rule.meta.schema);
      expect(validate(rule.meta.defaultOptions)).toBe(true);
      expect(validateOptions(rule.meta.schema, rule.meta.defaultOptions)).toEqual([]);
      const bad = { notAnOption: true };
      expect(validate(bad)).toBe(false);
      expect(validateOptions(rule.meta.schema, bad)).not.toEqual([]);
    });
    const found = examples(doc);
    it('has incorrect and correct examples', () => {
      expect(found.some((e) => e.kind === 'incorrect')).toBe(true);
      expect(found.some((e) => e.kind === 'correct')).toBe(true);
    });
    for (const [i, ex] of found.entries()) {
      it(`example ${i + 1} (${ex.kind}, ${ex.file}) ${ex.kind === 'incorrect' ? 'fires' : 'does not fire'}`, async () => {
        const dir = tempDir('dockwall-doc-');
        const file = path.join(dir, ex.file);
        writeFileSync(file, ex.text);
        // an example config configures the rule; any other file replaces the snapshot's
        const isConfig = ex.file === CASE_CONFIG;
        const snapshot = await loadSnapshot({
          directory: path.join(repoRoot, ex.base),
          ...(isConfig ? {} : { files: { [roleOf(ex.file)]: file } }),
        });
        expect(snapshot.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        const options = isConfig ? configOptions(id, file) : {};
        const reports = runRule(rule, snapshot, options).map((r) => `${r.messageId}: ${r.message}`);
        if (ex.kind === 'incorrect') expect(reports.length).toBeGreaterThan(0);
        else expect(reports).toEqual([]);
      });
    }
  });
}
