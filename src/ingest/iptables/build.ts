/**
 * The CST visitor: walks the parsed lines of a dump and builds the Ruleset, applying restore
 * commands (-A -I -D -R -N -X -F -Z -P -E) in order, and reporting every problem as a located
 * Diagnostic. Lines that do not parse are reported and skipped; the rest is still read.
 */
import type { CstNode, IToken } from 'chevrotain';
import {
  ChainStart as ChainStartToken,
  Counters as CountersToken,
  Dash as DashToken,
  IptablesLexer,
  Newline,
  Option as OptionToken,
  parseLine,
  Word as WordToken,
} from '../../../grammar/index.ts';
import type {
  Chain,
  Counters,
  Diagnostic,
  DumpHeader,
  DumpKind,
  Family,
  Policy,
  Rule,
  Ruleset,
  SourceLocation,
  Table,
} from '../../model/index.ts';
import { diagnostic } from '../../model/diagnostic.ts';
import { printRule } from '../../model/print-ruleset.ts';
import type { RuleSpec } from './rule.ts';
import { loc, parseRuleSpec } from './rule.ts';
import type { ArgWord } from './words.ts';
import { toArgWord } from './words.ts';

/**
 * Bytes of text lexed per lexer call (rounded up to a whole line). 16 KiB: a chunk's tokens stay
 * alive while its lines are read, and smaller chunks let fewer of them survive a scavenge
 * (measured faster than 64 KiB and 256 KiB on the 100k-rule dump; 4 KiB gains nothing more).
 */
const CHUNK_SIZE = 1 << 14;

const BUILTIN_CHAINS: Readonly<Record<string, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** A rule while commands still move it: Rule-shaped, so it becomes the model without a copy. */
interface RuleDraft {
  readonly table: string;
  chain: string;
  index: number;
  readonly location: SourceLocation;
  readonly text: string;
  counters: Counters | null;
  readonly core: Rule['core'];
  readonly matches: Rule['matches'];
  target: Rule['target'];
}

interface ChainDraft {
  name: string;
  readonly builtin: boolean;
  policy: Policy | null;
  counters: Counters | null;
  readonly location: SourceLocation;
  rules: RuleDraft[];
}

interface TableDraft {
  readonly name: string;
  readonly location: SourceLocation;
  readonly chains: Map<string, ChainDraft>;
}

const DIALECT_MESSAGES: Readonly<Record<string, string>> = {
  'intrapositioned-negation':
    "old negation placement ('-s ! x', '--dport ! 22'), written by iptables ≤ 1.4.3 and refused by iptables ≥ 1.4.12; read as '! -s x'",
  crlf: 'CRLF line ends (iptables-restore would glue the carriage return to the last word); read as plain line ends',
  'trailing-blank': 'rule lines end with a blank, as iptables ≤ 1.4.10 wrote them',
  'missing-commit':
    'table not closed by COMMIT (iptables-restore refuses this); its rules are still read',
  'dotted-mask':
    'dotted address mask (iptables ≤ 1.3 style); normalised to a prefix length where contiguous',
  'indented-comment': "indented '#' comment (iptables-restore only accepts '#' at column 1)",
  'comma-address-list':
    'comma-separated address list: expanded into one rule per address, as iptables does',
  'no-table':
    "rules outside any '*table' block (iptables -S style); the table is inferred from the built-in chains named by -P (filter when none)",
};

/**
 * The address family of a dump: an `ip6tables-save` header decides; otherwise the addresses in
 * `-s`/`-d` vote (IPv4 wins ties), then ICMPv6 matches.
 */
export function detectFamily(text: string): Family {
  const head = text.slice(0, 4096);
  if (/^#.*ip6tables/m.test(head)) return 'ipv6';
  // Count address votes in the first megabyte (enough for any mixed file, cheap for huge ones).
  const sample = text.length > 1_000_000 ? text.slice(0, 1_000_000) : text;
  const count = (re: RegExp): number => {
    let n = 0;
    while (re.exec(sample) !== null && n < 10_000) n++;
    return n;
  };
  const v6 = count(
    /\s(?:-s|-d|--source|--destination)\s+(?:!\s+)?[0-9a-fA-F]*:[0-9a-fA-F:.]*[/\s]/g,
  );
  const v4 = count(/\s(?:-s|-d|--source|--destination)\s+(?:!\s+)?\d+\.\d+\.\d+\.\d+/g);
  if (v6 > v4) return 'ipv6';
  if (v4 > 0) return 'ipv4';
  if (/\s-p\s+(?:ipv6-icmp|icmpv6)\b|icmpv6-type|\s-m\s+icmp6\b|--reject-with icmp6-/.test(sample))
    return 'ipv6';
  return 'ipv4';
}

/** Without `*table` lines (`iptables -S`), the built-in chains named by `-P` tell the table. */
function guessTable(text: string): string {
  const policies = new Set([...text.matchAll(/^-P\s+(\S+)/gm)].map((m) => m[1] ?? ''));
  if (policies.size === 0) return 'filter';
  const fits = Object.entries(BUILTIN_CHAINS).filter(([, chains]) =>
    [...policies].every((p) => chains.includes(p)),
  );
  fits.sort((a, b) => a[1].length - b[1].length);
  const exact = fits.find(([, chains]) => chains.length === policies.size);
  return exact?.[0] ?? fits[0]?.[0] ?? 'filter';
}

function tokenLocation(file: string, t: IToken): SourceLocation {
  const line = t.startLine ?? 1;
  const column = t.startColumn ?? 1;
  return { file, line, column, endLine: t.endLine ?? line, endColumn: (t.endColumn ?? column) + 1 };
}

function parseCounters(image: string): Counters {
  const m = /^\[(\d+):(\d+)\]$/.exec(image);
  return { packets: BigInt(m?.[1] ?? '0'), bytes: BigInt(m?.[2] ?? '0') };
}

export interface BuildResult {
  readonly ruleset: Ruleset;
  readonly diagnostics: Diagnostic[];
}

export function buildRuleset(
  text: string,
  file: string,
  familyOption: Family | undefined,
): BuildResult {
  const diagnostics: Diagnostic[] = [];
  const family = familyOption ?? detectFamily(text);
  const dialectSeen = new Map<string, { location: SourceLocation; count: number }>();
  const dialect = (kind: string, location: SourceLocation): void => {
    const seen = dialectSeen.get(kind);
    if (seen === undefined) dialectSeen.set(kind, { location, count: 1 });
    else seen.count++;
  };

  const tables = new Map<string, TableDraft>();
  const tableOrder: string[] = [];
  let current: TableDraft | null = null;
  let header: DumpHeader | null = null;
  let kind: DumpKind | null = null;
  let sawTableLine = false;

  const crIndex = text.indexOf('\r\n');
  if (crIndex !== -1) {
    const line = countLines(text, crIndex);
    dialect('crlf', { file, line, column: crIndex - text.lastIndexOf('\n', crIndex - 1) });
  }

  const openTable = (name: string, location: SourceLocation): TableDraft => {
    const existing = tables.get(name);
    // A table given twice is flushed and filled again, as iptables-restore does.
    const table: TableDraft = { name, location: existing?.location ?? location, chains: new Map() };
    for (const chain of BUILTIN_CHAINS[name] ?? []) {
      table.chains.set(chain, {
        name: chain,
        builtin: true,
        policy: 'ACCEPT',
        counters: null,
        location,
        rules: [],
      });
    }
    if (existing === undefined) tableOrder.push(name);
    tables.set(name, table);
    return table;
  };

  const ensureTable = (location: SourceLocation): TableDraft => {
    if (current !== null) return current;
    dialect('no-table', location);
    const name = guessTable(text);
    current = tables.get(name) ?? openTable(name, location);
    return current;
  };

  // The line being read (without its terminator); lines are lexed one at a time so that only
  // one line's tokens are alive at once.
  let lineStr = '';
  const lineText = (_first: IToken): string =>
    lineStr.charCodeAt(lineStr.length - 1) === 13 ? lineStr.slice(0, -1) : lineStr;

  const chainOf = (table: TableDraft, w: ArgWord, create: boolean): ChainDraft | null => {
    const chain = table.chains.get(w.value);
    if (chain !== undefined) return chain;
    if (!create) {
      diagnostics.push(
        diagnostic(
          'unknown-chain',
          'error',
          `chain '${w.value}' does not exist in table ${table.name}`,
          loc(file, w),
        ),
      );
      return null;
    }
    diagnostics.push(
      diagnostic(
        'unknown-chain',
        'error',
        `rule added to chain '${w.value}' that was not declared in table ${table.name}; chain created`,
        loc(file, w),
      ),
    );
    const created: ChainDraft = {
      name: w.value,
      builtin: false,
      policy: null,
      counters: null,
      location: loc(file, w),
      rules: [],
    };
    table.chains.set(w.value, created);
    return created;
  };

  // The text is lexed in chunks of whole lines: one lexer call per chunk keeps the lexer's
  // per-call cost low, and only one chunk's tokens are alive at a time.
  let lineBase = 0;
  for (let pos = 0; pos < text.length;) {
    let end = pos + CHUNK_SIZE >= text.length ? -1 : text.indexOf('\n', pos + CHUNK_SIZE);
    end = end === -1 ? text.length : end + 1;
    const chunk = text.slice(pos, end);
    pos = end;
    const lexed = IptablesLexer.tokenize(chunk);
    for (const e of lexed.errors) {
      diagnostics.push(
        diagnostic('parse-error', 'error', `unexpected character '${chunk.charAt(e.offset)}'`, {
          file,
          line: lineBase + (e.line ?? 1),
          column: e.column ?? 1,
        }),
      );
    }
    const all = lexed.tokens;
    let next = 0;
    let lineStart = 0;
    let newlines = 0;
    for (let more = true; more;) {
      const tokens: IToken[] = [];
      let newline: IToken | undefined;
      while (next < all.length) {
        const t = all[next++] as IToken;
        if (t.tokenType === Newline) {
          newline = t;
          break;
        }
        tokens.push(t);
      }
      more = newline !== undefined;
      lineStr = chunk.slice(lineStart, newline === undefined ? chunk.length : newline.startOffset);
      const lineNo = lineBase + newlines + 1;
      if (newline !== undefined) {
        lineStart = newline.startOffset + 1;
        newlines++;
      }
      if (tokens.length === 0) continue;
      for (const t of tokens) {
        t.startLine = lineNo;
        t.endLine = lineNo;
      }
      const first = tokens[0] as IToken;
      // Fast path: a line opening with an option (`-A …`, `[0:0] -A …`) is always a valid
      // commandLine, since every other token is an Item; the semantic layer reads its tokens
      // directly, so the CST the parser would build is skipped. All other lines go through it.
      const second = tokens[1];
      if (
        first.tokenType === OptionToken ||
        (first.tokenType === CountersToken && second?.tokenType === OptionToken)
      ) {
        commandLine(tokens, first);
        continue;
      }
      // Same for a plain chain line (`:NAME POLICY [p:b]`), the other common line of a dump.
      let lineKind: string | undefined;
      const n = tokens.length;
      if (
        first.tokenType === ChainStartToken &&
        (n === 1 ||
          ((second?.tokenType === DashToken || second?.tokenType === WordToken) &&
            (n === 2 || (n === 3 && tokens[2]?.tokenType === CountersToken))))
      ) {
        lineKind = 'chainLine';
      } else {
        lineKind = cstLineKind(tokens, first);
        if (lineKind === undefined) continue;
      }
      switch (lineKind) {
        case 'commentLine': {
          const image = first.image;
          if (first.startColumn !== 1) dialect('indented-comment', tokenLocation(file, first));
          const m = /^# Generated by (\S+) v(\S+)( \(nf_tables\))?/.exec(image);
          if (m !== null && header === null) {
            const producer = m[1] ?? '';
            header = {
              producer,
              version: m[2] ?? '',
              backend:
                m[3] !== undefined || producer.includes('nft') || producer.startsWith('xtables')
                  ? 'nft'
                  : 'legacy',
              location: tokenLocation(file, first),
            };
          }
          break;
        }
        case 'tableLine': {
          const name = first.image.slice(1);
          const location = tokenLocation(file, first);
          sawTableLine = true;
          if (current !== null) dialect('missing-commit', location);
          if (BUILTIN_CHAINS[name] === undefined) {
            diagnostics.push(
              diagnostic('parse-error', 'error', `table name '${name}' invalid`, location),
            );
            current = null;
            break;
          }
          current = openTable(name, location);
          break;
        }
        case 'chainLine': {
          const location = tokenLocation(file, first);
          const table = ensureTable(location);
          const name = first.image.slice(1);
          const policyToken = tokens[1];
          const countersToken = tokens.find((t) => t.image.startsWith('['));
          const policyText =
            policyToken === undefined || policyToken.image.startsWith('[')
              ? '-'
              : policyToken.image;
          const counters = countersToken === undefined ? null : parseCounters(countersToken.image);
          const builtin = (BUILTIN_CHAINS[table.name] ?? []).includes(name);
          if (name.length > 28) {
            diagnostics.push(
              diagnostic(
                'parse-error',
                'error',
                `chain name '${name}' is longer than 28 characters`,
                location,
              ),
            );
          }
          if (builtin) {
            const chain = table.chains.get(name) as ChainDraft;
            if (policyText === 'ACCEPT' || policyText === 'DROP') chain.policy = policyText;
            else if (policyText !== '-') {
              diagnostics.push(
                diagnostic(
                  'parse-error',
                  'error',
                  `bad policy '${policyText}' for built-in chain ${name}`,
                  tokenLocation(file, policyToken as IToken),
                ),
              );
            }
            chain.counters = counters;
          } else {
            if (policyText !== '-') {
              diagnostics.push(
                diagnostic(
                  'parse-error',
                  'error',
                  `user chain '${name}' cannot have policy '${policyText}'`,
                  tokenLocation(file, policyToken as IToken),
                ),
              );
            }
            if (table.chains.has(name)) {
              diagnostics.push(
                diagnostic(
                  'duplicate-chain',
                  'error',
                  `chain '${name}' declared twice in table ${table.name}`,
                  location,
                ),
              );
            } else {
              table.chains.set(name, {
                name,
                builtin: false,
                policy: null,
                counters,
                location,
                rules: [],
              });
            }
          }
          break;
        }
        case 'commitLine':
          if (current === null) {
            diagnostics.push(
              diagnostic(
                'parse-error',
                'error',
                'COMMIT without a table',
                tokenLocation(file, first),
              ),
            );
          }
          current = null;
          break;
        case 'commandLine':
          commandLine(tokens, first);
          break;
      }
    }
    lineBase += newlines;
  }
  // A -S listing has no COMMIT to miss.
  if (current !== null && sawTableLine) {
    const t: TableDraft = current;
    dialect('missing-commit', t.location);
  }

  /** Parses an unusual line with the grammar: its kind, or undefined when reported as an error. */
  function cstLineKind(tokens: IToken[], first: IToken): string | undefined {
    const parsed = parseLine(tokens);
    if (parsed.errors.length > 0) {
      const e = parsed.errors[0];
      const at =
        // Chevrotain reports a missing token at a virtual EOF token (no position): use the line start.
        e !== undefined && e.token.startOffset >= 0 && e.token.tokenType.name !== 'EOF'
          ? e.token
          : first;
      const shown = lineText(first);
      diagnostics.push(
        diagnostic(
          'parse-error',
          'error',
          `not an iptables line: '${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown}'`,
          tokenLocation(file, at),
          'remove shell prompts and command output around the dump',
        ),
      );
      return undefined;
    }
    const lineNode = parsed.cst.children;
    const child = (lineNode.commandLine ??
      lineNode.commentLine ??
      lineNode.chainLine ??
      lineNode.tableLine ??
      lineNode.commitLine)?.[0] as CstNode | undefined;
    return child?.name;
  }

  function commandLine(tokens: IToken[], first: IToken): void {
    const words: ArgWord[] = [];
    let prefixCounters: Counters | null = null;
    for (const t of tokens) {
      if (words.length === 0 && prefixCounters === null && /^\[\d+:\d+\]$/.test(t.image)) {
        prefixCounters = parseCounters(t.image);
        continue;
      }
      words.push(toArgWord(t));
    }
    for (const w of words) {
      if (w.unterminatedAt !== null) {
        diagnostics.push(
          diagnostic(
            'unterminated-quote',
            'error',
            'quote not closed: iptables reads the rest of the line as one word',
            {
              file,
              line: w.line,
              column: w.unterminatedAt,
            },
          ),
        );
      }
    }
    const last = tokens[tokens.length - 1] as IToken;
    const lineEnd = lineStr.charCodeAt(last.endColumn ?? lineStr.length);
    if (lineEnd === 32 || lineEnd === 9) dialect('trailing-blank', tokenLocation(file, last));
    if (first.startColumn !== 1 && !first.image.startsWith('[')) {
      // Leading blanks are accepted by iptables-restore; nothing to report.
    }
    const location = tokenLocation(file, first);
    if (!sawTableLine && kind === null) kind = 'list-rules';
    applyCommand(words, prefixCounters, location, lineText(first));
  }

  function applyCommand(
    words: ArgWord[],
    prefixCounters: Counters | null,
    location: SourceLocation,
    textLine: string,
  ): void {
    // `-4`/`-6` before a command: the line belongs to one family only.
    const famWord = words[0]?.value;
    if (famWord === '-4' || famWord === '-6') {
      if ((famWord === '-4') !== (family === 'ipv4')) return;
      words = words.slice(1);
    }
    const cmd = words[0];
    if (cmd === undefined) return;
    const name = COMMAND_MAP.get(cmd.value);
    if (name === undefined) {
      diagnostics.push(
        diagnostic('parse-error', 'error', `unknown command '${cmd.value}'`, loc(file, cmd)),
      );
      return;
    }
    const table = ensureTable(location);
    const chainWord = words[1];
    const ruleWords = (from: number): ArgWord[] => words.slice(from);
    const ctx = {
      file,
      family,
      diagnostics,
      dialect,
      chainExists: (n: string): boolean => table.chains.has(n),
    };
    const needChain = (): ArgWord | null => {
      if (chainWord === undefined || chainWord.isOption || chainWord.isBang) {
        diagnostics.push(
          diagnostic(
            'parse-error',
            'error',
            `option '${cmd.value}' requires a chain name`,
            loc(file, cmd),
          ),
        );
        return null;
      }
      return chainWord;
    };
    const number = (w: ArgWord | undefined): number | null =>
      w !== undefined && /^\d+$/.test(w.value) ? Number(w.value) : null;
    const drafts = (specs: RuleSpec[] | null, chain: string): RuleDraft[] =>
      (specs ?? []).map((spec) =>
        draftOf(table.name, chain, spec, location, textLine, prefixCounters ?? spec.counters),
      );

    switch (name) {
      case 'A':
      case 'I': {
        const cw = needChain();
        if (cw === null) return;
        const chain = chainOf(table, cw, true);
        if (chain === null) return;
        let at = name === 'A' ? chain.rules.length : 0;
        let from = 2;
        if (name === 'I') {
          const pos = number(words[2]);
          if (pos !== null) {
            from = 3;
            if (pos < 1 || pos > chain.rules.length + 1) {
              diagnostics.push(
                diagnostic(
                  'parse-error',
                  'error',
                  `index ${pos} of insertion too big`,
                  loc(file, words[2] as ArgWord),
                ),
              );
              return;
            }
            at = pos - 1;
          }
        }
        const added = drafts(parseRuleSpec(ruleWords(from), ctx), chain.name);
        if (at === chain.rules.length) for (const d of added) chain.rules.push(d);
        else chain.rules.splice(at, 0, ...added);
        return;
      }
      case 'R':
      case 'D': {
        const cw = needChain();
        if (cw === null) return;
        const chain = chainOf(table, cw, false);
        if (chain === null) return;
        const pos = number(words[2]);
        if (name === 'D' && pos === null) {
          const specs = parseRuleSpec(ruleWords(2), ctx);
          if (specs === null) return;
          for (const spec of specs) {
            const wanted = printRule(
              draftOf(table.name, chain.name, spec, location, textLine, null),
            );
            const idx = chain.rules.findIndex((r) => printRule(r) === wanted);
            if (idx === -1) {
              diagnostics.push(
                diagnostic(
                  'parse-error',
                  'error',
                  'rule to delete does not exist (bad rule)',
                  location,
                ),
              );
            } else {
              chain.rules.splice(idx, 1);
            }
          }
          return;
        }
        if (pos === null || pos < 1 || pos > chain.rules.length) {
          diagnostics.push(
            diagnostic(
              'parse-error',
              'error',
              `index of ${name === 'D' ? 'deletion' : 'replacement'} too big`,
              loc(file, words[2] ?? cw),
            ),
          );
          return;
        }
        if (name === 'D') chain.rules.splice(pos - 1, 1);
        else {
          const replacement = drafts(parseRuleSpec(ruleWords(3), ctx), chain.name);
          chain.rules.splice(pos - 1, 1, ...replacement);
        }
        return;
      }
      case 'N': {
        const cw = needChain();
        if (cw === null) return;
        if (table.chains.has(cw.value)) {
          diagnostics.push(
            diagnostic(
              'duplicate-chain',
              'error',
              `chain '${cw.value}' already exists in table ${table.name}`,
              loc(file, cw),
            ),
          );
          return;
        }
        table.chains.set(cw.value, {
          name: cw.value,
          builtin: false,
          policy: null,
          counters: null,
          location: loc(file, cw),
          rules: [],
        });
        return;
      }
      case 'X':
      case 'F':
      case 'Z': {
        const targets =
          chainWord === undefined || chainWord.isOption
            ? [...table.chains.values()].filter((c) => name !== 'X' || !c.builtin)
            : [chainOf(table, chainWord, false)].filter((c): c is ChainDraft => c !== null);
        for (const c of targets) {
          if (name === 'F') c.rules = [];
          else if (name === 'Z') {
            c.counters = c.counters === null ? null : { packets: 0n, bytes: 0n };
            for (const r of c.rules)
              r.counters = r.counters === null ? null : { packets: 0n, bytes: 0n };
          } else if (c.builtin) {
            diagnostics.push(
              diagnostic(
                'parse-error',
                'error',
                `cannot delete built-in chain '${c.name}'`,
                location,
              ),
            );
          } else {
            table.chains.delete(c.name);
          }
        }
        return;
      }
      case 'P': {
        const cw = needChain();
        if (cw === null) return;
        const policy = words[2];
        const chain = table.chains.get(cw.value);
        if (chain === undefined || !chain.builtin) {
          diagnostics.push(
            diagnostic(
              'parse-error',
              'error',
              `cannot set policy on '${cw.value}': not a built-in chain of table ${table.name}`,
              loc(file, cw),
            ),
          );
          return;
        }
        if (policy?.value !== 'ACCEPT' && policy?.value !== 'DROP') {
          diagnostics.push(
            diagnostic(
              'parse-error',
              'error',
              `bad policy '${policy?.value ?? ''}'`,
              loc(file, policy ?? cw),
            ),
          );
          return;
        }
        chain.policy = policy.value;
        const c = words.findIndex((w) => w.value === '-c');
        if (
          c !== -1 &&
          words[c + 2] !== undefined &&
          /^\d+$/.test(words[c + 1]?.value ?? '') &&
          /^\d+$/.test(words[c + 2]?.value ?? '')
        ) {
          chain.counters = {
            packets: BigInt(words[c + 1]?.value ?? '0'),
            bytes: BigInt(words[c + 2]?.value ?? '0'),
          };
        }
        return;
      }
      case 'E': {
        const cw = needChain();
        const to = words[2];
        if (cw === null) return;
        if (to === undefined) {
          diagnostics.push(
            diagnostic(
              'parse-error',
              'error',
              '-E requires the old and the new chain name',
              loc(file, cw),
            ),
          );
          return;
        }
        const chain = chainOf(table, cw, false);
        if (chain === null) return;
        table.chains.delete(cw.value);
        chain.name = to.value;
        table.chains.set(to.value, chain);
        // Jumps follow the chain, as in the kernel.
        for (const c of table.chains.values()) {
          for (const r of c.rules) {
            const t = r.target;
            if (t?.kind === 'jump' && t.chain === cw.value) r.target = { ...t, chain: to.value };
          }
        }
        return;
      }
    }
  }

  // Close: jumps to chains that never existed, then plain data.
  const outTables: Table[] = [];
  for (const name of tableOrder) {
    const table = tables.get(name) as TableDraft;
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
    outTables.push({ name: table.name, location: table.location, chains });
  }

  for (const [k, { location, count }] of dialectSeen) {
    const message = DIALECT_MESSAGES[k] ?? k;
    diagnostics.push(
      diagnostic(
        'dialect-note',
        'note',
        count > 1 ? `${message} (${count} places; first here)` : message,
        location,
      ),
    );
  }

  const ruleset: Ruleset = {
    family,
    file,
    kind: sawTableLine ? (header === null ? 'restore' : 'save') : (kind ?? 'restore'),
    header,
    tables: outTables,
  };
  return { ruleset, diagnostics };
}

function draftOf(
  table: string,
  chain: string,
  spec: RuleSpec,
  location: SourceLocation,
  text: string,
  counters: Counters | null,
): RuleDraft {
  return {
    table,
    chain,
    index: 0,
    location,
    text,
    counters,
    core: spec.core,
    matches: spec.matches,
    target: spec.target,
  };
}

function countLines(text: string, offset: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

const COMMANDS: Readonly<Record<string, string>> = {
  '-A': 'A',
  '--append': 'A',
  '-I': 'I',
  '--insert': 'I',
  '-D': 'D',
  '--delete': 'D',
  '-R': 'R',
  '--replace': 'R',
  '-N': 'N',
  '--new-chain': 'N',
  '--new': 'N',
  '-X': 'X',
  '--delete-chain': 'X',
  '-F': 'F',
  '--flush': 'F',
  '-Z': 'Z',
  '--zero': 'Z',
  '-P': 'P',
  '--policy': 'P',
  '-E': 'E',
  '--rename-chain': 'E',
};

const COMMAND_MAP: ReadonlyMap<string, string> = new Map(Object.entries(COMMANDS));
