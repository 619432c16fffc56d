/**
 * How far V8 lets the JS heap grow between full collections, for the dockwall process (the CLI
 * and the benchmarks that stand for it; never set by the library, whose host process owns its
 * heap). By default V8 lets a heap with a few hundred megabytes live grow up to about four
 * times that before collecting it again; the analysis of a 100k-rule host then held ~340 MB of
 * dead walk objects beside its ~530 MB of BDD nodes when its memory peaked. At half again the
 * live size, the peak is ~150 MB lower for a few more mark-compacts (docs/performance.md,
 * ninth round).
 */
import v8 from 'node:v8';

const HEAP_GROWING_PERCENT = 50;

/** Sets V8's heap growing factor for this process: a flag read at each collection. */
export function limitHeapGrowth(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
