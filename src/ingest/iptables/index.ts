/**
 * Public entry point of the iptables ingest: text of an iptables-save / ip6tables-save /
 * iptables-restore / `iptables -S` file → the Ruleset model plus located diagnostics.
 */
import type { Diagnostic } from '../../model/diagnostic.ts';
import { diagnostic, fileLocation } from '../../model/diagnostic.ts';
import type { Family, Ruleset } from '../../model/ruleset.ts';

export interface ParseOptions {
  readonly file: string;
  /** Auto-detected from the header (ip6tables-save) or from addresses when absent. */
  readonly family?: Family;
}

export interface ParseResult {
  readonly ruleset: Ruleset;
  readonly diagnostics: readonly Diagnostic[];
}

/** Never throws: every problem is a Diagnostic. (The full grammar lands in the next commits.) */
export function parseIptables(text: string, options: ParseOptions): ParseResult {
  const ruleset: Ruleset = {
    family: options.family ?? 'ipv4',
    file: options.file,
    kind: 'save',
    header: null,
    tables: [],
  };
  const diagnostics =
    text.length === 0
      ? []
      : [
          diagnostic(
            'parse-error',
            'error',
            'iptables parser not available yet',
            fileLocation(options.file),
          ),
        ];
  return { ruleset, diagnostics };
}
