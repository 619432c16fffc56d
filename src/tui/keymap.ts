/**
 * Keys mapped to named commands, as data. Views never test raw keys: the app turns ink's
 * (input, key) into a key name, looks it up for the current input mode, and dispatches the
 * command. The help overlay is generated from the same table.
 */

export type CommandId =
  | 'nav.up'
  | 'nav.down'
  | 'nav.pageUp'
  | 'nav.pageDown'
  | 'nav.top'
  | 'nav.bottom'
  | 'item.open'
  | 'item.back'
  | 'tree.expand'
  | 'tree.collapse'
  | 'pane.next'
  | 'pane.prev'
  | 'pane.findings'
  | 'pane.exposures'
  | 'pane.chains'
  | 'pane.containers'
  | 'pane.tracer'
  | 'pane.diagnostics'
  | 'filter.text'
  | 'filter.error'
  | 'filter.warning'
  | 'filter.note'
  | 'filter.clear'
  | 'trace.run'
  | 'help.toggle'
  | 'app.quit';

/** `list`: moving in a pane; `detail`: reading one item; `text`: typing into a field; `help`. */
export type InputMode = 'list' | 'detail' | 'text' | 'help';

export interface Binding {
  readonly command: CommandId;
  readonly keys: readonly string[];
  readonly modes: readonly InputMode[];
  readonly help: string;
}

const NAV: readonly InputMode[] = ['list', 'detail'];

export const BINDINGS: readonly Binding[] = [
  { command: 'nav.up', keys: ['up', 'k'], modes: NAV, help: 'move up' },
  { command: 'nav.down', keys: ['down', 'j'], modes: NAV, help: 'move down' },
  { command: 'nav.pageUp', keys: ['pageup', 'ctrl+u'], modes: NAV, help: 'page up' },
  { command: 'nav.pageDown', keys: ['pagedown', 'ctrl+d', 'space'], modes: NAV, help: 'page down' },
  { command: 'nav.top', keys: ['home', 'g'], modes: NAV, help: 'first row' },
  { command: 'nav.bottom', keys: ['end', 'G'], modes: NAV, help: 'last row' },
  {
    command: 'item.open',
    keys: ['enter'],
    modes: ['list', 'text'],
    help: 'open detail · open/close a jump · edit a field · confirm',
  },
  {
    command: 'item.back',
    keys: ['escape', 'backspace'],
    modes: ['detail', 'help'],
    help: 'close detail or help',
  },
  { command: 'item.back', keys: ['escape'], modes: ['list', 'text'], help: 'cancel' },
  { command: 'tree.expand', keys: ['right', 'l'], modes: ['list'], help: 'open a chain jump' },
  { command: 'tree.collapse', keys: ['left', 'h'], modes: ['list'], help: 'close a chain jump' },
  { command: 'pane.next', keys: ['tab'], modes: ['list', 'detail'], help: 'next pane' },
  { command: 'pane.prev', keys: ['shift+tab'], modes: ['list', 'detail'], help: 'previous pane' },
  { command: 'pane.findings', keys: ['1'], modes: ['list', 'detail'], help: 'Findings pane' },
  { command: 'pane.exposures', keys: ['2'], modes: ['list', 'detail'], help: 'Exposures pane' },
  { command: 'pane.chains', keys: ['3'], modes: ['list', 'detail'], help: 'Chains pane' },
  { command: 'pane.containers', keys: ['4'], modes: ['list', 'detail'], help: 'Containers pane' },
  { command: 'pane.tracer', keys: ['5'], modes: ['list', 'detail'], help: 'Packet tracer' },
  {
    command: 'pane.diagnostics',
    keys: ['6'],
    modes: ['list', 'detail'],
    help: 'Diagnostics: input dockwall could not read',
  },
  { command: 'filter.text', keys: ['/'], modes: ['list'], help: 'filter findings by text' },
  { command: 'filter.error', keys: ['e'], modes: ['list'], help: 'show/hide errors' },
  { command: 'filter.warning', keys: ['w'], modes: ['list'], help: 'show/hide warnings' },
  { command: 'filter.note', keys: ['n'], modes: ['list'], help: 'show/hide notes' },
  { command: 'filter.clear', keys: ['x'], modes: ['list'], help: 'clear filters' },
  {
    command: 'trace.run',
    keys: ['t'],
    modes: ['list', 'detail'],
    help: 'trace: run the form, or the witness of the item',
  },
  { command: 'help.toggle', keys: ['?'], modes: ['list', 'detail', 'help'], help: 'this help' },
  { command: 'app.quit', keys: ['q'], modes: ['list', 'detail', 'help'], help: 'quit' },
  {
    command: 'app.quit',
    keys: ['ctrl+c'],
    modes: ['list', 'detail', 'text', 'help'],
    help: 'quit',
  },
];

/** The subset of ink's Key this module reads (kept structural so tests need no ink). */
export interface KeyInfo {
  readonly upArrow: boolean;
  readonly downArrow: boolean;
  readonly leftArrow: boolean;
  readonly rightArrow: boolean;
  readonly pageUp: boolean;
  readonly pageDown: boolean;
  readonly home: boolean;
  readonly end: boolean;
  readonly return: boolean;
  readonly escape: boolean;
  readonly ctrl: boolean;
  readonly shift: boolean;
  readonly tab: boolean;
  readonly backspace: boolean;
  readonly delete: boolean;
}

/** One name per key press: `up`, `enter`, `shift+tab`, `ctrl+c`, or the character typed. */
export function keyName(input: string, key: KeyInfo): string {
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.leftArrow) return 'left';
  if (key.rightArrow) return 'right';
  if (key.pageUp) return 'pageup';
  if (key.pageDown) return 'pagedown';
  if (key.home) return 'home';
  if (key.end) return 'end';
  if (key.return) return 'enter';
  if (key.escape) return 'escape';
  if (key.tab) return key.shift ? 'shift+tab' : 'tab';
  // Terminals send DEL (0x7f) for Backspace; ink reports it as `delete` on some of them.
  if (key.backspace || key.delete) return 'backspace';
  if (key.ctrl && input.length === 1) return `ctrl+${input.toLowerCase()}`;
  if (input === ' ') return 'space';
  return input;
}

/** A KeyInfo with nothing pressed, to spread a single key over. */
export const NO_KEY: KeyInfo = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageUp: false,
  pageDown: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
};

/**
 * One press per character of a plain multi-character input (keys typed faster than they are
 * read, or pasted), with Enter, Tab and Backspace recognised; anything else stays one press.
 */
export function splitPresses(
  input: string,
  key: KeyInfo,
): readonly { readonly input: string; readonly key: KeyInfo }[] {
  const special = Object.values(key).some((v) => v === true);
  if (input.length <= 1 || special || input.includes('\u001b')) return [{ input, key }];
  return [...input].map((ch) => {
    if (ch === '\r' || ch === '\n') return { input: '', key: { ...NO_KEY, return: true } };
    if (ch === '\t') return { input: '', key: { ...NO_KEY, tab: true } };
    if (ch === '\u007f' || ch === '\b') return { input: '', key: { ...NO_KEY, backspace: true } };
    return { input: ch, key: NO_KEY };
  });
}

export type Resolved =
  | { readonly kind: 'command'; readonly command: CommandId }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'backspace' }
  | { readonly kind: 'none' };

const byMode = new Map<InputMode, Map<string, CommandId>>();
for (const b of BINDINGS) {
  for (const mode of b.modes) {
    let map = byMode.get(mode);
    if (map === undefined) {
      map = new Map();
      byMode.set(mode, map);
    }
    for (const k of b.keys) if (!map.has(k)) map.set(k, b.command);
  }
}

/** What a key press means in a mode. In `text` mode printable input is text, not commands. */
export function resolveKey(mode: InputMode, input: string, key: KeyInfo): Resolved {
  const name = keyName(input, key);
  const command = byMode.get(mode)?.get(name);
  if (command !== undefined) return { kind: 'command', command };
  if (mode === 'text') {
    if (name === 'backspace') return { kind: 'backspace' };
    if (name === 'tab') return { kind: 'command', command: 'item.open' };
    // Pasted text arrives in one piece; keep only printable characters.
    const text = key.ctrl ? '' : input.replace(/[\u0000-\u001f\u007f]/g, '');
    if (text !== '') return { kind: 'text', text };
  }
  return { kind: 'none' };
}

/** Help lines: keys and what they do, one per command, in table order. */
export function helpLines(): readonly { readonly keys: string; readonly help: string }[] {
  const seen = new Map<string, { keys: string[]; help: string }>();
  for (const b of BINDINGS) {
    const id = `${b.command}|${b.help}`;
    const entry = seen.get(id) ?? { keys: [], help: b.help };
    entry.keys.push(...b.keys);
    seen.set(id, entry);
  }
  return [...seen.values()].map((e) => ({ keys: e.keys.join(' '), help: e.help }));
}
