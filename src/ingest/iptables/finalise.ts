/**
 * Finalisation: once every line is applied, the drafts become the plain Ruleset — rules numbered
 * in their chains, jumps to chains that never existed reported, the dump's kind decided.
 */
import type { Chain, Diagnostic, Rule, Ruleset, Table } from '../../model/index.ts';
import { diagnostic } from '../../model/diagnostic.ts';
import type { RestoreState, TableDraft } from './restore.ts';

export function finaliseRuleset(s: RestoreState, diagnostics: Diagnostic[]): Ruleset {
  const tables: Table[] = [];
  for (const name of s.tableOrder) {
    const table = s.tables.get(name) as TableDraft;
    const chains: Chain[] = [];
    for (const c of table.chains.values()) {
      const rules: Rule[] = c.rules;
      c.rules.forEach((r, i) => {
        r.index = i + 1;
        r.chain = c.name;
        const t = r.target;
        if (t?.kind === 'jump' && !table.chains.has(t.chain)) {
          diagnostics.push(
            diagnostic(
              'unknown-chain',
              'error',
              `jump to chain '${t.chain}' that is not declared in table ${table.name}`,
              t.location,
            ),
          );
        }
      });
      chains.push({
        name: c.name,
        builtin: c.builtin,
        policy: c.builtin ? c.policy : null,
        counters: c.counters,
        location: c.location,
        rules,
      });
    }
    tables.push({ name: table.name, location: table.location, chains });
  }
  return {
    family: s.family,
    file: s.file,
    kind: s.sawTableLine ? (s.header === null ? 'restore' : 'save') : (s.kind ?? 'restore'),
    header: s.header,
    tables,
  };
}
