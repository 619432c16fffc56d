import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Box } from '../../src/analysis/regions.ts';
import {
  cidrsToRanges,
  intersect,
  rangesToCidrs,
  sourcesId,
  sourcesOf,
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

  it('intersects and subtracts any interval lists exactly, overlapping or not', () => {
    const list = fc.array(
      fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 63 })),
      { maxLength: 6 },
    );
    const ranges = (l: [number, number][]) =>
      l.map(([a, b]) => [BigInt(Math.min(a, b)), BigInt(Math.max(a, b))] as const);
    fc.assert(
      fc.property(list, list, (la, lb) => {
        const a = ranges(la);
        const b = ranges(lb);
        const both = intersect(a, b);
        const only = subtract(a, b);
        for (const out of [both, only])
          out.forEach(([x, y], i) => {
            expect(x <= y).toBe(true);
            // sorted, disjoint and not touching: the lists are minimal
            if (i > 0) expect(x > (out[i - 1]?.[1] ?? -2n) + 1n).toBe(true);
          });
        for (let v = 0n; v < 64n; v++) {
          expect(inRanges(both, v)).toBe(inRanges(a, v) && inRanges(b, v));
          expect(inRanges(only, v)).toBe(inRanges(a, v) && !inRanges(b, v));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('says a long source list by its exceptions when those are fewer', () => {
    // 100 single addresses taken out of everything: 101 ranges, 100 exceptions
    const holes = Array.from({ length: 100 }, (_, i) => `198.51.${i}.7`);
    const all = cidrsToRanges(['0.0.0.0/0'], 'ipv4');
    const open = subtract(all, cidrsToRanges(holes, 'ipv4'));
    expect(sourcesOf(open, 'ipv4')).toEqual({
      sources: ['0.0.0.0/0'],
      exceptSources: holes.map((h) => `${h}/32`),
    });
    expect(sourcesId(open, 'ipv4')).toBe(`0.0.0.0/0-${holes.map((h) => `${h}/32`).join(',')}`);
    // short lists, and long ones whose exceptions are no fewer, stay as they are
    expect(sourcesOf(cidrsToRanges(['10.0.0.0/8'], 'ipv4'), 'ipv4')).toEqual({
      sources: ['10.0.0.0/8'],
    });
    const many = cidrsToRanges(holes, 'ipv4');
    expect(sourcesOf(many, 'ipv4').exceptSources).toBeUndefined();
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
