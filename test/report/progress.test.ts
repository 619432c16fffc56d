/** The progress note: only on a TTY, only after a second, always cleared. */
import { describe, expect, it } from 'vitest';
import { progressReporter } from '../../src/cli/commands/audit.ts';

function fakeStderr(isTTY: boolean): {
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  text: () => string;
} {
  let out = '';
  const stream = {
    isTTY,
    write(chunk: string | Uint8Array): boolean {
      out += String(chunk);
      return true;
    },
  } as unknown as NodeJS.WritableStream & { isTTY?: boolean };
  return { stream, text: () => out };
}

describe('progress indicator', () => {
  it('stays silent for the first second, then shows the phase and clears it at the end', () => {
    let t = 0;
    const err = fakeStderr(true);
    const p = progressReporter(err.stream, () => t);
    t = 400;
    p.tick('building the packet engine');
    expect(err.text()).toBe('');
    t = 1500;
    p.tick('rule shadowed-rule');
    expect(err.text()).toContain('analysing… rule shadowed-rule (1.5s)');
    p.done();
    expect(err.text().endsWith('\r\u001B[2K')).toBe(true);
  });
  it('never writes when stderr is not a terminal', () => {
    let t = 0;
    const err = fakeStderr(false);
    const p = progressReporter(err.stream, () => t);
    t = 5000;
    p.tick('computing exposures');
    p.done();
    expect(err.text()).toBe('');
  });
});
