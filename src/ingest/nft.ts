/**
 * The nftables ruleset, read only as far as needed to see whether Docker's nftables backend is in
 * use (table `docker-bridges`). Accepts `nft -j list ruleset` JSON or `nft list ruleset` text.
 * Its rules are not analysed one by one; a note diagnostic says so.
 */
import type { Diagnostic } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import { parseJson } from './json.ts';

export interface NftSummary {
  readonly file: string;
  /** `family name` of every table, e.g. `ip docker-bridges`, `ip filter`. */
  readonly tables: readonly {
    readonly family: string;
    readonly name: string;
    readonly line: number;
  }[];
  readonly ruleCount: number;
  /** True when Docker's nftables backend tables are present. */
  readonly dockerTables: boolean;
}

export function loadNftRuleset(
  text: string,
  file: string,
): { summary: NftSummary | null; diagnostics: readonly Diagnostic[] } {
  const trimmed = text.trimStart();
  const diagnostics: Diagnostic[] = [];
  const tables: { family: string; name: string; line: number }[] = [];
  let ruleCount = 0;
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const parsed = parseJson(text, file);
    diagnostics.push(...parsed.diagnostics);
    const top = parsed.value;
    if (top === null) return { summary: null, diagnostics };
    const list =
      top.kind === 'object' ? top.entries.find((e) => e.key === 'nftables')?.value : undefined;
    if (list?.kind !== 'array') {
      diagnostics.push(
        diagnostic(
          'wrong-type',
          'error',
          'expected the {"nftables": [...]} object of `nft -j list ruleset`',
          top.location,
        ),
      );
      return { summary: null, diagnostics };
    }
    for (const item of list.items) {
      if (item.kind !== 'object') continue;
      const first = item.entries[0];
      if (first?.key === 'rule') ruleCount += 1;
      if (first?.key === 'table' && first.value.kind === 'object') {
        const get = (k: string): string => {
          const v =
            first.value.kind === 'object'
              ? first.value.entries.find((e) => e.key === k)?.value
              : undefined;
          return v?.kind === 'string' ? v.value : '';
        };
        tables.push({ family: get('family'), name: get('name'), line: item.location.line });
      }
    }
  } else {
    let depth = 0;
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      const table = /^table\s+(\S+)\s+(\S+)\s*\{/.exec(line);
      if (table !== null && depth === 0) {
        tables.push({ family: table[1] ?? '', name: table[2] ?? '', line: i + 1 });
      } else if (
        depth >= 2 &&
        line !== '' &&
        !line.startsWith('type ') &&
        line !== '}' &&
        !line.endsWith('{')
      ) {
        ruleCount += 1;
      }
      depth += (line.match(/\{/g) ?? []).length - (line.match(/\}/g) ?? []).length;
    });
  }
  const dockerTables = tables.some((t) => t.name === 'docker-bridges');
  diagnostics.push(
    diagnostic(
      'nft-not-analysed',
      'note',
      `nftables ruleset read for backend detection only (${tables.length} tables, ${ruleCount} rules${dockerTables ? ', Docker’s docker-bridges tables present' : ''}); its rules are not analysed one by one`,
      { file, line: 1, column: 1 },
    ),
  );
  return { summary: { file, tables, ruleCount, dockerTables }, diagnostics };
}
