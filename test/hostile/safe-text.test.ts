/** The one escaper every printer uses: what reaches a terminal, and what JSON keeps. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clip,
  ECHO_LIMIT,
  escapeControls,
  FIELD_LIMIT,
  jsonSafe,
  safeJson,
  safeJsonPieces,
  safeText,
} from '../../src/model/safe-text.ts';
import { RAW_CONTROL } from './support.ts';

describe('escapeControls', () => {
  it('writes ESC, BEL, C1, bidi overrides and separators as visible escapes', () => {
    const hostile = '\u001b]0;PWNED\u0007\u001b[2J\u009b31m\u202eabc\u2066\u2028\ufeff\u007f';
    const out = escapeControls(hostile);
    expect(out).toBe('\\x1b]0;PWNED\\x07\\x1b[2J\\x9b31m\\u202eabc\\u2066\\u2028\\ufeff\\x7f');
    expect(out).not.toMatch(RAW_CONTROL);
  });

  it('leaves ordinary text, including non-Latin letters and emoji, as it is', () => {
    const text = 'shop-web-1 → 172.18.0.2:80 “ok” Ünïcødé 日本 🚀';
    expect(escapeControls(text)).toBe(text);
  });

  it('never lets a control character through, for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        expect(escapeControls(s)).not.toMatch(RAW_CONTROL);
        expect(escapeControls(s)).not.toMatch(/[\t\n\r]/);
      }),
    );
  });
});

describe('clip and safeText', () => {
  it('keep short text whole and cut long text with the count of what was left out', () => {
    expect(clip('abc')).toBe('abc');
    const long = 'A'.repeat(50_000_000);
    const out = safeText(long);
    expect(out.length).toBeLessThanOrEqual(FIELD_LIMIT);
    expect(out).toMatch(/^A+… \(\d+ more characters\)$/);
    const left = Number(/\((\d+) more/.exec(out)?.[1]);
    expect(out.indexOf('…') + left).toBe(50_000_000);
    expect(clip(clip(long, ECHO_LIMIT), ECHO_LIMIT)).toBe(clip(long, ECHO_LIMIT));
  });

  it('never splits a surrogate pair', () => {
    const out = clip('🚀'.repeat(100), 40);
    expect(out).not.toMatch(/\p{Cs}/u);
  });
});

describe('jsonSafe', () => {
  it('keeps the data: the escaped JSON parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (value, s) => {
        const data = { value, s };
        const text = safeJson(data);
        expect(text).not.toMatch(RAW_CONTROL);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(data)));
      }),
    );
  });

  it('leaves no lone surrogate raw (JSON.stringify escapes them; jsonSafe relies on it)', () => {
    const text = safeJson({ high: 'a\ud800', low: '\udc00b', pair: '\ud83d\ude00' });
    expect(text).not.toMatch(/\p{Cs}/u);
    expect(JSON.parse(text)).toEqual({ high: 'a\ud800', low: '\udc00b', pair: '😀' });
  });

  it('escapes C1 controls and bidi overrides JSON.stringify leaves raw', () => {
    expect(jsonSafe(JSON.stringify('a\u009bb\u202ec'))).toBe('"a\\u009bb\\u202ec"');
  });
});

describe('safeJsonPieces', () => {
  it('writes exactly what safeJson writes, in pieces', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue()),
        fc.array(fc.jsonValue()),
        (data, list) => {
          const value = { ...data, list, absent: undefined, empty: [] };
          expect([...safeJsonPieces(value)].join('')).toBe(safeJson(value));
        },
      ),
    );
    expect([...safeJsonPieces({})].join('')).toBe(safeJson({}));
  });

  it('hands a big array on in pieces of about a megabyte', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ id: i, text: 'x'.repeat(200) }));
    const pieces = [...safeJsonPieces({ rows })];
    expect(pieces.length).toBeGreaterThan(3);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(2 * 1024 * 1024);
    expect(pieces.join('')).toBe(safeJson({ rows }));
  });
});
