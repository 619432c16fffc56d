/**
 * The block grammar of nftables text. A file is lines; a line is items; a `{ … }` group nests
 * lines (a chain's body) or values (an anonymous set, a map's elements) — which of the two is
 * decided by the semantic layer from what precedes the group. Line ends and `;` inside a group
 * are kept as separators.
 *
 *   file  = { sep | line }
 *   line  = item { item }
 *   item  = word | string | "," | "(" | ")" | group
 *   group = "{" { item | sep } "}"
 *   sep   = newline | ";"
 */
import { CstParser } from 'chevrotain';
import type { CstNode, IToken } from 'chevrotain';
import { NftItem, NftLBrace, NftNewline, NftRBrace, NftSemicolon, nftTokens } from './tokens.ts';

export class NftParser extends CstParser {
  constructor() {
    super(nftTokens, { recoveryEnabled: true, nodeLocationTracking: 'full' });
    this.performSelfAnalysis();
  }

  public file = this.RULE('file', () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(NftNewline) },
        { ALT: () => this.CONSUME(NftSemicolon) },
        { ALT: () => this.SUBRULE(this.line) },
        // a stray `}` (an unbalanced file): consumed so the rest is still read
        { ALT: () => this.CONSUME(NftRBrace) },
      ]);
    });
  });

  public line = this.RULE('line', () => {
    this.AT_LEAST_ONE(() => this.SUBRULE(this.item));
  });

  public item = this.RULE('item', () => {
    this.OR([{ ALT: () => this.CONSUME(NftItem) }, { ALT: () => this.SUBRULE(this.group) }]);
  });

  public group = this.RULE('group', () => {
    this.CONSUME(NftLBrace);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(NftNewline) },
        { ALT: () => this.CONSUME(NftSemicolon) },
        { ALT: () => this.SUBRULE(this.item) },
      ]);
    });
    this.CONSUME(NftRBrace);
  });
}

let shared: NftParser | null = null;

/** Created once: chevrotain parsers are expensive to build and cheap to reuse. */
export function sharedNftParser(): NftParser {
  shared ??= new NftParser();
  return shared;
}

export interface NftParse {
  readonly cst: CstNode;
  readonly errors: readonly { readonly message: string; readonly token: IToken }[];
}

export function parseNftTokens(tokens: IToken[]): NftParse {
  const parser = sharedNftParser();
  parser.input = tokens;
  const cst = parser.file();
  return { cst, errors: parser.errors.map((e) => ({ message: e.message, token: e.token })) };
}
