/**
 * Mutated corpus lines never make the reader throw, and every diagnostic points inside the input.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIptables } from '../../../src/ingest/iptables/index.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const derived = resolve(repoRoot, '../shared/corpora/derived/roundtrip-iptables-1.8.9');

/** Seed lines: real corpus lines when present, plus a built-in sample so the test always runs. */
function seedLines(): string[] {
  const builtIn = [
    '*filter',
    ':INPUT DROP [100:20000]',
    '[5:300] -A INPUT -i lo -j ACCEPT',
    '-A INPUT -s 10.0.0.0/255.0.255.0 -p tcp -m tcp --dport 22 -m comment --comment "a \\"b\\"" -j ACCEPT',
    '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -m multiport ! --dports 80,8000:8080 -j DROP',
    '-A PREROUTING -p tcp -j DNAT --to-destination [2001:db8::1]:8080',
    '-A INPUT -m statistic --mode random ! --probability 0.25 -j LOG --log-prefix "IN: "',
    'COMMIT',
  ];
  const file = resolve(derived, 'fullfile-input.rules');
  const extra = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.length > 0)
    : [];
  return [...builtIn, ...extra];
}

const lines = seedLines();
const tokens = [
  '"',
  '!',
  ' ',
  '-',
  '\\',
  '\r',
  '\t',
  '#',
  '[',
  ']',
  ':',
  ',',
  '/',
  '*',
  'COMMIT',
  '-A',
  '-m',
  '-j',
  '""',
];

/** One mutation of a line: insert, delete or replace characters, drop a token, swap quotes. */
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('insert'),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...tokens), fc.string({ maxLength: 4 })),
  }),
  fc.record({ kind: fc.constant('delete'), at: fc.nat(), length: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('replace'), at: fc.nat(), text: fc.constantFrom(...tokens) }),
  fc.record({ kind: fc.constant('drop-token'), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap-quotes'), at: fc.nat() }),
);

type Mutation = { kind: string; at: number; text?: string; length?: number };

function mutate(line: string, m: Mutation): string {
  const at = line.length === 0 ? 0 : m.at % (line.length + 1);
  switch (m.kind) {
    case 'insert':
      return line.slice(0, at) + (m.text ?? '') + line.slice(at);
    case 'delete':
      return line.slice(0, at) + line.slice(at + (m.length ?? 1));
    case 'replace':
      return line.slice(0, at) + (m.text ?? '') + line.slice(at + 1);
    case 'drop-token': {
      const parts = line.split(' ');
      parts.splice(m.at % Math.max(1, parts.length), 1);
      return parts.join(' ');
    }
    default:
      return line.replace(/["']/g, (q) => (q === '"' ? "'" : '"'));
  }
}

describe('mutated input', () => {
  it('never throws and keeps every diagnostic inside the input', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.array(mutation, { maxLength: 3 })), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.boolean(),
        (picks, crlf) => {
          const body = picks.map(([i, ms]) =>
            ms.reduce((l, m) => mutate(l, m), lines[i % lines.length] ?? ''),
          );
          const text = body.join(crlf ? '\r\n' : '\n');
          const result = parseIptables(text, { file: 'mutated' });
          const inputLines = text.split('\n');
          for (const d of result.diagnostics) {
            expect(d.code).not.toBe('internal-error');
            expect(d.message.length).toBeGreaterThan(0);
            expect(d.location.file).toBe('mutated');
            expect(d.location.line).toBeGreaterThanOrEqual(1);
            expect(d.location.line).toBeLessThanOrEqual(inputLines.length);
            const lineText = inputLines[d.location.line - 1] ?? '';
            expect(d.location.column).toBeGreaterThanOrEqual(1);
            expect(d.location.column).toBeLessThanOrEqual(Math.max(1, lineText.length + 1));
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
