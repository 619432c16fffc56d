/** Containers pane: network mode, networks, published ports and findings per container. */
import { Box } from 'ink';
import { Text } from './text.tsx';
import type { ReactNode } from 'react';
import { plural } from '../format.ts';
import type { ReviewState } from '../state.ts';
import { listHeight } from '../state.ts';
import type { ReviewModel } from '../view-model.ts';
import { Row } from './styled.tsx';

export function ContainersPane({
  model,
  state,
}: {
  readonly model: ReviewModel;
  readonly state: ReviewState;
}): ReactNode {
  const height = listHeight(state);
  const { cursor, offset } = state.scroll.containers;
  const rows = model.containers;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" dimColor>
        {`${plural(rows.length, 'container')} · Enter shows one with its findings`}
      </Text>
      <Text color="cyan" wrap="truncate-end">
        {`   ${'name'.padEnd(18)} ${'findings'.padEnd(8)} ${'network mode'.padEnd(20)} ${'networks'.padEnd(22)} published`}
      </Text>
      <Box flexDirection="column" height={height}>
        {rows.length === 0 ? (
          <Text dimColor>No containers in this snapshot (containers.json missing or empty).</Text>
        ) : (
          rows.slice(offset, offset + height).map((r, i) => (
            <Row key={r.container.id || r.container.name} selected={offset + i === cursor}>
              {`  ${r.container.name.padEnd(18)} `}
              <Text color={r.findings.length > 0 ? 'yellow' : 'green'}>
                {String(r.findings.length).padEnd(8)}
              </Text>
              {` ${r.mode.padEnd(20)} ${(r.networks.join(', ') || '-').padEnd(22)} ${r.ports.join(', ') || '-'}`}
            </Row>
          ))
        )}
      </Box>
    </Box>
  );
}
