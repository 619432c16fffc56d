import path from 'node:path';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/command.ts';
import {
  SNAPSHOT_OPTIONS,
  SNAPSHOT_USAGE,
  snapshotInputFrom,
} from '../../src/cli/snapshot-args.ts';

function parse(argv: string[], cwd = process.cwd()) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...SNAPSHOT_OPTIONS, format: { type: 'string' } },
    allowPositionals: true,
  });
  return snapshotInputFrom(values, positionals, cwd);
}

describe('snapshot arguments', () => {
  it('takes a directory, and single files that override it', () => {
    expect(parse(['snap'])).toEqual({ directory: 'snap' });
    expect(parse(['snap', '--daemon', 'd.json', '--nft', 'n.json', '--format', 'json'])).toEqual({
      directory: 'snap',
      files: { daemon: 'd.json', 'nft-ruleset': 'n.json' },
    });
  });

  it('takes single files without a directory when one ruleset is named', () => {
    expect(parse(['--ip6tables', 'v6.txt', '--containers', 'c.json'])).toEqual({
      files: { ip6tables: 'v6.txt', containers: 'c.json' },
    });
    expect(parse(['--nft', 'ruleset.json', '--daemon', 'd.json'])).toEqual({
      files: { 'nft-ruleset': 'ruleset.json', daemon: 'd.json' },
    });
  });

  it('resolves paths against the command’s cwd when it is not the process’s', () => {
    expect(parse(['--iptables', 'r.txt'], '/elsewhere')).toEqual({
      files: { iptables: path.resolve('/elsewhere', 'r.txt') },
    });
  });

  it('refuses bad usage with UsageError', () => {
    expect(() => parse([])).toThrow(UsageError);
    expect(() => parse(['a', 'b'])).toThrow(/expected one SNAPSHOT_DIR, got 2/);
    expect(() => parse(['--daemon', 'd.json'])).toThrow(
      /a ruleset is required: --iptables FILE, --ip6tables FILE or --nft FILE/,
    );
  });

  it('documents every file option in the help fragment', () => {
    for (const option of Object.keys(SNAPSHOT_OPTIONS))
      expect(SNAPSHOT_USAGE).toContain(`--${option} `);
  });
});
