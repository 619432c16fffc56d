/**
 * With the compile cache on, a command's own modules load compiled whole, so that the next run
 * reads all of their code from the cache instead of compiling each function when first called
 * (src/cli/eager-compile.ts). What they import from outside dockwall loads first, as usual
 * (`outside` of each command in src/cli/main.ts), which only holds if the list matches the
 * built modules.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/main.ts';
import { repoRoot } from '../rules/tester.ts';

const cli = path.join(repoRoot, 'dist/cli');
const built = existsSync(path.join(cli, 'dockwall.js'));
const inCi = process.env['CI'] === 'true';

/** The specifiers a built module imports statically: `import … from "x"` and `import "x"`. */
function staticImports(file: string): string[] {
  const text = readFileSync(path.join(cli, file), 'utf8');
  return [...text.matchAll(/^import (?:[^;]*? from )?"([^"]+)";$/gm)].map((m) => m[1] ?? '');
}

/** What a built module and everything it imports statically import from outside dist/cli. */
function outsideOf(file: string): Set<string> {
  const seen = new Set<string>();
  const outside = new Set<string>();
  const todo = [file];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    if (seen.has(f)) continue;
    seen.add(f);
    for (const s of staticImports(f)) {
      if (s.startsWith('./')) todo.push(s.slice(2));
      else outside.add(s);
    }
  }
  return outside;
}

/** Each command's module in the built CLI, from the `import()` in its COMMANDS entry. */
function commandModules(): Map<string, string> {
  const text = readFileSync(path.join(cli, 'dockwall.js'), 'utf8');
  const found = new Map<string, string>();
  for (const m of text.matchAll(/name: "([a-z-]+)",[^}]*?import\("\.\/([^"]+)"\)/g)) {
    found.set(m[1] ?? '', m[2] ?? '');
  }
  return found;
}

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A private copy of the built package (its own compile cache beside its bin/). */
function packageCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockwall-eager-'));
  made.push(dir);
  for (const p of ['bin', 'dist/cli', 'package.json']) {
    cpSync(path.join(repoRoot, p), path.join(dir, p), { recursive: true });
  }
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

/** Runs an audit with V8's function log; how many functions of dist/cli were compiled lazily. */
function lazilyCompiled(dir: string, env: NodeJS.ProcessEnv): { count: number; report: string } {
  const log = path.join(dir, 'v8.log');
  rmSync(log, { force: true });
  const r = spawnSync(
    path.join(repoRoot, 'node_modules/.bin/node'),
    [
      '--log-function-events',
      `--logfile=${log}`,
      '--no-logfile-per-isolate',
      path.join(dir, 'bin/dockwall.js'),
      'audit',
      path.join(repoRoot, 'fixtures/example-host'),
      '--format',
      'json',
      '--fail-on',
      'never',
    ],
    { encoding: 'utf8', env, maxBuffer: 64 << 20 },
  );
  expect(r.status, r.stderr).toBe(0);
  const scripts = new Map<string, string>();
  let count = 0;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const f = line.split(',');
    if (f[0] === 'script-details') scripts.set(f[1] ?? '', f[2] ?? '');
    else if (f[0] === 'function' && f[1] === 'parse-function') {
      if ((scripts.get(f[2] ?? '') ?? '').includes('/dist/cli/')) count += 1;
    }
  }
  return { count, report: r.stdout };
}

describe.skipIf(!built && !inCi)(
  built ? 'compiled whole' : 'compiled whole (skipped: dist/ not built — run `npm test`)',
  () => {
    it('lists for each command what its modules import from outside dockwall', () => {
      const modules = commandModules();
      expect([...modules.keys()].sort()).toEqual(COMMANDS.map((c) => c.name).sort());
      // dockwall.js itself loads first, as usual: what it imports is loaded already
      const entry = outsideOf('dockwall.js');
      for (const c of COMMANDS) {
        const own = [...outsideOf(modules.get(c.name) ?? '')].filter((s) => !entry.has(s));
        expect([...c.outside].sort(), `${c.name}: its 'outside' list in src/cli/main.ts`).toEqual(
          own.sort(),
        );
      }
    });

    it('puts all of a command’s code in the cache: the next run compiles nearly nothing', () => {
      const env = { ...process.env, NODE_DISABLE_COMPILE_CACHE: undefined };
      const dir = packageCopy();
      const first = lazilyCompiled(dir, env);
      const second = lazilyCompiled(dir, env);
      // without the cache, every function is compiled when first called (~1,000 of them)
      const uncached = lazilyCompiled(packageCopy(), { ...env, NODE_DISABLE_COMPILE_CACHE: '1' });
      expect(uncached.count).toBeGreaterThan(300);
      expect(second.count).toBeLessThan(uncached.count / 20);
      // the same report whichever way the code was compiled
      expect(second.report).toBe(first.report);
      expect(uncached.report).toBe(first.report);
    }, 60_000);
  },
);
