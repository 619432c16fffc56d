/**
 * A small strict JSON parser that keeps the line and column of every key and value.
 *
 * Host files are hand-edited (daemon.json) or cut short (a truncated `docker inspect` dump), so
 * errors must point at the exact place and say what is wrong in words: trailing commas,
 * comments, single quotes, unterminated strings, a file that ends inside an array. On an error
 * the values completed before it are kept (`partial`), so a truncated inspect array still yields
 * the containers that were complete.
 */
import type { Diagnostic, SourceLocation } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';

interface Located {
  readonly location: SourceLocation;
}

export interface JsonObjectEntry {
  readonly key: string;
  readonly keyLocation: SourceLocation;
  readonly value: JsonValue;
}

export type JsonValue =
  | (Located & { readonly kind: 'object'; readonly entries: readonly JsonObjectEntry[] })
  | (Located & { readonly kind: 'array'; readonly items: readonly JsonValue[] })
  | (Located & { readonly kind: 'string'; readonly value: string })
  | (Located & { readonly kind: 'number'; readonly value: number })
  | (Located & { readonly kind: 'boolean'; readonly value: boolean })
  | (Located & { readonly kind: 'null' });

export type JsonObject = Extract<JsonValue, { kind: 'object' }>;
export type JsonArray = Extract<JsonValue, { kind: 'array' }>;

export interface JsonParseResult {
  /** The whole document, or null when it could not be read to the end. */
  readonly value: JsonValue | null;
  /** On error: the top-level value with every element completed before the error. */
  readonly partial: JsonValue | null;
  readonly diagnostics: readonly Diagnostic[];
}

class JsonSyntaxError extends Error {
  readonly location: SourceLocation;
  constructor(message: string, location: SourceLocation) {
    super(message);
    this.location = location;
  }
}

interface MutableObject {
  kind: 'object';
  entries: JsonObjectEntry[];
  location: SourceLocation;
}
interface MutableArray {
  kind: 'array';
  items: JsonValue[];
  location: SourceLocation;
}

/** Parses `text` as strict JSON (RFC 8259). Never throws. */
export function parseJson(text: string, file: string): JsonParseResult {
  const parser = new Parser(text, file);
  try {
    parser.skipSpace();
    if (parser.atEnd()) {
      throw new JsonSyntaxError('the file is empty; expected a JSON value', parser.here());
    }
    const value = parser.parseValue(true);
    parser.skipSpace();
    if (!parser.atEnd()) {
      throw new JsonSyntaxError(
        `unexpected ${parser.describeNext()} after the end of the JSON value`,
        parser.here(),
      );
    }
    return { value, partial: value, diagnostics: parser.warnings };
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    return {
      value: null,
      partial: parser.top,
      diagnostics: [
        ...parser.warnings,
        diagnostic('invalid-json', 'error', error.message, error.location),
      ],
    };
  }
}

class Parser {
  private pos = 0;
  private line = 1;
  private column = 1;
  /** The outermost container, kept even when parsing fails inside it. */
  top: JsonValue | null = null;
  readonly warnings: Diagnostic[] = [];
  private readonly text: string;
  private readonly file: string;

  constructor(text: string, file: string) {
    // A UTF-8 byte order mark is not JSON, but editors write it; skip it without a column shift.
    this.text = text.startsWith('\uFEFF') ? text.slice(1) : text;
    this.file = file;
  }

  here(): SourceLocation {
    return { file: this.file, line: this.line, column: this.column };
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private advance(): void {
    if (this.text[this.pos] === '\n') {
      this.line += 1;
      this.column = 1;
    } else {
      this.column += 1;
    }
    this.pos += 1;
  }

  describeNext(): string {
    const c = this.peek();
    if (c === undefined) return 'end of file';
    if (c === '\n') return 'line break';
    return `'${c}'`;
  }

  skipSpace(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
        this.advance();
      } else if (
        c === '/' &&
        (this.text[this.pos + 1] === '/' || this.text[this.pos + 1] === '*')
      ) {
        throw new JsonSyntaxError('comments are not allowed in JSON', this.here());
      } else if (c === '#') {
        throw new JsonSyntaxError("comments ('#') are not allowed in JSON", this.here());
      } else {
        return;
      }
    }
  }

  parseValue(isTop = false): JsonValue {
    this.skipSpace();
    const start = this.here();
    const c = this.peek();
    switch (c) {
      case '{':
        return this.parseObject(start, isTop);
      case '[':
        return this.parseArray(start, isTop);
      case '"':
        return { kind: 'string', value: this.parseString(), location: this.span(start) };
      case "'":
        throw new JsonSyntaxError('strings must use double quotes in JSON', start);
      case 't':
      case 'f':
      case 'n':
        return this.parseLiteral(start);
      case undefined:
        throw new JsonSyntaxError('unexpected end of file; expected a value', start);
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.parseNumber(start);
        if (/[A-Za-z]/.test(c)) return this.parseLiteral(start);
        throw new JsonSyntaxError(`unexpected ${this.describeNext()}; expected a value`, start);
    }
  }

  private span(start: SourceLocation): SourceLocation {
    return { ...start, endLine: this.line, endColumn: this.column };
  }

  private parseObject(start: SourceLocation, isTop: boolean): JsonValue {
    const object: MutableObject = { kind: 'object', entries: [], location: start };
    if (isTop) this.top = object;
    this.advance();
    const seen = new Map<string, SourceLocation>();
    this.skipSpace();
    if (this.peek() === '}') {
      this.advance();
      object.location = this.span(start);
      return object;
    }
    for (;;) {
      this.skipSpace();
      const keyLocation = this.here();
      const c = this.peek();
      if (c === undefined) {
        throw new JsonSyntaxError(
          `unexpected end of file: the object opened at ${start.line}:${start.column} is not closed`,
          keyLocation,
        );
      }
      if (c === '}') {
        throw new JsonSyntaxError("trailing comma before '}' is not allowed in JSON", keyLocation);
      }
      if (c !== '"') {
        throw new JsonSyntaxError(
          c === "'"
            ? 'object keys must use double quotes in JSON'
            : `unexpected ${this.describeNext()}; expected a quoted key`,
          keyLocation,
        );
      }
      const key = this.parseString();
      const keySpan = this.span(keyLocation);
      this.skipSpace();
      if (this.peek() !== ':') {
        throw new JsonSyntaxError(
          this.atEnd()
            ? `unexpected end of file: the object opened at ${start.line}:${start.column} is not closed`
            : `expected ':' after key "${key}", found ${this.describeNext()}`,
          this.here(),
        );
      }
      this.advance();
      const value = this.parseValue();
      const previous = seen.get(key);
      if (previous !== undefined) {
        this.warnings.push(
          diagnostic(
            'duplicate-json-key',
            'warning',
            `key "${key}" appears twice (first at ${previous.line}:${previous.column}); the last one counts`,
            keySpan,
          ),
        );
      }
      seen.set(key, keySpan);
      object.entries.push({ key, keyLocation: keySpan, value });
      this.skipSpace();
      const next = this.peek();
      if (next === ',') {
        this.advance();
        continue;
      }
      if (next === '}') {
        this.advance();
        object.location = this.span(start);
        return object;
      }
      throw new JsonSyntaxError(
        next === undefined
          ? `unexpected end of file: the object opened at ${start.line}:${start.column} is not closed`
          : `expected ',' or '}' after the value of "${key}", found ${this.describeNext()}`,
        this.here(),
      );
    }
  }

  private parseArray(start: SourceLocation, isTop: boolean): JsonValue {
    const array: MutableArray = { kind: 'array', items: [], location: start };
    if (isTop) this.top = array;
    this.advance();
    this.skipSpace();
    if (this.peek() === ']') {
      this.advance();
      array.location = this.span(start);
      return array;
    }
    for (;;) {
      this.skipSpace();
      if (this.atEnd()) {
        throw new JsonSyntaxError(
          `unexpected end of file: the array opened at ${start.line}:${start.column} is not closed`,
          this.here(),
        );
      }
      if (this.peek() === ']') {
        throw new JsonSyntaxError("trailing comma before ']' is not allowed in JSON", this.here());
      }
      array.items.push(this.parseValue());
      this.skipSpace();
      const next = this.peek();
      if (next === ',') {
        this.advance();
        continue;
      }
      if (next === ']') {
        this.advance();
        array.location = this.span(start);
        return array;
      }
      throw new JsonSyntaxError(
        next === undefined
          ? `unexpected end of file: the array opened at ${start.line}:${start.column} is not closed`
          : `expected ',' or ']' in the array opened at ${start.line}:${start.column}, found ${this.describeNext()}`,
        this.here(),
      );
    }
  }

  private parseString(): string {
    const start = this.here();
    this.advance();
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) {
        throw new JsonSyntaxError(
          `unexpected end of file inside the string that starts at ${start.line}:${start.column}`,
          this.here(),
        );
      }
      if (c === '"') {
        this.advance();
        return out;
      }
      if (c === '\n' || c === '\r') {
        throw new JsonSyntaxError(
          `line break inside the string that starts at ${start.line}:${start.column}`,
          this.here(),
        );
      }
      if (c < ' ') {
        throw new JsonSyntaxError('control character inside a string must be escaped', this.here());
      }
      if (c === '\\') {
        const escapeAt = this.here();
        this.advance();
        const e = this.peek();
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          this.advance();
        } else if (e === 'u') {
          this.advance();
          const hex = this.text.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            throw new JsonSyntaxError('\\u must be followed by four hex digits', escapeAt);
          }
          out += String.fromCharCode(parseInt(hex, 16));
          for (let i = 0; i < 4; i += 1) this.advance();
        } else {
          throw new JsonSyntaxError(`invalid escape '\\${e ?? ''}' in a string`, escapeAt);
        }
        continue;
      }
      out += c;
      this.advance();
    }
  }

  private parseNumber(start: SourceLocation): JsonValue {
    const match = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.text.slice(this.pos));
    if (match === null) {
      throw new JsonSyntaxError(`invalid number starting with ${this.describeNext()}`, start);
    }
    const after = this.text[this.pos + match[0].length];
    if (after !== undefined && /[0-9A-Za-z.+-]/.test(after)) {
      throw new JsonSyntaxError(
        `invalid number '${match[0]}${after}' (JSON numbers have no leading zeros, hex or trailing dots)`,
        start,
      );
    }
    for (let i = 0; i < match[0].length; i += 1) this.advance();
    return { kind: 'number', value: Number(match[0]), location: this.span(start) };
  }

  private parseLiteral(start: SourceLocation): JsonValue {
    const word = /^[A-Za-z]+/.exec(this.text.slice(this.pos))?.[0] ?? '';
    const advanceWord = (): void => {
      for (let i = 0; i < word.length; i += 1) this.advance();
    };
    if (word === 'true' || word === 'false') {
      advanceWord();
      return { kind: 'boolean', value: word === 'true', location: this.span(start) };
    }
    if (word === 'null') {
      advanceWord();
      return { kind: 'null', location: this.span(start) };
    }
    throw new JsonSyntaxError(
      `unexpected word '${word}'; expected a value (strings need double quotes)`,
      start,
    );
  }
}

/** The entry for `key` in an object (the last one when a key repeats, as JSON decoders do). */
export function getEntry(object: JsonObject, key: string): JsonObjectEntry | undefined {
  let found: JsonObjectEntry | undefined;
  for (const entry of object.entries) if (entry.key === key) found = entry;
  return found;
}

/** The same value as plain JS data (for the manifest, kept as read). */
export function toPlain(value: JsonValue): unknown {
  switch (value.kind) {
    case 'object':
      return Object.fromEntries(value.entries.map((e) => [e.key, toPlain(e.value)]));
    case 'array':
      return value.items.map(toPlain);
    case 'null':
      return null;
    default:
      return value.value;
  }
}
