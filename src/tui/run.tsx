/**
 * Starting the review UI: a spinner saying what the analysis is doing, then the app. The
 * caller supplies the loading (snapshot, analysis, engine); this module only renders.
 */
import { Box, render, useAnimation, useApp } from 'ink';
import { safeText } from '../model/safe-text.ts';
import { Text } from './views/text.tsx';
import type { ReactNode } from 'react';
import { useEffect, useState } from 'react';
import { App } from './app.tsx';
import type { ReviewData } from './data.ts';
import type { ReviewModel } from './view-model.ts';
import { buildModel } from './view-model.ts';

/** Reports progress while loading; each call replaces the spinner's text. */
export type Progress = (text: string) => void;
export type Loader = (progress: Progress) => Promise<ReviewData>;

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function Spinner({ text }: { readonly text: string }): ReactNode {
  const { frame } = useAnimation({ interval: 80 });
  return (
    <Text>
      <Text color="cyan">{FRAMES[frame % FRAMES.length]}</Text> {text}
    </Text>
  );
}

class LoadError extends Error {
  override readonly name = 'LoadError';
}

export function Root({
  load,
  size,
}: {
  readonly load: Loader;
  readonly size?: { readonly columns: number; readonly rows: number };
}): ReactNode {
  const [status, setStatus] = useState('starting…');
  const [model, setModel] = useState<ReviewModel | null>(null);
  const { exit } = useApp();
  useEffect(() => {
    let live = true;
    const progress: Progress = (text) => {
      if (live) setStatus(text);
    };
    load(progress)
      .then((data) => {
        if (!live) return;
        setStatus('building views…');
        setModel(buildModel(data));
      })
      .catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (live) exit(new LoadError(message));
      });
    return () => {
      live = false;
    };
  }, [load, exit]);
  if (model === null) {
    return (
      <Box flexDirection="column">
        <Text bold color="magenta">
          dockwall review
        </Text>
        <Spinner text={status} />
      </Box>
    );
  }
  return size === undefined ? <App model={model} /> : <App model={model} size={size} />;
}

export interface ReviewStreams {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** Runs the full-screen app until the user quits; returns the exit code. */
export async function runReview(load: Loader, streams: ReviewStreams): Promise<number> {
  const instance = render(<Root load={load} />, {
    stdin: streams.stdin,
    stdout: streams.stdout,
    stderr: streams.stderr,
    alternateScreen: true,
    // The caller checked for a terminal; CI variables must not switch ink to final-frame-only.
    interactive: true,
    exitOnCtrlC: false,
    patchConsole: true,
  });
  try {
    await instance.waitUntilExit();
    return 0;
  } catch (error) {
    // Shown after the alternate screen is gone, so the message stays on the terminal.
    const message = error instanceof Error ? error.message : String(error);
    streams.stderr.write(`dockwall review: ${safeText(message)}\n`);
    return 2;
  }
}

/**
 * Mounts the app for an already analysed host on the given streams (benchmarks and embedding);
 * no alternate screen, no loading phase.
 */
export function mountApp(
  model: ReviewModel,
  streams: ReviewStreams,
  size?: { readonly columns: number; readonly rows: number },
  onRender?: (renderTimeMs: number) => void,
): { unmount: () => void } {
  const instance = render(
    size === undefined ? <App model={model} /> : <App model={model} size={size} />,
    {
      stdin: streams.stdin,
      stdout: streams.stdout,
      stderr: streams.stderr,
      interactive: true,
      exitOnCtrlC: false,
      patchConsole: false,
      ...(onRender === undefined
        ? {}
        : { onRender: (m: { renderTime: number }) => onRender(m.renderTime) }),
    },
  );
  return { unmount: () => instance.unmount() };
}
