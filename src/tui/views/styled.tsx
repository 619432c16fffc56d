/** Rendering of styled lines and single-row list entries (every row is exactly one line). */
import { Text } from './text.tsx';
import type { ReactNode } from 'react';
import type { Line, Tone } from '../lines.ts';

interface ToneProps {
  color?: string;
  bold?: boolean;
  dimColor?: boolean;
  inverse?: boolean;
}

export function toneProps(tone: Tone | undefined): ToneProps {
  switch (tone) {
    case undefined:
      return {};
    case 'title':
      return { bold: true };
    case 'label':
      return { color: 'cyan' };
    case 'dim':
      return { dimColor: true };
    case 'highlight':
      return { color: 'yellow', bold: true, inverse: true };
    case 'good':
      return { color: 'green', bold: true };
    case 'bad':
      return { color: 'red', bold: true };
    case 'error':
      return { color: 'red', bold: true };
    case 'warning':
      return { color: 'yellow' };
    case 'note':
      return { color: 'blue' };
  }
}

export function StyledLine({ line }: { readonly line: Line }): ReactNode {
  return (
    <Text wrap="truncate-end">
      {line.length === 0
        ? ' '
        : line.map((s, i) => (
            <Text key={i} {...toneProps(s.tone)}>
              {s.text}
            </Text>
          ))}
    </Text>
  );
}

/** One list row; the selected row is drawn inverted with a marker so it shows without colour. */
export function Row({
  selected,
  children,
}: {
  readonly selected: boolean;
  readonly children: ReactNode;
}): ReactNode {
  return (
    <Text wrap="truncate-end" inverse={selected}>
      {selected ? '›' : ' '}
      {children}
    </Text>
  );
}
