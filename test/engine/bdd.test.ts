import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BddLimitError, BddManager, FALSE, TRUE, type Bdd } from '../../src/engine/bdd.ts';

// Sets over N variables are bitmasks over the 2^N assignments (assignment i: bit v of i = var v).
const N = 6;
const FULL = (1n << BigInt(1 << N)) - 1n;

function fromMask(m: BddManager, mask: bigint): Bdd {
  let r = FALSE;
  for (let i = 0; i < 1 << N; i++) {
    if (((mask >> BigInt(i)) & 1n) === 0n) continue;
    let cube = TRUE;
    for (let v = 0; v < N; v++) cube = m.and(cube, m.literal(v, ((i >> v) & 1) === 1));
    r = m.or(r, cube);
  }
  return r;
}

function toMask(m: BddManager, a: Bdd): bigint {
  let mask = 0n;
  for (let i = 0; i < 1 << N; i++) {
    const bits = Array.from({ length: N }, (_, v) => (i >> v) & 1);
    if (m.evaluate(a, bits)) mask |= 1n << BigInt(i);
  }
  return mask;
}

/** A small linear congruential generator: the same numbers from the same seed. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state >>> 8;
  };
}

/** The union of `count` random cubes over all of `m`'s variables, each one fixed or free. */
function randomCubes(m: BddManager, count: number, next: () => number): Bdd {
  let r = FALSE;
  for (let k = 0; k < count; k++) {
    let cube = TRUE;
    for (let v = 0; v < m.varCount; v++) {
      const x = next() % 3;
      if (x < 2) cube = m.and(cube, m.literal(v, x === 1));
    }
    r = m.or(r, cube);
  }
  return r;
}

const setArb = fc.bigInt({ min: 0n, max: FULL });
/** Two sets, disjoint in half the pairs, so that both answers of a "do they meet" are tried often. */
const pairArb = fc
  .tuple(setArb, setArb, fc.boolean())
  .map(([x, y, apart]): [bigint, bigint] => [x, apart ? y & ~x & FULL : y]);
const varsArb = fc.uniqueArray(fc.integer({ min: 0, max: N - 1 }), { maxLength: N });

function existsMask(mask: bigint, vars: readonly number[]): bigint {
  let r = 0n;
  for (let i = 0; i < 1 << N; i++) {
    if (((mask >> BigInt(i)) & 1n) === 0n) continue;
    // every assignment that agrees with i outside vars
    for (let j = 0; j < 1 << N; j++) {
      const same = Array.from({ length: N }, (_, v) => v).every(
        (v) => vars.includes(v) || ((i >> v) & 1) === ((j >> v) & 1),
      );
      if (same) r |= 1n << BigInt(j);
    }
  }
  return r;
}

describe('BDD operations agree with plain set semantics', () => {
  it('and, or, xor, diff, not, ite and canonical equality', () => {
    fc.assert(
      fc.property(setArb, setArb, setArb, (x, y, z) => {
        const m = new BddManager(N);
        const a = fromMask(m, x);
        const b = fromMask(m, y);
        const c = fromMask(m, z);
        expect(toMask(m, m.and(a, b))).toBe(x & y);
        expect(toMask(m, m.or(a, b))).toBe(x | y);
        expect(toMask(m, m.xor(a, b))).toBe(x ^ y);
        expect(toMask(m, m.diff(a, b))).toBe(x & ~y & FULL);
        expect(toMask(m, m.not(a))).toBe(~x & FULL);
        expect(toMask(m, m.ite(a, b, c))).toBe((x & y) | (~x & z & FULL));
        // canonical: equal sets are the same node
        expect(m.or(m.and(a, b), m.diff(a, b))).toBe(a);
        expect(m.subset(m.and(a, b), a)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('intersects and subset say whether two sets meet or nest, and make no node', () => {
    let meeting = 0;
    fc.assert(
      fc.property(pairArb, ([x, y2]) => {
        const m = new BddManager(N);
        const a = fromMask(m, x);
        const b = fromMask(m, y2);
        const before = m.nodeCount;
        const meets = m.intersects(a, b);
        expect(m.subset(a, b)).toBe((x & ~y2 & FULL) === 0n);
        expect(m.subset(b, a)).toBe((y2 & ~x & FULL) === 0n);
        expect(m.nodeCount).toBe(before);
        expect(meets).toBe((x & y2) !== 0n);
        expect(m.intersects(b, a)).toBe(meets);
        // asked again: the same answer from the computed table
        expect(m.intersects(a, b)).toBe(meets);
        // nested sets, which random pairs seldom are
        const wider = fromMask(m, x | y2);
        expect(m.subset(a, wider)).toBe(true);
        expect(m.subset(wider, a)).toBe((y2 & ~x & FULL) === 0n);
        if (meets) meeting += 1;
      }),
      { numRuns: 300 },
    );
    expect(meeting).toBeGreaterThan(100);
  });

  it('unionIfDisjoint unites disjoint sets and refuses sets that meet', () => {
    let disjoint = 0;
    fc.assert(
      fc.property(pairArb, ([x, y2]) => {
        const m = new BddManager(N);
        const a = fromMask(m, x);
        const b = fromMask(m, y2);
        const u = m.unionIfDisjoint(a, b);
        if ((x & y2) === 0n) {
          disjoint += 1;
          // the same node as or(): canonical
          expect(u).toBe(m.or(a, b));
        } else expect(u).toBeNull();
      }),
      { numRuns: 300 },
    );
    expect(disjoint).toBeGreaterThan(100);
  });

  it('orAll unites any number of sets, in one walk or in pairs when it gives up', () => {
    const listArb = fc.array(fc.oneof(setArb, fc.constant(0n), fc.constant(FULL)), {
      maxLength: 9,
    });
    fc.assert(
      fc.property(listArb, fc.boolean(), (xs, givesUp) => {
        const m = new BddManager(N);
        // duplicates on purpose: the walk must treat a repeated operand as one
        const sets = [...xs, ...xs.slice(0, 2)].map((x) => fromMask(m, x));
        const u = m.orAll(sets, givesUp ? 0 : undefined);
        expect(toMask(m, u)).toBe(xs.reduce((a, x) => a | x, 0n));
        expect(u).toBe(sets.reduce((a, b) => m.or(a, b), FALSE));
      }),
      { numRuns: 300 },
    );
  });

  it('orAll unites long lists (in chunks, then their unions)', () => {
    fc.assert(
      fc.property(fc.array(setArb, { minLength: 33, maxLength: 90 }), (xs) => {
        const m = new BddManager(N);
        const sets = [...xs, ...xs.slice(0, 10)].map((x) => fromMask(m, x));
        const u = m.orAll(sets);
        expect(u).toBe(sets.reduce((a, b) => m.or(a, b), FALSE));
      }),
      { numRuns: 40 },
    );
  });

  it('orAll makes no node its result does not hold', () => {
    // 32 disjoint cubes sharing their top 10 variables, as the keys of a long chain do (32 are
    // walked at once; more in chunks)
    const vars = 15;
    const m = new BddManager(vars);
    const cube = (i: number): Bdd => {
      let r = TRUE;
      for (let v = vars - 1; v >= 0; v--) {
        const bit = v < 10 ? 1 : (i >> (v - 10)) & 1;
        r = m.and(m.literal(v, bit === 1), r);
      }
      return r;
    };
    const cubes = Array.from({ length: 32 }, (_, i) => cube(i));
    const before = m.nodeCount;
    const u = m.orAll(cubes);
    // the union is the shared prefix alone: ten new nodes, where pairwise unions make hundreds
    expect(m.nodeCount - before).toBeLessThanOrEqual(10);
    expect(m.nodeSize(u)).toBe(10);
    expect(u).toBe(cubes.reduce((a, b) => m.or(a, b), FALSE));
    expect(m.nodeCount - before).toBeGreaterThan(100);
  });

  it('orAll walks on past its first budget once it has counted the nodes under the operands', () => {
    // three sets of hundreds of nodes: far more states than 4 per operand and variable
    const vars = 16;
    const m = new BddManager(vars);
    const next = lcg(7);
    const sets = [1, 2, 3].map(() => randomCubes(m, 40, next));
    const before = m.nodeCount;
    const u = m.orAll(sets);
    const made = m.nodeCount - before;
    expect(m.nodeSize(u)).toBeGreaterThan(4 * (sets.length + vars));
    // had it given up, the pairwise unions would have made nodes the result does not hold
    expect(made).toBeLessThanOrEqual(m.nodeSize(u));
    expect(u).toBe(sets.reduce((a, b) => m.or(a, b), FALSE));
  });

  it('nodeSize counts every distinct node once, however many there are', () => {
    // a few thousand random cubes: the count passes its table's growth several times
    const vars = 24;
    const m = new BddManager(vars);
    const u = randomCubes(m, 3000, lcg(11));
    const seen = new Set<Bdd>();
    const stack = [u];
    while (stack.length > 0) {
      const n = stack.pop() ?? FALSE;
      if (n <= TRUE || seen.has(n)) continue;
      seen.add(n);
      stack.push(m.low(n), m.high(n));
    }
    expect(seen.size).toBeGreaterThan(5000);
    expect(m.nodeSize(u)).toBe(seen.size);
    expect(m.nodeSize(TRUE)).toBe(0);
  });

  it('exists, andExists and existsAnd quantify exactly the given variables', () => {
    fc.assert(
      fc.property(setArb, setArb, varsArb, (x, y, vars) => {
        const m = new BddManager(N);
        const a = fromMask(m, x);
        const b = fromMask(m, y);
        const cube = m.cube(vars);
        expect(toMask(m, m.exists(a, cube))).toBe(existsMask(x, vars));
        expect(m.andExists(a, b, cube)).toBe(m.exists(m.and(a, b), cube));
        expect(toMask(m, m.existsAnd(a, cube, b))).toBe(existsMask(x, vars) & y);
      }),
      { numRuns: 150 },
    );
  });

  it('exists of a cube naming the top or the bottom of the order (its shortcuts)', () => {
    // the cube names variables [0, head) and [tail, N) and maybe some between: above head the
    // answer is the union of the nodes reached below it, from tail on any non-empty set is TRUE
    const endsArb = fc.tuple(
      fc.integer({ min: 0, max: N }),
      fc.integer({ min: 0, max: N }),
      fc.subarray([1, 2, 3, 4]),
    );
    fc.assert(
      fc.property(setArb, endsArb, (x, [head, tail, middle]) => {
        const vars = [
          ...new Set([
            ...Array.from({ length: head }, (_, v) => v),
            ...Array.from({ length: N - tail }, (_, k) => tail + k),
            ...middle,
          ]),
        ];
        const m = new BddManager(N);
        const a = fromMask(m, x);
        const cube = m.cube(vars);
        expect(toMask(m, m.exists(a, cube))).toBe(existsMask(x, vars));
        // again, from the computed table
        expect(toMask(m, m.exists(a, cube))).toBe(existsMask(x, vars));
      }),
      { numRuns: 300 },
    );
  });

  it('restrict gives the cofactor', () => {
    fc.assert(
      fc.property(setArb, varsArb, fc.integer({ min: 0, max: (1 << N) - 1 }), (x, vars, vals) => {
        const m = new BddManager(N);
        const a = fromMask(m, x);
        let assignment = TRUE;
        for (const v of vars) assignment = m.and(assignment, m.literal(v, ((vals >> v) & 1) === 1));
        const r = m.restrict(a, assignment);
        // the cofactor does not depend on the restricted variables and equals a on that slice
        expect(m.exists(r, m.cube(vars))).toBe(r);
        expect(m.and(r, assignment)).toBe(m.and(a, assignment));
      }),
      { numRuns: 150 },
    );
  });

  it('satCount counts members and pick returns a member', () => {
    fc.assert(
      fc.property(setArb, fc.integer({ min: 0, max: 1 }), (x, pref) => {
        const m = new BddManager(N);
        const a = fromMask(m, x);
        let pop = 0n;
        for (let i = 0; i < 1 << N; i++) pop += (x >> BigInt(i)) & 1n;
        expect(m.satCount(a)).toBe(pop);
        const bits = m.pick(a, () => (pref === 1 ? 1 : 0));
        if (x === 0n) expect(bits).toBeNull();
        else {
          expect(bits).not.toBeNull();
          if (bits !== null) expect(m.evaluate(a, bits)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('pick prefers 0 for free variables', () => {
    const m = new BddManager(8);
    const a = m.literal(3, true);
    expect(Array.from(m.pick(a) ?? [])).toEqual([0, 0, 0, 1, 0, 0, 0, 0]);
    expect(m.satCount(a)).toBe(128n);
  });

  it('grows its node arrays and unique table past the initial capacity', () => {
    const m = new BddManager(40);
    let r = FALSE;
    for (let i = 0; i < 6000; i++) {
      let cube = TRUE;
      for (let v = 0; v < 20; v++)
        cube = m.and(cube, m.literal(v * 2, ((i * 7919) >> v) % 2 === 1));
      r = m.or(r, cube);
    }
    expect(m.nodeCount).toBeGreaterThan(1 << 16);
    expect(m.satCount(r)).toBe(6000n * (1n << 20n));
    // the regrown table still finds every node: the same cube again is the same node
    const cubeOf = (i: number): Bdd => {
      let cube = TRUE;
      for (let v = 0; v < 20; v++)
        cube = m.and(cube, m.literal(v * 2, ((i * 7919) >> v) % 2 === 1));
      return cube;
    };
    const before = m.nodeCount;
    expect(m.or(r, cubeOf(1234))).toBe(r);
    expect(m.nodeCount).toBe(before);
  });

  it('keeps nodes across the slabs its store is reserved in, and releases them', () => {
    // no expected size: slabs of 1, 2 and 4 chunks of 2^18 nodes; 40-bit paths for 32,000
    // values make ~870,000 nodes, so the last ones lie in the third slab
    const m = new BddManager(40);
    const pathOf = (i: number): Bdd => {
      let r = TRUE;
      for (let v = 39; v >= 0; v--) {
        const bit = Math.floor((i * 2654435761) / 2 ** v) % 2 === 1;
        r = bit ? m.mk(v, FALSE, r) : m.mk(v, r, FALSE);
      }
      return r;
    };
    const paths = Array.from({ length: 32_000 }, (_, i) => pathOf(i));
    const made = m.nodeCount;
    expect(made).toBeGreaterThan(3 << 18);
    // made again, every path is the same node (found, not made twice), and reads back its bits
    expect(Array.from({ length: 32_000 }, (_, i) => pathOf(i))).toEqual(paths);
    expect(m.nodeCount).toBe(made);
    const last = 31_999;
    const bits = Array.from({ length: 40 }, (_, v) => Math.floor((last * 2654435761) / 2 ** v) % 2);
    expect(m.evaluate(paths[last] ?? FALSE, bits)).toBe(true);
    expect(m.evaluate(paths[last - 1] ?? FALSE, bits)).toBe(false);
    m.release();
  });

  it('keeps nodes canonical where thousands share one newer child', () => {
    // a node's parents are placed around its own bucket (nodeHash): 20,000 parents of one node
    // crowd that neighbourhood, and each must still be found, not made twice
    const m = new BddManager(40);
    const older: Bdd[] = [];
    for (let i = 0; i < 20_000; i++) {
      let cube = TRUE;
      for (let v = 39; v >= 20; v--)
        cube = m.mk(v, ((i >> (v - 20)) & 1) === 1 ? FALSE : cube, cube);
      older.push(cube);
    }
    const newer = m.mk(19, FALSE, TRUE);
    const parents = older.map((y) => m.mk(10, y, newer));
    const made = m.nodeCount;
    expect(older.map((y) => m.mk(10, y, newer))).toEqual(parents);
    expect(m.nodeCount).toBe(made);
    expect(new Set(parents).size).toBe(20_000);
  });
});

describe('the node budget', () => {
  it('stops an operation that would make more nodes, and answers what fits', () => {
    const m = new BddManager(40, 0, 200);
    // x0 ∧ y0 ∨ x1 ∧ y1 ∨ … with every x before every y: doubles with each pair
    const pair = (i: number): number => m.and(m.variable(i), m.variable(20 + i));
    let r = pair(0);
    expect(() => {
      for (let i = 1; i < 20; i++) r = m.or(r, pair(i));
    }).toThrow(BddLimitError);
    expect(m.nodeCount).toBeLessThanOrEqual(200);
    // the manager still answers from what it holds
    expect(m.and(r, TRUE)).toBe(r);
    expect(m.or(pair(0), pair(0))).toBe(pair(0));
  });
});
