/** Command-line entry point: argument parsing and wiring only. Returns the process exit code. */
import type { Command, CommandIo } from './command.ts';
import { UsageError } from './command.ts';
import { audit } from './commands/audit.ts';
import { chains } from './commands/chains.ts';
import { collectCommand } from './commands/collect.ts';
import { parse } from './commands/parse.ts';
import { review } from './commands/review.ts';
import { rules } from './commands/rules.ts';
import { trace } from './commands/trace.ts';
import { VERSION } from './version.ts';

/** Every command, by name. Keep alphabetical. */
const COMMANDS: readonly Command[] = [audit, chains, collectCommand, parse, review, rules, trace];

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
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(mainUsage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`dockwall ${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr.write(`dockwall: unknown command '${name}'\n\n${mainUsage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.usage.endsWith('\n') ? command.usage : `${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`dockwall ${name}: ${error.message}\n\n${command.usage}\n`);
      return 2;
    }
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.stderr.write(`dockwall ${name}: internal error: ${message}\n`);
    return 2;
  }
}
