/**
 * Hostile input through the built CLI, checked the way a user would: no raw control byte on the
 * terminal, nothing of a file outside the snapshot in any report, exit codes 0/1/2 with a
 * one-line message, and bounded time and memory however the input is shaped.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { built, dockwall, hostileSnapshot, node, RAW_CONTROL, repoRoot } from './support.ts';
import { suiteTempDir, tempDir } from '../support/temp-dir.ts';

const EXAMPLE = path.join(repoRoot, 'fixtures/example-host');
const tmp = (): string => tempDir('dockwall-hostile-');

/** A copy of the example host to spoil, in `base` (by default a new temporary directory). */
function example(base = tmp()): string {
  const dir = path.join(base, 'snap');
  cpSync(EXAMPLE, dir, { recursive: true });
  return dir;
}

const oneLine = (text: string): boolean => text.trimEnd().split('\n').length === 1;

/**
 * A text report's words, its wrapped lines joined: where a message wraps depends on the length
 * of the paths in it, and so on where the repository was cloned.
 */
const words = (text: string): string => text.replace(/\s+/g, ' ');

/**
 * `dockwall audit --iptables` (JSON) of a filter table holding `lines` and an INPUT rule opening
 * 22/tcp, which must finish within a minute however the lines are shaped.
 */
async function auditFilterTable(
  lines: readonly string[],
): Promise<Awaited<ReturnType<typeof dockwall>>> {
  const dump = [
    '*filter',
    ':INPUT DROP [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ...lines,
    '-A INPUT -p tcp --dport 22 -j ACCEPT',
    'COMMIT',
    '',
  ];
  const rules = path.join(tmp(), 'rules.v4');
  writeFileSync(rules, dump.join('\n'));
  const started = Date.now();
  const r = await dockwall(['audit', '--iptables', rules, '--format', 'json']);
  expect(Date.now() - started).toBeLessThan(60_000);
  return r;
}

describe.skipIf(!built)('hostile input through the CLI (needs npm run build)', () => {
  describe('escape sequences in the dump', () => {
    // made while the tests are collected (they are named by it), so only when they will run: a
    // skipped block runs no afterAll to remove it
    const snap = built ? hostileSnapshot() : 'snap';
    const commands: readonly (readonly string[])[] = [
      ['audit', snap],
      ['audit', snap, '--format', 'markdown'],
      ['audit', snap, '--format', 'json'],
      ['audit', snap, '--format', 'sarif'],
      ['parse', path.join(snap, 'iptables-save.txt')],
      ['parse', path.join(snap, 'iptables-save.txt'), '--format', 'json'],
      ['chains', snap],
      ['chains', snap, '--format', 'json'],
      ['trace', snap, '--from', '203.0.113.9', '--to', '203.0.113.10:22'],
      ['trace', snap, '--from', '203.0.113.9', '--to', '203.0.113.10:8080', '--json'],
      ['trace', snap, '--from', '203.0.113.9', '--to', '203.0.113.53:5432'],
      ['trace', snap, '--from', '203.0.113.9', '--to', '203.0.113.53:5432', '--json'],
      ['audit', path.join(snap, 'nowhere\u001b[2J')],
      ['audit', snap, '--format', 'bogus\u001b[2J'],
    ];
    it.each(commands.map((c) => [c.join(' ').slice(0, 60), c]))(
      '%s: nothing raw reaches the terminal',
      async (_name, args) => {
        const r = await dockwall(args);
        expect([0, 1, 2]).toContain(r.code);
        expect(r.stdout).not.toMatch(RAW_CONTROL);
        expect(r.stderr).not.toMatch(RAW_CONTROL);
      },
    );

    it('the text report shows the escapes as visible text, where they were', async () => {
      const r = await dockwall(['audit', snap, '--fail-on', 'never']);
      expect(r.stdout).toContain('\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[1;31mFAKE: all good\\x1b[0m');
      expect(r.stdout).toContain('shop\\x1b[2J\\x9b31m\\u202eweb-1');
      expect(r.stdout).toMatch(
        /unfiltered-network[^]*mv\\u202epihole is on macvlan network lan\\x1b\[2J/,
      );
    });

    it('a trace taken below the host names the device owner as visible text', async () => {
      const r = await dockwall([
        'trace',
        snap,
        '--from',
        '203.0.113.9',
        '--to',
        '203.0.113.53:5432',
      ]);
      expect(words(r.stdout)).toContain(
        'Not through this host: 203.0.113.53 is the address of container mv\\u202epihole',
      );
    });

    it('JSON keeps the data exactly: the name parses back with its escape characters', async () => {
      const r = await dockwall(['audit', snap, '--format', 'json', '--fail-on', 'never']);
      const result = JSON.parse(r.stdout) as { exposures: { target: { name: string } }[] };
      expect(result.exposures.map((e) => e.target.name)).toContain(
        'shop\u001b[2J\u009b31m\u202eweb-1',
      );
    });
  });

  describe('links out of the snapshot', () => {
    const SECRET = 'root:$6$hunter2-hash:20228:0:99999:7:::';
    const dir = suiteTempDir('dockwall-hostile-');
    let snap = '';
    beforeAll(() => {
      const secretFile = path.join(dir(), 'shadow');
      writeFileSync(secretFile, `${SECRET}\n${'daemon:*:1:2:3\n'.repeat(3)}`);
      snap = example(dir());
      for (const name of ['listeners.txt', 'networks.json', 'daemon.json', 'sysctl.txt']) {
        rmSync(path.join(snap, name));
        symlinkSync(secretFile, path.join(snap, name));
      }
    });

    it.each(['text', 'json', 'sarif', 'markdown'])(
      '%s: each link is refused by name and nothing of the target appears',
      async (format) => {
        const r = await dockwall(['audit', snap, '--format', format]);
        expect(r.code).toBe(1);
        const all = r.stdout + r.stderr;
        expect(all).not.toContain('hunter2');
        expect(all).not.toContain('daemon:*');
        expect(all).not.toContain('root:');
        expect(all.match(/outside the snapshot directory/g)?.length).toBe(4);
      },
    );
  });

  describe('deep nesting in every JSON file', () => {
    const bomb = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    it.each([
      'containers.json',
      'networks.json',
      'daemon.json',
      'ip-addr.json',
      'ip-route.json',
      'docker-version.json',
      'nft-ruleset.json',
      'manifest.json',
    ])('%s: a located error, the rest analysed, no stack overflow', async (name) => {
      const snap = example();
      writeFileSync(path.join(snap, name), bomb);
      const r = await dockwall(['audit', snap, '--format', 'json']);
      expect(r.stderr).not.toMatch(/RangeError|internal error/);
      expect(r.code).toBe(1);
      const result = JSON.parse(r.stdout) as {
        diagnostics: { message: string; location: { file: string; column: number } }[];
        summary: { rules: number };
      };
      const deep = result.diagnostics.find((d) => d.message.includes('nested deeper than'));
      expect(deep?.location).toMatchObject({ file: path.join(snap, name), column: 257 });
      expect(result.summary.rules).toBeGreaterThan(0);
    });
  });

  describe('deep nesting in YAML (Compose files, the config)', () => {
    const bomb = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const said = 'nested deeper than 256 levels; dockwall does not read a document this deep';
    it('plan: a located error, nothing written, no stack overflow', async () => {
      const dir = tmp();
      const compose = path.join(dir, 'compose.yaml');
      writeFileSync(compose, `services:\n  web:\n    image: nginx\n    labels: ${bomb}\n`);
      const r = await dockwall([
        'plan',
        EXAMPLE,
        '--compose',
        compose,
        '--out',
        path.join(dir, 'o'),
      ]);
      expect(r.stderr).not.toMatch(/RangeError|call stack|internal error/);
      expect(r.stderr).toContain(`${compose}:4:`);
      expect(r.stderr).toContain(said);
      expect(r.code).toBe(2);
    });
    it('audit --config: a located error, no stack overflow', async () => {
      const config = path.join(tmp(), '.dockwall.yaml');
      writeFileSync(config, `rules: ${bomb}\n`);
      const r = await dockwall(['audit', EXAMPLE, '--config', config]);
      expect(r.stderr).not.toMatch(/RangeError|call stack|internal error/);
      expect(r.stderr).toContain(`${config}:1:`);
      expect(r.stderr).toContain(said);
      expect(r.code).toBe(2);
    });
  });

  describe('files that never end, or are not files', () => {
    it('a FIFO as daemon.json is refused at once', async () => {
      const snap = example();
      rmSync(path.join(snap, 'daemon.json'));
      execFileSync('mkfifo', [path.join(snap, 'daemon.json')]);
      const r = await dockwall(['audit', snap], { timeoutMs: 30_000 });
      expect(r.code).toBe(1);
      expect(r.ms).toBeLessThan(20_000);
      expect(words(r.stdout)).toContain('daemon.json is a FIFO (named pipe), not a regular file');
      expect(words(r.stdout)).toContain('daemon.json could not be read: Docker’s defaults assumed');
    });

    it('/dev/zero, linked in the snapshot or named on the command line, reads no byte', async () => {
      const snap = example();
      rmSync(path.join(snap, 'listeners.txt'));
      symlinkSync('/dev/zero', path.join(snap, 'listeners.txt'));
      for (const args of [
        ['audit', snap],
        ['audit', snap, '--containers', '/dev/zero'],
      ]) {
        const r = await dockwall(args, { timeoutMs: 30_000 });
        expect(r.code).toBe(1);
        expect(r.ms).toBeLessThan(20_000);
        expect(r.peakKib).toBeLessThan(400 * 1024);
        expect(words(r.stdout)).toMatch(
          /listeners\.txt is a symbolic link to \/dev\/zero, outside/,
        );
      }
      const named = await dockwall(['audit', snap, '--containers', '/dev/zero']);
      expect(words(named.stdout)).toContain('/dev/zero is a device, not a regular file; not read');
    });

    it('a 50 MB token is never echoed whole, and a 50 MB name is not repeated', async () => {
      const snap = example();
      const rules = readFileSync(path.join(snap, 'iptables-save.txt'), 'utf8').replace(
        '-A INPUT -i lo -j ACCEPT',
        `-A INPUT -i lo -m comment --comment ${'B'.repeat(50_000_000)} -j ACCEPT\n${'C'.repeat(50_000_000)}`,
      );
      writeFileSync(path.join(snap, 'iptables-save.txt'), rules);
      const inspect = readFileSync(path.join(snap, 'containers.json'), 'utf8').replace(
        '"Name": "/shop-db-1"',
        `"Name": "/${'D'.repeat(50_000_000)}"`,
      );
      writeFileSync(path.join(snap, 'containers.json'), inspect);
      for (const args of [
        ['audit', snap],
        ['audit', snap, '--format', 'json'],
        ['audit', snap, '--format', 'sarif'],
        ['chains', snap],
      ]) {
        const r = await dockwall(args, { timeoutMs: 60_000 });
        expect([0, 1]).toContain(r.code);
        expect(r.stdout.length + r.stderr.length).toBeLessThan(200_000);
        expect(r.peakKib).toBeLessThan(1024 * 1024);
      }
      const text = await dockwall(['audit', snap]);
      expect(words(text.stdout)).toContain(
        "containers[1].Name is 50000001 characters long, over dockwall's limit",
      );
    });
  });

  describe('garbage where a ruleset should be', () => {
    it('an unreadable iptables-save.txt beside a valid ip6tables-save.txt: IPv4 not analysed', async () => {
      const snap = example();
      writeFileSync(
        path.join(snap, 'iptables-save.txt'),
        'SGVsbG8gd29ybGQ\n\u0000\u0001garbage\n'.repeat(40),
      );
      const r = await dockwall(['audit', snap, '--format', 'json']);
      expect(r.code).toBe(1);
      const result = JSON.parse(r.stdout) as {
        exposures: { family: string; certainty: string }[];
        diagnostics: { code: string; message: string }[];
        snapshot: { files: { role: string; status: string }[]; assumptions: { text: string }[] };
      };
      expect(result.exposures.filter((e) => e.family !== 'ipv6')).toEqual([]);
      expect(result.exposures.length).toBeGreaterThan(0);
      expect(result.snapshot.files.find((f) => f.role === 'iptables')?.status).toBe('invalid');
      expect(result.snapshot.assumptions.map((a) => a.text)).toContain(
        'iptables-save.txt could not be used: IPv4 rules are not analysed',
      );
      expect(result.diagnostics.map((d) => d.message).join('\n')).not.toMatch(/iptables=false/);
      const text = await dockwall(['audit', snap]);
      expect(words(text.stdout)).toContain('IPv4 not analysed');
    });

    it('`iptables -L` output is recognised once, with the command to run instead', async () => {
      const dir = tmp();
      const listing = path.join(dir, 'rules.txt');
      writeFileSync(
        listing,
        'Chain INPUT (policy DROP 0 packets, 0 bytes)\n pkts bytes target     prot opt in     out     source               destination\n    0     0 ACCEPT     all  --  lo     *       0.0.0.0/0            0.0.0.0/0\n\nChain FORWARD (policy DROP 0 packets, 0 bytes)\n',
      );
      const parse = await dockwall(['parse', listing]);
      expect(parse.code).toBe(1);
      expect(parse.stdout.match(/error/g)?.length).toBe(2); // the count line and the one error
      expect(words(parse.stdout)).toContain('this is `iptables -L` output');
      const audit = await dockwall(['audit', '--iptables', listing]);
      expect(audit.code).toBe(2);
      expect(words(audit.stdout)).toContain('run `iptables-save > iptables-save.txt` as root');
    });
  });

  describe('rules whose sets grow exponentially', () => {
    it('twenty non-contiguous masks: the engine stops at its budget, fast, and says so', async () => {
      // each rule tests one bit of the source and the same bit of the destination: what passes
      // them all doubles with every rule (it took minutes and 8.7 GB before the budget)
      const bit = (b: number): string => {
        const v = 2 ** b;
        return [24, 16, 8, 0].map((sh) => Math.floor(v / 2 ** sh) % 256).join('.');
      };
      const masks: string[] = [];
      for (let b = 0; b < 20; b++)
        masks.push(`-A INPUT -s ${bit(b)}/${bit(b)} -d ${bit(b)}/${bit(b)} -j DROP`);
      const r = await auditFilterTable(masks);
      expect(r.code).toBe(1);
      const result = JSON.parse(r.stdout) as { diagnostics: { code: string; message: string }[] };
      const codes = result.diagnostics.map((d) => d.code);
      expect(codes).toContain('engine-limit');
      expect(codes).toContain('rule-skipped');
      expect(codes).not.toContain('engine-error');
      expect(codes).not.toContain('internal-rule-error');
      expect(result.diagnostics.find((d) => d.code === 'engine-limit')?.message).toMatch(
        /non-contiguous address masks/,
      );
    });
  });

  describe('sources too finely split to list', () => {
    it('an odd-address mask: the table is said to be missing, the other rules still run', async () => {
      // every source with its last bit clear reaches port 22: as prefixes, 2^31 of them
      const r = await auditFilterTable(['-A INPUT -s 0.0.0.1/0.0.0.1 -j DROP']);
      expect(r.code).toBe(1);
      const result = JSON.parse(r.stdout) as {
        exposures: unknown[];
        diagnostics: { code: string; message: string }[];
      };
      const codes = result.diagnostics.map((d) => d.code);
      expect(result.exposures).toEqual([]);
      expect(codes).toContain('discovery-limit');
      // not reported as a bug, and the engine's rules were not skipped
      expect(codes).not.toContain('engine-error');
      expect(codes).not.toContain('rule-skipped');
      expect(result.diagnostics.find((d) => d.code === 'discovery-limit')?.message).toMatch(
        /more than 4096 distinct prefixes of one pattern/,
      );
      const rules = path.join(tmp(), 'odd.v4');
      writeFileSync(
        rules,
        '*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n-A INPUT -s 0.0.0.1/0.0.0.1 -j DROP\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n',
      );
      const text = await dockwall(['audit', '--iptables', rules]);
      expect(words(text.stdout)).toContain(
        '(not listed: more distinct addresses than the table lists',
      );
    });
  });

  describe('many chains', () => {
    it('200,000 empty chains: audited in seconds, not counted again per chain', async () => {
      // shadowed-rule counted the ruleset's rules once per chain: 40,000 chains took 11 s,
      // 1,000,000 more than five minutes
      const chains: string[] = [];
      for (let i = 0; i < 200_000; i++) chains.push(`:C${i} - [0:0]`);
      const r = await auditFilterTable(chains);
      const result = JSON.parse(r.stdout) as { exposures: { ports: { from: number }[] }[] };
      expect(result.exposures.some((e) => e.ports.some((p) => p.from === 22))).toBe(true);
    });
  });

  describe('encodings', () => {
    const rules = readFileSync(path.join(EXAMPLE, 'iptables-save.txt'));
    const summary = async (file: string) => {
      const r = await dockwall(['parse', file, '--format', 'json']);
      return {
        code: r.code,
        json: JSON.parse(r.stdout) as { rules: number; diagnostics: { code: string }[] },
      };
    };
    it.each([
      ['UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), rules])],
      [
        'UTF-16 LE',
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(rules.toString(), 'utf16le')]),
      ],
      [
        'UTF-16 BE',
        Buffer.concat([
          Buffer.from([0xfe, 0xff]),
          Buffer.from(rules.toString(), 'utf16le').swap16(),
        ]),
      ],
    ])('%s: read like the UTF-8 file, with one note', async (_name, bytes) => {
      const file = path.join(tmp(), 'iptables-save.txt');
      writeFileSync(file, bytes);
      const plain = await summary(path.join(EXAMPLE, 'iptables-save.txt'));
      const converted = await summary(file);
      expect(converted.code).toBe(0);
      expect(converted.json.rules).toBe(plain.json.rules);
      expect(converted.json.diagnostics.map((d) => d.code)).toEqual(['encoding-converted']);
    });
  });

  describe('first contact', () => {
    it('`audit FILE` audits a single ruleset file and says which flag that is', async () => {
      const r = await dockwall([
        'audit',
        path.join(EXAMPLE, 'iptables-save.txt'),
        '--format',
        'json',
        '--fail-on',
        'never',
      ]);
      expect(r.code).toBe(0);
      const result = JSON.parse(r.stdout) as {
        diagnostics: { code: string; message: string }[];
        summary: { rules: number };
      };
      expect(result.summary.rules).toBeGreaterThan(0);
      expect(result.diagnostics.find((d) => d.code === 'single-ruleset-file')?.message).toContain(
        '`--iptables',
      );
      const v6 = await dockwall([
        'audit',
        path.join(EXAMPLE, 'ip6tables-save.txt'),
        '--fail-on',
        'never',
      ]);
      expect(words(v6.stdout)).toContain('read as the IPv6 ruleset, as `--ip6tables');
    });

    it('an older Node is told the version it needs, in one line, exit 2', () => {
      const fake =
        'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.11.1"})';
      let out = '';
      let code = 0;
      try {
        execFileSync(
          node,
          ['--import', fake, path.join(repoRoot, 'bin/dockwall.js'), 'audit', EXAMPLE],
          {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
      } catch (error) {
        const e = error as { status: number; stderr: string };
        code = e.status;
        out = e.stderr;
      }
      expect(code).toBe(2);
      expect(out).toMatch(/^dockwall needs Node ≥ 22; this is Node 20\.11\.1 \(.+\)\n$/);
    });
  });

  describe('writing results', () => {
    /**
     * A directory no one can write to: a read-only tmpfs as root, mode 0555 otherwise. Made in a
     * test; unmounted when it finishes, before its temporary directory is removed (onTestFinished
     * runs the latest first).
     */
    function readOnlyDir(): string {
      const dir = path.join(tmp(), 'ro');
      mkdirSync(dir);
      if (process.getuid?.() === 0) {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir]);
        onTestFinished(() => {
          execFileSync('umount', [dir]);
        });
      } else {
        execFileSync('chmod', ['0555', dir]);
      }
      return dir;
    }

    it.each([
      [
        'a missing directory',
        () => path.join(tmp(), 'missing', 'report.txt'),
        'no such file or directory',
      ],
      [
        'a file where a directory should be',
        () => path.join(EXAMPLE, 'daemon.json', 'x'),
        'a part of the path is not a directory',
      ],
      [
        'a read-only directory',
        () => path.join(readOnlyDir(), 'report.txt'),
        /read-only file system|permission denied/,
      ],
    ] as const)('--output into %s: one line, exit 2', async (_name, target, reason) => {
      const file = target();
      for (const flag of ['--output', '--write-baseline']) {
        const r = await dockwall(['audit', EXAMPLE, flag, file]);
        expect(r.code).toBe(2);
        expect(oneLine(r.stderr)).toBe(true);
        expect(r.stderr).toMatch(/^dockwall audit: cannot write the (report|baseline) to /);
        expect(r.stderr).toMatch(reason);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
    });

    it('--baseline right after --write-baseline passes at --fail-on warning', async () => {
      const baseline = path.join(tmp(), 'baseline.json');
      const write = await dockwall([
        'audit',
        EXAMPLE,
        '--write-baseline',
        baseline,
        '--fail-on',
        'warning',
      ]);
      expect(write.code).toBe(0);
      const again = await dockwall([
        'audit',
        EXAMPLE,
        '--baseline',
        baseline,
        '--fail-on',
        'warning',
      ]);
      expect(again.code, again.stdout).toBe(0);
      expect(again.stdout).toMatch(/0 errors, 0 warnings, 0 notes, .* in baseline/);
      const missing = await dockwall([
        'audit',
        EXAMPLE,
        '--baseline',
        path.join(tmp(), 'none.json'),
      ]);
      expect(missing.code).toBe(2);
      expect(oneLine(missing.stderr)).toBe(true);
    });
  });
});
