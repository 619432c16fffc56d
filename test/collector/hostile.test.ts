/**
 * Both collectors where someone may have prepared the ground: a non-empty output directory,
 * planted links, a stale containers.json, secrets in Config.Env, no permission to read the
 * rules. The tools they run are stubs on PATH printing the example host's files, so what is
 * checked is the collectors' own behaviour: refusals (exit 2, one line), file modes, what is
 * kept, and that nothing outside the directory is written.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { suiteTempDir, tempDir } from '../support/temp-dir.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const node = path.join(repoRoot, 'node_modules/.bin/node');
const built = existsSync(path.join(repoRoot, 'dist/src/cli/main.js'));
const EXAMPLE = path.join(repoRoot, 'fixtures/example-host');
const SECRET = 'POSTGRES_PASSWORD=hunter2-do-not-keep';

const tmp = (): string => tempDir('dockwall-collect-');

/** Stub tools in `dir` printing the example host; STUB_DOCKER_DOWN, STUB_NOT_ROOT change them. */
function stubs(dir: string): string {
  const bin = path.join(dir, 'bin');
  const fix = path.join(dir, 'fix');
  mkdirSync(bin);
  mkdirSync(fix);
  const containers = JSON.parse(readFileSync(path.join(EXAMPLE, 'containers.json'), 'utf8')) as {
    Config: { Env: string[] | null };
  }[];
  for (const c of containers) c.Config.Env = ['PATH=/usr/local/bin:/usr/bin', SECRET];
  writeFileSync(path.join(fix, 'containers.json'), `${JSON.stringify(containers, null, 4)}\n`);
  const tool = (name: string, body: string): void => {
    writeFileSync(path.join(bin, name), `#!/bin/sh\nFIX=${EXAMPLE}\nSTUBS=${fix}\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  };
  const rules = (file: string) =>
    `if [ -n "\${STUB_NOT_ROOT:-}" ]; then echo "${file}: Permission denied (you must be root)" >&2; exit 4; fi\ncat "$FIX/${file}"\nif [ -n "\${STUB_LEGACY:-}" ]; then echo "# Warning: ${file.startsWith('ip6') ? 'ip6tables' : 'iptables'}-legacy tables present, use ${file.startsWith('ip6') ? 'ip6tables' : 'iptables'}-legacy-save to see them" >&2; fi`;
  tool('iptables-save', rules('iptables-save.txt'));
  tool('ip6tables-save', rules('ip6tables-save.txt'));
  tool(
    'nft',
    'if [ -n "${STUB_NOT_ROOT:-}" ]; then echo "Operation not permitted" >&2; exit 1; fi\necho \'{"nftables": [{"metainfo": {"version": "1.0.9"}}]}\'',
  );
  tool(
    'docker',
    [
      'if [ -n "${STUB_DOCKER_DOWN:-}" ]; then',
      '  [ "$1" = version ] && echo \'{"Client": {"Version": "28.5.2"}}\'',
      '  echo "Cannot connect to the Docker daemon" >&2; exit 1',
      'fi',
      'case "$1" in',
      '  version) cat "$FIX/docker-version.json" ;;',
      '  info) echo \'"host-id"\' ;;',
      '  ps) printf "a1\\nb2\\nc3\\n" ;;',
      '  inspect) cat "$STUBS/containers.json" ;;',
      '  network) if [ "$2" = ls ]; then echo n1; else cat "$FIX/networks.json"; fi ;;',
      'esac',
    ].join('\n'),
  );
  tool(
    'ip',
    'case "$*" in *addr*) cat "$FIX/ip-addr.json" ;; *"-4 rule"*) cat "$FIX/ip-rule.json" ;; *"-6 rule"*) cat "$FIX/ip6-rule.json" ;; *-4*) cat "$FIX/ip-route.json" ;; *) echo "[]" ;; esac',
  );
  tool('ss', 'cat "$FIX/listeners.txt"');
  return bin;
}

// made before the tests and removed after them; not made when they are all skipped (not built)
const stubDir = suiteTempDir('dockwall-collect-');
let BIN = '';
beforeAll(() => {
  BIN = stubs(stubDir());
});

interface Collected {
  readonly code: number | null;
  readonly stderr: string;
}

type Collector = (out: string, flags: readonly string[], env?: Record<string, string>) => Collected;

const env = (extra: Record<string, string> = {}) => ({
  ...process.env,
  PATH: `${BIN}:${process.env['PATH'] ?? ''}`,
  ...extra,
});

const COLLECTORS: readonly (readonly [string, Collector])[] = [
  [
    'scripts/collect.sh',
    (out, flags, extra) => {
      const r = spawnSync('sh', [path.join(repoRoot, 'scripts/collect.sh'), ...flags, out], {
        encoding: 'utf8',
        env: env(extra),
      });
      return { code: r.status, stderr: r.stderr };
    },
  ],
  [
    'dockwall collect',
    (out, flags, extra) => {
      const r = spawnSync(
        node,
        [path.join(repoRoot, 'bin/dockwall.js'), 'collect', ...flags, '--out', out],
        { encoding: 'utf8', env: env(extra) },
      );
      return { code: r.status, stderr: r.stderr };
    },
  ],
];

const mode = (file: string): number => statSync(file).mode & 0o777;
const oneLine = (text: string): boolean => text.trimEnd().split('\n').length === 1;

describe.skipIf(!built)('collectors on hostile ground (needs npm run build)', () => {
  describe.each(COLLECTORS)('%s', (_name, collect) => {
    it('writes a private snapshot (0700, 0600) without containers’ environment variables', async () => {
      const out = path.join(tmp(), 'snap');
      const r = collect(out, []);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('environment variables left out (--keep-env keeps them)');
      expect(mode(out)).toBe(0o700);
      const files = readdirSync(out);
      expect(files).toEqual(expect.arrayContaining(['iptables-save.txt', 'containers.json']));
      for (const f of files) expect([f, mode(path.join(out, f))]).toEqual([f, 0o600]);
      const inspect = readFileSync(path.join(out, 'containers.json'), 'utf8');
      expect(inspect).not.toContain('hunter2');
      expect(inspect).not.toContain('PATH=/usr/local/bin');
      const snapshot = await loadSnapshot({ directory: out });
      expect(snapshot.host.containers.map((c) => c.name)).toEqual([
        'shop-web-1',
        'shop-db-1',
        'node-exporter',
      ]);
      expect(snapshot.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(snapshot.manifest?.['containerEnvironment']).toBe('dropped');
    });

    it('keeps iptables-nft-save’s warning of legacy tables, which reading then reports', async () => {
      const out = path.join(tmp(), 'snap');
      const r = collect(out, [], { STUB_LEGACY: '1' });
      expect(r.code, r.stderr).toBe(0);
      const dump = readFileSync(path.join(out, 'iptables-save.txt'), 'utf8').trimEnd().split('\n');
      expect(dump.at(-1)).toBe(
        '# Warning: iptables-legacy tables present, use iptables-legacy-save to see them',
      );
      const snapshot = await loadSnapshot({ directory: out });
      expect(
        snapshot.diagnostics
          .filter((d) => d.code === 'partial-input')
          .map((d) => [path.basename(d.location.file), d.location.line, d.message.slice(0, 40)]),
      ).toEqual([
        [
          'ip6tables-save.txt',
          readFileSync(path.join(out, 'ip6tables-save.txt'), 'utf8').trimEnd().split('\n').length,
          'the host also has ip6tables-legacy table',
        ],
        ['iptables-save.txt', dump.length, 'the host also has iptables-legacy tables'],
      ]);
    });

    it('keeps the environment variables with --keep-env, and says so', () => {
      const out = path.join(tmp(), 'snap');
      expect(collect(out, ['--keep-env']).code).toBe(0);
      expect(readFileSync(path.join(out, 'containers.json'), 'utf8')).toContain(SECRET);
      const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
        containerEnvironment: string;
      };
      expect(manifest.containerEnvironment).toBe('kept');
    });

    it('refuses a directory that is not empty, touching nothing', () => {
      const out = tmp();
      writeFileSync(path.join(out, 'notes.txt'), 'mine\n');
      const r = collect(out, []);
      expect(r.code).toBe(2);
      expect(oneLine(r.stderr)).toBe(true);
      expect(r.stderr).toContain('is not empty; give a new directory, or --force');
      expect(readdirSync(out)).toEqual(['notes.txt']);
      const forced = collect(out, ['--force']);
      expect(forced.code).toBe(2);
      expect(forced.stderr).toContain('not part of a snapshot (notes.txt)');
      expect(readdirSync(out)).toEqual(['notes.txt']);
    });

    it('--force over planted links and a stale snapshot: no target written, nothing stale kept', () => {
      const out = tmp();
      const victims = tmp();
      for (const name of ['manifest.json', 'containers.json', 'iptables-save.txt']) {
        writeFileSync(path.join(victims, name), 'precious\n');
        symlinkSync(path.join(victims, name), path.join(out, name));
      }
      writeFileSync(path.join(out, 'networks.json'), '[]\n'); // from an earlier run
      const r = collect(out, ['--force'], { STUB_DOCKER_DOWN: '1' });
      expect(r.code, r.stderr).toBe(0);
      for (const name of readdirSync(victims)) {
        expect(readFileSync(path.join(victims, name), 'utf8')).toBe('precious\n');
      }
      expect(lstatSync(path.join(out, 'manifest.json')).isFile()).toBe(true);
      expect(lstatSync(path.join(out, 'iptables-save.txt')).isFile()).toBe(true);
      // The daemon was down: no containers.json or networks.json, not the old ones.
      expect(existsSync(path.join(out, 'containers.json'))).toBe(false);
      expect(existsSync(path.join(out, 'networks.json'))).toBe(false);
      const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
        missing: { file: string }[];
      };
      expect(manifest.missing.map((m) => m.file)).toContain('containers.json');
    });

    it('refuses a directory that is a link, or another user’s', () => {
      const target = tmp();
      const link = path.join(tmp(), 'snap');
      symlinkSync(target, link);
      const r = collect(link, []);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('is a symbolic link; give a new directory');
      expect(readdirSync(target)).toEqual([]);
      if (process.getuid?.() === 0) {
        const theirs = tmp();
        chownSync(theirs, 65534, 65534);
        const other = collect(theirs, []);
        expect(other.code).toBe(2);
        expect(other.stderr).toContain('belongs to another user');
        expect(readdirSync(theirs)).toEqual([]);
      }
    });

    it('exits 2 with a clear message when no ruleset could be read', () => {
      const out = path.join(tmp(), 'snap');
      const r = collect(out, [], { STUB_NOT_ROOT: '1' });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no ruleset could be read.*cannot be audited/);
      expect(r.stderr).not.toContain('snapshot written');
      // What could be collected is still there, with the reasons in the manifest.
      const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
        missing: { file: string; reason: string }[];
      };
      expect(manifest.missing.find((m) => m.file === 'iptables-save.txt')?.reason).toContain(
        'Permission denied',
      );
    });
  });

  it('an audit warns about a file the manifest says was not collected', async () => {
    const out = path.join(tmp(), 'snap');
    expect(COLLECTORS[0]?.[1](out, [], { STUB_DOCKER_DOWN: '1' }).code).toBe(0);
    // Copied in afterwards (or left from an earlier run): it may not describe this host now.
    writeFileSync(
      path.join(out, 'containers.json'),
      readFileSync(path.join(EXAMPLE, 'containers.json')),
    );
    const snapshot = await loadSnapshot({ directory: out });
    expect(
      snapshot.diagnostics
        .filter((d) => d.code === 'manifest-mismatch')
        .map((d) => [d.severity, d.location.file]),
    ).toEqual([['warning', path.join(out, 'containers.json')]]);
  });

  it('the output directory’s parents are created private too', () => {
    const base = tmp();
    mkdirSync(path.join(base, 'a'));
    const out = path.join(base, 'a', 'b', 'snap');
    const r = COLLECTORS[1]?.[1](out, []);
    expect(r?.code).toBe(0);
    expect(mode(path.join(base, 'a', 'b'))).toBe(0o700);
  });
});
