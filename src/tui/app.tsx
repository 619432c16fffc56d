/**
 * The review app: the reducer's state, the key handler, the tracer effect, and the layout
 * (tab bar, pane or detail or help, status line). Views below only read.
 */
import { Box, useApp, useInput, useWindowSize } from 'ink';
import type { ReactNode } from 'react';
import { useCallback, useEffect, useReducer } from 'react';
import type { Trace } from '../model/trace.ts';
import type { Action, PaneId, ReviewState } from './state.ts';
import { filterFindingsCount, initialState, reduce } from './state.ts';
import type { ReviewModel } from './view-model.ts';
import { ChainsPane } from './views/chains.tsx';
import { ContainersPane } from './views/containers.tsx';
import { DetailView } from './views/detail.tsx';
import { DiagnosticsPane } from './views/diagnostics.tsx';
import { ExposuresPane } from './views/exposures.tsx';
import { FindingsPane } from './views/findings.tsx';
import { HelpView } from './views/help.tsx';
import { StatusLine } from './views/status.tsx';
import { Tabs } from './views/tabs.tsx';
import { TracerPane } from './views/tracer.tsx';

export interface AppProps {
  readonly model: ReviewModel;
  /** Fixed size (tests, benchmarks); otherwise the terminal's, following resizes. */
  readonly size?: { readonly columns: number; readonly rows: number };
}

function Body({ model, state }: { model: ReviewModel; state: ReviewState }): ReactNode {
  if (state.help) return <HelpView height={state.size.rows - 2} />;
  if (state.detail !== null)
    return <DetailView model={model} state={state} detail={state.detail} />;
  switch (state.pane) {
    case 'findings':
      return <FindingsPane model={model} state={state} />;
    case 'exposures':
      return <ExposuresPane model={model} state={state} />;
    case 'chains':
      return <ChainsPane model={model} state={state} />;
    case 'containers':
      return <ContainersPane model={model} state={state} />;
    case 'tracer':
      return <TracerPane model={model} state={state} />;
    case 'diagnostics':
      return <DiagnosticsPane model={model} state={state} />;
  }
}

export function Screen({ model, state }: { model: ReviewModel; state: ReviewState }): ReactNode {
  const counts: Record<PaneId, number | null> = {
    findings: filterFindingsCount(model, state),
    exposures: model.exposures.length,
    chains: model.ruleCount,
    containers: model.containers.length,
    tracer: null,
    diagnostics: model.data.audit.diagnostics.length,
  };
  return (
    <Box flexDirection="column" width={state.size.columns} height={state.size.rows}>
      <Tabs pane={state.pane} counts={counts} />
      <Box flexDirection="column" flexGrow={1}>
        <Body model={model} state={state} />
      </Box>
      <StatusLine state={state} />
    </Box>
  );
}

export function App({ model, size }: AppProps): ReactNode {
  const windowSize = useWindowSize();
  const columns = size?.columns ?? windowSize.columns;
  const rows = size?.rows ?? windowSize.rows;
  const reducer = useCallback((s: ReviewState, a: Action) => reduce(model, s, a), [model]);
  const [state, dispatch] = useReducer(reducer, undefined, () =>
    initialState(model, { columns, rows }),
  );
  const { exit } = useApp();

  useEffect(() => {
    if (columns !== state.size.columns || rows !== state.size.rows) {
      dispatch({ type: 'resize', columns, rows });
    }
  }, [columns, rows, state.size.columns, state.size.rows]);

  useInput((input, key) => {
    dispatch({ type: 'key', input, key });
  });

  useEffect(() => {
    if (state.quit) exit();
  }, [state.quit, exit]);

  // The engine's trace runs outside the reducer (maybe in a worker); its answer comes back as
  // an action. A timer first, so "Tracing…" reaches the screen before a slow trace starts.
  const request = state.tracer.request;
  useEffect(() => {
    const tracer = model.data.trace;
    if (request === null || tracer === null) return;
    let live = true;
    const timer = setTimeout(() => {
      new Promise<Trace>((resolve) => {
        resolve(tracer(request.packet));
      }).then(
        (trace) => {
          if (live) dispatch({ type: 'trace.result', seq: request.seq, trace });
        },
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          if (live) dispatch({ type: 'trace.error', seq: request.seq, message });
        },
      );
    }, 0);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [request, model]);

  return <Screen model={model} state={state} />;
}
