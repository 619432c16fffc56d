/** Renders the app with ink-testing-library and waits for frames instead of sleeping. */
import { render } from 'ink-testing-library';
import { App } from '../../src/tui/app.tsx';
import type { ReviewData } from '../../src/tui/data.ts';
import { buildModel } from '../../src/tui/view-model.ts';

export const SIZE = { columns: 100, rows: 24 };

// Colours would interleave escape codes with the text the tests read.
const ANSI = /\u001B\[[0-9;?]*[A-Za-z]/g;

export async function waitFor(
  frame: () => string,
  predicate: (text: string) => boolean,
  what: string,
): Promise<string> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const text = frame();
    if (predicate(text)) return text;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last frame:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface RenderedApp {
  readonly stdin: { write(data: string): void };
  /** The last frame, without colour codes. */
  frame(): string;
  press(keys: string | readonly string[], expected: string | RegExp): Promise<string>;
  ready(expected: string): Promise<string>;
}

export function renderApp(data: ReviewData, size = SIZE): RenderedApp {
  const instance = render(<App model={buildModel(data)} size={size} />);
  const frame = () => (instance.lastFrame() ?? '').replace(ANSI, '');
  return {
    stdin: instance.stdin,
    frame,
    /** Writes keys, then waits until the frame shows `expected`. */
    async press(keys: string | readonly string[], expected: string | RegExp): Promise<string> {
      for (const k of typeof keys === 'string' ? [keys] : keys) {
        instance.stdin.write(k);
        // Ink reads input per event; give it a turn between keys so sequences stay separate.
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      return waitFor(
        frame,
        (t) => (typeof expected === 'string' ? t.includes(expected) : expected.test(t)),
        String(expected),
      );
    },
    async ready(expected: string): Promise<string> {
      return waitFor(frame, (t) => t.includes(expected), expected);
    },
  };
}
