/** The iptables grammar: tokens, lexer and the reused line parser. */
export * from './tokens.ts';
export * from './parser.ts';
