/**
 * Compose's variable interpolation (the Compose specification, "Interpolation"): `$VAR`,
 * `${VAR}`, `${VAR:-default}` / `${VAR-default}`, `${VAR:?error}` / `${VAR?error}`,
 * `${VAR:+replacement}` / `${VAR+replacement}`, nested in defaults, and `$$` for a literal `$`.
 * An unset variable without a default becomes the empty string with a warning, as in Compose.
 */
import type { Diagnostic, SourceLocation } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';

export type Environment = Readonly<Record<string, string | undefined>>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

export function interpolate(
  text: string,
  env: Environment,
  location: SourceLocation,
  diagnostics: Diagnostic[],
): string {
  if (!text.includes('$')) return text;
  return new Interpolator(text, env, location, diagnostics).run();
}

class Interpolator {
  private pos = 0;
  private readonly text: string;
  private readonly env: Environment;
  private readonly location: SourceLocation;
  private readonly diagnostics: Diagnostic[];

  constructor(text: string, env: Environment, location: SourceLocation, diagnostics: Diagnostic[]) {
    this.text = text;
    this.env = env;
    this.location = location;
    this.diagnostics = diagnostics;
  }

  run(): string {
    return this.until(null);
  }

  private report(severity: 'error' | 'warning', message: string): void {
    this.diagnostics.push(diagnostic('compose-interpolation', severity, message, this.location));
  }

  /** Reads text up to the closing `}` of an enclosing `${…}` (or to the end). */
  private until(close: '}' | null): string {
    let out = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos] ?? '';
      if (close !== null && c === close) return out;
      if (c !== '$') {
        out += c;
        this.pos += 1;
        continue;
      }
      out += this.dollar();
    }
    if (close !== null)
      this.report('error', `invalid interpolation format: missing "}" in "${this.text}"`);
    return out;
  }

  private lookup(name: string): string | undefined {
    return Object.hasOwn(this.env, name) ? this.env[name] : undefined;
  }

  private dollar(): string {
    const rest = this.text.slice(this.pos + 1);
    if (rest.startsWith('$')) {
      this.pos += 2;
      return '$';
    }
    const bare = NAME.exec(rest);
    if (bare !== null) {
      this.pos += 1 + bare[0].length;
      return this.value(bare[0]);
    }
    if (!rest.startsWith('{')) {
      this.report(
        'error',
        `invalid interpolation format in "${this.text}": "$" must be followed by a name, "{" or "$" (write "$$" for a literal "$")`,
      );
      this.pos += 1;
      return '$';
    }
    this.pos += 2;
    const name = NAME.exec(this.text.slice(this.pos))?.[0] ?? '';
    if (name === '') {
      this.report(
        'error',
        `invalid interpolation format in "${this.text}": "\${" must be followed by a variable name`,
      );
      this.until('}');
      this.pos += 1;
      return '';
    }
    this.pos += name.length;
    const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(this.text.slice(this.pos))?.[0] ?? '';
    this.pos += op.length;
    if (op === '' && this.text[this.pos] !== '}') {
      this.report('error', `invalid interpolation format in "${this.text}" after "\${${name}"`);
      this.until('}');
      this.pos += 1;
      return '';
    }
    const arg = op === '' ? '' : this.until('}');
    this.pos += 1; // the closing brace
    const v = this.lookup(name);
    const emptyCounts = op.startsWith(':');
    const unset = v === undefined || (emptyCounts && v === '');
    switch (op) {
      case ':-':
      case '-':
        return unset ? arg : (v ?? '');
      case ':?':
      case '?':
        if (unset) {
          this.report(
            'error',
            `required variable ${name} is missing a value: ${arg === '' ? '(no message)' : arg}`,
          );
          return '';
        }
        return v ?? '';
      case ':+':
      case '+':
        return unset ? '' : arg;
      default:
        return this.value(name);
    }
  }

  private value(name: string): string {
    const v = this.lookup(name);
    if (v === undefined) {
      this.report('warning', `the "${name}" variable is not set; it is read as an empty string`);
      return '';
    }
    return v;
  }
}
