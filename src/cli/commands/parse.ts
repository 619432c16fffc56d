/**
 * `dockwall parse FILE`: reads one iptables-save / ip6tables-save / iptables-restore /
 * `iptables -S` file, or an nftables listing (`nft list ruleset`, `nft -j list ruleset`), and
 * prints what was understood (tables, chains, rules, unsupported constructs) and every
 * diagnostic. Exit 1 on an error diagnostic, 2 on unreadable input.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseIptables } from '../../ingest/iptables/index.ts';
import { looksLikeNft, parseNft } from '../../ingest/nft/index.ts';
import { readInputFile, SIZE_LIMITS } from '../../ingest/read-input.ts';
import type { Diagnostic, DiagnosticCode, Severity } from '../../model/diagnostic.ts';
import type { NftRuleset, Ruleset, Table } from '../../model/ruleset.ts';
import { tableId } from '../../model/ruleset.ts';
import { safeJson, safeText } from '../../model/safe-text.ts';
import { diagnosticLine } from '../../report/describe.ts';
import type { Command, CommandIo } from '../command.ts';
import { UsageError } from '../command.ts';

const USAGE = `Usage: dockwall parse FILE [--format text|json] [--family ipv4|ipv6]

Reads an iptables-save, ip6tables-save, iptables-restore or \`iptables -S\` file, or an
nftables listing (\`nft list ruleset\` text or \`nft -j list ruleset\` JSON), and prints a summary
(tables, chains with their hooks and priorities, rules, unsupported constructs) and every
diagnostic with its line and column. Exit code: 0 when no error was found, 1 when an error
diagnostic was reported, 2 when the file cannot be read.

Options:
  --format text|json   output format (default text)
  --family ipv4|ipv6   address family of an iptables file (default: from the header or the
                       addresses); nftables listings hold every family`;

interface Summary {
  readonly file: string;
  /** `ipv4` / `ipv6` for iptables files; `any` for nftables listings (tables of every family). */
  readonly family: string;
  readonly kind: string;
  readonly rules: number;
  readonly tables: readonly {
    readonly name: string;
    readonly chains: readonly {
      readonly name: string;
      readonly policy: string | null;
      readonly rules: number;
      /** nftables base chains: `filter forward priority 0`. */
      readonly hook?: string;
    }[];
  }[];
  readonly unsupported: { readonly matches: number; readonly targets: number };
  readonly diagnostics: readonly {
    readonly code: DiagnosticCode;
    readonly severity: Severity;
    readonly message: string;
    readonly file: string;
    readonly line: number;
    readonly column: number;
  }[];
}

export function summarise(
  ruleset: Ruleset | NftRuleset,
  diagnostics: readonly Diagnostic[],
): Summary {
  let rules = 0;
  let unsupportedMatches = 0;
  let unsupportedTargets = 0;
  const tables = ruleset.tables.map((t: Table) => ({
    name: tableId(t),
    chains: t.chains.map((c) => {
      rules += c.rules.length;
      for (const r of c.rules) {
        const steps = (r.steps ?? []).flatMap((s) => (s.kind === 'match' ? [s.module] : []));
        for (const m of [...r.matches, ...steps]) if (!m.known) unsupportedMatches++;
        const actions = [
          r.target,
          ...(r.steps ?? []).map((s) => (s.kind === 'statement' ? s.target : null)),
        ];
        for (const a of actions) if (a?.kind === 'extension') unsupportedTargets++;
      }
      const hook =
        c.base === undefined
          ? {}
          : { hook: `${c.base.type} ${c.base.hook} priority ${c.base.priority}` };
      return { name: c.name, policy: c.policy, rules: c.rules.length, ...hook };
    }),
  }));
  return {
    file: ruleset.file,
    family: 'family' in ruleset ? ruleset.family : 'any',
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
  const nft = summary.kind.startsWith('nft-');
  const header =
    summary.kind === 'list-rules'
      ? 'iptables -S listing'
      : nft
        ? `nftables listing (${summary.kind === 'nft-json' ? 'nft -j' : 'text'})`
        : `${summary.kind} file`;
  out.push(
    `${summary.file}: ${header}, ${nft ? 'all families' : summary.family}, ${summary.rules} rules in ${summary.tables.length} tables`,
  );
  for (const t of summary.tables) {
    out.push(nft ? `  table ${t.name}` : `  *${t.name}`);
    for (const c of t.chains) {
      const hook = c.hook === undefined ? '' : `  (${c.hook})`;
      out.push(`    ${c.name.padEnd(28)} ${(c.policy ?? '-').padEnd(6)} ${c.rules} rules${hook}`);
    }
  }
  const { matches, targets } = summary.unsupported;
  out.push(
    `unsupported constructs: ${matches} match modules, ${targets} targets (kept as written)`,
  );
  const counts = { error: 0, warning: 0, note: 0 } as Record<string, number>;
  for (const d of summary.diagnostics) counts[d.severity] = (counts[d.severity] ?? 0) + 1;
  out.push(`diagnostics: ${counts.error} errors, ${counts.warning} warnings, ${counts.note} notes`);
  const lines = out.map((line) => safeText(line));
  for (const d of summary.diagnostics) {
    lines.push(
      diagnosticLine(
        {
          code: d.code,
          severity: d.severity,
          message: d.message,
          location: { file: d.file, line: d.line, column: d.column },
        },
        { code: true },
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

export const parse: Command = {
  name: 'parse',
  summary:
    'Read an iptables-save / -restore / -S file or an nft listing; report what was understood',
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
    const read = await readInputFile(resolve(io.cwd, file), {
      within: null,
      maxBytes: SIZE_LIMITS.large,
    });
    if (read.status !== 'read') {
      const reason = read.diagnostics[0]?.message ?? `cannot read ${file}: no such file`;
      io.stderr.write(`dockwall parse: ${safeText(reason)}\n`);
      return 2;
    }
    const input = read.text;
    // How the file was decoded (a byte order mark, UTF-16) is said by its own notes.
    const notes = read.diagnostics.map((d) => ({ ...d, location: { ...d.location, file } }));
    let summary: Summary;
    let diagnostics: readonly Diagnostic[];
    if (looksLikeNft(input)) {
      const result = parseNft(input, file);
      diagnostics = [...notes, ...result.diagnostics];
      const kind = input.trimStart().startsWith('{') ? 'nft-json' : 'nft-text';
      const empty: NftRuleset = { file, kind, version: null, tables: [] };
      summary = summarise(result.ruleset ?? empty, diagnostics);
    } else {
      const result = parseIptables(input, family === undefined ? { file } : { file, family });
      diagnostics = [...notes, ...result.diagnostics];
      summary = summarise(result.ruleset, diagnostics);
    }
    io.stdout.write(format === 'json' ? safeJson(summary) : text(summary));
    return diagnostics.some((d) => d.severity === 'error') ? 1 : 0;
  },
};
