/** The common refinement of two engines' interface classes that `dockwall diff` compares over. */
import { describe, expect, it } from 'vitest';
import { commonInterfaces } from '../../src/analysis/interface-classes.ts';

const all = (classes: string[]) => ({ classes, external: classes });

describe('interface classes two snapshots share', () => {
  it("one side's “any other interface” holds the names only the other side gives", () => {
    const c = commonInterfaces(all(['eth0', '*other*']), all(['*other*']));
    expect(c.names).toEqual(['eth0', '*other*']);
    expect(c.expand(0, 'eth0')).toEqual(['eth0']);
    expect(c.expand(0, '*other*')).toEqual(['*other*']);
    expect(c.expand(1, '*other*')).toEqual(['eth0', '*other*']);
  });

  it('wildcard classes: a name goes to its longest prefix on each side', () => {
    const c = commonInterfaces(all(['eth+x', 'eth*', '*other*']), all(['eth1*', '*other*']));
    // Names beginning eth1 are side 0's eth*; eth+x and the other eth… names are side 1's
    // *other* (they do not begin eth1).
    expect(c.expand(0, 'eth*')).toEqual(['eth*', 'eth1*']);
    expect(c.expand(1, 'eth1*')).toEqual(['eth1*']);
    expect(c.expand(1, '*other*')).toEqual(['eth+x', 'eth*', '*other*']);
  });

  it('only what both sides count as outside is compared; a side without the family has no say', () => {
    const before = { classes: ['*other*'], external: ['*other*'] };
    const after = { classes: ['br-1', '*other*'], external: ['*other*'] };
    const c = commonInterfaces(before, after);
    // br-1 is a bridge inside the host AFTER: packets from it are no client's.
    expect(c.names).toEqual(['*other*']);
    expect(c.expand(0, '*other*')).toEqual(['*other*']);
    expect(commonInterfaces(null, after).names).toEqual(['*other*']);
    expect(commonInterfaces(null, after).expand(0, '*other*')).toEqual([]);
  });
});
