import { describe, expect, it } from 'vitest';
import { compareDiagnostics, diagnostic } from '../../src/model/diagnostic.ts';

describe('diagnostic ordering', () => {
  it('orders by file, line, column and code', () => {
    const a = diagnostic('unknown-chain', 'error', 'x', { file: 'f', line: 2, column: 1 });
    const b = diagnostic('parse-error', 'error', 'x', { file: 'f', line: 1, column: 5 });
    expect([a, b].sort(compareDiagnostics).map((d) => d.code)).toEqual([
      'parse-error',
      'unknown-chain',
    ]);
  });
});
