/** Key helpers: KeyInfo values for the reducer, escape sequences for ink's stdin. */
import { NO_KEY } from '../../src/tui/keymap.ts';

const none = NO_KEY;

export const KEY = {
  up: { ...none, upArrow: true },
  down: { ...none, downArrow: true },
  left: { ...none, leftArrow: true },
  right: { ...none, rightArrow: true },
  pageDown: { ...none, pageDown: true },
  enter: { ...none, return: true },
  escape: { ...none, escape: true },
  tab: { ...none, tab: true },
  backspace: { ...none, backspace: true },
  plain: none,
} as const;

/** Terminal byte sequences, as a real terminal sends them. */
export const SEQ = {
  up: '\u001B[A',
  down: '\u001B[B',
  right: '\u001B[C',
  left: '\u001B[D',
  pageDown: '\u001B[6~',
  enter: '\r',
  escape: '\u001B',
  tab: '\t',
  backspace: '\u007F',
} as const;
