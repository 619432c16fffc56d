/** Command-line entry point: argument parsing and wiring only. Returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command] = argv;
  process.stderr.write(`dockwall: unknown command ${command ?? '(none)'}\n`);
  return Promise.resolve(2);
}
