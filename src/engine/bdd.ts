/**
 * Reduced ordered binary decision diagrams, hash-consed in typed arrays.
 *
 * A node is an index into three parallel Int32Arrays (var, low, high). 0 is FALSE and 1 is TRUE.
 * Nodes are never freed: a manager lives as long as one analysis, and canonicity means equality
 * of sets is equality of node ids. Variable 0 is tested first (top of the diagram).
 */

export type Bdd = number;

export const FALSE: Bdd = 0;
export const TRUE: Bdd = 1;

// operation codes for the computed table
const OP_AND = 1;
const OP_OR = 2;
const OP_XOR = 3;
const OP_DIFF = 4;
const OP_EXISTS = 5;
const OP_RESTRICT = 6;
const OP_ANDEXISTS = 7;

const INITIAL_NODES = 1 << 16;
const CACHE_BITS = 18;

export class BddManager {
  readonly varCount: number;
  private vars: Int32Array;
  private lows: Int32Array;
  private highs: Int32Array;
  private size = 2;
  private table: Int32Array;
  private tableMask: number;
  private readonly cacheA: Int32Array;
  private readonly cacheB: Int32Array;
  private readonly cacheC: Int32Array;
  private readonly cacheR: Int32Array;
  private readonly cacheMask: number;

  constructor(varCount: number) {
    this.varCount = varCount;
    this.vars = new Int32Array(INITIAL_NODES);
    this.lows = new Int32Array(INITIAL_NODES);
    this.highs = new Int32Array(INITIAL_NODES);
    // terminals sit below every variable
    this.vars[0] = varCount;
    this.vars[1] = varCount;
    this.table = new Int32Array(INITIAL_NODES * 2).fill(-1);
    this.tableMask = INITIAL_NODES * 2 - 1;
    const cacheSize = 1 << CACHE_BITS;
    this.cacheA = new Int32Array(cacheSize).fill(-1);
    this.cacheB = new Int32Array(cacheSize);
    this.cacheC = new Int32Array(cacheSize);
    this.cacheR = new Int32Array(cacheSize);
    this.cacheMask = cacheSize - 1;
  }

  /** Nodes allocated, terminals included. */
  get nodeCount(): number {
    return this.size;
  }

  varOf(node: Bdd): number {
    return this.vars[node] ?? this.varCount;
  }
  low(node: Bdd): Bdd {
    return this.lows[node] ?? FALSE;
  }
  high(node: Bdd): Bdd {
    return this.highs[node] ?? FALSE;
  }

  /** The node testing `v` with the given children (reduced and hash-consed). */
  mk(v: number, low: Bdd, high: Bdd): Bdd {
    if (low === high) return low;
    const h = hash3(v, low, high) & this.tableMask;
    let slot = h;
    for (;;) {
      const n = this.table[slot] ?? -1;
      if (n === -1) break;
      if (this.vars[n] === v && this.lows[n] === low && this.highs[n] === high) return n;
      slot = (slot + 1) & this.tableMask;
    }
    if (this.size >= this.vars.length) this.grow();
    const n = this.size++;
    this.vars[n] = v;
    this.lows[n] = low;
    this.highs[n] = high;
    if (this.size * 2 > this.table.length) this.rehash();
    else this.table[slot] = n;
    return n;
  }

  private grow(): void {
    const cap = this.vars.length * 2;
    const grow = (a: Int32Array): Int32Array => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.vars = grow(this.vars);
    this.lows = grow(this.lows);
    this.highs = grow(this.highs);
  }

  private rehash(): void {
    const cap = this.table.length * 2;
    this.table = new Int32Array(cap).fill(-1);
    this.tableMask = cap - 1;
    for (let n = 2; n < this.size; n++) {
      let slot = hash3(this.vars[n] ?? 0, this.lows[n] ?? 0, this.highs[n] ?? 0) & this.tableMask;
      while ((this.table[slot] ?? -1) !== -1) slot = (slot + 1) & this.tableMask;
      this.table[slot] = n;
    }
  }

  private cacheGet(op: number, a: number, b: number): number {
    const i = hash3(op, a, b) & this.cacheMask;
    if (this.cacheA[i] === a && this.cacheB[i] === b && this.cacheC[i] === op) {
      return this.cacheR[i] ?? -1;
    }
    return -1;
  }

  private cachePut(op: number, a: number, b: number, r: number): void {
    const i = hash3(op, a, b) & this.cacheMask;
    this.cacheA[i] = a;
    this.cacheB[i] = b;
    this.cacheC[i] = op;
    this.cacheR[i] = r;
  }

  /** The single variable `v` (true when the bit is 1). */
  variable(v: number): Bdd {
    return this.mk(v, FALSE, TRUE);
  }

  /** The literal `v = value`. */
  literal(v: number, value: boolean): Bdd {
    return value ? this.mk(v, FALSE, TRUE) : this.mk(v, TRUE, FALSE);
  }

  and(a: Bdd, b: Bdd): Bdd {
    return this.apply(OP_AND, a, b);
  }

  or(a: Bdd, b: Bdd): Bdd {
    return this.apply(OP_OR, a, b);
  }

  xor(a: Bdd, b: Bdd): Bdd {
    return this.apply(OP_XOR, a, b);
  }

  /**
   * The binary operations share one recursion (no closures: this is the hot loop). Terminal
   * cases first, then the computed table, then Shannon expansion on the top variable.
   */
  private apply(op: number, a: Bdd, b: Bdd): Bdd {
    switch (op) {
      case OP_AND:
        if (a === FALSE || b === FALSE) return FALSE;
        if (a === TRUE) return b;
        if (b === TRUE || a === b) return a;
        break;
      case OP_OR:
        if (a === TRUE || b === TRUE) return TRUE;
        if (a === FALSE) return b;
        if (b === FALSE || a === b) return a;
        break;
      case OP_XOR:
        if (a === b) return FALSE;
        if (a === FALSE) return b;
        if (b === FALSE) return a;
        break;
      default:
        // OP_DIFF: a ∧ ¬b
        if (a === FALSE || b === TRUE || a === b) return FALSE;
        if (b === FALSE) return a;
    }
    if (op !== OP_DIFF && a > b) {
      const t = a;
      a = b;
      b = t;
    }
    const c = this.cacheGet(op, a, b);
    if (c >= 0) return c;
    const vars = this.vars;
    const va = a <= TRUE ? this.varCount : (vars[a] ?? 0);
    const vb = b <= TRUE ? this.varCount : (vars[b] ?? 0);
    const v = va < vb ? va : vb;
    let a0 = a;
    let a1 = a;
    let b0 = b;
    let b1 = b;
    if (va === v) {
      a0 = this.lows[a] ?? 0;
      a1 = this.highs[a] ?? 0;
    }
    if (vb === v) {
      b0 = this.lows[b] ?? 0;
      b1 = this.highs[b] ?? 0;
    }
    const lo = this.apply(op, a0, b0);
    const hi = this.apply(op, a1, b1);
    const r = this.mk(v, lo, hi);
    this.cachePut(op, a, b, r);
    return r;
  }

  not(a: Bdd): Bdd {
    return this.xor(TRUE, a);
  }

  /** a ∧ ¬b */
  diff(a: Bdd, b: Bdd): Bdd {
    return this.apply(OP_DIFF, a, b);
  }

  imp(a: Bdd, b: Bdd): Bdd {
    return this.or(this.not(a), b);
  }

  ite(f: Bdd, g: Bdd, h: Bdd): Bdd {
    return this.or(this.and(f, g), this.diff(h, f));
  }

  /** a ⊆ b */
  subset(a: Bdd, b: Bdd): boolean {
    return this.diff(a, b) === FALSE;
  }

  /** The conjunction of the positive literals of `vars` (a "cube" naming a variable set). */
  cube(vars: Iterable<number>): Bdd {
    const sorted = [...vars].sort((x, y) => y - x);
    let r = TRUE;
    for (const v of sorted) r = this.mk(v, FALSE, r);
    return r;
  }

  /** ∃ vars. a, where `vars` is a cube from `cube()`. */
  exists(a: Bdd, vars: Bdd): Bdd {
    if (a === FALSE || a === TRUE || vars === TRUE) return a;
    const va = this.varOf(a);
    let cv = vars;
    while (cv !== TRUE && this.varOf(cv) < va) cv = this.high(cv);
    if (cv === TRUE) return a;
    const c = this.cacheGet(OP_EXISTS, a, cv);
    if (c >= 0) return c;
    let r: Bdd;
    if (this.varOf(cv) === va) {
      const rest = this.high(cv);
      r = this.or(this.exists(this.low(a), rest), this.exists(this.high(a), rest));
    } else {
      r = this.mk(va, this.exists(this.low(a), cv), this.exists(this.high(a), cv));
    }
    this.cachePut(OP_EXISTS, a, cv, r);
    return r;
  }

  /** ∃ vars. (a ∧ b) without building a ∧ b. */
  andExists(a: Bdd, b: Bdd, vars: Bdd): Bdd {
    if (a === FALSE || b === FALSE) return FALSE;
    if (a === TRUE) return this.exists(b, vars);
    if (b === TRUE || a === b) return this.exists(a, vars);
    if (vars === TRUE) return this.and(a, b);
    if (a > b) return this.andExists(b, a, vars);
    const va = this.varOf(a);
    const vb = this.varOf(b);
    const v = va < vb ? va : vb;
    let cv = vars;
    while (cv !== TRUE && this.varOf(cv) < v) cv = this.high(cv);
    if (cv === TRUE) return this.and(a, b);
    // the cache key holds two operands; fold the cube into the op code slot
    const key = OP_ANDEXISTS + cv * 8;
    const c = this.cacheGet(key, a, b);
    if (c >= 0) return c;
    const a0 = va === v ? this.low(a) : a;
    const a1 = va === v ? this.high(a) : a;
    const b0 = vb === v ? this.low(b) : b;
    const b1 = vb === v ? this.high(b) : b;
    let r: Bdd;
    if (this.varOf(cv) === v) {
      const rest = this.high(cv);
      const r0 = this.andExists(a0, b0, rest);
      r = r0 === TRUE ? TRUE : this.or(r0, this.andExists(a1, b1, rest));
    } else {
      r = this.mk(v, this.andExists(a0, b0, cv), this.andExists(a1, b1, cv));
    }
    this.cachePut(key, a, b, r);
    return r;
  }

  /**
   * Restrict `a` by an assignment given as a conjunction of literals (`literal()`s and-ed): the
   * cofactor where those variables have those values.
   */
  restrict(a: Bdd, assignment: Bdd): Bdd {
    if (a === FALSE || a === TRUE || assignment === TRUE) return a;
    const va = this.varOf(a);
    let cv = assignment;
    while (cv !== TRUE && this.varOf(cv) < va) {
      cv = this.low(cv) === FALSE ? this.high(cv) : this.low(cv);
    }
    if (cv === TRUE) return a;
    const c = this.cacheGet(OP_RESTRICT, a, cv);
    if (c >= 0) return c;
    let r: Bdd;
    if (this.varOf(cv) === va) {
      const positive = this.low(cv) === FALSE;
      const next = positive ? this.high(cv) : this.low(cv);
      r = this.restrict(positive ? this.high(a) : this.low(a), next);
    } else {
      r = this.mk(va, this.restrict(this.low(a), cv), this.restrict(this.high(a), cv));
    }
    this.cachePut(OP_RESTRICT, a, cv, r);
    return r;
  }

  /** Number of satisfying assignments over variables [from, varCount). */
  satCount(a: Bdd, from = 0): bigint {
    const memo = new Map<number, bigint>();
    const count = (n: Bdd): bigint => {
      // assignments of the variables strictly below varOf(n)
      if (n === FALSE) return 0n;
      if (n === TRUE) return 1n;
      const hit = memo.get(n);
      if (hit !== undefined) return hit;
      const v = this.varOf(n);
      const lo = this.low(n);
      const hi = this.high(n);
      const r =
        (count(lo) << BigInt(this.varOf(lo) - v - 1)) +
        (count(hi) << BigInt(this.varOf(hi) - v - 1));
      memo.set(n, r);
      return r;
    };
    if (a === FALSE) return 0n;
    return count(a) << BigInt(this.varOf(a) - from);
  }

  /**
   * One satisfying assignment as a bit per variable (Uint8Array of length varCount), or null for
   * FALSE. Free variables and choices take `prefer(v)` (default 0) whenever that keeps the set
   * non-empty.
   */
  pick(a: Bdd, prefer?: (v: number) => 0 | 1): Uint8Array | null {
    if (a === FALSE) return null;
    const out = new Uint8Array(this.varCount);
    if (prefer !== undefined) for (let v = 0; v < this.varCount; v++) out[v] = prefer(v);
    let n = a;
    while (n !== TRUE) {
      const v = this.varOf(n);
      const want = out[v] ?? 0;
      const first = want === 1 ? this.high(n) : this.low(n);
      if (first !== FALSE) {
        n = first;
      } else {
        out[v] = want === 1 ? 0 : 1;
        n = want === 1 ? this.low(n) : this.high(n);
      }
    }
    return out;
  }

  /** Evaluate `a` on a full assignment. */
  evaluate(a: Bdd, bits: ArrayLike<number>): boolean {
    let n = a;
    while (n > TRUE) n = bits[this.varOf(n)] === 1 ? this.high(n) : this.low(n);
    return n === TRUE;
  }

  /** Number of nodes reachable from `a` (diagram size). */
  nodeSize(a: Bdd): number {
    const seen = new Set<number>();
    const stack = [a];
    while (stack.length > 0) {
      const n = stack.pop() ?? FALSE;
      if (n <= TRUE || seen.has(n)) continue;
      seen.add(n);
      stack.push(this.low(n), this.high(n));
    }
    return seen.size;
  }
}

function hash3(a: number, b: number, c: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77) ^ Math.imul(c, 0xc2b2ae3d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}
