/** The coloured text report: our own colour codes only, the dump's sequences as text. */
import { describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { analyze } from '../../src/lint/analyze.ts';
import { DEFAULT_CONFIG } from '../../src/lint/config-types.ts';
import { formatText } from '../../src/report/text.ts';
import { hostileSnapshot, RAW_CONTROL } from './support.ts';

/** Exactly the SGR codes the text report's painter writes. */
const OWN_COLOURS = /\u001b\[(?:1|2|22|31|32|33|36|39)m/g;

describe('coloured text report', () => {
  it('writes no control sequence but its own colours', async () => {
    const result = analyze(await loadSnapshot({ directory: hostileSnapshot() }), DEFAULT_CONFIG, {
      rules: RULES,
    });
    const out = formatText(result, { color: true, width: 100 });
    expect(out).toMatch(OWN_COLOURS);
    expect(out.replace(OWN_COLOURS, '')).not.toMatch(RAW_CONTROL);
    expect(out).toContain('\\x1b[1;31mFAKE: all good');
  });
});
