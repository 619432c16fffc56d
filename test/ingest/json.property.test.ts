import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJson, toPlain } from '../../src/ingest/json.ts';

const lines = (t: string) => t.split('\n');

describe('parseJson properties', () => {
  it('reads whatever JSON.stringify writes, compact or indented, to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 2, 4), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        const r = parseJson(text, 'f.json');
        expect(r.diagnostics.filter((d) => d.code === 'invalid-json')).toEqual([]);
        // JSON.parse is the reference (it also turns -0 into 0 through stringify)
        expect(r.value && toPlain(r.value)).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on a cut file and points inside the text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (value, cutAt) => {
        const text = JSON.stringify(value, null, 2);
        const cut = text.slice(0, cutAt % (text.length + 1));
        const r = parseJson(cut, 'f.json');
        const complete = cut === text;
        const error = r.diagnostics.find((d) => d.code === 'invalid-json');
        if (complete) return;
        // a prefix of a number or a whole sub-value may itself be valid JSON (e.g. "12" of "123")
        if (error === undefined) {
          expect(() => JSON.parse(cut) as unknown).not.toThrow();
          return;
        }
        expect(r.value).toBeNull();
        const ls = lines(cut);
        expect(error.location.line).toBeGreaterThanOrEqual(1);
        expect(error.location.line).toBeLessThanOrEqual(ls.length);
        expect(error.location.column).toBeLessThanOrEqual(
          (ls[error.location.line - 1]?.length ?? 0) + 1,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('locates each value at the line and column where it starts', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), {
          minKeys: 1,
          maxKeys: 6,
        }),
        (object) => {
          const text = JSON.stringify(object, null, 2);
          const r = parseJson(text, 'f.json');
          if (r.value?.kind !== 'object') throw new Error('expected an object');
          const ls = lines(text);
          for (const entry of r.value.entries) {
            const line = ls[entry.keyLocation.line - 1] ?? '';
            expect(line.slice(entry.keyLocation.column - 1)).toMatch(/^"/);
            const vline = ls[entry.value.location.line - 1] ?? '';
            const rest = vline.slice(entry.value.location.column - 1);
            expect(rest.length).toBeGreaterThan(0);
            expect(rest[0]).not.toBe(' ');
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
