import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/ingest/json.ts';
import { getEntry, parseJson, toPlain } from '../../src/ingest/json.ts';

function only(text: string) {
  const r = parseJson(text, 'f.json');
  const d = r.diagnostics.find((x) => x.code === 'invalid-json');
  return { r, d };
}

describe('parseJson', () => {
  it('reads values with the line and column of every key and value', () => {
    const { r } = only('{\n  "a": [1, true, null],\n  "b": {"c": "x\\u00e9"}\n}');
    const top = r.value;
    if (top?.kind !== 'object') throw new Error('expected object');
    const a = getEntry(top, 'a');
    expect(a?.keyLocation).toMatchObject({ line: 2, column: 3 });
    expect(a?.value.location).toMatchObject({ line: 2, column: 8 });
    const b = getEntry(top, 'b')?.value as JsonValue & { kind: 'object' };
    expect(getEntry(b, 'c')?.value.location).toMatchObject({ line: 3, column: 14 });
    expect(toPlain(top)).toEqual({ a: [1, true, null], b: { c: 'xé' } });
    expect(r.diagnostics).toEqual([]);
  });

  it('rejects a trailing comma at its position', () => {
    const { r, d } = only('{"a": 1,\n}');
    expect(r.value).toBeNull();
    expect(d?.message).toMatch(/trailing comma before '}'/);
    expect(d?.location).toMatchObject({ line: 2, column: 1 });
    expect(only('[1,2,]').d?.message).toMatch(/trailing comma before '\]'/);
  });

  it('rejects comments', () => {
    const { d } = only('{\n  // note\n  "a": 1}');
    expect(d?.message).toMatch(/comments are not allowed/);
    expect(d?.location).toMatchObject({ line: 2, column: 3 });
    expect(only('{"a": 1 /* x */}').d?.location).toMatchObject({ line: 1, column: 9 });
  });

  it('says where a truncated file ends and which bracket is open, keeping complete items', () => {
    const { r, d } = only('[\n  {"Id": "a"},\n  {"Id": "b"},\n  {"Id": "c", "Na');
    expect(r.value).toBeNull();
    expect(d?.message).toMatch(/end of file inside the string/);
    expect(d?.location).toMatchObject({ line: 4, column: 18 });
    expect(r.partial?.kind).toBe('array');
    expect(r.partial && toPlain(r.partial)).toEqual([{ Id: 'a' }, { Id: 'b' }]);
    expect(only('[1, 2').d?.message).toMatch(/the array opened at 1:1 is not closed/);
    expect(only('{"a": {"b": 1}').d?.message).toMatch(/the object opened at 1:1 is not closed/);
  });

  it('rejects single quotes, bare words, leading zeros, empty files and trailing garbage', () => {
    expect(only("{'a': 1}").d?.message).toMatch(/double quotes/);
    expect(only('{"a": yes}').d?.message).toMatch(/unexpected word 'yes'/);
    expect(only('{"a": 01}').d?.message).toMatch(/invalid number/);
    expect(only('').d?.message).toMatch(/empty/);
    expect(only('{} x').d?.location).toMatchObject({ line: 1, column: 4 });
    expect(only('"a\nb"').d?.message).toMatch(/line break inside the string/);
  });

  it('warns about duplicate keys and keeps the last, as decoders do', () => {
    const r = parseJson('{"a": 1, "a": 2}', 'f.json');
    expect(r.diagnostics.map((d) => d.code)).toEqual(['duplicate-json-key']);
    expect(r.value && toPlain(r.value)).toEqual({ a: 2 });
  });
});
