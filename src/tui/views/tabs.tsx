/** The top line: the panes, with the current one highlighted and item counts. */
import { Box } from 'ink';
import { Text } from './text.tsx';
import type { ReactNode } from 'react';
import type { PaneId } from '../state.ts';
import { PANES } from '../state.ts';

export const PANE_TITLES: Readonly<Record<PaneId, string>> = {
  findings: 'Findings',
  exposures: 'Exposures',
  chains: 'Chains',
  containers: 'Containers',
  tracer: 'Tracer',
  diagnostics: 'Diagnostics',
};

export function Tabs({
  pane,
  counts,
}: {
  readonly pane: PaneId;
  readonly counts: Readonly<Record<PaneId, number | null>>;
}): ReactNode {
  return (
    <Box>
      <Text wrap="truncate-end">
        <Text bold color="magenta">
          dockwall{' '}
        </Text>
        {PANES.map((p, i) => {
          const count = counts[p];
          const label = ` ${i + 1} ${PANE_TITLES[p]}${count === null ? '' : ` ${count}`} `;
          return p === pane ? (
            <Text key={p} inverse bold>
              {label}
            </Text>
          ) : (
            <Text key={p}>{label}</Text>
          );
        })}
      </Text>
    </Box>
  );
}
