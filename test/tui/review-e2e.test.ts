/**
 * End to end: the built CLI runs `dockwall review` on a real fixture inside a real
 * pseudo-terminal (tmux), gets keys, and we read the screen as a user would.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = path.join(repoRoot, 'fixtures/snapshots/28.5.2/s1-default-bridge-p8080');
const cli = path.join(repoRoot, 'bin/dockwall.js');
const node = path.join(repoRoot, 'node_modules/.bin/node');
const built = existsSync(path.join(repoRoot, 'dist/src/cli/main.js'));
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const inCi = process.env['CI'] === 'true';

const socket = `dwt-${randomBytes(4).toString('hex')}`;
const tmux = (...args: string[]): string =>
  execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });

function screen(): string {
  return tmux('capture-pane', '-p', '-t', 'review');
}

async function waitForScreen(expected: string | RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = screen();
    if (typeof expected === 'string' ? last.includes(expected) : expected.test(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`screen never showed ${String(expected)}; last screen:\n${last}`);
}

function keys(...k: string[]): void {
  tmux('send-keys', '-t', 'review', ...k);
}

afterAll(() => {
  spawnSync('tmux', ['-L', socket, 'kill-server']);
});

// In CI a missing tmux or build is a failure, not a skip.
const ready = hasTmux && built && existsSync(fixture);
describe.skipIf(!ready && !inCi)(
  `dockwall review in tmux (${ready ? 'tmux, build and fixture present' : 'skipped: needs tmux, npm run build and the 28.5.2 fixture'})`,
  () => {
    it('opens on the fixture, moves through panes, traces a witness, and quits with q', async () => {
      expect(hasTmux).toBe(true);
      expect(built).toBe(true);
      // `; echo EXIT=$?` keeps the pane after the app ends so the exit status can be read.
      const command = `${node} ${cli} review ${fixture}; echo EXIT=$?; sleep 30`;
      tmux('new-session', '-d', '-s', 'review', '-x', '120', '-y', '40', command);

      const findings = await waitForScreen('1 Findings');
      expect(findings).toMatch(/error \d+ +warning \d+ +note \d+/);
      expect(findings).toContain('q quit');

      keys('2');
      const exposures = await waitForScreen('host address:port/proto');
      // The fixture publishes port 80 of container c1 on host port 8080 to everyone.
      expect(exposures).toMatch(
        /:8080\/tcp\s+→ container c1 \(172\.17\.0\.2:80\)\s+(certain|possible)/,
      );

      keys('Enter');
      const traced = await waitForScreen('Verdict');
      expect(traced).toContain('Path of witness of exposure');
      expect(traced).toMatch(/accepted/);
      expect(traced).toMatch(/▶\s*\d+ filter\/\S+\s+(#\d+|-)\s+\d+ (ACCEPT|policy ACCEPT)/);

      keys('3');
      const chains = await waitForScreen('filter FORWARD');
      expect(chains).toMatch(/DOCKER-USER/);

      keys('?');
      await waitForScreen('Keys (? or Esc closes this help)');
      keys('Escape');
      await waitForScreen('filter FORWARD');

      // A smaller terminal: the frame follows, with the key hints still on the last line.
      tmux('resize-window', '-t', 'review', '-x', '90', '-y', '16');
      const small = await waitForScreen(/^(?:.*\n){15}.*q quit\s*$/);
      expect(small.trimEnd().split('\n')).toHaveLength(16);
      expect(small).toContain('filter FORWARD');

      keys('q');
      const after = await waitForScreen(/EXIT=\d+/);
      expect(after).toContain('EXIT=0');
    });

    it('refuses to run without a terminal and points to dockwall audit --format', () => {
      const result = spawnSync(node, [cli, 'review', fixture], { encoding: 'utf8' });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('dockwall audit --format');
    });
  },
);
