/**
 * The line grammar of iptables text. One parser instance is reused for every line: a dump is a
 * sequence of independent lines, so an error is confined to its line (per-line recovery) and
 * the rest of the file is still read.
 *
 *   line        = tableLine | chainLine | commitLine | commandLine | commentLine
 *   tableLine   = "*name"
 *   chainLine   = ":NAME" (policy | "-") [counters]
 *   commitLine  = "COMMIT"
 *   commandLine = [counters] ["!"] option { item }      (e.g. `-A INPUT -p tcp --dport 22 -j ACCEPT`)
 *   item        = any word: "!", option, value, counters, "-" (token category Item)
 */
import { CstParser } from 'chevrotain';
import type { CstNode, IToken } from 'chevrotain';
import {
  allTokens,
  Bang,
  ChainStart,
  Comment,
  Commit,
  Counters,
  Dash,
  Item,
  Option,
  TableStart,
  Word,
} from './tokens.ts';

export class IptablesParser extends CstParser {
  constructor() {
    super(allTokens, { recoveryEnabled: true, nodeLocationTracking: 'full', maxLookahead: 2 });
    this.performSelfAnalysis();
  }

  public line = this.RULE('line', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.tableLine) },
      { ALT: () => this.SUBRULE(this.chainLine) },
      { ALT: () => this.SUBRULE(this.commitLine) },
      { ALT: () => this.SUBRULE(this.commentLine) },
      { ALT: () => this.SUBRULE(this.commandLine) },
    ]);
  });

  public tableLine = this.RULE('tableLine', () => {
    this.CONSUME(TableStart);
  });

  public chainLine = this.RULE('chainLine', () => {
    this.CONSUME(ChainStart);
    this.OPTION(() => {
      this.OR([{ ALT: () => this.CONSUME(Dash) }, { ALT: () => this.CONSUME(Word) }]);
      this.OPTION2(() => this.CONSUME(Counters));
    });
  });

  public commitLine = this.RULE('commitLine', () => {
    this.CONSUME(Commit);
  });

  public commentLine = this.RULE('commentLine', () => {
    this.CONSUME(Comment);
  });

  public commandLine = this.RULE('commandLine', () => {
    this.OPTION(() => this.CONSUME(Counters));
    this.OPTION2(() => this.CONSUME(Bang));
    this.CONSUME(Option);
    this.MANY(() => this.CONSUME(Item));
  });
}

/** Created once: chevrotain parsers are expensive to build and cheap to reuse. */
let shared: IptablesParser | null = null;

export function sharedParser(): IptablesParser {
  shared ??= new IptablesParser();
  return shared;
}

export interface LineParse {
  readonly cst: CstNode;
  readonly errors: readonly { readonly message: string; readonly token: IToken }[];
}

const NO_ERRORS: LineParse['errors'] = [];

/** Parses the tokens of one line. */
export function parseLine(tokens: IToken[]): LineParse {
  const parser = sharedParser();
  parser.input = tokens;
  const cst = parser.line();
  const errors = parser.errors;
  return {
    cst,
    errors:
      errors.length === 0 ? NO_ERRORS : errors.map((e) => ({ message: e.message, token: e.token })),
  };
}
