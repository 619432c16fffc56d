/** The netfilter hooks, the tables registered at each and the order the chain views list them. */
import type { Hook } from '../model/trace.ts';

/** Tables per hook, in the kernel's priority order. */
export const HOOK_TABLES: Readonly<Record<Hook, readonly string[]>> = {
  PREROUTING: ['raw', 'mangle', 'nat'],
  INPUT: ['mangle', 'filter', 'security', 'nat'],
  FORWARD: ['mangle', 'filter', 'security'],
  OUTPUT: ['raw', 'mangle', 'nat', 'filter', 'security'],
  POSTROUTING: ['mangle', 'nat'],
};

/**
 * The hooks in the order a reader follows a packet: inbound (PREROUTING, then FORWARD to a
 * container or INPUT to the host), then outbound (OUTPUT, POSTROUTING).
 */
export const HOOK_ORDER: readonly Hook[] = [
  'PREROUTING',
  'FORWARD',
  'INPUT',
  'OUTPUT',
  'POSTROUTING',
];

export interface BaseChain {
  readonly table: string;
  readonly hook: Hook;
}

/** Every base chain: hooks in HOOK_ORDER, each hook's tables by priority. */
export const BASE_CHAINS: readonly BaseChain[] = HOOK_ORDER.flatMap((hook) =>
  HOOK_TABLES[hook].map((table) => ({ table, hook })),
);
