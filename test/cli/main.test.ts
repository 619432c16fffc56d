import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { COMMANDS, main } from '../../src/cli/main.ts';
import type { CommandIo } from '../../src/cli/command.ts';
import { VERSION } from '../../src/version.ts';

function capture(): { io: CommandIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const io = {
    stdout: { write: (s: string) => ((out += s), true) },
    stderr: { write: (s: string) => ((err += s), true) },
    stdin: process.stdin,
    env: {},
    cwd: process.cwd(),
  } as unknown as CommandIo;
  return { io, out: () => out, err: () => err };
}

describe('dockwall entry point', () => {
  it('lists every command with the summary the command itself carries', async () => {
    for (const entry of COMMANDS) {
      const command = await entry.load();
      expect(command.name).toBe(entry.name);
      expect(command.summary).toBe(entry.summary);
    }
    const names = COMMANDS.map((c) => c.name);
    expect(names).toEqual([...names].sort());
  });

  it('prints help with exit 0, and usage with exit 2 when no command is given', async () => {
    const help = capture();
    expect(await main(['--help'], help.io)).toBe(0);
    for (const entry of COMMANDS) expect(help.out()).toContain(entry.name);
    const none = capture();
    expect(await main([], none.io)).toBe(2);
    expect(none.out()).toContain('Usage: dockwall <command>');
  });

  it('rejects an unknown command with exit 2 and says which', async () => {
    const c = capture();
    expect(await main(['audti'], c.io)).toBe(2);
    expect(c.err()).toContain("unknown command 'audti'");
  });

  it('reports the version that package.json declares', async () => {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      version: string;
    };
    expect(VERSION).toBe(pkg.version);
    const c = capture();
    expect(await main(['--version'], c.io)).toBe(0);
    expect(c.out()).toBe(`dockwall ${VERSION}\n`);
  });

  it('prints a command’s own usage for --help', async () => {
    const c = capture();
    expect(await main(['parse', '--help'], c.io)).toBe(0);
    expect(c.out()).toContain('dockwall parse');
  });
});
