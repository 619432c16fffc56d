/**
 * Small read-only questions about rules and chains of the model: which chain a name leads to,
 * what a rule's protocol, destination and ports are, which chains a chain reaches. Pure
 * functions over plain data, so that every analysis and rule answers them the same way.
 */
import type { Chain, MatchOption, PortRange, Rule, Ruleset, Table } from './ruleset.ts';
import { allOptions, findChain, findTable, ruleActions } from './ruleset.ts';

export function chainIn(ruleset: Ruleset | null, table: string, chain: string): Chain | undefined {
  if (ruleset === null) return undefined;
  const t = findTable(ruleset, table);
  return t === undefined ? undefined : findChain(t, chain);
}

/** A table's chains by name (the first of a repeated name, as `findChain` finds): a
 * 40,000-chain table must not be searched once per jump. */
const chainMaps = new WeakMap<Table, ReadonlyMap<string, Chain>>();

export function chainsByName(table: Table): ReadonlyMap<string, Chain> {
  let map = chainMaps.get(table);
  if (map === undefined) {
    const byName = new Map<string, Chain>();
    for (const c of table.chains) if (!byName.has(c.name)) byName.set(c.name, c);
    chainMaps.set(table, (map = byName));
  }
  return map;
}

export function rulesIn(ruleset: Ruleset | null, table: string, chain: string): readonly Rule[] {
  return chainIn(ruleset, table, chain)?.rules ?? [];
}

export function jumpTarget(rule: Rule): string | null {
  return rule.target?.kind === 'jump' ? rule.target.chain : null;
}

/**
 * Every chain a rule may send a packet to: its jump or goto target, and for an nftables verdict
 * map each element's `jump`/`goto` chain, in order, once each.
 */
export function jumpTargets(rule: Rule): string[] {
  const out: string[] = [];
  for (const a of ruleActions(rule)) {
    if (a.kind === 'jump' && !out.includes(a.chain)) out.push(a.chain);
  }
  return out;
}

/** Every option except comments (which always match). */
export function effectiveOptions(rule: Rule): MatchOption[] {
  return allOptions(rule).filter((o) => o.type !== 'comment');
}

/** The rule's `-p`, lower case, when it names one (not negated). */
export function protocolName(rule: Rule): string | null {
  for (const o of allOptions(rule)) {
    if (o.type === 'protocol' && !o.negated) return o.name.toLowerCase();
  }
  return null;
}

/** Destination port ranges a rule requires (non-negated `--dport`/`--dports`), or null. */
export function dstPorts(rule: Rule): readonly PortRange[] | null {
  for (const o of allOptions(rule)) {
    if (o.type === 'port' && o.field === 'dst' && !o.negated) return o.ranges;
  }
  return null;
}

/** `--ctorigdstport` / `--ctorigdst` present: the rule already matches pre-DNAT values. */
export function matchesOriginalDestination(rule: Rule): boolean {
  return allOptions(rule).some(
    (o) => (o.type === 'ct-port' || o.type === 'ct-address') && o.field === 'origdst',
  );
}

/** The rule's `-d` as written (`10.0.0.2/32`), when not negated. */
export function dstAddress(rule: Rule): string | null {
  for (const o of allOptions(rule)) {
    if (o.type === 'address' && o.field === 'dst' && !o.negated) {
      return o.value.prefixLength === null
        ? o.value.address
        : `${o.value.address}/${o.value.prefixLength}`;
    }
  }
  return null;
}

export function inRange(port: number, ranges: readonly PortRange[]): boolean {
  return ranges.some((r) => port >= r.from && port <= r.to);
}

/** Chains reachable from `start` by jumps, gotos and verdict maps (including start), in the same table. */
export function reachableChains(table: Table, start: string): Set<string> {
  const byName = chainsByName(table);
  const seen = new Set<string>([start]);
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const chain = byName.get(queue[i] as string);
    if (chain === undefined) continue;
    for (const rule of chain.rules) {
      for (const next of jumpTargets(rule)) {
        if (seen.has(next)) continue;
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

/** How a message names a rule: its position, and its handle for nftables (`3, handle 12`). */
export function ruleLabel(rule: Rule): string {
  return rule.handle === undefined ? String(rule.index) : `${rule.index}, handle ${rule.handle}`;
}

/** No CONNMARK target anywhere: every connection mark stays 0. Once per ruleset (a walk over
 * every rule's actions; the compile and every trace ask). */
const connmarkZeros = new WeakMap<Ruleset, boolean>();

export function connmarkAlwaysZero(ruleset: Ruleset): boolean {
  let zero = connmarkZeros.get(ruleset);
  if (zero === undefined) {
    zero = !ruleset.tables.some((t) =>
      t.chains.some((c) => c.rules.some((r) => ruleActions(r).some((a) => a.kind === 'CONNMARK'))),
    );
    connmarkZeros.set(ruleset, zero);
  }
  return zero;
}

/** What a ruleset's DNAT and REDIRECT targets do, read in one pass over its rules. */
interface NatShapes {
  /** Some NAT leaves the destination address as sent (a DNAT range with only ports). */
  readonly keepsAddress: boolean;
  /** Some NAT leaves the destination port as sent (a DNAT range, a REDIRECT without ports). */
  readonly keepsPort: boolean;
  /** Some IPv4 DNAT goes to a loopback address (127.0.0.0/8). */
  readonly toLoopback: boolean;
}

const natShapesOf = new WeakMap<Ruleset, NatShapes>();

/** Whether NAT to these ports leaves some port as sent: none given, or a range of several. */
function keepsSomePort(ports: PortRange | null): boolean {
  return ports === null || ports.from !== ports.to;
}

function natShapes(ruleset: Ruleset): NatShapes {
  let shapes = natShapesOf.get(ruleset);
  if (shapes === undefined) {
    const octet = (address: string): number => Number(address.split('.')[0]);
    let keepsAddress = false;
    let keepsPort = false;
    let toLoopback = false;
    for (const t of ruleset.tables)
      for (const c of t.chains)
        for (const r of c.rules)
          for (const a of ruleActions(r)) {
            if (a.kind === 'REDIRECT') keepsPort ||= keepsSomePort(a.ports);
            if (a.kind !== 'DNAT') continue;
            for (const range of a.to) {
              keepsAddress ||= range.addresses === null;
              keepsPort ||= keepsSomePort(range.ports);
              if (ruleset.family === 'ipv4' && range.addresses !== null)
                toLoopback ||=
                  octet(range.addresses.from) <= 127 && octet(range.addresses.to) >= 127;
            }
          }
    shapes = { keepsAddress, keepsPort, toLoopback };
    natShapesOf.set(ruleset, shapes);
  }
  return shapes;
}

/**
 * Which fields of the destination some DNAT or REDIRECT leaves as the client sent them: the port
 * (a DNAT or REDIRECT without ports, or to a range of ports, which keeps the ports inside it)
 * and the address (a DNAT range with only ports).
 */
export function natKeeps(ruleset: Ruleset): { readonly address: boolean; readonly port: boolean } {
  const shapes = natShapes(ruleset);
  return { address: shapes.keepsAddress, port: shapes.keepsPort };
}

/** Whether an IPv4 ruleset DNATs to a loopback address (127.0.0.0/8). */
export function natToLoopback(ruleset: Ruleset): boolean {
  return natShapes(ruleset).toLoopback;
}

/** Rules per ruleset, counted once: a check asked for every chain of 40,000 counted them again. */
const ruleCounts = new WeakMap<Ruleset, number>();

/** How many rules a ruleset holds, over all its tables and chains. */
export function ruleCount(ruleset: Ruleset): number {
  let n = ruleCounts.get(ruleset);
  if (n === undefined) {
    n = ruleset.tables.reduce((k, t) => k + t.chains.reduce((m, c) => m + c.rules.length, 0), 0);
    ruleCounts.set(ruleset, n);
  }
  return n;
}
