/**
 * Reduced ordered binary decision diagrams, hash-consed in typed-array chunks.
 *
 * A node is an index into records [var, low, high, next] (`next` chains the unique table's
 * buckets), kept in fixed-size Int32Array chunks: the store grows by a chunk at a time and never
 * copies, so a big analysis holds its nodes once instead of twice while doubling an array. 0 is
 * FALSE and 1 is TRUE. Nodes are never freed: a manager lives as
 * long as one analysis, and canonicity means equality of sets is equality of node ids. Variable
 * 0 is tested first (top of the diagram).
 *
 * The record layout keeps a node's fields in one cache line and lets the unique table grow by
 * re-linking buckets instead of re-probing. Re-linking touches every node, so a caller that
 * knows roughly how many nodes it will make sizes the table once (`expectedNodes`): on the
 * 35k-rule bench host the growing table cost a third of the walk. The computed table grows with
 * the unique table up to 2 MB, about one core's L2 cache: every step looks it up, and a table
 * larger than the cache turns most lookups into memory misses, which cost more than the few
 * subproblems a bigger table would not recompute (measured in docs/performance.md). Much
 * smaller, it thrashes: shared subproblems are recomputed over and over.
 *
 * Both tables place an entry by its newer node (`nodeHash`, `cacheHash`): what an operation
 * touches next lies beside what it touched last. A big host's walk is bound by memory misses,
 * not by its steps, and with uniform hashing every probe of a gigabyte-sized store was one.
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
// negative: apart from the op codes andExists (7 + 8·cube) and existsAnd (8·cube) fold a cube into
const OP_DISJOINT_OR = -8;
const OP_MEETS = -16;
const OP_SUBSET = -24;

/** `disjointOr`'s answer when the operands share a member (never a node id). */
const INTERSECT = -2;

/** A record's bucket link is never negative: its sign bit marks a node seen by a count. */
const SEEN = -0x80000000;

/** Nodes per chunk of the store (4 MB of records). */
const CHUNK_BITS = 18;
const CHUNK_MASK = (1 << CHUNK_BITS) - 1;
const INITIAL_NODES = 1 << 16;
/** Int32 entries of a chunk. */
const CHUNK_INTS = (CHUNK_MASK + 1) * 4;
/** A slab of the store holds at most this many chunks (512 MB). */
const MAX_SLAB_CHUNKS = 128;
/** The computed table stops growing here (entries of 16 bytes: 2 MB). */
const MAX_CACHE = 1 << 17;
/** The unique table is never sized beyond this up front (256 MB of bucket heads). */
const MAX_PRESIZED = 1 << 26;

/**
 * Thrown when an operation would make more nodes than the manager's budget. Sets of firewall
 * matches stay small, but rules that test bits of several fields apart (non-contiguous address
 * masks such as `-s 0.0.0.1/0.0.0.1 -d 0.0.0.1/0.0.0.1`) combine into sets that double with
 * each rule: twenty such lines took minutes and gigabytes before anything was said.
 */
export class BddLimitError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(
      `the packet engine stopped at its limit of ${limit} decision-diagram nodes: the rules combine into sets too large to follow (rules that match bits of several fields apart, such as non-contiguous address masks, do this)`,
    );
    this.name = 'BddLimitError';
    this.limit = limit;
  }
}

export class BddManager {
  readonly varCount: number;
  /** Nodes the manager may make (terminals included); past it, `BddLimitError`. */
  private readonly maxNodes: number;
  /** [var, low, high, next] per node, CHUNK_BITS of node index per chunk. */
  private readonly chunks: Int32Array[];
  /** The array buffers the chunks are views of (`newChunk`). */
  private readonly slabs: ArrayBuffer[] = [];
  /** Chunks of the last slab not handed out yet, and the size of the next slab. */
  private slabLeft = 0;
  private slabChunks: number;
  private size = 2;
  /** Unique table: bucket → first node of its chain (0 = empty; terminals are never hashed). */
  private heads: Int32Array;
  private headMask: number;
  /** Computed table: [a, b, op, result] per entry. */
  private cache: Int32Array;
  private cacheMask: number;
  /** Recursive steps taken by the operations (a machine-independent measure of work). */
  steps = 0;
  /**
   * A union walk's state lists, one after another (`orMany`): typed memory reused by every
   * walk, where a list, a pair and a map entry per state were objects the collector promoted
   * and marked again on big hosts.
   */
  private lists = new Int32Array(1 << 12);
  private listTop = 0;
  /** The walk's remembered states: [walk, hash, start, length, result] per slot, open addressing. */
  private states = new Int32Array(5 << 10);
  private stateMask = (1 << 10) - 1;
  private stateCount = 0;
  /** Which walk the slots with this number belong to (older slots are empty). */
  private walkId = 0;
  /** `markReached`'s nodes seen and nodes still to visit (reused, grown by doubling). */
  private counted = new Int32Array(1 << 10);
  private toCount = new Int32Array(1 << 10);
  /** `endsOf` per cube asked about. */
  private readonly cubeEnds = new Map<Bdd, { readonly head: number; readonly tail: number }>();

  /**
   * `expectedNodes`: how many nodes the caller expects to make (the unique table is sized for
   * it); `maxNodes`: how many it may make at most.
   */
  constructor(varCount: number, expectedNodes = 0, maxNodes = Infinity) {
    this.varCount = varCount;
    this.maxNodes = maxNodes;
    this.slabChunks = Math.min(
      MAX_SLAB_CHUNKS,
      Math.max(1, Math.ceil(expectedNodes / (CHUNK_MASK + 1))),
    );
    const first = this.newChunk();
    // terminals sit below every variable
    first[0] = varCount;
    first[4] = varCount;
    this.chunks = [first];
    let heads = INITIAL_NODES;
    while (heads < expectedNodes && heads < MAX_PRESIZED) heads *= 2;
    this.heads = new Int32Array(heads);
    this.headMask = heads - 1;
    const entries = Math.min(heads, MAX_CACHE);
    this.cache = new Int32Array(entries * 4).fill(-1);
    this.cacheMask = entries - 1;
  }

  /**
   * Frees the node store now rather than at V8's next full collection: a big host's store is
   * ~500 MB of array buffers, unreachable once its analysis is done but still held while the
   * report is made (82 MB of JSON for the 104k-rule host) unless a full collection happens to
   * run. Every node id is meaningless afterwards; the owner calls this only when nothing will
   * ask the manager again.
   */
  release(): void {
    for (const slab of this.slabs) detachBuffer(slab);
    this.slabs.length = 0;
    this.chunks.length = 0;
    detach(this.heads);
    detach(this.cache);
    detach(this.lists);
    detach(this.states);
    detach(this.counted);
    detach(this.toCount);
  }

  /**
   * The next chunk of the store, carved from a slab. V8 counts each new array buffer as external
   * memory, and each ~64 MB of it started a full marking of the JS heap: on the 104k-rule host
   * six of the walk's mark-compacts came from 4 MB chunks, each marking ~300 MB of live objects.
   * A slab is reserved for the nodes the caller expects, and each further one twice as big, up to
   * 512 MB: the kernel commits a slab's pages only as nodes are written, so what is reserved
   * beyond the nodes made costs address space, not memory.
   */
  private newChunk(): Int32Array {
    if (this.slabLeft === 0) {
      const slab = new ArrayBuffer(this.slabChunks * CHUNK_INTS * 4);
      this.slabs.push(slab);
      this.slabLeft = this.slabChunks;
      this.slabChunks = Math.min(MAX_SLAB_CHUNKS, this.slabChunks * 2);
    }
    const slab = this.slabs[this.slabs.length - 1] as ArrayBuffer;
    const at = slab.byteLength - this.slabLeft * CHUNK_INTS * 4;
    this.slabLeft--;
    return new Int32Array(slab, at, CHUNK_INTS);
  }

  /** Nodes allocated, terminals included. */
  get nodeCount(): number {
    return this.size;
  }

  varOf(node: Bdd): number {
    return this.chunks[node >>> CHUNK_BITS]?.[(node & CHUNK_MASK) << 2] ?? this.varCount;
  }
  low(node: Bdd): Bdd {
    return this.chunks[node >>> CHUNK_BITS]?.[((node & CHUNK_MASK) << 2) + 1] ?? FALSE;
  }
  high(node: Bdd): Bdd {
    return this.chunks[node >>> CHUNK_BITS]?.[((node & CHUNK_MASK) << 2) + 2] ?? FALSE;
  }

  /** The node testing `v` with the given children (reduced and hash-consed). */
  mk(v: number, low: Bdd, high: Bdd): Bdd {
    if (low === high) return low;
    const chunks = this.chunks;
    const h = nodeHash(v, low, high) & this.headMask;
    let n = this.heads[h] ?? 0;
    while (n !== 0) {
      const c = chunks[n >>> CHUNK_BITS] as Int32Array;
      const i = (n & CHUNK_MASK) << 2;
      if (c[i] === v && c[i + 1] === low && c[i + 2] === high) return n;
      n = c[i + 3] ?? 0;
    }
    if (this.size >= this.maxNodes) throw new BddLimitError(this.maxNodes);
    n = this.size++;
    let c = chunks[n >>> CHUNK_BITS];
    if (c === undefined) {
      c = this.newChunk();
      chunks.push(c);
    }
    const i = (n & CHUNK_MASK) << 2;
    c[i] = v;
    c[i + 1] = low;
    c[i + 2] = high;
    c[i + 3] = this.heads[h] ?? 0;
    this.heads[h] = n;
    if (this.size > this.headMask) this.grow();
    return n;
  }

  /** Double the unique table, re-link every node into it, and grow the computed table. */
  private grow(): void {
    const cap = (this.headMask + 1) * 2;
    const heads = new Int32Array(cap);
    const mask = cap - 1;
    for (let n = 2; n < this.size; n++) {
      const c = this.chunks[n >>> CHUNK_BITS] as Int32Array;
      const i = (n & CHUNK_MASK) << 2;
      const h = nodeHash(c[i] ?? 0, c[i + 1] ?? 0, c[i + 2] ?? 0) & mask;
      c[i + 3] = heads[h] ?? 0;
      heads[h] = n;
    }
    this.heads = heads;
    this.headMask = mask;
    const entries = Math.min(cap, MAX_CACHE);
    if (entries > this.cacheMask + 1) {
      this.cache = new Int32Array(entries * 4).fill(-1);
      this.cacheMask = entries - 1;
    }
  }

  private cacheGet(op: number, a: number, b: number): number {
    const i = (cacheHash(op, a, b) & this.cacheMask) << 2;
    const c = this.cache;
    if (c[i] === a && c[i + 1] === b && c[i + 2] === op) return c[i + 3] ?? -1;
    return -1;
  }

  private cachePut(op: number, a: number, b: number, r: number): void {
    const i = (cacheHash(op, a, b) & this.cacheMask) << 2;
    const c = this.cache;
    c[i] = a;
    c[i + 1] = b;
    c[i + 2] = op;
    c[i + 3] = r;
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

  /** a ∧ ¬b */
  diff(a: Bdd, b: Bdd): Bdd {
    return this.apply(OP_DIFF, a, b);
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
    this.steps++;
    const va = a <= TRUE ? this.varCount : this.varOf(a);
    const vb = b <= TRUE ? this.varCount : this.varOf(b);
    const v = va < vb ? va : vb;
    const a0 = va === v ? this.low(a) : a;
    const a1 = va === v ? this.high(a) : a;
    const b0 = vb === v ? this.low(b) : b;
    const b1 = vb === v ? this.high(b) : b;
    const r = this.mk(v, this.apply(op, a0, b0), this.apply(op, a1, b1));
    this.cachePut(op, a, b, r);
    return r;
  }

  /**
   * a ∨ b when a and b are disjoint, else null: one walk where testing a ∧ b = ∅ and then
   * uniting them takes two (a long chain's runs of disjoint keys are built this way).
   */
  unionIfDisjoint(a: Bdd, b: Bdd): Bdd | null {
    const r = this.disjointOr(a, b);
    return r === INTERSECT ? null : r;
  }

  private disjointOr(a: Bdd, b: Bdd): number {
    if (a === FALSE) return b;
    if (b === FALSE) return a;
    // a node other than FALSE has a member, so TRUE or the same node meets the other
    if (a === TRUE || b === TRUE || a === b) return INTERSECT;
    if (a > b) {
      const t = a;
      a = b;
      b = t;
    }
    const c = this.cacheGet(OP_DISJOINT_OR, a, b);
    if (c !== -1) return c;
    this.steps++;
    const va = this.varOf(a);
    const vb = this.varOf(b);
    const v = va < vb ? va : vb;
    let r = this.disjointOr(va === v ? this.low(a) : a, vb === v ? this.low(b) : b);
    if (r !== INTERSECT) {
      const r1 = this.disjointOr(va === v ? this.high(a) : a, vb === v ? this.high(b) : b);
      r = r1 === INTERSECT ? INTERSECT : this.mk(v, r, r1);
    }
    this.cachePut(OP_DISJOINT_OR, a, b, r);
    return r;
  }

  /**
   * The union of many sets in one walk that makes only the result's nodes. Uniting them in pairs
   * also makes every partial union: the 1,000 disjoint keys of a benchmark chain, whose union has
   * 103 nodes, made 50,000 that way, each insertion copying the path the keys share. A state of
   * the walk is the set of the operands' cofactors under one path, remembered by its members.
   * States can in principle multiply where pairwise unions stay small, so the walk may take
   * `statesPerNode` states per distinct node under the operands; past that it gives up and the
   * sets are united in pairs. Counting those nodes costs about what a small walk does, so they
   * are counted only once a walk has taken as many states per operand and variable.
   */
  orAll(sets: readonly Bdd[], statesPerNode = STATES_PER_NODE): Bdd {
    const xs = operands(sets);
    if (xs === null) return TRUE;
    if (xs.length <= 2) return xs.length === 0 ? FALSE : this.or(xs[0] ?? FALSE, xs[1] ?? FALSE);
    if (xs.length > WALK_WIDTH) {
      // a state holds its whole list, and the walk remembers every state: the 40,000 NAT
      // pieces of an unconstrained `reach` on the 104k host filled a 4 GB heap. Chunks of
      // WALK_WIDTH are united first, then their unions, as a tree.
      const parts: Bdd[] = [];
      for (let i = 0; i < xs.length; i += WALK_WIDTH)
        parts.push(this.orAll(xs.slice(i, i + WALK_WIDTH), statesPerNode));
      return this.orAll(parts, statesPerNode);
    }
    const first = statesPerNode * (xs.length + this.varCount);
    const walk: UnionWalk = {
      left: first,
      more:
        statesPerNode === 0
          ? null
          : () =>
              Math.min(
                statesPerNode * this.inputNodes(xs, Math.ceil(MAX_STATES / statesPerNode)),
                MAX_STATES,
              ) - first,
    };
    // a new walk: no slot is its yet, and its lists start from the bottom
    if (++this.walkId === 0x7fffffff) {
      this.states.fill(0);
      this.walkId = 1;
    }
    this.stateCount = 0;
    this.listTop = 0;
    this.room(xs.length);
    this.lists.set(xs, 0);
    this.listTop = xs.length;
    const r = this.orMany(0, xs.length, walk);
    if (r !== GIVE_UP) return r;
    let level = xs;
    while (level.length > 1) {
      const next: Bdd[] = [];
      for (let i = 0; i < level.length; i += 2) {
        const a = level[i] ?? FALSE;
        next.push(i + 1 < level.length ? this.or(a, level[i + 1] ?? FALSE) : a);
      }
      level = next;
    }
    return level[0] ?? FALSE;
  }

  /** Raises a union walk's budget to its counted one, once; false when that is spent too. */
  private extend(walk: UnionWalk): boolean {
    const more = walk.more;
    if (more === null) return false;
    walk.more = null;
    walk.left += more();
    return walk.left >= 0;
  }

  /**
   * Distinct nodes under the sets, or `limit` when there are more (what also bounds a union
   * walk's states).
   */
  private inputNodes(xs: readonly Bdd[], limit = Infinity): number {
    const count = this.markReached(xs, this.varCount, limit);
    this.unmark(count);
    return count;
  }

  /**
   * Marks the distinct nodes reachable from `roots`, going on below a node only when it tests a
   * variable before `stopAt`, and lists them in `counted` until `limit` are listed; returns how
   * many. A node is marked seen in the sign bit of its record's bucket link, which no probe reads
   * meanwhile; the caller reads the list and then clears the marks (`unmark`). The mark reads
   * each record once, where a set of ids took as long again on a big host's unions.
   */
  private markReached(roots: readonly Bdd[], stopAt: number, limit: number): number {
    const chunks = this.chunks;
    // the stack and the nodes seen live in reused typed arrays: as plain arrays, a big union's
    // count was tens of megabytes a walk of the collector's old generation
    let seen = this.counted;
    let stack = this.toCount;
    let count = 0;
    let top = 0;
    while (stack.length < roots.length + 2) stack = this.toCount = grownCopy(stack);
    for (const x of roots) stack[top++] = x;
    // past `limit` the count changes nothing for the caller (a budget capped at MAX_STATES)
    while (top > 0 && count < limit) {
      const n = stack[--top] ?? FALSE;
      if (n <= TRUE) continue;
      const c = chunks[n >>> CHUNK_BITS] as Int32Array;
      const i = (n & CHUNK_MASK) << 2;
      const link = c[i + 3] ?? 0;
      if (link < 0) continue;
      c[i + 3] = link | SEEN;
      if (count === seen.length) seen = this.counted = grownCopy(seen);
      seen[count++] = n;
      if ((c[i] ?? 0) >= stopAt) continue;
      if (top + 2 > stack.length) stack = this.toCount = grownCopy(stack);
      stack[top++] = c[i + 1] ?? FALSE;
      stack[top++] = c[i + 2] ?? FALSE;
    }
    return count;
  }

  /** Clears the marks of the first `count` nodes `markReached` listed. */
  private unmark(count: number): void {
    const chunks = this.chunks;
    const seen = this.counted;
    for (let k = 0; k < count; k++) {
      const n = seen[k] ?? FALSE;
      const c = chunks[n >>> CHUNK_BITS] as Int32Array;
      const i = ((n & CHUNK_MASK) << 2) + 3;
      c[i] = (c[i] ?? 0) & ~SEEN;
    }
  }

  /** Room for `n` more list members on top of the lists. */
  private room(n: number): void {
    while (this.listTop + n > this.lists.length) this.lists = grownCopy(this.lists);
  }

  /**
   * The union of the list at [start, start + n) of `lists`: sorted, distinct, no terminal, at
   * most WALK_WIDTH members, the topmost list. A state met before gives its result and its list
   * is dropped; a new one keeps its list, for the states met after it to be compared with.
   */
  private orMany(start: number, n: number, walk: UnionWalk): Bdd {
    let lists = this.lists;
    if (n <= 2) {
      // (the arena is not cleared: past the list's end lie old lists' members)
      const a = n === 0 ? FALSE : (lists[start] ?? FALSE);
      const b = n === 2 ? (lists[start + 1] ?? FALSE) : FALSE;
      this.listTop = start;
      return n === 2 ? this.apply(OP_OR, a, b) : a;
    }
    let h = n;
    for (let i = start; i < start + n; i++) h = Math.imul(h ^ (lists[i] ?? 0), 0x9e3779b1);
    const known = this.stateOf(h, start, n);
    if (known !== NOT_MET) {
      this.listTop = start;
      return known;
    }
    if (--walk.left < 0 && !this.extend(walk)) return GIVE_UP;
    this.steps++;
    let v = this.varCount;
    for (let i = start; i < start + n; i++) {
      const vx = this.varOf(lists[i] ?? FALSE);
      if (vx < v) v = vx;
    }
    // the cofactors on each side, as a new topmost list (built one side at a time)
    let r0: Bdd = TRUE;
    let r1: Bdd = TRUE;
    for (let side = 0; side < 2; side++) {
      this.room(n);
      lists = this.lists;
      const from = this.listTop;
      let top = from;
      let all = false;
      for (let i = start; i < start + n && !all; i++) {
        const x = lists[i] ?? FALSE;
        const c = this.varOf(x) !== v ? x : side === 0 ? this.low(x) : this.high(x);
        if (c === TRUE) all = true;
        else if (c !== FALSE) top = insertSorted(lists, from, top, c);
      }
      let r: Bdd = TRUE;
      if (all) this.listTop = from;
      else {
        this.listTop = top;
        r = this.orMany(from, top - from, walk);
        if (r === GIVE_UP) return GIVE_UP;
      }
      if (side === 0) r0 = r;
      else r1 = r;
    }
    const r = this.mk(v, r0, r1);
    this.remember(h, start, n, r);
    return r;
  }

  /** The result of the walk's state with this list, or NOT_MET. */
  private stateOf(h: number, start: number, n: number): Bdd {
    const t = this.states;
    const lists = this.lists;
    const mask = this.stateMask;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const i = slot * 5;
      if (t[i] !== this.walkId) return NOT_MET;
      if (t[i + 1] !== h || t[i + 3] !== n) continue;
      const other = t[i + 2] ?? 0;
      let same = true;
      for (let k = 0; k < n && same; k++) same = lists[start + k] === lists[other + k];
      if (same) return t[i + 4] ?? FALSE;
    }
  }

  /** Remembers a state of the walk (its list stays where it is in `lists`). */
  private remember(h: number, start: number, n: number, r: Bdd): void {
    if (++this.stateCount * 2 > this.stateMask + 1) this.growStates();
    const t = this.states;
    const mask = this.stateMask;
    let slot = h & mask;
    while (t[slot * 5] === this.walkId) slot = (slot + 1) & mask;
    const i = slot * 5;
    t[i] = this.walkId;
    t[i + 1] = h;
    t[i + 2] = start;
    t[i + 3] = n;
    t[i + 4] = r;
  }

  /** Doubles the state table, keeping this walk's states. */
  private growStates(): void {
    const old = this.states;
    const slots = (this.stateMask + 1) * 2;
    const t = new Int32Array(slots * 5);
    const mask = slots - 1;
    for (let i = 0; i < old.length; i += 5) {
      if (old[i] !== this.walkId) continue;
      let slot = (old[i + 1] ?? 0) & mask;
      while (t[slot * 5] === this.walkId) slot = (slot + 1) & mask;
      t.set(old.subarray(i, i + 5), slot * 5);
    }
    this.states = t;
    this.stateMask = mask;
  }

  not(a: Bdd): Bdd {
    return this.xor(TRUE, a);
  }

  imp(a: Bdd, b: Bdd): Bdd {
    return this.or(this.not(a), b);
  }

  ite(f: Bdd, g: Bdd, h: Bdd): Bdd {
    return this.or(this.and(f, g), this.diff(h, f));
  }

  /** Whether a ⊆ b (a ∧ ¬b is empty), found without building a ∧ ¬b: no node is made. */
  subset(a: Bdd, b: Bdd): boolean {
    return this.decide(OP_SUBSET, a, b);
  }

  /** Whether a ∧ b is not empty, found without building it: no node is made. */
  intersects(a: Bdd, b: Bdd): boolean {
    return this.decide(OP_MEETS, a, b);
  }

  /**
   * The yes-or-no questions on two sets share one recursion, as the operations do (`apply`):
   * terminal cases, the computed table (1 or 0), then the cofactors, where `intersects` stops at
   * the first branch that meets and `subset` at the first that does not nest.
   */
  private decide(op: number, a: Bdd, b: Bdd): boolean {
    if (op === OP_MEETS) {
      if (a === FALSE || b === FALSE) return false;
      if (a === TRUE || b === TRUE || a === b) return true;
      if (a > b) {
        const t = a;
        a = b;
        b = t;
      }
    } else {
      if (a === FALSE || b === TRUE || a === b) return true;
      // canonical: TRUE is the only tautology, FALSE the only empty set
      if (a === TRUE || b === FALSE) return false;
    }
    const c = this.cacheGet(op, a, b);
    if (c >= 0) return c === 1;
    this.steps++;
    const va = this.varOf(a);
    const vb = this.varOf(b);
    const v = va < vb ? va : vb;
    const first = this.decide(op, va === v ? this.low(a) : a, vb === v ? this.low(b) : b);
    // intersects: one branch that meets is enough; subset: every branch must nest
    const r =
      first === (op === OP_MEETS)
        ? first
        : this.decide(op, va === v ? this.high(a) : a, vb === v ? this.high(b) : b);
    this.cachePut(op, a, b, r ? 1 : 0);
    return r;
  }

  /** The conjunction of the positive literals of `vars` (a "cube" naming a variable set). */
  cube(vars: Iterable<number>): Bdd {
    const sorted = [...vars].sort((x, y) => y - x);
    let r = TRUE;
    for (const v of sorted) r = this.mk(v, FALSE, r);
    return r;
  }

  /**
   * ∃ vars. a, where `vars` is a cube from `cube()`. When the cube names the top of the order,
   * the answer is the union of the nodes `a` reaches just below it, quantified further: one
   * union walk where the recursion united the projections of every node above, pair by pair
   * (projecting a set onto its destinations quantifies the mark, interfaces, state, protocol and
   * source above them).
   */
  exists(a: Bdd, vars: Bdd): Bdd {
    const ends = this.endsOf(vars);
    if (a <= TRUE || this.varOf(a) >= ends.head) return this.existsFrom(a, vars, ends.tail);
    const c = this.cacheGet(OP_EXISTS, a, vars);
    if (c >= 0) return c;
    const below = this.reachedAt(a, ends.head);
    const r = below === null ? TRUE : this.existsFrom(this.orAll(below), vars, ends.tail);
    this.cachePut(OP_EXISTS, a, vars, r);
    return r;
  }

  /**
   * Where a cube's variables start and end: `head`, the first variable from the top of the order
   * it does not name (0 when it does not name variable 0); `tail`, the first from which it names
   * every variable down to the bottom (varCount when it does not name the last). Below the
   * tail, ∃ of any set but ∅ is every packet: projecting a set onto its destinations stops at
   * the last destination bit instead of walking each destination's ports.
   */
  private endsOf(cube: Bdd): { readonly head: number; readonly tail: number } {
    let ends = this.cubeEnds.get(cube);
    if (ends === undefined) {
      let head = 0;
      let tail = this.varCount;
      let expected = -1;
      for (let cv = cube; cv !== TRUE; cv = this.high(cv)) {
        const v = this.varOf(cv);
        if (v === head) head++;
        if (v !== expected) tail = v;
        expected = v + 1;
      }
      if (expected !== this.varCount) tail = this.varCount;
      ends = { head, tail };
      this.cubeEnds.set(cube, ends);
    }
    return ends;
  }

  /**
   * The distinct nodes testing `head` or a later variable that `a` reaches through nodes testing
   * earlier ones; null when such a path ends in TRUE (their union is then every packet).
   */
  private reachedAt(a: Bdd, head: number): Bdd[] | null {
    const count = this.markReached([a], head, Infinity);
    const seen = this.counted;
    let all = false;
    const below: Bdd[] = [];
    for (let k = 0; k < count; k++) {
      const n = seen[k] ?? FALSE;
      if (this.varOf(n) >= head) below.push(n);
      else if (this.low(n) === TRUE || this.high(n) === TRUE) all = true;
    }
    this.unmark(count);
    return all ? null : below;
  }

  private existsFrom(a: Bdd, vars: Bdd, tail: number): Bdd {
    if (a === FALSE || a === TRUE || vars === TRUE) return a;
    const va = this.varOf(a);
    if (va >= tail) return TRUE;
    let cv = vars;
    while (cv !== TRUE && this.varOf(cv) < va) cv = this.high(cv);
    if (cv === TRUE) return a;
    const c = this.cacheGet(OP_EXISTS, a, cv);
    if (c >= 0) return c;
    this.steps++;
    let r: Bdd;
    if (this.varOf(cv) === va) {
      const rest = this.high(cv);
      const r0 = this.existsFrom(this.low(a), rest, tail);
      r = r0 === TRUE ? TRUE : this.or(r0, this.existsFrom(this.high(a), rest, tail));
    } else {
      r = this.mk(
        va,
        this.existsFrom(this.low(a), cv, tail),
        this.existsFrom(this.high(a), cv, tail),
      );
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
    this.steps++;
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
   * (∃ vars. a) ∧ b without building ∃ vars. a: a rewrite (forget the old values of some
   * fields, take new ones) in one pass. A DNAT of a set whose destination is fixed makes only
   * the result's nodes, where exists-then-and made a copy of the whole set first.
   */
  existsAnd(a: Bdd, vars: Bdd, b: Bdd): Bdd {
    if (a === FALSE || b === FALSE) return FALSE;
    if (a === TRUE) return b;
    const va = this.varOf(a);
    // cube variables above a's top: a does not depend on them
    let cv = vars;
    while (cv !== TRUE && this.varOf(cv) < va) cv = this.high(cv);
    if (cv === TRUE) return this.and(a, b);
    if (b === TRUE) return this.exists(a, cv);
    // the cache key holds two operands; the cube goes in the op code slot (op 0 is free)
    const key = cv * 8;
    const c = this.cacheGet(key, a, b);
    if (c >= 0) return c;
    this.steps++;
    const vb = this.varOf(b);
    let r: Bdd;
    if (vb < va) {
      r = this.mk(vb, this.existsAnd(a, cv, this.low(b)), this.existsAnd(a, cv, this.high(b)));
    } else {
      const a0 = this.low(a);
      const a1 = this.high(a);
      const b0 = vb === va ? this.low(b) : b;
      const b1 = vb === va ? this.high(b) : b;
      if (this.varOf(cv) === va) {
        // a's top variable is forgotten: either of its branches, under each value of b's
        const rest = this.high(cv);
        r =
          vb === va
            ? this.mk(va, this.existsEither(a0, a1, rest, b0), this.existsEither(a0, a1, rest, b1))
            : this.existsEither(a0, a1, rest, b);
      } else {
        r = this.mk(va, this.existsAnd(a0, cv, b0), this.existsAnd(a1, cv, b1));
      }
    }
    this.cachePut(key, a, b, r);
    return r;
  }

  /**
   * (∃ vars. a0 ∨ a1) ∧ b, for `existsAnd` where a's top variable is forgotten. A method, not a
   * closure in the recursion: a deep rewrite kept its closures alive across scavenges, and they
   * were the largest single part of what the 104k host's discovery promoted.
   */
  private existsEither(a0: Bdd, a1: Bdd, vars: Bdd, b: Bdd): Bdd {
    return this.or(this.existsAnd(a0, vars, b), this.existsAnd(a1, vars, b));
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
    this.steps++;
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
    return this.inputNodes([a]);
  }
}

/** The array's members in an array twice its length. */
function grownCopy(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Frees an array's memory at once (`transfer` detaches the old buffer; es2024, Node ≥ 21). */
function detach(a: Int32Array): void {
  detachBuffer(a.buffer as ArrayBuffer);
}

function detachBuffer(b: ArrayBuffer): void {
  (b as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
}

/** How many more states a union walk may take. */
interface UnionWalk {
  left: number;
  /** What the budget by the operands' node count adds to the first one (null: added, or none). */
  more: (() => number) | null;
}

/** `orMany`'s answer when the walk outgrew its budget (never a node id). */
const GIVE_UP = -3;
/** `stateOf`'s answer for a state the walk has not met (never a node id). */
const NOT_MET = -4;
/** Operands a union walks at once; more are united in chunks of this many (see orAll). */
const WALK_WIDTH = 32;
/** States a union walk may take per distinct node under its operands. */
const STATES_PER_NODE = 4;
/**
 * Nor more than this many in all: the walk remembers each state with its list (up to 32 ids),
 * a few hundred bytes, so one union holds at most ~90 MB at once. The largest union of the 35k
 * host's discovery takes about 18,000.
 */
const MAX_STATES = 1 << 18;

/** Operands of a union: sorted and distinct without FALSE, or null when one is TRUE. */
function operands(sets: readonly Bdd[]): Bdd[] | null {
  const xs: Bdd[] = [];
  for (const x of sets) {
    if (x === TRUE) return null;
    if (x !== FALSE) xs.push(x);
  }
  xs.sort((a, b) => a - b);
  let k = 0;
  for (const x of xs) if (k === 0 || x !== xs[k - 1]) xs[k++] = x;
  xs.length = k;
  return xs;
}

/**
 * Puts x into the sorted list at [from, top) of `lists` unless it is there (the lists of a walk
 * are short); the list's new end. The caller made room for one more.
 */
function insertSorted(lists: Int32Array, from: number, top: number, x: Bdd): number {
  let j = top - 1;
  while (j >= from && (lists[j] ?? FALSE) > x) j--;
  if (j >= from && lists[j] === x) return top;
  for (let i = top; i > j + 1; i--) lists[i] = lists[i - 1] ?? FALSE;
  lists[j + 1] = x;
  return top + 1;
}

/**
 * A node's unique-table bucket, chosen by its newer child (the higher id) with a few bits of the
 * other child and the variable. Operations make nodes bottom-up, so a new node's newer child is
 * almost always one made or looked up a moment before: its bucket lies next to the buckets just
 * touched, in the same cache lines and pages, where a uniform hash sent every probe of a
 * gigabyte-sized working set to a random page. A node's parents share 64 buckets around
 * `8 × id`; the bits of the older child spread them there.
 */
function nodeHash(v: number, low: number, high: number): number {
  const newer = low > high ? low : high;
  const older = low > high ? high : low;
  return ((newer << 3) ^ (Math.imul(older ^ (v << 24), 0x9e3779b1) >>> 26)) >>> 0;
}

/**
 * A computed-table entry's slot, by its newer operand like `nodeHash`: an operation's
 * subproblems are met in the order their nodes were made, so their slots are neighbours too.
 * The table is lossy (a slot keeps its last entry), so a crowded neighbourhood costs only a
 * recomputation.
 */
function cacheHash(op: number, a: number, b: number): number {
  const newer = a > b ? a : b;
  const older = a > b ? b : a;
  return ((newer << 2) ^ (Math.imul(older ^ (op << 20), 0x9e3779b1) >>> 28)) >>> 0;
}
