import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Box } from '../../src/analysis/regions.ts';
import {
  cidrsToRanges,
  intersect,
  rangesToCidrs,
  subtract,
  subtractAll,
} from '../../src/analysis/regions.ts';

const inRanges = (r: Box[number], v: bigint) => r.some(([a, b]) => v >= a && v <= b);
const inBox = (box: Box, point: readonly bigint[]) =>
  box.every((d, i) => inRanges(d, point[i] ?? -1n));

/** Small random boxes over 3 fields of 0..15, and every point of that space. */
const small = fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 15 })), {
  minLength: 0,
  maxLength: 3,
});
const box = fc
  .tuple(small, small, small)
  .map((dims) =>
    dims.map((d) => d.map(([a, b]) => [BigInt(Math.min(a, b)), BigInt(Math.max(a, b))] as const)),
  );
const points: bigint[][] = [];
for (let x = 0n; x < 16n; x++)
  for (let y = 0n; y < 16n; y += 3n) for (let z = 0n; z < 16n; z += 5n) points.push([x, y, z]);

describe('packet regions as unions of boxes', () => {
  it('subtracts exactly: a point is in A∖B iff it is in some A and in no B', () => {
    fc.assert(
      fc.property(fc.array(box, { maxLength: 3 }), fc.array(box, { maxLength: 3 }), (as, bs) => {
        const diff = subtractAll(as, bs);
        for (const p of points) {
          const expected = as.some((a) => inBox(a, p)) && !bs.some((b) => inBox(b, p));
          expect(diff.some((d) => inBox(d, p))).toBe(expected);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('intersects and subtracts interval sets', () => {
    expect(intersect([[0n, 10n]], [[5n, 20n]])).toEqual([[5n, 10n]]);
    expect(
      subtract(
        [[0n, 10n]],
        [
          [3n, 4n],
          [8n, 20n],
        ],
      ),
    ).toEqual([
      [0n, 2n],
      [5n, 7n],
    ]);
  });

  it('turns CIDRs into ranges and back into the fewest CIDRs', () => {
    const r = cidrsToRanges(['10.0.0.0/24', '10.0.1.0/24', '192.0.2.7'], 'ipv4');
    expect(rangesToCidrs(r, 'ipv4')).toEqual(['10.0.0.0/23', '192.0.2.7/32']);
    const all = cidrsToRanges(['0.0.0.0/0'], 'ipv4');
    expect(rangesToCidrs(subtract(all, cidrsToRanges(['128.0.0.0/1'], 'ipv4')), 'ipv4')).toEqual([
      '0.0.0.0/1',
    ]);
    expect(rangesToCidrs(cidrsToRanges(['fd00::/64'], 'ipv6'), 'ipv6')).toEqual(['fd00::/64']);
    expect(cidrsToRanges(['fd00::/64'], 'ipv4')).toEqual([]);
  });
});
