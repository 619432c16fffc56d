/**
 * Typed access to located JSON values. Each accessor reports a located diagnostic when a field is
 * missing or has the wrong type and returns a fallback, so loaders read on after a bad field.
 */
import type { Diagnostic, SourceLocation } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type { JsonObject, JsonValue } from './json.ts';
import { getEntry } from './json.ts';

/** Where diagnostics go while one file is read. */
export interface FieldContext {
  readonly file: string;
  readonly diagnostics: Diagnostic[];
}

const KIND_WORDS: Record<JsonValue['kind'], string> = {
  object: 'an object',
  array: 'an array',
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  null: 'null',
};

export function kindWord(value: JsonValue): string {
  return KIND_WORDS[value.kind];
}

export function wrongType(
  ctx: FieldContext,
  path: string,
  value: JsonValue,
  expected: string,
): void {
  ctx.diagnostics.push(
    diagnostic(
      'wrong-type',
      'error',
      `${path} must be ${expected}, found ${kindWord(value)}`,
      value.location,
    ),
  );
}

export function missingField(ctx: FieldContext, path: string, at: SourceLocation): void {
  ctx.diagnostics.push(
    diagnostic('missing-field', 'error', `${path} is missing`, {
      file: at.file,
      line: at.line,
      column: at.column,
    }),
  );
}

type Presence = 'required' | 'optional';

/** A field of any type; reports a missing required field. */
export function field(
  ctx: FieldContext,
  object: JsonObject,
  key: string,
  path: string,
  presence: Presence = 'optional',
): JsonValue | undefined {
  const entry = getEntry(object, key);
  if (entry === undefined) {
    if (presence === 'required') missingField(ctx, `${path}.${key}`, object.location);
    return undefined;
  }
  return entry.value;
}

/**
 * Longest string value read from a JSON file. Docker's names, ids, addresses and options are far
 * shorter; a longer one is an attack on the reports that would repeat it (a 50 MB container name
 * written into every finding) and is read as absent, with an error.
 */
export const MAX_STRING_LENGTH = 64 * 1024;

export function stringField(
  ctx: FieldContext,
  object: JsonObject,
  key: string,
  path: string,
  presence: Presence = 'optional',
): string | null {
  const value = field(ctx, object, key, path, presence);
  if (value === undefined || value.kind === 'null') return null;
  return stringValue(ctx, value, `${path}.${key}`);
}

/** A string value within MAX_STRING_LENGTH; null with a diagnostic otherwise. */
function stringValue(ctx: FieldContext, value: JsonValue, path: string): string | null {
  if (value.kind !== 'string') {
    wrongType(ctx, path, value, 'a string');
    return null;
  }
  if (value.value.length > MAX_STRING_LENGTH) {
    ctx.diagnostics.push(
      diagnostic(
        'value-too-long',
        'error',
        `${path} is ${value.value.length} characters long, over dockwall's limit of ${MAX_STRING_LENGTH}; read as absent`,
        startOf(value.location),
      ),
    );
    return null;
  }
  return value.value;
}

export function numberField(
  ctx: FieldContext,
  object: JsonObject,
  key: string,
  path: string,
  presence: Presence = 'optional',
): number | null {
  const value = field(ctx, object, key, path, presence);
  if (value === undefined || value.kind === 'null') return null;
  if (value.kind !== 'number') {
    wrongType(ctx, `${path}.${key}`, value, 'a number');
    return null;
  }
  return value.value;
}

export function booleanField(
  ctx: FieldContext,
  object: JsonObject,
  key: string,
  path: string,
  presence: Presence = 'optional',
): boolean | null {
  const value = field(ctx, object, key, path, presence);
  if (value === undefined || value.kind === 'null') return null;
  if (value.kind !== 'boolean') {
    wrongType(ctx, `${path}.${key}`, value, 'a boolean');
    return null;
  }
  return value.value;
}

/** An object field; null (with a diagnostic when present but not an object) otherwise. */
export function objectField(
  ctx: FieldContext,
  object: JsonObject,
  key: string,
  path: string,
  presence: Presence = 'optional',
): JsonObject | null {
  const value = field(ctx, object, key, path, presence);
  if (value === undefined || value.kind === 'null') return null;
  if (value.kind !== 'object') {
    wrongType(ctx, `${path}.${key}`, value, 'an object');
    return null;
  }
  return value;
}

export function arrayField(
  ctx: FieldContext,
  object: JsonObject,
  key: string,
  path: string,
  presence: Presence = 'optional',
): readonly JsonValue[] | null {
  const value = field(ctx, object, key, path, presence);
  if (value === undefined || value.kind === 'null') return null;
  if (value.kind !== 'array') {
    wrongType(ctx, `${path}.${key}`, value, 'an array');
    return null;
  }
  return value.items;
}

/** A `{ "k": "v" }` map of strings; non-string values are reported and skipped. */
export function stringMapField(
  ctx: FieldContext,
  object: JsonObject,
  key: string,
  path: string,
): Record<string, string> {
  const map = objectField(ctx, object, key, path);
  const out: Record<string, string> = {};
  if (map === null) return out;
  for (const entry of map.entries) {
    if (entry.key.length > MAX_STRING_LENGTH) continue;
    const text = stringValue(ctx, entry.value, `${path}.${key}.${entry.key}`);
    if (text !== null) out[entry.key] = text;
  }
  return out;
}

/** The value as an object, reporting it otherwise. */
export function asObject(ctx: FieldContext, value: JsonValue, path: string): JsonObject | null {
  if (value.kind === 'object') return value;
  wrongType(ctx, path, value, 'an object');
  return null;
}

/** Plain start location (no end) of a value, for model nodes. */
export function startOf(location: SourceLocation): SourceLocation {
  return { file: location.file, line: location.line, column: location.column };
}
