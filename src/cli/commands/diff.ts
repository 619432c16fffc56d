/** `dockwall diff BEFORE AFTER`: what a change opens and closes, computed by the engine. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildEngines } from '../../analysis/engines.ts';
import type { DiffSide } from '../../analysis/diff.ts';
import { buildDiff } from '../../analysis/diff.ts';
import { loadSnapshot } from '../load-snapshot.ts';
import { analyze } from '../../lint/analyze.ts';
import { findingChanges } from '../../lint/finding-changes.ts';
import type { FailOn, ResolvedConfig } from '../../lint/config-types.ts';
import {
  diffExitCode,
  formatDiffJson,
  formatDiffMarkdown,
  formatDiffSarif,
  formatDiffText,
} from '../../report/diff.ts';
import { shouldColor } from '../../report/text.ts';
import type { Command, CommandIo } from '../command.ts';
import { parseCommandArgs, UsageError } from '../command.ts';
import { resolveConfig, RULE_MAP } from '../config-arg.ts';
import { ioErrorMessage } from '../io-error.ts';
import { snapshotInputFrom } from '../snapshot-args.ts';

const FORMATS = ['text', 'json', 'markdown', 'sarif'] as const;
type Format = (typeof FORMATS)[number];
const FAIL_ON: readonly FailOn[] = ['error', 'warning', 'note', 'never'];

const usage = `Usage: dockwall diff BEFORE AFTER [options]

What a change opens and closes: the exposures reachable from outside the host in AFTER and not
in BEFORE (gained) and the reverse (lost), computed by the packet engine as the difference of
the two reachable sets — not by comparing rule texts, so an edit that changes no packet's fate
shows no change. Each change carries a witness packet and its trace in the snapshot where it is
reachable; findings are listed as new or fixed.

BEFORE and AFTER are snapshot directories (collected, or written by \`dockwall plan\`) or single
ruleset files.

Options:
  --format text|json|markdown|sarif   report format (default: text)
  --output FILE                       write the report to FILE instead of stdout
  --fail-on error|warning|note|never  exit 1 for a new finding at or above this; never: exit 0
                                      even when something is gained (default: the config's
                                      failOn, else error)
  --config FILE                       config file (default: .dockwall.yaml in the current
                                      directory): rule severities, suppressions, failOn

Exit codes: 1 when anything is gained, or a new finding or an input diagnostic (of either side)
is at or above --fail-on (never: always 0); 0 otherwise; 2 on usage or input errors (a side with
no readable ruleset, an invalid config).

JSON: docs/diff-result.schema.json.`;

async function side(where: string, io: CommandIo, config: ResolvedConfig): Promise<DiffSide> {
  // As the user named it (diagnostics and the report show their spelling).
  const snapshot = await loadSnapshot(snapshotInputFrom({}, [where], io.cwd));
  const engines = buildEngines(snapshot);
  const result = analyze(snapshot, config, { rules: RULE_MAP, engines });
  return { snapshot, engines, result };
}

async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    format: { type: 'string', short: 'f' },
    output: { type: 'string', short: 'o' },
    'fail-on': { type: 'string' },
    config: { type: 'string', short: 'c' },
  });
  const format = (values.format ?? 'text') as Format;
  if (!FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const failOnArg = values['fail-on'] as FailOn | undefined;
  if (failOnArg !== undefined && !FAIL_ON.includes(failOnArg))
    throw new UsageError(`--fail-on must be one of ${FAIL_ON.join(', ')}`);
  const [beforeArg, afterArg, ...rest] = positionals;
  if (beforeArg === undefined || afterArg === undefined || rest.length > 0) {
    throw new UsageError('give two snapshots: BEFORE AFTER');
  }
  const config = await resolveConfig(values.config, io, 'diff');
  if (config === null) return 2;
  const failOn: FailOn = failOnArg ?? config.failOn ?? 'error';
  const before = await side(beforeArg, io, config);
  const after = await side(afterArg, io, config);
  const result = buildDiff(before, after, findingChanges(before.result, after.result));
  const text =
    format === 'json'
      ? formatDiffJson(result)
      : format === 'markdown'
        ? formatDiffMarkdown(result)
        : format === 'sarif'
          ? formatDiffSarif(result, after.result, RULE_MAP)
          : formatDiffText(result, {
              color: values.output === undefined && shouldColor(io.stdout.isTTY, io.env),
              ...(io.stdout.columns === undefined ? {} : { width: io.stdout.columns }),
            });
  if (values.output === undefined) io.stdout.write(text);
  else {
    try {
      await writeFile(path.resolve(io.cwd, values.output), text);
    } catch (error) {
      io.stderr.write(
        `dockwall diff: ${ioErrorMessage('write the report to', values.output, error)}
`,
      );
      return 2;
    }
  }
  return diffExitCode(result, failOn);
}

export const diff: Command = {
  name: 'diff',
  summary: 'What a change opens and closes: exposures gained and lost between two snapshots',
  usage,
  run,
};
