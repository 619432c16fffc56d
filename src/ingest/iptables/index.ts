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

/**
 * `iptables -L` / `-nvL` output starts with `Chain INPUT (policy ACCEPT …)`. It drops interfaces,
 * negations and match details, so it cannot be analysed; say so once instead of a dozen
 * parse errors.
 */
const LISTING = /^\s*Chain \S+ \((?:policy \S+|\d+ references)/;

function firstLineOf(text: string): { line: string; number: number } | null {
  let number = 0;
  for (const line of text.slice(0, 64 * 1024).split('\n')) {
    number += 1;
    if (line.trim() !== '' && !line.startsWith('#')) return { line, number };
  }
  return null;
}

function emptyRuleset(options: ParseOptions): Ruleset {
  return {
    family: options.family ?? 'ipv4',
    file: options.file,
    kind: 'restore',
    header: null,
    tables: [],
  };
}

/** Never throws: every problem is a Diagnostic, and the rest of the input is still read. */
export function parseIptables(text: string, options: ParseOptions): ParseResult {
  const first = firstLineOf(text);
  if (first !== null && LISTING.test(first.line)) {
    const command = options.family === 'ipv6' ? 'ip6tables' : 'iptables';
    return {
      ruleset: emptyRuleset(options),
      diagnostics: [
        diagnostic(
          'listing-not-dump',
          'error',
          `this is \`${command} -L\` output, which leaves out interfaces, negations and match details; dockwall reads \`${command}-save\` output`,
          { file: options.file, line: first.number, column: 1 },
          `run \`${command}-save > ${command}-save.txt\` as root and use that file`,
        ),
      ],
    };
  }
  try {
    const { ruleset, diagnostics } = readRuleset(text, options.file, options.family);
    return { ruleset, diagnostics: diagnostics.sort(compareDiagnostics) };
  } catch (error) {
    // A bug in dockwall must not hide the input problem: report it as a located error.
    const message = error instanceof Error ? error.message : String(error);
    return {
      ruleset: emptyRuleset(options),
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
