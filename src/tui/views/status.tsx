/** The bottom line: the text being typed, or the keys that matter in this pane. */
import { Text } from './text.tsx';
import type { ReactNode } from 'react';
import type { ReviewState } from '../state.ts';

const HINTS: Readonly<Record<ReviewState['pane'], string>> = {
  findings: '↑↓/jk move · Enter detail · / text · e w n severity · x clear · t trace',
  exposures: '↑↓/jk move · Enter trace the witness',
  chains: '↑↓/jk move · Enter/→ open jump · ← close',
  containers: '↑↓/jk move · Enter detail',
  tracer: '↑↓ field · Enter edit/run · PgUp/PgDn scroll the path',
  diagnostics: '↑↓/jk move · Enter detail',
};

export function StatusLine({ state }: { readonly state: ReviewState }): ReactNode {
  if (state.filterDraft !== null) {
    return (
      <Text wrap="truncate-end">
        <Text color="yellow">/</Text>
        {`${state.filterDraft}█`}
        <Text dimColor> Enter apply · Esc cancel</Text>
      </Text>
    );
  }
  if (state.tracer.editing !== null) {
    return <Text dimColor>Type the value · Enter/Tab confirm · Esc cancel</Text>;
  }
  const hints =
    state.detail === null
      ? HINTS[state.pane]
      : `↑↓/jk scroll · PgUp/PgDn · Esc back${state.detail.kind === 'finding' ? ' · t trace the witness' : ''}`;
  return (
    <Text dimColor wrap="truncate-end">
      {`${hints} · Tab pane · ? help · q quit`}
    </Text>
  );
}
