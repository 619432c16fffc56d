/** Command-line entry point: argument parsing and wiring only. Returns the process exit code. */
import { safeText } from '../model/safe-text.ts';
import type { Command, CommandIo } from './command.ts';
import { UsageError } from './command.ts';
import { VERSION } from '../version.ts';
import { ioReason, isIoError } from './io-error.ts';

/**
 * Every command, by name, alphabetical. Modules load only when their command runs, so a quick
 * `dockwall parse` does not pay for the engine, ink and react at start-up. The summary here is
 * the one `dockwall --help` prints; a test checks it equals the command's own.
 */
interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  readonly load: () => Promise<Command>;
  /**
   * What the command's modules import from outside dockwall: Node's own modules and packages.
   * bin/dockwall.js loads them first, as usual, and then the command's modules compiled whole
   * (eager-compile.ts): loaded in the same pass, they would be compiled whole too (most of their
   * code never runs), and a module compiled one way in one run and the other way in the next
   * misses the compile cache both times. A test checks the list against the built modules.
   */
  readonly outside: readonly string[];
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'audit',
    summary: 'Audit a host snapshot: exposures, findings with witness packets, CI exit codes',
    load: async () => (await import('./commands/audit.ts')).audit,
    outside: ['node:crypto', 'node:fs', 'node:fs/promises', 'node:path'],
  },
  {
    name: 'chains',
    summary: 'Show the chain order a packet meets and the paths each container’s traffic takes',
    load: async () => (await import('./commands/chains.ts')).chains,
    outside: ['node:fs', 'node:fs/promises', 'node:path'],
  },
  {
    name: 'collect',
    summary: 'Collect a host snapshot (rules, daemon.json, containers, addresses) into a directory',
    load: async () => (await import('./commands/collect.ts')).collectCommand,
    outside: ['node:child_process', 'node:fs', 'node:fs/promises', 'node:os', 'node:path'],
  },
  {
    name: 'diff',
    summary: 'What a change opens and closes: exposures gained and lost between two snapshots',
    load: async () => (await import('./commands/diff.ts')).diff,
    outside: ['node:crypto', 'node:fs', 'node:fs/promises', 'node:path'],
  },
  {
    name: 'parse',
    summary:
      'Read an iptables-save / -restore / -S file or an nft listing; report what was understood',
    load: async () => (await import('./commands/parse.ts')).parse,
    outside: ['node:fs', 'node:fs/promises', 'node:path'],
  },
  {
    name: 'plan',
    summary: 'Write the snapshot a host will have once a Compose project runs on it',
    load: async () => (await import('./commands/plan.ts')).plan,
    outside: ['node:crypto', 'node:fs', 'node:fs/promises', 'node:path', 'yaml'],
  },
  {
    name: 'review',
    summary: 'Review a host interactively in the terminal (findings, exposures, chains, tracer)',
    load: async () => (await import('./commands/review.ts')).review,
    outside: [
      'ink',
      'node:crypto',
      'node:fs',
      'node:fs/promises',
      'node:net',
      'node:path',
      'node:url',
      'node:worker_threads',
      'react',
      'react/jsx-runtime',
      'yaml',
    ],
  },
  {
    name: 'rules',
    summary: 'List the audit rules, their default severity and what they catch',
    load: async () => (await import('./commands/rules.ts')).rules,
    outside: [],
  },
  {
    name: 'trace',
    summary: 'Trace one packet rule by rule through netfilter: NAT, verdict, destination',
    load: async () => (await import('./commands/trace.ts')).trace,
    outside: ['node:fs', 'node:fs/promises', 'node:path'],
  },
];

/** The command of this name, or null for none. */
export function commandEntry(name: string | undefined): CommandEntry | null {
  return COMMANDS.find((c) => c.name === name) ?? null;
}

/**
 * Loads the command's modules before `main` runs it: first what they import from outside
 * dockwall, then, with `loadOwn` (bin/dockwall.js passes `loadCompiledWhole` when the compile
 * cache is on), the command's own modules. `main` then finds them loaded.
 */
export async function preloadCommand(
  entry: CommandEntry,
  loadOwn: (load: () => Promise<Command>) => Promise<Command>,
): Promise<void> {
  // one by one: the order they load in is the same in every run
  for (const specifier of entry.outside) await import(specifier);
  await loadOwn(entry.load);
}

function mainUsage(): string {
  const width = Math.max(0, ...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'dockwall — firewall policy analyzer and linter for Docker hosts',
    '',
    'Usage: dockwall <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `dockwall <command> --help` for a command’s options.',
    '',
  ].join('\n');
}

const watched = new WeakSet<NodeJS.EventEmitter>();

/**
 * A reader that stops early (`dockwall audit --format json | head`) closes the pipe, and the
 * writes after that fail with EPIPE, which Node raises as an unhandled 'error' event: a stack
 * trace after the output the reader wanted. The command ends with its own exit code instead; any
 * other failure to write the output is said in one line, and the exit code is 2.
 */
export function endQuietlyOnClosedPipe(
  stdout: NodeJS.EventEmitter,
  stderr: NodeJS.WritableStream,
): void {
  // once per stream, however many times main runs in one process
  if (watched.has(stdout)) return;
  watched.add(stdout);
  stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    stderr.write(`dockwall: cannot write the output: ${ioReason(error)}\n`);
    process.exitCode = 2;
  });
}

export async function main(
  argv: readonly string[],
  io: CommandIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  },
): Promise<number> {
  if (io.stdout === process.stdout) endQuietlyOnClosedPipe(process.stdout, io.stderr);
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(mainUsage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`dockwall ${VERSION}\n`);
    return 0;
  }
  const entry = commandEntry(name);
  if (entry === null) {
    io.stderr.write(`dockwall: unknown command '${safeText(name, 80)}'\n\n${mainUsage()}`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.usage.endsWith('\n') ? command.usage : `${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`dockwall ${name}: ${safeText(error.message)}\n\n${command.usage}\n`);
      return 2;
    }
    if (isIoError(error)) {
      // The file system refused something (a missing or read-only directory): one line.
      const file = error.path === undefined ? '' : ` ${safeText(error.path)}`;
      io.stderr.write(
        `dockwall ${name}: cannot ${error.syscall ?? 'access'}${file}: ${ioReason(error)}\n`,
      );
      return 2;
    }
    // A bug: the stack helps whoever reports it.
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    const lines = message.split('\n').map((line) => safeText(line));
    io.stderr.write(`dockwall ${name}: internal error: ${lines.join('\n')}\n`);
    return 2;
  }
}
