/**
 * Which chains run before conntrack has looked the packet up. Conntrack sits on PREROUTING and
 * OUTPUT at priority -200: iptables' raw table (-300) runs before it, and so does an nftables
 * base chain on those hooks at a lower priority (`priority raw`, `raw + 50`), with the regular
 * chains it jumps or goes to. There a packet has no connection: `ct state` reads INVALID (or
 * UNTRACKED after a NOTRACK), and the kernel ends a rule at any other `ct` expression. Measured
 * in a namespace (Linux 6.18, nft 1.0.6): `ct state new drop` at `priority raw` drops nothing,
 * `ct state invalid drop` there drops every connection.
 */
import type { Chain, Ruleset, Table } from '../model/ruleset.ts';
import { ruleActions, tableId } from '../model/ruleset.ts';

/** Conntrack's own hook priority (NF_IP_PRI_CONNTRACK). */
export const CONNTRACK_PRIORITY = -200;

/** A chain's place: before conntrack, after it, or called from both sides. */
export type ConntrackSide = 'before' | 'after' | 'both';

/** Whether an iptables table runs before conntrack: the raw table, at priority -300. */
function iptablesBeforeConntrack(table: Table): boolean {
  return table.name === 'raw';
}

/** Whether a base chain runs before conntrack (iptables' raw table: every chain). */
export function baseBeforeConntrack(table: Table, chain: Chain): boolean {
  if (table.nft === undefined) return iptablesBeforeConntrack(table);
  const base = chain.base;
  return (
    base !== undefined &&
    (base.hook === 'prerouting' || base.hook === 'output') &&
    base.priority < CONNTRACK_PRIORITY
  );
}

const basesBefore = new WeakMap<Table, ReadonlySet<string>>();

/**
 * Whether a walk that entered the table at this base chain (by name) is before conntrack: the
 * concrete interpreter knows its base chain, so a regular chain called from both sides is read
 * as its caller's.
 */
export function enteredBeforeConntrack(table: Table, base: string | undefined): boolean {
  if (table.nft === undefined) return iptablesBeforeConntrack(table);
  let names = basesBefore.get(table);
  if (names === undefined) {
    names = new Set(table.chains.filter((c) => baseBeforeConntrack(table, c)).map((c) => c.name));
    basesBefore.set(table, names);
  }
  return base !== undefined && names.has(base);
}

const key = (table: string, chain: string): string => `${table}\u0000${chain}`;

/** The chains these reach, themselves included, by jumps and gotos within their table. */
function reached(byName: ReadonlyMap<string, Chain>, from: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...from];
  while (todo.length > 0) {
    const name = todo.pop() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const rule of byName.get(name)?.rules ?? [])
      for (const t of ruleActions(rule)) if (t.kind === 'jump') todo.push(t.chain);
  }
  return seen;
}

/**
 * Each chain's side of conntrack, by `sideOf(tableId, chain)`: an nftables regular chain takes
 * the sides of the base chains that reach it; a chain reached by none is read as after.
 */
export function conntrackSides(ruleset: Ruleset): (table: string, chain: string) => ConntrackSide {
  // only the chains before conntrack, or on both sides, are kept: the rest are after it
  const sides = new Map<string, ConntrackSide>();
  for (const table of ruleset.tables) {
    const id = tableId(table);
    if (table.nft === undefined) {
      // iptables: a table's chains are all on its side (no walk of its rules needed)
      if (iptablesBeforeConntrack(table))
        for (const c of table.chains) sides.set(key(id, c.name), 'before');
      continue;
    }
    const bases = table.chains.filter((c) => c.base !== undefined);
    const before = bases.filter((c) => baseBeforeConntrack(table, c)).map((c) => c.name);
    if (before.length === 0) continue;
    const after = bases.filter((c) => !baseBeforeConntrack(table, c)).map((c) => c.name);
    const byName = new Map(table.chains.map((c) => [c.name, c]));
    const early = reached(byName, before);
    const late = reached(byName, after);
    for (const name of early) sides.set(key(id, name), late.has(name) ? 'both' : 'before');
  }
  return (table, chain) => sides.get(key(table, chain)) ?? 'after';
}
