/**
 * Tokens of iptables-save / iptables-restore / `iptables -S` text.
 *
 * Words follow iptables-restore's own tokeniser (`add_param_to_argv`): blanks separate, only double
 * quotes group, a backslash escapes inside quotes, a quote may open mid-word, and an unterminated
 * quote runs to the end of the line. The grammar only needs the line structure; what an option
 * means is decided by the semantic layer in src/ingest/iptables.
 */
import { createToken, Lexer } from 'chevrotain';
import type { CustomPatternMatcherReturn, ILexerConfig, TokenType } from 'chevrotain';

/** `#` is a comment only as the first non-blank of a line (iptables: only at column 0). */
function matchComment(text: string, offset: number): CustomPatternMatcherReturn | null {
  if (text.charCodeAt(offset) !== 35) return null;
  for (let i = offset - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c === 10) break;
    if (c !== 32 && c !== 9 && c !== 13) return null;
  }
  let end = text.indexOf('\n', offset);
  if (end === -1) end = text.length;
  if (end > offset && text.charCodeAt(end - 1) === 13) end--;
  return [text.slice(offset, end)] as unknown as CustomPatternMatcherReturn;
}

// Inside quotes: anything but `"`, `\` and line ends, or a backslash escape; the closing quote
// may be missing (then the word runs to the end of the line).
const QUOTED = String.raw`"(?:[^"\\\r\n]|\\[^\n]?)*"?`;
const WORD = new RegExp(String.raw`(?:[^\s"]+|${QUOTED})+`);

/**
 * Any word of a command line (options, values, `!`, counters…). The grammar of a rule's words is
 * flat: what each option takes is decided by the option tables of the semantic layer.
 */
export const Item = createToken({ name: 'Item', pattern: Lexer.NA });

export const Newline = createToken({ name: 'Newline', pattern: /\n/, line_breaks: true });
export const Blank = createToken({ name: 'Blank', pattern: /[ \t\r\f\v]+/, group: Lexer.SKIPPED });
export const Comment = createToken({
  name: 'Comment',
  pattern: matchComment,
  line_breaks: false,
  start_chars_hint: ['#'],
});
/**
 * Every character that can start a word. Chevrotain cannot analyse the negated class of WORD;
 * without this hint it would try every token pattern at every position (several times slower).
 * Codes above 255 are grouped by chevrotain into buckets of 255, one member per bucket suffices.
 */
function wordStartChars(): number[] {
  const chars: number[] = [];
  for (let c = 0; c < 256; c++) {
    if (!/\s/.test(String.fromCharCode(c))) chars.push(c);
  }
  for (let c = 256; c < 65536; c += 255) chars.push(c);
  return chars;
}

export const Word = createToken({
  name: 'Word',
  categories: [Item],
  pattern: WORD,
  start_chars_hint: wordStartChars(),
});
/** `*filter` */
export const TableStart = createToken({
  name: 'TableStart',
  categories: [Item],
  pattern: /\*[^\s"]*/,
  longer_alt: Word,
});
/** `:INPUT ACCEPT [0:0]` starts with `:NAME` */
export const ChainStart = createToken({
  name: 'ChainStart',
  categories: [Item],
  pattern: /:[^\s"]+/,
  longer_alt: Word,
});
/** `[12:3456]` */
export const Counters = createToken({
  name: 'Counters',
  categories: [Item],
  pattern: /\[\d+:\d+\]/,
  longer_alt: Word,
});
export const Commit = createToken({
  name: 'Commit',
  categories: [Item],
  pattern: /COMMIT/,
  longer_alt: Word,
});
export const Bang = createToken({
  name: 'Bang',
  categories: [Item],
  pattern: /!/,
  longer_alt: Word,
});
/** `-A`, `--dport`, `-ptcp`, `--source=1.2.3.4` */
export const Option = createToken({
  name: 'Option',
  categories: [Item],
  pattern: /--?[A-Za-z0-9][^\s"]*/,
  longer_alt: Word,
});
/** A `-` alone (the policy of a user chain in `:NAME - [0:0]`). */
export const Dash = createToken({
  name: 'Dash',
  categories: [Item],
  pattern: /-/,
  longer_alt: Word,
});

export const allTokens: TokenType[] = [
  Item,
  Newline,
  Blank,
  Comment,
  Counters,
  TableStart,
  ChainStart,
  Commit,
  Bang,
  Option,
  Dash,
  Word,
];

export const LEXER_CONFIG: ILexerConfig = {
  positionTracking: 'full',
  // Lines end at \n only, as everywhere else in dockwall: a stray \r or U+2028 must not shift
  // the lines and columns of what follows (chevrotain's default counts them as line breaks).
  lineTerminatorsPattern: /\n/g,
  lineTerminatorCharacters: ['\n'],
  // Fails loudly if a token pattern stops the first-character optimisation.
  ensureOptimizations: true,
};

/**
 * Built without chevrotain's checks of the token definitions, which cost every start-up a few
 * milliseconds and cannot fail at run time (the definitions are constants):
 * test/grammar/tokens.test.ts builds the same lexer with them and expects no error or warning.
 */
export const IptablesLexer = new Lexer(allTokens, { ...LEXER_CONFIG, skipValidations: true });
