/**
 * `dockwall review`: the interactive terminal UI over the same audit result every reporter
 * gets. Wiring only: arguments, the terminal check, and the loading steps the spinner names.
 */
import { parseArgs } from 'node:util';
import { loadSnapshot } from '../../ingest/snapshot.ts';
import { analyze } from '../../lint/analyze.ts';
import { loadConfig } from '../../lint/config.ts';
import { DEFAULT_CONFIG } from '../../lint/config-types.ts';
import { createLintEngine } from '../../lint/default-engine.ts';
import { compareDiagnostics } from '../../model/diagnostic.ts';
import type { Diagnostic } from '../../model/diagnostic.ts';
import type { ReviewData } from '../../tui/data.ts';
import type { Progress } from '../../tui/run.tsx';
import { runReview } from '../../tui/run.tsx';
import { RULES } from '../../../rules/index.ts';
import type { Command, CommandIo } from '../command.ts';
import { UsageError } from '../command.ts';
import { SNAPSHOT_OPTIONS, SNAPSHOT_USAGE, snapshotInputFrom } from '../snapshot-args.ts';

const USAGE = `Usage: dockwall review [SNAPSHOT_DIR | --iptables FILE …] [--config FILE]

Opens a full-screen terminal UI to review a host: findings with their proof, exposures, the
chains as a tree of jumps, containers, and a packet tracer. Needs a terminal; for pipes and
CI use \`dockwall audit --format text|json|sarif|markdown\`.

Options:
  --config FILE            .dockwall.yaml (severity overrides, ignores, policy)

${SNAPSHOT_USAGE}

Keys: Tab switches panes, ↑↓/jk move, Enter opens, / filters, t traces, ? help, q quits.`;

/** Lets the spinner draw before the next synchronous step runs. */
const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function ruleDoc(id: string): string | null {
  const rule = (RULES as Readonly<Record<string, { meta: { docs: { description: string } } }>>)[id];
  return rule?.meta.docs.description ?? null;
}

async function load(
  input: ReturnType<typeof snapshotInputFrom>,
  configPath: string | undefined,
  progress: Progress,
): Promise<ReviewData> {
  progress(`reading snapshot ${input.directory ?? 'files'}…`);
  await breathe();
  const snapshot = await loadSnapshot(input);
  let config = DEFAULT_CONFIG;
  let configDiagnostics: readonly Diagnostic[] = [];
  if (configPath !== undefined) {
    progress(`reading config ${configPath}…`);
    const loaded = await loadConfig(configPath, RULES);
    config = loaded.config;
    configDiagnostics = loaded.diagnostics;
  }
  const rulesets = [snapshot.ipv4, snapshot.ipv6].filter((r) => r !== null);
  const rules = rulesets
    .flatMap((r) => r.tables)
    .reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0), 0);
  progress(`building the packet engine for ${rules} rules…`);
  await breathe();
  // One engine serves both the audit and the tracer form, so it is built once.
  let built: ReturnType<typeof createLintEngine> | null = null;
  try {
    built = rulesets.length === 0 ? null : createLintEngine(snapshot);
  } catch {
    // analyze then tries again and reports the failure as an `engine-error` diagnostic.
    built = null;
  }
  progress(`analysing ${rules} rules and ${snapshot.host.containers.length} containers…`);
  await breathe();
  // Without a prebuilt engine analyze builds (and reports on) its own.
  const result = analyze(snapshot, config, built === null ? {} : { engine: built.engine });
  const extra = [...configDiagnostics, ...(built?.diagnostics ?? [])];
  const diagnostics = [...result.diagnostics, ...extra].sort(compareDiagnostics);
  const counts = { error: 0, warning: 0, note: 0 };
  for (const d of diagnostics) counts[d.severity] += 1;
  const audit =
    extra.length === 0
      ? result
      : { ...result, diagnostics, summary: { ...result.summary, diagnostics: counts } };
  const engine = built?.engine ?? null;
  return {
    audit,
    rulesets,
    host: snapshot.host,
    ruleDoc,
    trace:
      engine === null
        ? null
        : (packet) => {
            const trace = engine.trace(packet);
            if (trace === null) {
              throw new Error(`the snapshot has no ${packet.family} ruleset to trace through`);
            }
            return trace;
          },
  };
}

export const review: Command = {
  name: 'review',
  summary: 'Review a host interactively in the terminal (findings, exposures, chains, tracer)',
  usage: USAGE,
  async run(argv: readonly string[], io: CommandIo): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...argv],
        options: { ...SNAPSHOT_OPTIONS, config: { type: 'string' } },
        allowPositionals: true,
        strict: true,
      });
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    const input = snapshotInputFrom(parsed.values, parsed.positionals, io.cwd);
    if (io.stdin.isTTY !== true || io.stdout.isTTY !== true) {
      io.stderr.write(
        'dockwall review: needs an interactive terminal (stdin and stdout).\n' +
          'For pipes and CI, use `dockwall audit --format text|json|sarif|markdown`.\n',
      );
      return 2;
    }
    const configPath = typeof parsed.values.config === 'string' ? parsed.values.config : undefined;
    return runReview((progress) => load(input, configPath, progress), io);
  },
};
