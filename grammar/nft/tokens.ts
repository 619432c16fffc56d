/**
 * Tokens of `nft list ruleset` text (and of files written for `nft -f`). Words are runs of
 * anything but blanks, braces, parentheses, `;`, `,`, quotes and `#`; what a word means (a
 * keyword, an address, a range, an operator) is decided by the semantic layer in
 * src/ingest/nft, because nft's own grammar is heavily contextual (`set` is a keyword in
 * `meta mark set 1` and a block in `set blocked { … }`).
 */
import { createToken, Lexer } from 'chevrotain';
import type { ILexerConfig, TokenType } from 'chevrotain';

/** Anything that can be part of a line: words, strings, commas, parentheses and groups. */
export const NftItem = createToken({ name: 'NftItem', pattern: Lexer.NA });

export const NftNewline = createToken({ name: 'NftNewline', pattern: /\r?\n/, line_breaks: true });
export const NftBlank = createToken({
  name: 'NftBlank',
  pattern: /[ \t\f\v\r]+/,
  group: Lexer.SKIPPED,
});
/** `# handle 12` after a rule (`nft -a`), or a comment line; kept aside, not in the grammar. */
export const NftComment = createToken({
  name: 'NftComment',
  pattern: /#[^\n]*/,
  group: 'comments',
});
/** A backslash before a line end continues the line (`nft -f` files). */
export const NftContinuation = createToken({
  name: 'NftContinuation',
  pattern: /\\\r?\n/,
  line_breaks: true,
  group: Lexer.SKIPPED,
});
export const NftString = createToken({
  name: 'NftString',
  pattern: /"(?:[^"\\\n]|\\.)*"?/,
  categories: [NftItem],
});
export const NftLBrace = createToken({ name: 'NftLBrace', pattern: /\{/ });
export const NftRBrace = createToken({ name: 'NftRBrace', pattern: /\}/ });
export const NftSemicolon = createToken({ name: 'NftSemicolon', pattern: /;/ });
export const NftComma = createToken({ name: 'NftComma', pattern: /,/, categories: [NftItem] });
export const NftLParen = createToken({ name: 'NftLParen', pattern: /\(/, categories: [NftItem] });
export const NftRParen = createToken({ name: 'NftRParen', pattern: /\)/, categories: [NftItem] });
export const NftWord = createToken({
  name: 'NftWord',
  pattern: /[^\s{}();,"#\\]+|\\(?!\r?\n)/,
  categories: [NftItem],
});

export const nftTokens: TokenType[] = [
  NftItem,
  NftContinuation,
  NftNewline,
  NftBlank,
  NftComment,
  NftString,
  NftLBrace,
  NftRBrace,
  NftSemicolon,
  NftComma,
  NftLParen,
  NftRParen,
  NftWord,
];

export const NFT_LEXER_CONFIG: ILexerConfig = {
  positionTracking: 'full',
  // Lines end at \n only, as everywhere else in dockwall: a stray \r or U+2028 must not shift
  // the lines and columns of what follows (chevrotain's default counts them as line breaks).
  lineTerminatorsPattern: /\n/g,
  lineTerminatorCharacters: ['\n'],
};

let shared: Lexer | null = null;

/**
 * Built on first use (most audits read no nftables text), without chevrotain's checks of the
 * token definitions, which cannot fail at run time: test/grammar/tokens.test.ts builds the same
 * lexer with them and expects no error or warning.
 */
export function nftLexer(): Lexer {
  shared ??= new Lexer(nftTokens, { ...NFT_LEXER_CONFIG, skipValidations: true });
  return shared;
}
