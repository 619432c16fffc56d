/**
 * Text that came from input, made safe to print. Snapshots are written by strangers: a rule
 * comment, a container name or a file name can carry terminal escape sequences (a title change,
 * a cleared screen, a fake green summary), bidi overrides that reorder what is read, or a
 * 50 MB token. Every printer — text, Markdown, JSON, SARIF, the CLI's messages and the review
 * UI — passes input-derived text through here; ingest clips what it quotes in messages.
 */

/** Longest piece of input quoted inside one of our sentences (`unexpected word '…'`). */
export const ECHO_LIMIT = 80;

/** Longest single field (a message, a rule's text, a name) a printer writes. */
export const FIELD_LIMIT = 1000;

/**
 * Characters that must never reach a terminal raw: C0 and C1 controls and DEL (escape
 * sequences, bells, carriage returns), lone surrogates, bidi embeddings, overrides, isolates
 * and marks (they reorder the text that follows), line and paragraph separators, and the
 * invisible zero-width space and byte order mark.
 */
const UNSAFE = /[\p{Cc}\p{Cs}\u061c\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/u;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'gu');

/**
 * What JSON.stringify leaves raw of the above: everything but C0 controls (it escapes those in
 * strings; outside strings they are its own line breaks and indentation) and lone surrogates (it
 * writes those as `\udXXX` escapes). Without surrogates to tell apart, the class needs no `u`
 * flag, and V8 scans a big report several times faster without it (82 MB: 0.65 -> 0.13 s).
 */
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/;
const JSON_UNSAFE_ALL = new RegExp(JSON_UNSAFE.source, 'g');

const NAMED: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escapeOne(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.codePointAt(0) ?? 0;
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Whether `text` holds a character `escapeControls` would rewrite. */
export function hasUnsafe(text: string): boolean {
  return UNSAFE.test(text);
}

/** Control, bidi and invisible characters written as visible escapes (`\x1b`, `\u202e`). */
export function escapeControls(text: string): string {
  return UNSAFE.test(text) ? text.replace(UNSAFE_ALL, escapeOne) : text;
}

/** Room kept for the `… (N more characters)` that `clip` appends. */
const CLIP_NOTE = 32;

/**
 * `text` cut to at most `max` characters, the count of what was left out included, so clipping
 * twice changes nothing. Never splits a surrogate pair.
 */
export function clip(text: string, max: number = ECHO_LIMIT): string {
  if (text.length <= max) return text;
  let end = Math.max(1, max - CLIP_NOTE);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}… (${text.length - end} more characters)`;
}

/** Input text as a printer writes it: clipped to `max`, then escaped. */
export function safeText(text: string, max: number = FIELD_LIMIT): string {
  // Clip first so a huge field is never scanned or copied whole by the escaper.
  return escapeControls(clip(text, max));
}

/** A quoted piece of input inside a sentence: short, escaped. */
export function echo(text: string): string {
  return safeText(text, ECHO_LIMIT);
}

/**
 * Serialised JSON with the characters JSON.stringify leaves raw (DEL, C1 controls, bidi and
 * separators) written as `\uXXXX` escapes. JSON.stringify already escapes C0 controls, so such
 * characters can only sit inside strings, where `\uXXXX` means the same character: the data is
 * unchanged, and a report piped to a terminal carries no raw control byte.
 */
export function jsonSafe(json: string): string {
  return JSON_UNSAFE.test(json)
    ? json.replace(JSON_UNSAFE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : json;
}

/** `value` as indented JSON text for output, one line break at the end, safe to print. */
export function safeJson(value: unknown): string {
  return `${jsonSafe(JSON.stringify(value, null, 2))}\n`;
}

/** Text pieces `safeJsonPieces` gathers before it hands one on (about a megabyte). */
const PIECE_SIZE = 1 << 20;

/**
 * `safeJson(value)` for an object, made and handed on about a megabyte at a time: the same
 * text, but a big host's report (82 MB for 41,000 exposures) is never one string, nor that
 * string and its UTF-8 copy at once.
 */
export function* safeJsonPieces(value: Readonly<Record<string, unknown>>): Generator<string> {
  let pending = '';
  for (const text of jsonTexts(value)) {
    pending += text;
    if (pending.length >= PIECE_SIZE) {
      yield pending;
      pending = '';
    }
  }
  if (pending !== '') yield pending;
}

/** The texts `safeJson(value)` is made of, in order: the object's arrays an element at a time. */
function* jsonTexts(value: Readonly<Record<string, unknown>>): Generator<string> {
  // the members JSON.stringify writes: undefined, functions and symbols are left out
  const keys = Object.keys(value).filter((k) => {
    const t = typeof value[k];
    return t !== 'undefined' && t !== 'function' && t !== 'symbol';
  });
  if (keys.length === 0) {
    yield '{}\n';
    return;
  }
  yield '{\n';
  for (const [n, key] of keys.entries()) {
    const member = value[key];
    const head = `  ${jsonSafe(JSON.stringify(key))}: `;
    const tail = n === keys.length - 1 ? '\n' : ',\n';
    if (Array.isArray(member) && member.length > 0) {
      yield `${head}[\n`;
      for (let i = 0; i < member.length; i++)
        yield `    ${nested(member[i], '    ')}${i === member.length - 1 ? '\n' : ',\n'}`;
      yield `  ]${tail}`;
    } else yield `${head}${nested(member, '  ')}${tail}`;
  }
  yield '}\n';
}

/** A value as `JSON.stringify(…, null, 2)` writes it `indent` deep (its line breaks are all structural). */
function nested(value: unknown, indent: string): string {
  return jsonSafe((JSON.stringify(value, null, 2) ?? 'null').replaceAll('\n', `\n${indent}`));
}
