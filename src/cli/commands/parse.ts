/**
 * `dockwall parse FILE`: reads one iptables-save / ip6tables-save / iptables-restore /
 * `iptables -S` file and prints what was understood (tables, chains, rules, unsupported
 * constructs) and every diagnostic. Exit 1 on an error diagnostic, 2 on unreadable input.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseIptables } from '../../ingest/iptables/index.ts';
import type { Diagnostic } from '../../model/diagnostic.ts';
import type { Family, Ruleset } from '../../model/ruleset.ts';
import type { Command, CommandIo } from '../command.ts';
import { UsageError } from '../command.ts';

const USAGE = `Usage: dockwall parse FILE [--format text|json] [--family ipv4|ipv6]

Reads an iptables-save, ip6tables-save, iptables-restore or \`iptables -S\` file and prints a
summary (tables, chains, rules, unsupported constructs) and every diagnostic with its line and
column. Exit code: 0 when no error was found, 1 when an error diagnostic was reported, 2 when the
file cannot be read.

Options:
  --format text|json   output format (default text)
  --family ipv4|ipv6   address family (default: from the header or the addresses)`;

interface Summary {
  readonly file: string;
  readonly family: Family;
  readonly kind: string;
  readonly rules: number;
  readonly tables: readonly {
    readonly name: string;
    readonly chains: readonly {
      readonly name: string;
      readonly policy: string | null;
      readonly rules: number;
    }[];
  }[];
  readonly unsupported: { readonly matches: number; readonly targets: number };
  readonly diagnostics: readonly {
    readonly code: string;
    readonly severity: string;
    readonly message: string;
    readonly file: string;
    readonly line: number;
    readonly column: number;
  }[];
}

export function summarise(ruleset: Ruleset, diagnostics: readonly Diagnostic[]): Summary {
  let rules = 0;
  let unsupportedMatches = 0;
  let unsupportedTargets = 0;
  const tables = ruleset.tables.map((t) => ({
    name: t.name,
    chains: t.chains.map((c) => {
      rules += c.rules.length;
      for (const r of c.rules) {
        for (const m of r.matches) if (!m.known) unsupportedMatches++;
        if (r.target?.kind === 'extension') unsupportedTargets++;
      }
      return { name: c.name, policy: c.policy, rules: c.rules.length };
    }),
  }));
  return {
    file: ruleset.file,
    family: ruleset.family,
    kind: ruleset.kind,
    rules,
    tables,
    unsupported: { matches: unsupportedMatches, targets: unsupportedTargets },
    diagnostics: diagnostics.map((d) => ({
      code: d.code,
      severity: d.severity,
      message: d.message,
      file: d.location.file,
      line: d.location.line,
      column: d.location.column,
    })),
  };
}

function text(summary: Summary): string {
  const out: string[] = [];
  const header = summary.kind === 'list-rules' ? 'iptables -S listing' : `${summary.kind} file`;
  out.push(
    `${summary.file}: ${header}, ${summary.family}, ${summary.rules} rules in ${summary.tables.length} tables`,
  );
  for (const t of summary.tables) {
    out.push(`  *${t.name}`);
    for (const c of t.chains) {
      out.push(`    ${c.name.padEnd(28)} ${(c.policy ?? '-').padEnd(6)} ${c.rules} rules`);
    }
  }
  const { matches, targets } = summary.unsupported;
  out.push(
    `unsupported constructs: ${matches} match modules, ${targets} targets (kept as written)`,
  );
  const counts = { error: 0, warning: 0, note: 0 } as Record<string, number>;
  for (const d of summary.diagnostics) counts[d.severity] = (counts[d.severity] ?? 0) + 1;
  out.push(`diagnostics: ${counts.error} errors, ${counts.warning} warnings, ${counts.note} notes`);
  for (const d of summary.diagnostics) {
    out.push(`${d.file}:${d.line}:${d.column}: ${d.severity} [${d.code}] ${d.message}`);
  }
  return `${out.join('\n')}\n`;
}

export const parse: Command = {
  name: 'parse',
  summary: 'Read an iptables-save / -restore / -S file and report what was understood',
  usage: USAGE,
  async run(argv: readonly string[], io: CommandIo): Promise<number> {
    let values: { format?: string | undefined; family?: string | undefined };
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args: [...argv],
        options: { format: { type: 'string' }, family: { type: 'string' } },
        allowPositionals: true,
      }));
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
    const format = values.format ?? 'text';
    if (format !== 'text' && format !== 'json') throw new UsageError(`unknown format '${format}'`);
    const family = values.family;
    if (family !== undefined && family !== 'ipv4' && family !== 'ipv6') {
      throw new UsageError(`unknown family '${family}'`);
    }
    if (positionals.length !== 1) throw new UsageError('expected exactly one FILE');
    const file = positionals[0] as string;
    let input: string;
    try {
      input = await readFile(resolve(io.cwd, file), 'utf8');
    } catch (e) {
      const reason =
        e instanceof Error && 'code' in e ? String((e as NodeJS.ErrnoException).code) : String(e);
      io.stderr.write(`dockwall parse: cannot read '${file}': ${reason}\n`);
      return 2;
    }
    const result = parseIptables(input, family === undefined ? { file } : { file, family });
    const summary = summarise(result.ruleset, result.diagnostics);
    io.stdout.write(format === 'json' ? `${JSON.stringify(summary, null, 2)}\n` : text(summary));
    return result.diagnostics.some((d) => d.severity === 'error') ? 1 : 0;
  },
};
