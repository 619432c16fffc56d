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

/** Whether a base chain runs before conntrack (iptables' raw table: every chain). */
export function baseBeforeConntrack(table: Table, chain: Chain): boolean {
  if (table.nft === undefined) return table.name === 'raw';
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
  if (table.nft === undefined) return table.name === 'raw';
  let names = basesBefore.get(table);
  if (names === undefined) {
    names = new Set(table.chains.filter((c) => baseBeforeConntrack(table, c)).map((c) => c.name));
    basesBefore.set(table, names);
  }
  return base !== undefined && names.has(base);
}

const key = (table: string, chain: string): string => `${table}\u0000${chain}`;

/** The chains a chain jumps or goes to, in its own table. */
function callees(chain: Chain): string[] {
  const out: string[] = [];
  for (const rule of chain.rules)
    for (const t of ruleActions(rule)) if (t.kind === 'jump') out.push(t.chain);
  return out;
}

/**
 * Each chain's side of conntrack, by `sideOf(tableId, chain)`: an nftables regular chain takes
 * the sides of the base chains that reach it; a chain reached by none is read as after.
 */
export function conntrackSides(ruleset: Ruleset): (table: string, chain: string) => ConntrackSide {
  const sides = new Map<string, ConntrackSide>();
  for (const table of ruleset.tables) {
    const id = tableId(table);
    if (table.nft === undefined) {
      const side = table.name === 'raw' ? 'before' : 'after';
      for (const c of table.chains) sides.set(key(id, c.name), side);
      continue;
    }
    const byName = new Map(table.chains.map((c) => [c.name, c]));
    for (const base of table.chains) {
      if (base.base === undefined) continue;
      const side = baseBeforeConntrack(table, base) ? 'before' : 'after';
      const todo = [base.name];
      const seen = new Set<string>();
      while (todo.length > 0) {
        const name = todo.pop() as string;
        if (seen.has(name)) continue;
        seen.add(name);
        const k = key(id, name);
        const was = sides.get(k);
        sides.set(k, was === undefined || was === side ? side : 'both');
        const chain = byName.get(name);
        if (chain !== undefined) todo.push(...callees(chain));
      }
    }
  }
  return (table, chain) => sides.get(key(table, chain)) ?? 'after';
}
