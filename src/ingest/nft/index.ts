/**
 * The nftables reader: `nft -j list ruleset` JSON or `nft list ruleset` text (users paste
 * either) into the model. Never throws; every problem is a located diagnostic.
 */
import type { Diagnostic } from '../../model/diagnostic.ts';
import { diagnostic, fileLocation } from '../../model/diagnostic.ts';
import type { NftRuleset } from '../../model/ruleset.ts';
import { buildNftRuleset } from './build.ts';
import { readNftJson } from './json.ts';
import { readNftText } from './text.ts';

export interface NftReadResult {
  /** Null when nothing could be read (not JSON of nft's shape, or not a listing at all). */
  readonly ruleset: NftRuleset | null;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Whether a file is an nftables listing rather than iptables text: `nft -j` JSON, or text whose
 * first statement is `table …` (or the `flush ruleset` / `#!…nft` of an nftables.conf).
 */
export function looksLikeNft(text: string): boolean {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) return /"nftables"\s*:/.test(trimmed.slice(0, 200));
  for (const raw of trimmed.split('\n', 50)) {
    const line = raw.trim();
    if (line === '' || (line.startsWith('#') && !line.startsWith('#!'))) continue;
    return /^(table\s|flush\s+ruleset|#!.*\bnft\b)/.test(line);
  }
  return false;
}

/** JSON when the text starts like JSON, else the text listing. */
export function parseNft(text: string, file: string): NftReadResult {
  const trimmed = text.trimStart();
  const json = trimmed.startsWith('{') || trimmed.startsWith('[');
  try {
    const read = json ? readNftJson(text, file) : readNftText(text, file);
    const diagnostics = [...read.diagnostics];
    if (read.ast === null) return { ruleset: null, diagnostics };
    const ruleset = buildNftRuleset(read.ast, file, json ? 'nft-json' : 'nft-text', diagnostics);
    return { ruleset, diagnostics };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      ruleset: null,
      diagnostics: [
        diagnostic(
          'internal-error',
          'error',
          `dockwall failed reading this nftables ruleset (${message}); nothing from it is used`,
          fileLocation(file),
        ),
      ],
    };
  }
}
