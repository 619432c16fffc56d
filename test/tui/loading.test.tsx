import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReviewData } from '../../src/tui/data.ts';
import type { Progress } from '../../src/tui/run.tsx';
import { Root } from '../../src/tui/run.tsx';
import { waitFor } from './render.tsx';
import { sampleData } from './sample.ts';

afterEach(() => {
  cleanup();
});

describe('while the analysis runs', () => {
  it('shows a spinner with the current step, then the app once the result is ready', async () => {
    let report: Progress = () => undefined;
    let finish: (data: ReviewData) => void = () => undefined;
    const load = (progress: Progress): Promise<ReviewData> => {
      report = progress;
      return new Promise((resolve) => {
        finish = resolve;
      });
    };
    const app = render(<Root load={load} size={{ columns: 100, rows: 24 }} />);
    const frame = () => app.lastFrame() ?? '';
    await waitFor(frame, (t) => t.includes('starting…'), 'the first step');
    report('analysing 104213 rules and 2000 containers…');
    const spinning = await waitFor(frame, (t) => t.includes('analysing 104213'), 'progress');
    expect(spinning).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] analysing 104213 rules and 2000 containers…/);
    finish(sampleData());
    const ready = await waitFor(frame, (t) => t.includes('exposed-database'), 'the app');
    expect(ready).not.toContain('analysing');
  });
});
