/**
 * Public entry point of the iptables ingest: text of an iptables-save / ip6tables-save /
 * iptables-restore / `iptables -S` file → the Ruleset model plus located diagnostics.
 */
import type { Diagnostic } from '../../model/diagnostic.ts';
import { compareDiagnostics, diagnostic, fileLocation } from '../../model/diagnostic.ts';
import type { Family, Ruleset } from '../../model/ruleset.ts';
import { readRuleset } from './read.ts';

export interface ParseOptions {
  readonly file: string;
  /** Auto-detected from the header (ip6tables-save) or from addresses when absent. */
  readonly family?: Family;
}

export interface ParseResult {
  readonly ruleset: Ruleset;
  readonly diagnostics: readonly Diagnostic[];
}

/** Never throws: every problem is a Diagnostic, and the rest of the input is still read. */
export function parseIptables(text: string, options: ParseOptions): ParseResult {
  try {
    const { ruleset, diagnostics } = readRuleset(text, options.file, options.family);
    return { ruleset, diagnostics: diagnostics.sort(compareDiagnostics) };
  } catch (error) {
    // A bug in dockwall must not hide the input problem: report it as a located error.
    const message = error instanceof Error ? error.message : String(error);
    return {
      ruleset: {
        family: options.family ?? 'ipv4',
        file: options.file,
        kind: 'restore',
        header: null,
        tables: [],
      },
      diagnostics: [
        diagnostic(
          'internal-error',
          'error',
          `dockwall failed reading this file: ${message}`,
          fileLocation(options.file),
        ),
      ],
    };
  }
}

export { detectFamily } from './family.ts';
