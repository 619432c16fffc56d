/**
 * Validation of rule options against the rule's JSON Schema. Only the subset our rules use is
 * supported (type, properties, additionalProperties: false, enum, minimum, maximum, items); the
 * meta test cross-checks schemas and defaults with ajv. Kept here because ajv is a dev-only
 * dependency and the CLI must validate configs at run time.
 */
import type { OptionsSchema } from './rule.ts';

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(expected: unknown, actual: string): boolean {
  const list = Array.isArray(expected) ? expected : [expected];
  return list.some((t) => t === actual || (t === 'number' && actual === 'integer'));
}

/** Problems with `value` against `schema`, each `path: what is wrong`. Empty when valid. */
export function validateOptions(schema: OptionsSchema, value: unknown, path = 'options'): string[] {
  const problems: string[] = [];
  const actual = typeOf(value);
  if (schema['type'] !== undefined && !typeMatches(schema['type'], actual)) {
    const types: unknown[] = Array.isArray(schema['type']) ? schema['type'] : [schema['type']];
    const expected = types.filter((t): t is string => typeof t === 'string').join(' or ');
    return [`${path}: expected ${expected}, got ${actual}`];
  }
  const allowed = schema['enum'];
  if (Array.isArray(allowed) && !allowed.includes(value)) {
    problems.push(`${path}: must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  if (typeof value === 'number') {
    const min = schema['minimum'];
    const max = schema['maximum'];
    if (typeof min === 'number' && value < min) problems.push(`${path}: must be ≥ ${min}`);
    if (typeof max === 'number' && value > max) problems.push(`${path}: must be ≤ ${max}`);
  }
  if (Array.isArray(value) && typeof schema['items'] === 'object' && schema['items'] !== null) {
    const items = schema['items'] as OptionsSchema;
    value.forEach((item, i) => problems.push(...validateOptions(items, item, `${path}[${i}]`)));
  }
  if (actual === 'object') {
    const record = value as Record<string, unknown>;
    const properties = (schema['properties'] ?? {}) as Record<string, OptionsSchema>;
    for (const [key, item] of Object.entries(record)) {
      const sub = properties[key];
      if (sub === undefined) {
        if (schema['additionalProperties'] === false) {
          const known = Object.keys(properties);
          problems.push(
            `${path}: unknown option '${key}'` +
              (known.length > 0 ? ` (known: ${known.join(', ')})` : ' (this rule has no options)'),
          );
        }
        continue;
      }
      problems.push(...validateOptions(sub, item, `${path}.${key}`));
    }
  }
  return problems;
}
