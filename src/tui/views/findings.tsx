/** Findings pane: severity groups with counts, the filter, and a virtualised list. */
import { Box } from 'ink';
import { Text } from './text.tsx';
import type { ReactNode } from 'react';
import { shortLocation } from '../format.ts';
import type { ReviewState } from '../state.ts';
import { listHeight } from '../state.ts';
import type { ReviewModel } from '../view-model.ts';
import { SEVERITIES, filterFindings, findingRows } from '../view-model.ts';
import { Row, toneProps } from './styled.tsx';

export function FindingsPane({
  model,
  state,
}: {
  readonly model: ReviewModel;
  readonly state: ReviewState;
}): ReactNode {
  const findings = filterFindings(model, state.filter);
  const rows = findingRows(findings);
  const height = listHeight(state);
  const { cursor, offset } = state.scroll.findings;
  const visible = rows.slice(offset, offset + height);
  const totals = new Map(SEVERITIES.map((s) => [s, 0]));
  for (const f of model.findings) totals.set(f.severity, (totals.get(f.severity) ?? 0) + 1);
  const text = state.filter.text;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        {SEVERITIES.map((s) => {
          const on = state.filter.severities.includes(s);
          return (
            <Text key={s} {...(on ? toneProps(s) : { dimColor: true, strikethrough: true })}>
              {`${s} ${totals.get(s) ?? 0}  `}
            </Text>
          );
        })}
        <Text dimColor>
          {`shown ${findings.length}/${model.findings.length}`}
          {text === '' ? '' : `  filter "${text}"`}
        </Text>
      </Text>
      <Text color="cyan" wrap="truncate-end">
        {'   rule                         where                     message'}
      </Text>
      <Box flexDirection="column" height={height}>
        {model.findings.length === 0 ? (
          <Text color="green">No findings: nothing in this snapshot breaks a rule.</Text>
        ) : findings.length === 0 ? (
          <Text dimColor>No finding matches the filter (x clears it).</Text>
        ) : (
          visible.map((row, i) =>
            row.kind === 'group' ? (
              <Text key={`g${offset + i}`} wrap="truncate-end" {...toneProps(row.severity)}>
                {`▼ ${row.severity.toUpperCase()} (${row.count})`}
              </Text>
            ) : (
              <Row key={`f${row.index}`} selected={row.index === cursor}>
                {`  ${row.finding.ruleId.padEnd(28)} ${shortLocation(row.finding.location).padEnd(25)} `}
                {row.finding.message}
                {row.finding.suppressed === undefined ? '' : '  (suppressed)'}
              </Row>
            ),
          )
        )}
      </Box>
    </Box>
  );
}
