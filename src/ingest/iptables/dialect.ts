/**
 * Old or unusual dialects of the iptables text formats that are still read: each kind is reported
 * once per file, as a note at its first place with the number of places.
 */
import type { Diagnostic, SourceLocation } from '../../model/index.ts';
import { diagnostic } from '../../model/diagnostic.ts';

const DIALECT_MESSAGES = {
  'intrapositioned-negation':
    "old negation placement ('-s ! x', '--dport ! 22'), written by iptables ≤ 1.4.3 and refused by iptables ≥ 1.4.12; read as '! -s x'",
  crlf: 'CRLF line ends (iptables-restore would glue the carriage return to the last word); read as plain line ends',
  'trailing-blank': 'rule lines end with a blank, as iptables ≤ 1.4.10 wrote them',
  'missing-commit':
    'table not closed by COMMIT (iptables-restore refuses this); its rules are still read',
  'dotted-mask':
    'dotted address mask (iptables ≤ 1.3 style); normalised to a prefix length where contiguous',
  'indented-comment': "indented '#' comment (iptables-restore only accepts '#' at column 1)",
  'comma-address-list':
    'comma-separated address list: expanded into one rule per address, as iptables does',
  'no-table':
    "rules outside any '*table' block (iptables -S style); the table is inferred from the built-in chains named by -P (filter when none)",
} as const;

export type DialectKind = keyof typeof DIALECT_MESSAGES;

/** Records one place where a dialect was seen. */
export type DialectNote = (kind: DialectKind, location: SourceLocation) => void;

export interface DialectNotes {
  readonly note: DialectNote;
  /** One 'dialect-note' per kind seen, in the order first seen. */
  readonly report: (diagnostics: Diagnostic[]) => void;
}

export function dialectNotes(): DialectNotes {
  const seen = new Map<DialectKind, { location: SourceLocation; count: number }>();
  return {
    note: (kind, location) => {
      const entry = seen.get(kind);
      if (entry === undefined) seen.set(kind, { location, count: 1 });
      else entry.count++;
    },
    report: (diagnostics) => {
      for (const [kind, { location, count }] of seen) {
        const message = DIALECT_MESSAGES[kind];
        diagnostics.push(
          diagnostic(
            'dialect-note',
            'note',
            count > 1 ? `${message} (${count} places; first here)` : message,
            location,
          ),
        );
      }
    },
  };
}
