/**
 * `--config FILE` as audit and diff take it: the named file, else `.dockwall.yaml` in the
 * current directory when there is one, else the defaults. An invalid file is reported and null
 * returned (the command exits 2).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { RULES } from '../../rules/index.ts';
import type { ResolvedConfig } from '../lint/config-types.ts';
import { DEFAULT_CONFIG } from '../lint/config-types.ts';
import type { RuleModule } from '../lint/rule.ts';
import { safeText } from '../model/safe-text.ts';
import { diagnosticLine } from '../report/describe.ts';
import type { CommandIo } from './command.ts';

export const RULE_MAP: Readonly<Record<string, RuleModule>> = RULES;

export async function resolveConfig(
  given: string | undefined,
  io: CommandIo,
  command: string,
): Promise<ResolvedConfig | null> {
  const candidate = given ?? path.join(io.cwd, '.dockwall.yaml');
  if (given === undefined && !existsSync(candidate)) return DEFAULT_CONFIG;
  const file = given === undefined ? candidate : path.resolve(io.cwd, given);
  // The config reader (and the YAML library) loads only when there is a file to read: most
  // audits have none, and start-up time is most of a small audit's time.
  const { loadConfig } = await import('../lint/config.ts');
  const { config, diagnostics } = await loadConfig(file, RULE_MAP);
  for (const d of diagnostics) io.stderr.write(`${diagnosticLine(d)}\n`);
  if (diagnostics.some((d) => d.severity === 'error')) {
    io.stderr.write(`dockwall ${command}: invalid config ${safeText(file)}\n`);
    return null;
  }
  return config;
}
