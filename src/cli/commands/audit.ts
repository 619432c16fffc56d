/** `dockwall audit`: argument parsing and wiring of snapshot → analyze → reporter → exit code. */
import { constants } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readInputFile, SIZE_LIMITS } from '../../ingest/read-input.ts';
import { loadSnapshot } from '../load-snapshot.ts';
import { analyze } from '../../lint/analyze.ts';
import type { Baseline } from '../../lint/baseline.ts';
import { createBaseline, parseBaseline, serializeBaseline } from '../../lint/baseline.ts';
import type { FailOn } from '../../lint/config-types.ts';
import type { Diagnostic } from '../../model/diagnostic.ts';
import { safeText } from '../../model/safe-text.ts';
import { diagnosticLine } from '../../report/describe.ts';
import { exitCode } from '../../report/exit-code.ts';
import { jsonPieces } from '../../report/json.ts';
import { formatMarkdown } from '../../report/markdown.ts';
import { formatSarif } from '../../report/sarif.ts';
import { formatText, shouldColor } from '../../report/text.ts';
import type { Command, CommandIo } from '../command.ts';
import { UsageError } from '../command.ts';
import { resolveConfig, RULE_MAP } from '../config-arg.ts';
import { ioErrorMessage } from '../io-error.ts';
import { SNAPSHOT_OPTIONS, SNAPSHOT_USAGE, snapshotInputFrom } from '../snapshot-args.ts';

const FORMATS = ['text', 'json', 'sarif', 'markdown'] as const;
type Format = (typeof FORMATS)[number];
const FAIL_ON: readonly FailOn[] = ['error', 'warning', 'note', 'never'];

const usage = `Usage: dockwall audit [SNAPSHOT_DIR | --iptables FILE …] [options]

Audit a Docker host snapshot: what is exposed to whom, and which firewall rules do not do what
they look like they do. Every finding carries a witness packet and its trace.

Options:
  --format text|json|sarif|markdown   report format (default: text)
  --output FILE                       write the report to FILE instead of stdout
  --config FILE                       config file (default: .dockwall.yaml in the current directory)
  --fail-on error|warning|note|never  exit 1 when something is at or above this (default: error)
  --baseline FILE                     report only findings that are not in FILE
  --write-baseline FILE               record today's findings in FILE (then exit 0)

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage, input or
internal error (including a snapshot with no readable ruleset).

${SNAPSHOT_USAGE}`;

function printDiagnostics(io: CommandIo, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) io.stderr.write(`${diagnosticLine(d)}\n`);
}

/**
 * Writes a one-line progress note on stderr once analysis has run for over a second, and only on
 * a TTY (pipes and CI logs stay clean). Cleared when analysis ends.
 */
export function progressReporter(
  stderr: CommandIo['stderr'],
  now: () => number = Date.now,
): { tick: (phase: string) => void; done: () => void } {
  const start = now();
  let shown = false;
  const tty = stderr.isTTY === true;
  return {
    tick(phase) {
      const elapsed = now() - start;
      if (!tty || elapsed < 1000) return;
      shown = true;
      stderr.write(`\r\u001B[2Kdockwall: analysing… ${phase} (${(elapsed / 1000).toFixed(1)}s)`);
    },
    done() {
      if (shown) stderr.write('\r\u001B[2K');
    },
  };
}

async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        ...SNAPSHOT_OPTIONS,
        format: { type: 'string', short: 'f' },
        output: { type: 'string', short: 'o' },
        config: { type: 'string', short: 'c' },
        'fail-on': { type: 'string' },
        baseline: { type: 'string' },
        'write-baseline': { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const format = (values.format ?? 'text') as Format;
  if (!FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  }
  const failOnArg = values['fail-on'];
  if (failOnArg !== undefined && !FAIL_ON.includes(failOnArg as FailOn)) {
    throw new UsageError(`--fail-on must be one of ${FAIL_ON.join(', ')}`);
  }
  const input = snapshotInputFrom(values, positionals, io.cwd);

  const config = await resolveConfig(values.config, io, 'audit');
  if (config === null) return 2;
  const failOn: FailOn = (failOnArg as FailOn | undefined) ?? config.failOn ?? 'error';

  // Where results go must be writable before minutes of analysis are spent.
  const output = values.output === undefined ? null : path.resolve(io.cwd, values.output);
  const baselineOut =
    values['write-baseline'] === undefined ? null : path.resolve(io.cwd, values['write-baseline']);
  for (const [file, what] of [
    [output, 'the report to'],
    [baselineOut, 'the baseline to'],
  ] as const) {
    if (file === null) continue;
    try {
      await access(path.dirname(file), constants.W_OK);
    } catch (error) {
      io.stderr.write(`dockwall audit: ${ioErrorMessage(`write ${what}`, file, error)}\n`);
      return 2;
    }
  }

  let baseline: Baseline | null = null;
  if (values.baseline !== undefined) {
    const file = path.resolve(io.cwd, values.baseline);
    const read = await readInputFile(file, { within: null, maxBytes: SIZE_LIMITS.medium });
    if (read.status !== 'read') {
      const reason = read.diagnostics[0]?.message ?? `${file} does not exist`;
      io.stderr.write(`dockwall audit: cannot read the baseline: ${safeText(reason)}\n`);
      return 2;
    }
    const b = parseBaseline(read.text, file);
    printDiagnostics(io, b.diagnostics);
    if (b.baseline === null) return 2;
    baseline = b.baseline;
  }

  const snapshot = await loadSnapshot(input);
  const progress = progressReporter(io.stderr);
  const result = analyze(snapshot, config, {
    rules: RULE_MAP,
    baseline,
    onProgress: progress.tick,
  });
  progress.done();

  // JSON in pieces: a big host's report is tens of megabytes, never held twice
  const report: Iterable<string> =
    format === 'json'
      ? jsonPieces(result)
      : format === 'sarif'
        ? [formatSarif(result, RULE_MAP)]
        : format === 'markdown'
          ? [formatMarkdown(result, new Set(Object.keys(RULE_MAP)))]
          : [
              formatText(result, {
                color: values.output === undefined && shouldColor(io.stdout.isTTY, io.env),
                ...(io.stdout.columns === undefined ? {} : { width: io.stdout.columns }),
              }),
            ];
  if (output === null) for (const piece of report) io.stdout.write(piece);
  else {
    try {
      await writeFile(output, report);
    } catch (error) {
      io.stderr.write(`dockwall audit: ${ioErrorMessage('write the report to', output, error)}\n`);
      return 2;
    }
  }

  const code = exitCode(result, failOn);
  if (baselineOut !== null && code !== 2) {
    try {
      await writeFile(baselineOut, serializeBaseline(createBaseline(result.findings)));
    } catch (error) {
      io.stderr.write(
        `dockwall audit: ${ioErrorMessage('write the baseline to', baselineOut, error)}\n`,
      );
      return 2;
    }
    io.stderr.write(
      `dockwall audit: wrote ${result.findings.length} finding(s) to baseline ${safeText(baselineOut)}\n`,
    );
    return 0;
  }
  if (code === 2) {
    io.stderr.write('dockwall audit: no ruleset could be read; nothing was analysed\n');
  }
  return code;
}

export const audit: Command = {
  name: 'audit',
  summary: 'Audit a host snapshot: exposures, findings with witness packets, CI exit codes',
  usage,
  run,
};
