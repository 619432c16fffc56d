/**
 * The review UI on a snapshot full of escape sequences, in a real terminal (tmux): what the
 * user sees shows the escapes as text, the pane title is not changed, and the screen is not
 * cleared or painted by the dump. Also the same check on ink's raw frames.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { cleanup, render } from 'ink-testing-library';
import { createElement } from 'react';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { analyze } from '../../src/lint/analyze.ts';
import { DEFAULT_CONFIG } from '../../src/lint/config-types.ts';
import { App } from '../../src/tui/app.tsx';
import { buildModel } from '../../src/tui/view-model.ts';
import { built, hostileSnapshot, node, RAW_CONTROL, repoRoot } from './support.ts';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const inCi = process.env['CI'] === 'true';
const socket = `dwh-${randomBytes(4).toString('hex')}`;
const tmux = (...args: string[]): string =>
  execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });

afterAll(() => {
  spawnSync('tmux', ['-L', socket, 'kill-server']);
});
afterEach(() => {
  cleanup();
});

/** Our own colours and cursor moves: SGR and the few CSI sequences ink writes. */
const OWN_SEQUENCES = /\u001b\[[0-9;?]*[A-Za-z]/g;

/**
 * A user's walk through the panes to every place the dump's text shows: a finding's detail that
 * quotes the commented rule, the chain tree opened at INPUT's jump into ufw-user-input, the
 * container list and the diagnostics. Each step: keys, then the text the screen must show.
 */
const WALK: readonly { keys: readonly string[]; shows: string }[] = [
  { keys: ['1', '/', ...'rule 1 above', '\r'], shows: 'shown 2/15' },
  { keys: ['\r'], shows: '\\x1b[1;31mFAKE: all good' },
  { keys: ['\u001b', '3', ...'j'.repeat(16), '\r'], shows: 'EVIL\\x1b[2J' },
  { keys: ['4'], shows: 'shop\\x1b[2J\\x9b31m\\u202eweb-1' },
  { keys: ['6'], shows: "unknown option '--bogus\\x9b31mopt'" },
];

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(read: () => string, text: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const screen = read();
    if (screen.includes(text)) return screen;
    if (Date.now() > deadline) throw new Error(`never showed ${text}; last screen:\n${screen}`);
    await pause(20);
  }
}

describe('review UI frames (ink)', () => {
  it('every place the dump’s text shows, it shows as escapes', async () => {
    const snapshot = await loadSnapshot({ directory: hostileSnapshot() });
    const model = buildModel({
      audit: analyze(snapshot, DEFAULT_CONFIG, { rules: RULES }),
      rulesets: [snapshot.ipv4, snapshot.ipv6].filter((r) => r !== null),
      host: snapshot.host,
      ruleDoc: () => null,
      trace: null,
    });
    const app = render(createElement(App, { model, size: { columns: 160, rows: 50 } }));
    const frames: string[] = [];
    for (const step of WALK) {
      for (const key of step.keys) {
        app.stdin.write(key);
        await pause(3);
      }
      frames.push(await until(() => app.lastFrame() ?? '', step.shows));
    }
    const all = frames.join('\n');
    // Ink writes colour codes of its own; none of the dump's sequences is among them.
    expect(all).not.toContain('\u001b]0;PWNED');
    expect(all).not.toContain('\u001b[2J');
    expect(all).not.toContain('\u001b[1;31mFAKE');
    expect(all.replace(OWN_SEQUENCES, '')).not.toMatch(RAW_CONTROL);
  });
});

/** tmux key names for the walk's keys. */
const TMUX_KEYS: Readonly<Record<string, string>> = { '\r': 'Enter', '\u001b': 'Escape' };

const ready = hasTmux && built;
describe.skipIf(!ready && !inCi)(
  `dockwall review in tmux on a hostile snapshot (${ready ? 'tmux and build present' : 'skipped: needs tmux and npm run build'})`,
  () => {
    it('the terminal’s title and screen stay dockwall’s', async () => {
      expect(hasTmux).toBe(true);
      expect(built).toBe(true);
      const snap = hostileSnapshot();
      const cli = path.join(repoRoot, 'bin/dockwall.js');
      tmux('new-session', '-d', '-s', 'hostile', '-x', '160', '-y', '50');
      tmux('select-pane', '-t', 'hostile', '-T', 'dockwall-test');
      tmux('respawn-pane', '-k', '-t', 'hostile', `${node} ${cli} review '${snap}'; sleep 60`);
      const capture = (): string => tmux('capture-pane', '-p', '-t', 'hostile');
      await until(capture, '1 Findings');
      const screens: string[] = [];
      for (const step of WALK) {
        for (const key of step.keys) {
          tmux('send-keys', '-t', 'hostile', TMUX_KEYS[key] ?? key);
          await pause(30);
        }
        screens.push(await until(capture, step.shows));
      }
      expect(tmux('display-message', '-p', '-t', 'hostile', '#{pane_title}').trim()).toBe(
        'dockwall-test',
      );
      // Had the dump's sequences reached the terminal, tmux would have run them: the text
      // would be missing or painted, not shown as escapes (checked step by step above).
      expect(screens.join('\n')).not.toMatch(/^FAKE: all good/m);
      tmux('send-keys', '-t', 'hostile', 'q');
    }, 90_000);
  },
);
