/** The nftables text grammar: tokens, lexer and the block parser. */
export * from './tokens.ts';
export * from './parser.ts';
