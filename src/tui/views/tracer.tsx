/** Packet tracer pane: the form, and the path of the last traced packet. */
import { Box } from 'ink';
import { Text } from './text.tsx';
import type { ReactNode } from 'react';
import { FIELDS, FIELD_LABELS, SOURCE_PORT } from '../packet-form.ts';
import type { ReviewState } from '../state.ts';
import { tracerResultHeight, tracerResultLines } from '../state.ts';
import type { ReviewModel } from '../view-model.ts';
import { Row, StyledLine } from './styled.tsx';

export function TracerPane({
  model,
  state,
}: {
  readonly model: ReviewModel;
  readonly state: ReviewState;
}): ReactNode {
  const t = state.tracer;
  const lines = tracerResultLines(state);
  const height = tracerResultHeight(state);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" dimColor>
        {model.data.trace === null
          ? 'The packet engine is not available for this snapshot: only stored witness traces can be shown.'
          : `Trace one new connection (source port ${SOURCE_PORT}); an empty interface means the host sends it.`}
      </Text>
      {FIELDS.map((field, i) => {
        const editing = t.editing?.field === field;
        const value = editing ? `${t.editing?.draft ?? ''}█` : t.values[field];
        return (
          <Row key={field} selected={t.focus === i && !editing}>
            {` ${FIELD_LABELS[field].padEnd(18)} `}
            <Text color={editing ? 'yellow' : 'white'} underline={editing}>
              {`[${value.padEnd(24)}]`}
            </Text>
          </Row>
        );
      })}
      <Row selected={t.focus === FIELDS.length}>
        <Text bold> [ Trace ] </Text>
        <Text dimColor>{'  Enter edits a field or runs the trace · t runs it from anywhere'}</Text>
      </Row>
      {t.error !== null ? (
        <Text color="red" wrap="truncate-end">{`Cannot trace: ${t.error}`}</Text>
      ) : t.request !== null ? (
        <Text color="yellow">Tracing…</Text>
      ) : t.result === null ? (
        <Text dimColor>No trace yet.</Text>
      ) : (
        <Text
          dimColor
          wrap="truncate-end"
        >{`Path of ${t.origin === 'form' ? 'the packet in the form' : t.origin}`}</Text>
      )}
      <Box flexDirection="column" height={height}>
        {lines.slice(t.scroll, t.scroll + height).map((line, i) => (
          <StyledLine key={t.scroll + i} line={line} />
        ))}
      </Box>
    </Box>
  );
}
