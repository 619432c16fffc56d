/**
 * Review UI benchmark on the generated 100,000-rule host: time from analysis finished to the
 * first screen (target < 3 s), and key press → next frame latency (target < 100 ms), with the
 * app rendering into an in-memory terminal. Run: `npm run bench:tui` (`node dist/bench/tui.js`).
 */
import { EventEmitter } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { RULES } from '../rules/index.ts';
import { loadSnapshot } from '../src/cli/load-snapshot.ts';
import { analyze } from '../src/lint/analyze.ts';
import { DEFAULT_CONFIG } from '../src/lint/config-types.ts';
import { createLintEngine } from '../src/lint/default-engine.ts';
import type { ReviewData } from '../src/tui/data.ts';
import { mountApp } from '../src/tui/run.tsx';
import { detailContent } from '../src/tui/state.ts';
import { buildModel, chainRows } from '../src/tui/view-model.ts';
import { generateHost } from '../test/support/generate-host.ts';
import { requireSupportedNode } from './supported-node.ts';

const SIZE = { columns: 120, rows: 40 };

/** A terminal that keeps what is written and says when the next frame arrives. */
class FakeStdout extends Writable {
  readonly columns = SIZE.columns;
  readonly rows = SIZE.rows;
  readonly isTTY = true;
  private readonly frames = new EventEmitter();
  override _write(chunk: unknown, _encoding: string, callback: () => void): void {
    this.frames.emit('frame', String(chunk));
    callback();
  }
  /** Resolves with the time it took until a frame containing `text` was written. */
  frameWith(text: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.frames.off('frame', check);
        resolve(false);
      }, timeoutMs);
      const check = (frame: string): void => {
        if (!frame.includes(text)) return;
        clearTimeout(timer);
        this.frames.off('frame', check);
        resolve(true);
      };
      this.frames.on('frame', check);
    });
  }
  nextFrame(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.frames.off('frame', done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.frames.once('frame', done);
    });
  }
}

/** A raw-mode terminal input that ink reads key presses from. */
class FakeStdin extends Readable {
  readonly isTTY = true;
  setRawMode(): this {
    return this;
  }
  override _read(): void {}
  press(data: string): void {
    this.push(data);
  }
}

const KEYS: Readonly<Record<string, string>> = {
  down: '\u001B[B',
  up: '\u001B[A',
  pageDown: '\u001B[6~',
  enter: '\r',
  escape: '\u001B',
  tab: '\t',
};

function ms(n: number): string {
  return `${n.toFixed(1)} ms`;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? NaN;
}

const pause = (n: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, n));

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockwall-bench-tui-'));
  try {
    const generated = generateHost(dir);
    console.log(
      `host: ${generated.rules} rules, ${generated.chains} chains, ${generated.containers} containers`,
    );

    let t = performance.now();
    console.log('loading the snapshot…');
    const snapshot = await loadSnapshot({ directory: dir });
    const tLoad = performance.now() - t;
    console.log(`  loaded in ${ms(tLoad)}`);
    t = performance.now();
    // `--no-engine` measures the UI over the structural findings only, when the engine is slow.
    const withEngine = !process.argv.includes('--no-engine');
    console.log(withEngine ? 'building the engine…' : 'engine off (--no-engine)');
    const built = withEngine ? createLintEngine(snapshot) : { engines: null, engine: null };
    const tEngine = performance.now() - t;
    console.log(`  engine built in ${ms(tEngine)}`);
    t = performance.now();
    // `--skip-rules a,b` leaves out rules too slow for this host (the UI is what is measured).
    const skipAt = process.argv.indexOf('--skip-rules');
    const skip = new Set(skipAt < 0 ? [] : (process.argv[skipAt + 1] ?? '').split(','));
    const rules = Object.fromEntries(Object.entries(RULES).filter(([id]) => !skip.has(id)));
    console.log(
      `analysing with ${Object.keys(rules).length} rules${skip.size > 0 ? ` (skipped: ${[...skip].join(', ')})` : ''}…`,
    );
    const audit = analyze(snapshot, DEFAULT_CONFIG, { engines: built.engines, rules });
    const tAnalyze = performance.now() - t;
    console.log(
      `load ${ms(tLoad)}, engine ${ms(tEngine)}, analyze ${ms(tAnalyze)}: ` +
        `${audit.findings.length} findings, ${audit.exposures.length} exposures, ${audit.diagnostics.length} diagnostics`,
    );

    const engine = built.engine;
    const data: ReviewData = {
      audit,
      rulesets: [snapshot.ipv4, snapshot.ipv6].filter((r) => r !== null),
      host: snapshot.host,
      ruleDoc: (id) =>
        (RULES as Readonly<Record<string, { meta: { docs: { description: string } } }>>)[id]?.meta
          .docs.description ?? null,
      trace:
        engine === null
          ? null
          : (packet) => {
              const trace = engine.trace(packet);
              if (trace === null) throw new Error(`no ${packet.family} ruleset`);
              return trace;
            },
    };

    // Analysis finished: from here to the first frame on the terminal.
    const stdout = new FakeStdout();
    const stdin = new FakeStdin();
    const stderr = new FakeStdout();
    const tStart = performance.now();
    const model = buildModel(data);
    const first = stdout.nextFrame(10_000);
    const renderTimes: number[] = [];
    const app = mountApp(model, { stdin, stdout, stderr }, SIZE, (t) => renderTimes.push(t));
    const drawn = await first;
    const firstScreen = performance.now() - tStart;
    console.log(
      `first screen: ${ms(firstScreen)} after analysis (target < 3000 ms)${drawn ? '' : ' — NO FRAME'}`,
    );

    // Each step: the keys, and how often. Counts follow the host's list sizes so that every
    // press changes the screen (ink draws nothing for an unchanged screen).
    const page = SIZE.rows - 4;
    const nFindings = model.findings.length;
    const down = Math.min(40, nFindings - 1);
    const up = Math.min(20, down);
    const pages = Math.max(0, Math.min(10, Math.ceil((nFindings - 1 - (down - up)) / page)));
    const at = Math.min(nFindings - 1, down - up + pages * page);
    const opened = model.findings[at];
    const detailLines =
      opened === undefined
        ? 0
        : detailContent(model, { kind: 'finding', finding: opened }, SIZE.columns).length;
    const detailDown = Math.max(0, Math.min(5, detailLines - (SIZE.rows - 3)));
    const chainRowCount = chainRows(model, model.initialExpanded).length;
    const chainDown = Math.min(40, chainRowCount - 1);
    const chainPages = Math.max(0, Math.min(20, Math.ceil((chainRowCount - 1 - chainDown) / page)));
    console.log(
      `lists: ${nFindings} findings, ${model.exposures.length} exposures, ${chainRowCount} chain rows open at start (${model.ruleCount} rules), ${model.containers.length} containers`,
    );
    const plan: readonly (readonly [string, string, number])[] = [
      ['findings ↓', KEYS['down'] ?? '', down],
      ['findings ↑', KEYS['up'] ?? '', up],
      ['findings PgDn', KEYS['pageDown'] ?? '', pages],
      ['open detail', KEYS['enter'] ?? '', opened === undefined ? 0 : 1],
      ['detail ↓', KEYS['down'] ?? '', detailDown],
      ['close detail', KEYS['escape'] ?? '', opened === undefined ? 0 : 1],
      ['filter: /', '/', 1],
      ['filter: type', 'x', 1],
      ['filter: apply', KEYS['enter'] ?? '', 1],
      ['filter: clear', 'x', 1],
      ['to exposures', '2', 1],
      ['exposures ↓', KEYS['down'] ?? '', Math.max(0, Math.min(20, model.exposures.length - 1))],
      ['to chains (100k-rule tree)', '3', 1],
      ['chains ↓', KEYS['down'] ?? '', chainDown],
      ['chains PgDn', KEYS['pageDown'] ?? '', chainPages],
      ['chains Home', 'g', chainDown > 0 ? 1 : 0],
      ['chains End', 'G', chainRowCount > 1 ? 1 : 0],
      ['to containers', '4', 1],
      ['containers ↓', KEYS['down'] ?? '', Math.max(0, Math.min(20, model.containers.length - 1))],
      ['help on', '?', 1],
      ['help off', '?', 1],
    ];
    // A person reads the first screen before the first key; the pause also lets the garbage of
    // the analysis be collected outside the measured presses (the figure without it is printed
    // as the first press, which is measured right after the pause).
    await pause(1000);
    const all: number[] = [];
    const rows: string[] = [];
    let missed = 0;
    for (const [label, key, times] of plan) {
      if (times === 0) continue;
      const samples: number[] = [];
      for (let i = 0; i < times; i += 1) {
        // Wait out ink's frame throttle so each press is measured on its own.
        await pause(40);
        const frame = stdout.nextFrame(5_000);
        const t0 = performance.now();
        stdin.press(key);
        if (!(await frame)) {
          missed += 1;
          continue;
        }
        samples.push(performance.now() - t0);
      }
      const worst = samples.indexOf(Math.max(...samples));
      samples.sort((a, b) => a - b);
      all.push(...samples);
      rows.push(
        `  ${label.padEnd(28)} n=${String(samples.length).padStart(3)}  median ${ms(percentile(samples, 0.5)).padStart(9)}  max ${ms(samples.at(-1) ?? NaN).padStart(9)} (press ${worst + 1})`,
      );
    }
    all.sort((a, b) => a - b);
    // The tracer: from `t` on the form (filled with the first exposure's witness) to the path.
    await pause(200);
    stdin.press('5');
    await stdout.nextFrame(5_000);
    await pause(200);
    const traced = stdout.frameWith('Verdict', 30_000);
    const tTrace = performance.now();
    stdin.press('t');
    const traceOk = await traced;
    const traceMs = performance.now() - tTrace;
    console.log('key press → frame latency (target < 100 ms):');
    for (const r of rows) console.log(r);
    console.log(
      `  all ${all.length} presses: median ${ms(percentile(all, 0.5))}, p95 ${ms(percentile(all, 0.95))}, max ${ms(all.at(-1) ?? NaN)}` +
        (missed > 0 ? `, ${missed} presses drew no frame` : ''),
    );
    console.log(
      `  tracer: t → path on screen ${traceOk ? ms(traceMs) : 'NOT SHOWN within 30 s'} (one engine trace plus two frames)`,
    );
    const renders = renderTimes.slice(1).sort((a, b) => a - b);
    console.log(
      `  ink render time per frame: median ${ms(percentile(renders, 0.5))}, p95 ${ms(percentile(renders, 0.95))}, max ${ms(renders.at(-1) ?? NaN)} (${renders.length} frames)`,
    );
    console.log(
      `  load average while measuring: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} on ${cpus().length} cores`,
    );
    app.unmount();
    const ok = firstScreen < 3000 && (all.at(-1) ?? Infinity) < 100 && missed === 0;
    console.log(ok ? 'targets met' : 'TARGETS MISSED');
    process.exitCode = ok ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

requireSupportedNode();
await main();
