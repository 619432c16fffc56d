/** Exposures pane: what is reachable from where, one exposure per row. */
import { Box } from 'ink';
import { Text } from './text.tsx';
import type { ReactNode } from 'react';
import { exposureFrom, exposureSources, exposureTarget, plural } from '../format.ts';
import type { ReviewState } from '../state.ts';
import { listHeight } from '../state.ts';
import type { ReviewModel } from '../view-model.ts';
import { Row } from './styled.tsx';

export function ExposuresPane({
  model,
  state,
}: {
  readonly model: ReviewModel;
  readonly state: ReviewState;
}): ReactNode {
  const height = listHeight(state);
  const { cursor, offset } = state.scroll.exposures;
  const exposures = model.exposures;
  const certain = exposures.filter((e) => e.certainty === 'certain').length;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" dimColor>
        {`${plural(exposures.length, 'exposure')}: ${certain} certain, ${exposures.length - certain} possible · Enter traces the witness packet`}
      </Text>
      <Text color="cyan" wrap="truncate-end">
        {`   ${'host address:port/proto'.padEnd(28)} ${'→ target'.padEnd(30)} ${'certainty'.padEnd(9)} reachable from`}
      </Text>
      <Box flexDirection="column" height={height}>
        {exposures.length === 0 ? (
          <Text color="green">Nothing on this host is reachable from outside.</Text>
        ) : (
          exposures.slice(offset, offset + height).map((e, i) => (
            <Row key={offset + i} selected={offset + i === cursor}>
              {`  ${exposureFrom(e).padEnd(28)} → ${exposureTarget(e).padEnd(28)} `}
              <Text color={e.certainty === 'certain' ? 'red' : 'yellow'}>
                {e.certainty.padEnd(9)}
              </Text>
              {` ${exposureSources(e)}`}
            </Row>
          ))
        )}
      </Box>
    </Box>
  );
}
