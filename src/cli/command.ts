/**
 * The shape of a CLI command. Each command lives in `src/cli/commands/<name>.ts` and is listed
 * in `src/cli/main.ts`. Commands parse their own arguments (node:util parseArgs), write to the
 * given streams, and return the exit code: 0 ok, 1 findings/errors at or above the threshold,
 * 2 usage, input or internal error.
 */
import { parseArgs } from 'node:util';
import type { ParseArgsOptionsConfig } from 'node:util';

export interface CommandIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export interface Command {
  readonly name: string;
  /** One line for `dockwall --help`. */
  readonly summary: string;
  /** Full `dockwall <name> --help` text. */
  readonly usage: string;
  run(argv: readonly string[], io: CommandIo): Promise<number>;
}

/** Thrown by argument parsing helpers; main() prints it with the command's usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * `node:util` parseArgs with the conventions every command shares: strict options, positionals
 * allowed (each command checks its own), and any parse failure turned into a UsageError.
 */
export function parseCommandArgs<const T extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: T,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
