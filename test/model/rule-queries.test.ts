import { describe, expect, it } from 'vitest';
import { ruleCount } from '../../src/model/rule-queries.ts';
import { ruleset, t } from '../engine/build.ts';

describe('ruleCount', () => {
  it('counts the rules of every chain of every table, empty chains included', () => {
    const rs = ruleset({
      filter: {
        INPUT: {
          rules: [
            [[], t.accept()],
            [[], t.drop()],
          ],
        },
        EMPTY: { rules: [] },
      },
      nat: { PREROUTING: { rules: [[[], t.accept()]] } },
    });
    expect(ruleCount(rs)).toBe(3);
    expect(ruleCount(ruleset({ filter: {} }))).toBe(0);
  });
});
