/**
 * Diagnostic codes are a closed list (DIAGNOSTIC_CODES, the type of Diagnostic.code) and each is
 * documented: docs/diagnostics.md has a row for every code and no row for a code that does not
 * exist, and every listed code is one the sources emit.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CODES } from '../../src/model/diagnostic-codes.ts';
import { repoRoot } from '../rules/tester.ts';

/** Every TypeScript file that ships. */
function listSources(): string[] {
  return ['src', 'rules', 'grammar'].flatMap((dir) =>
    readdirSync(path.join(repoRoot, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.tsx?$/.test(f))
      .map((f) => path.join(repoRoot, dir, f)),
  );
}

/** The code column of each table in the document, table by table. */
function documentedTables(): string[][] {
  const tables: string[][] = [];
  let current: string[] | null = null;
  for (const line of readFileSync(path.join(repoRoot, 'docs/diagnostics.md'), 'utf8').split('\n')) {
    const row = /^\|\s*`([a-z0-9-]+)`\s*\|/.exec(line);
    if (row?.[1] !== undefined) {
      current ??= [];
      current.push(row[1]);
    } else if (!line.startsWith('|')) {
      if (current !== null) tables.push(current);
      current = null;
    }
  }
  if (current !== null) tables.push(current);
  return tables;
}

describe('diagnostic codes', () => {
  const tables = documentedTables();
  const documented = new Set(tables.flat());

  it('every code has a row in docs/diagnostics.md, and every row is a code', () => {
    expect(DIAGNOSTIC_CODES.filter((c) => !documented.has(c))).toEqual([]);
    expect(
      [...documented].filter((c) => !(DIAGNOSTIC_CODES as readonly string[]).includes(c)),
    ).toEqual([]);
  });

  it('no table documents a code twice', () => {
    for (const table of tables) expect(table.filter((c, i) => table.indexOf(c) !== i)).toEqual([]);
  });

  it('the list holds no code twice and none that nothing emits', () => {
    expect(new Set(DIAGNOSTIC_CODES).size).toBe(DIAGNOSTIC_CODES.length);
    const sources = listSources()
      .filter((f) => !f.endsWith('diagnostic-codes.ts'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    expect(DIAGNOSTIC_CODES.filter((c) => !sources.includes(`'${c}'`))).toEqual([]);
  });
});
