/** A scrollable detail view (a finding or a container), drawn over the pane it came from. */
import { Box } from 'ink';
import { Text } from './text.tsx';
import type { ReactNode } from 'react';
import type { Detail, ReviewState } from '../state.ts';
import { detailContent, detailHeight } from '../state.ts';
import type { ReviewModel } from '../view-model.ts';
import { StyledLine } from './styled.tsx';

const TITLES: Readonly<Record<Detail['kind'], string>> = {
  finding: 'Finding',
  container: 'Container',
  diagnostic: 'Diagnostic',
};

export function DetailView({
  model,
  state,
  detail,
}: {
  readonly model: ReviewModel;
  readonly state: ReviewState;
  readonly detail: Detail;
}): ReactNode {
  const lines = detailContent(model, detail, state.size.columns);
  const height = detailHeight(state) - 1;
  const scroll = Math.min(state.detailScroll, Math.max(0, lines.length - height));
  const more =
    lines.length > height
      ? `  lines ${scroll + 1}-${Math.min(lines.length, scroll + height)} of ${lines.length}`
      : '';
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" dimColor>
        {`${TITLES[detail.kind]} · Esc back${detail.kind === 'finding' ? ' · t trace the witness' : ''}${more}`}
      </Text>
      <Box flexDirection="column" height={height}>
        {lines.slice(scroll, scroll + height).map((line, i) => (
          <StyledLine key={scroll + i} line={line} />
        ))}
      </Box>
    </Box>
  );
}
