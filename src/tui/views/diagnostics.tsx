/** Diagnostics pane: what could not be read or modelled, so nothing is hidden by the UI. */
import { Box } from 'ink';
import { Text } from './text.tsx';
import type { ReactNode } from 'react';
import { plural, shortLocation } from '../format.ts';
import type { ReviewState } from '../state.ts';
import { listHeight } from '../state.ts';
import type { ReviewModel } from '../view-model.ts';
import { Row, toneProps } from './styled.tsx';

export function DiagnosticsPane({
  model,
  state,
}: {
  readonly model: ReviewModel;
  readonly state: ReviewState;
}): ReactNode {
  const height = listHeight(state);
  const { cursor, offset } = state.scroll.diagnostics;
  const list = model.data.audit.diagnostics;
  const s = model.data.audit.summary.diagnostics;
  const assumed = model.data.audit.snapshot.assumptions;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" dimColor>
        {`${plural(s.error, 'error')}, ${plural(s.warning, 'warning')}, ${plural(s.note, 'note')} while reading and analysing · ${plural(assumed.length, 'assumption')}`}
      </Text>
      <Text color="cyan" wrap="truncate-end">
        {`   ${'severity'.padEnd(8)} ${'code'.padEnd(22)} ${'where'.padEnd(28)} message`}
      </Text>
      <Box flexDirection="column" height={height}>
        {list.length === 0 && assumed.length === 0 ? (
          <Text color="green">Every input was read and modelled; nothing was assumed.</Text>
        ) : (
          Array.from(
            { length: Math.min(height, list.length + assumed.length - offset) },
            (_, i) => {
              const index = offset + i;
              const d = list[index];
              if (d !== undefined) {
                return (
                  <Row key={index} selected={index === cursor}>
                    {'  '}
                    <Text {...toneProps(d.severity)}>{d.severity.padEnd(8)}</Text>
                    {` ${d.code.padEnd(22)} ${shortLocation(d.location).padEnd(28)} ${d.message}`}
                  </Row>
                );
              }
              const a = assumed[index - list.length];
              return (
                <Row key={index} selected={index === cursor}>
                  {'  '}
                  <Text dimColor>{'assumed '}</Text>
                  {` ${a?.role.padEnd(22) ?? ''} ${'(missing input)'.padEnd(28)} ${a?.text ?? ''}`}
                </Row>
              );
            },
          )
        )}
      </Box>
    </Box>
  );
}
