/** Chains pane: the hooks and the tree of jumps below them, virtualised. */
import { Box } from 'ink';
import { Text } from './text.tsx';
import type { ReactNode } from 'react';
import { formatCounters, ruleBody } from '../format.ts';
import type { ReviewState } from '../state.ts';
import { listHeight } from '../state.ts';
import type { ChainRow, ReviewModel } from '../view-model.ts';
import { chainRows } from '../view-model.ts';
import { Row } from './styled.tsx';

/** A row's parts, each in a Text: a bare string here would reach Row's Text unescaped. */
function ChainLine({ row }: { readonly row: ChainRow }): ReactNode {
  const indent = '  '.repeat(row.depth);
  switch (row.kind) {
    case 'chain':
      return (
        <>
          <Text>{`${indent}${row.expanded ? '▾' : '▸'} `}</Text>
          <Text bold>{row.title}</Text>
          {row.unreferenced ? <Text dimColor> not reached from any hook</Text> : null}
          {row.findings > 0 ? <Text color="yellow">{`  ⚑ ${row.findings}`}</Text> : null}
        </>
      );
    case 'rule': {
      const r = row.rule;
      const marker = row.expandable ? (row.expanded ? '▾' : '▸') : '·';
      return (
        <>
          <Text>{`${indent}${marker} `}</Text>
          <Text dimColor>{`#${r.index} L${r.location.line} ${formatCounters(r.counters)} `}</Text>
          <Text>{ruleBody(r.text, r.chain)}</Text>
          {row.findings > 0 ? <Text color="yellow">{`  ⚑ ${row.findings}`}</Text> : null}
          {row.note === null ? null : <Text dimColor>{`  (${row.note})`}</Text>}
        </>
      );
    }
    case 'policy':
      return <Text dimColor>{`${indent}· ${row.text}`}</Text>;
  }
}

export function ChainsPane({
  model,
  state,
}: {
  readonly model: ReviewModel;
  readonly state: ReviewState;
}): ReactNode {
  const rows = chainRows(model, state.expanded);
  const height = listHeight(state);
  const { cursor, offset } = state.scroll.chains;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" dimColor>
        {`${model.ruleCount} rules in ${model.chainRoots.length} top-level chains · era ${model.data.audit.snapshot.era.era} · Enter/→ opens a jump, ← closes`}
      </Text>
      <Text color="cyan" wrap="truncate-end">
        {
          '   chain / #rule Lline packets/bytes rule                                        ⚑ findings'
        }
      </Text>
      <Box flexDirection="column" height={height}>
        {rows.length === 0 ? (
          <Text dimColor>No iptables rules in this snapshot.</Text>
        ) : (
          rows.slice(offset, offset + height).map((row, i) => (
            <Row key={row.key} selected={offset + i === cursor}>
              <ChainLine row={row} />
            </Row>
          ))
        )}
      </Box>
    </Box>
  );
}
