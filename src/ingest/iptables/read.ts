/**
 * Reads the text of a dump into the Ruleset: lines (lines.ts) are applied in order by the
 * restore-command interpreter (restore.ts, which reads rule specifications with rule.ts), then
 * the drafts are finalised (finalise.ts). Every problem is a located Diagnostic; lines that do
 * not parse are reported and skipped, and the rest is still read.
 */
import type { Diagnostic, Family, Ruleset } from '../../model/index.ts';
import { dialectNotes } from './dialect.ts';
import { detectFamily } from './family.ts';
import { finaliseRuleset } from './finalise.ts';
import { readLines } from './lines.ts';
import { applyLine, endRestore, startRestore } from './restore.ts';

export interface ReadResult {
  readonly ruleset: Ruleset;
  readonly diagnostics: Diagnostic[];
}

export function readRuleset(
  text: string,
  file: string,
  familyOption: Family | undefined,
): ReadResult {
  const diagnostics: Diagnostic[] = [];
  const family = familyOption ?? detectFamily(text);
  const notes = dialectNotes();
  const state = startRestore(text, file, family, diagnostics, notes.note);
  readLines(text, file, diagnostics, notes.note, (line) => applyLine(state, line));
  endRestore(state);
  const ruleset = finaliseRuleset(state, diagnostics);
  notes.report(diagnostics);
  return { ruleset, diagnostics };
}
