/**
 * From grammar tokens to the argument words iptables-restore would see (`add_param_to_argv`):
 * quotes removed, backslash escapes applied inside quotes, unterminated quotes detected.
 */
import type { IToken } from 'chevrotain';

export interface ArgWord {
  /** The argument as iptables sees it. */
  readonly value: string;
  /** The text as written. */
  readonly raw: string;
  /** An option name (`-s`, `--dport`): unquoted and starting with `-`. */
  readonly isOption: boolean;
  /** A bare `!`. */
  readonly isBang: boolean;
  readonly line: number;
  readonly column: number;
  readonly endColumn: number;
  /** The quote that opened at this column was never closed. */
  readonly unterminatedAt: number | null;
}

/** Applies iptables-restore's quoting rules to one whitespace-free-or-quoted token. */
export function unquote(raw: string): { value: string; unterminatedAt: number | null } {
  if (!raw.includes('"')) return { value: raw, unterminatedAt: null };
  let out = '';
  let quoted = false;
  let openedAt = -1;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (quoted && c === '\\' && i + 1 < raw.length) {
      out += raw[i + 1] as string;
      i++;
    } else if (quoted && c === '\\') {
      // A trailing backslash escapes nothing: iptables drops it.
    } else if (c === '"') {
      quoted = !quoted;
      if (quoted) openedAt = i;
    } else {
      out += c;
    }
  }
  return { value: out, unterminatedAt: quoted ? openedAt : null };
}

export function toArgWord(token: IToken): ArgWord {
  const raw = token.image;
  // Most words carry no quote: skip the unquoting (and its allocation) for them.
  let value = raw;
  let unterminatedAt: number | null = null;
  if (raw.includes('"')) ({ value, unterminatedAt } = unquote(raw));
  const column = token.startColumn ?? 1;
  return {
    value,
    raw,
    isOption: raw.length > 1 && raw.charCodeAt(0) === 45 && raw.charCodeAt(0) !== 34,
    isBang: raw === '!',
    line: token.startLine ?? 1,
    column,
    endColumn: token.endColumn ?? column + raw.length - 1,
    unterminatedAt: unterminatedAt === null ? null : column + unterminatedAt,
  };
}
