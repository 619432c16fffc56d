/** `dockwall parse`: summary, JSON shape, exit codes 0 / 1 / 2. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'dwp-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const good = join(dir, 'good.rules');
writeFileSync(
  good,
  '*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER - [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m weird --x 1 -j DOCKER\n-A DOCKER -j RETURN\nCOMMIT\n',
);
const bad = join(dir, 'bad.rules');
writeFileSync(bad, '*filter\n:INPUT ACCEPT [0:0]\nroot@host:~# oops\n-A INPUT -j ACCEPT\nCOMMIT\n');

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main(['parse', ...args], {
    stdout,
    stderr,
    stdin: new PassThrough(),
    env: {},
    cwd: dir,
  });
  return { code, out, err };
}

describe('dockwall parse', () => {
  it('prints a text summary and exits 0 when there is no error', async () => {
    const r = await run([good]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('3 rules in 1 tables');
    expect(r.out).toContain('unsupported constructs: 1 match modules, 0 targets');
    expect(r.out).toMatch(/good\.rules:7:\d+: warning \[unsupported-match\]/);
  });

  it('prints the JSON shape and exits 1 on an error diagnostic', async () => {
    const r = await run([bad, '--format', 'json']);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out) as {
      rules: number;
      tables: { name: string; chains: { name: string; policy: string | null; rules: number }[] }[];
      diagnostics: {
        code: string;
        severity: string;
        message: string;
        file: string;
        line: number;
        column: number;
      }[];
    };
    expect(json.rules).toBe(1);
    expect(json.tables[0]?.chains[0]).toEqual({ name: 'INPUT', policy: 'ACCEPT', rules: 1 });
    expect(json.diagnostics[0]).toMatchObject({
      code: 'parse-error',
      severity: 'error',
      file: bad,
      line: 3,
      column: 1,
    });
  });

  it('exits 2 with a clear message on unreadable input', async () => {
    const r = await run([join(dir, 'missing.rules')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^dockwall parse: cannot read \S+missing\.rules: no such file\n$/);
  });

  const built = existsSync(join(repoRoot, 'dist/src/cli/main.js'));
  it.skipIf(!built)('runs as a process from bin/dockwall.js (needs npm run build)', () => {
    const p = spawnSync(
      join(repoRoot, 'node_modules/.bin/node'),
      [join(repoRoot, 'bin/dockwall.js'), 'parse', good, '--format', 'json'],
      { encoding: 'utf8' },
    );
    expect(p.status).toBe(0);
    expect((JSON.parse(p.stdout) as { rules: number }).rules).toBe(3);
  });
});

describe('dockwall parse on nftables listings', () => {
  const listing = join(dir, 'ruleset.nft');
  writeFileSync(
    listing,
    'table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tiifname "lo" accept\n\t\tip dscp cs1 accept\n\t}\n}\n',
  );
  const json = join(dir, 'ruleset.json');
  writeFileSync(
    json,
    JSON.stringify({
      nftables: [
        { table: { family: 'ip', name: 'docker-bridges', handle: 1 } },
        {
          chain: {
            family: 'ip',
            table: 'docker-bridges',
            name: 'filter-FORWARD',
            handle: 1,
            type: 'filter',
            hook: 'forward',
            prio: 0,
            policy: 'accept',
          },
        },
        {
          rule: {
            family: 'ip',
            table: 'docker-bridges',
            chain: 'filter-FORWARD',
            handle: 2,
            expr: [{ counter: { packets: 1, bytes: 60 } }, { drop: null }],
          },
        },
      ],
    }),
  );

  it('reads `nft list ruleset` text: tables by family, base chains with hook and priority', async () => {
    const r = await run([listing]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('nftables listing (text), all families, 2 rules in 1 tables');
    expect(r.out).toContain('table inet filter');
    expect(r.out).toMatch(/input\s+DROP\s+2 rules\s+\(filter input priority 0\)/);
    expect(r.out).toMatch(/ruleset\.nft:5:3: warning \[unsupported-nft-expression\]/);
  });

  it('reads `nft -j list ruleset` JSON into the same summary shape', async () => {
    const r = await run([json, '--format', 'json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out) as {
      kind: string;
      family: string;
      tables: { name: string; chains: { name: string; hook?: string }[] }[];
    };
    expect(summary.kind).toBe('nft-json');
    expect(summary.family).toBe('any');
    expect(summary.tables).toEqual([
      {
        name: 'ip docker-bridges',
        chains: [
          { name: 'filter-FORWARD', policy: 'ACCEPT', rules: 1, hook: 'filter forward priority 0' },
        ],
      },
    ]);
  });
});
