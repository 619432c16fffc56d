/**
 * Where something came from, and what went wrong reading it.
 *
 * Every model node and every diagnostic carries a SourceLocation so that reports, SARIF and the
 * terminal UI can point at the exact line of the host file. Lines and columns are 1-based.
 */
import type { DiagnosticCode } from './diagnostic-codes.ts';
import { clip, FIELD_LIMIT } from './safe-text.ts';
import { compareText } from './text-order.ts';

export type { DiagnosticCode } from './diagnostic-codes.ts';

export interface SourceLocation {
  /** Path of the file as the user named it (or as it sits in the snapshot directory). */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine?: number;
  readonly endColumn?: number;
}

export type Severity = 'error' | 'warning' | 'note';

/**
 * A problem found while reading input. Diagnostics never abort a run: the rest of the input is
 * still analysed, and reports say what could not be.
 *
 * Codes are kebab-case and stable (they are SARIF rule ids): one of DIAGNOSTIC_CODES, each
 * documented in docs/diagnostics.md.
 */
export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly message: string;
  readonly location: SourceLocation;
  /** Optional one-line advice on what to do about it. */
  readonly hint?: string;
}

/** A location for a whole file (line 1, column 1), used when a file is missing or unreadable. */
export function fileLocation(file: string): SourceLocation {
  return { file, line: 1, column: 1 };
}

export function diagnostic(
  code: DiagnosticCode,
  severity: Severity,
  message: string,
  location: SourceLocation,
  hint?: string,
): Diagnostic {
  // A message that quotes input is bounded however long the input was.
  const text = clip(message, FIELD_LIMIT);
  return hint === undefined
    ? { code, severity, message: text, location }
    : { code, severity, message: text, location, hint: clip(hint, FIELD_LIMIT) };
}

/** Stable ordering for diagnostics: file, line, column, code. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return (
    compareText(a.location.file, b.location.file) ||
    a.location.line - b.location.line ||
    a.location.column - b.location.column ||
    compareText(a.code, b.code)
  );
}
