/** The help overlay, generated from the keymap so it never disagrees with it. */
import { Box } from 'ink';
import { Text } from './text.tsx';
import type { ReactNode } from 'react';
import { helpLines } from '../keymap.ts';

export function HelpView({ height }: { readonly height: number }): ReactNode {
  const lines = helpLines();
  return (
    <Box flexDirection="column" height={height}>
      <Text bold>Keys (? or Esc closes this help)</Text>
      {lines.slice(0, Math.max(0, height - 1)).map((l) => (
        <Text key={`${l.keys}|${l.help}`} wrap="truncate-end">
          <Text color="cyan">{`  ${l.keys.padEnd(28)}`}</Text>
          {l.help}
        </Text>
      ))}
    </Box>
  );
}
