/**
 * The chain view: the chains a packet meets, as one tree shared by `dockwall chains` and the
 * review UI. Its roots are the base chains in the order a reader follows a packet (hooks and
 * table priorities from the engine), then the chains no base chain leads to, whose rules never
 * run. Below a chain hang the chains its rules jump or go to; each chain is marked built-in,
 * Docker-managed, DOCKER-USER or operator-written. With it, per container, the network mode and
 * the paths its inbound traffic takes.
 */
import { isDockerChain } from '../docker/chains.ts';
import { containerPaths, networkModeText } from '../docker/paths.ts';
import { bridgeOfEndpoint } from '../docker/topology.ts';
import { BASE_CHAINS } from '../engine/hooks.ts';
import type { LayoutEra } from '../model/host.ts';
import type { Chain, Family, Ruleset, Table } from '../model/ruleset.ts';
import { findChain, findTable } from '../model/ruleset.ts';
import type { Snapshot } from '../model/snapshot.ts';

export type ChainOwner = 'docker' | 'docker-user' | 'operator' | 'builtin';

/** A top-level chain of the tree. */
export interface ChainRoot {
  readonly family: Family;
  readonly table: Table;
  readonly chain: Chain;
  /** No base chain leads here by jumps, so its rules never run. */
  readonly unreferenced: boolean;
}

/**
 * A base chain that has no rules and accepts says nothing about the path, and is left out —
 * except filter's and nat's hooks Docker writes to, where a reader looks for Docker's jumps.
 */
function shownBaseChain(table: string, chain: Chain): boolean {
  if (chain.rules.length > 0 || chain.policy === 'DROP') return true;
  return table === 'filter' || (table === 'nat' && chain.name !== 'INPUT');
}

/** The roots of one ruleset's tree: shown base chains in packet order, then unreferenced chains. */
export function chainRoots(ruleset: Ruleset): ChainRoot[] {
  const roots: ChainRoot[] = [];
  const root = (table: Table, chain: Chain, unreferenced: boolean): void => {
    roots.push({ family: ruleset.family, table, chain, unreferenced });
  };
  const placed = new Set<string>();
  for (const { table: tableName, hook } of BASE_CHAINS) {
    const table = findTable(ruleset, tableName);
    const chain = table === undefined ? undefined : findChain(table, hook);
    if (table === undefined || chain === undefined) continue;
    placed.add(`${table.name}/${chain.name}`);
    if (shownBaseChain(table.name, chain)) root(table, chain, false);
  }
  // Built-in chains of a table no hook lists (none in iptables today) still show their rules.
  for (const table of ruleset.tables) {
    for (const chain of table.chains) {
      if (chain.builtin && !placed.has(`${table.name}/${chain.name}`) && chain.rules.length > 0) {
        root(table, chain, false);
      }
    }
  }
  for (const table of ruleset.tables) {
    const reached = reachedFromBuiltins(table);
    for (const chain of table.chains) {
      if (!chain.builtin && !reached.has(chain.name)) root(table, chain, true);
    }
  }
  return roots;
}

/** Chains reached by jumps and gotos from the table's built-in chains (those included). */
function reachedFromBuiltins(table: Table): Set<string> {
  const byName = new Map(table.chains.map((c) => [c.name, c]));
  const reached = new Set<string>();
  const stack = table.chains.filter((c) => c.builtin).map((c) => c.name);
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (reached.has(name)) continue;
    reached.add(name);
    for (const rule of byName.get(name)?.rules ?? []) {
      const target = rule.target?.kind === 'jump' ? rule.target.chain : null;
      if (target !== null && byName.has(target)) stack.push(target);
    }
  }
  return reached;
}

export function chainOwner(chain: string, builtin: boolean): ChainOwner {
  if (builtin) return 'builtin';
  if (chain === 'DOCKER-USER') return 'docker-user';
  return isDockerChain(chain) ? 'docker' : 'operator';
}

export interface ChainEntry {
  readonly index: number;
  readonly line: number;
  readonly text: string;
  /** The chain this rule jumps or goes to, expanded below it (null for other targets). */
  readonly enters: ChainNode | null;
}

export interface ChainNode {
  readonly table: string;
  readonly chain: string;
  readonly owner: ChainOwner;
  readonly policy: string | null;
  readonly line: number;
  /** False when the chain was already expanded above (its rules are not repeated). */
  readonly expanded: boolean;
  /** The jump target does not exist in the dump. */
  readonly missing: boolean;
  readonly rules: readonly ChainEntry[];
}

export interface FamilyChains {
  readonly family: Family;
  readonly file: string;
  /** Base chains in the order a packet meets them. */
  readonly hooks: readonly ChainNode[];
  readonly unreferenced: readonly {
    readonly table: string;
    readonly chain: string;
    readonly owner: ChainOwner;
    readonly rules: number;
    readonly line: number;
  }[];
}

export interface ContainerPaths {
  readonly name: string;
  readonly running: boolean;
  readonly networkMode: string;
  readonly networks: readonly {
    readonly name: string;
    readonly ipv4: string | null;
    readonly ipv6: string | null;
    readonly bridge: string | null;
  }[];
  readonly paths: readonly string[];
}

export interface ChainsView {
  readonly schemaVersion: 1;
  readonly era: LayoutEra;
  readonly families: readonly FamilyChains[];
  readonly containers: readonly ContainerPaths[];
}

/** The tree below one chain, each chain's rules written out once per table. */
function expand(table: Table, name: string, seen: Set<string>): ChainNode {
  const chain = findChain(table, name);
  if (chain === undefined) {
    return {
      table: table.name,
      chain: name,
      owner: chainOwner(name, false),
      policy: null,
      line: 0,
      expanded: false,
      missing: true,
      rules: [],
    };
  }
  const base = {
    table: table.name,
    chain: name,
    owner: chainOwner(name, chain.builtin),
    policy: chain.policy,
    line: chain.location.line,
    missing: false,
  };
  if (seen.has(name)) return { ...base, expanded: false, rules: [] };
  seen.add(name);
  const rules = chain.rules.map((r) => {
    const target = r.target?.kind === 'jump' ? r.target.chain : null;
    return {
      index: r.index,
      line: r.location.line,
      text: r.text,
      enters: target === null ? null : expand(table, target, seen),
    };
  });
  return { ...base, expanded: true, rules };
}

function familyChains(ruleset: Ruleset): FamilyChains {
  const hooks: ChainNode[] = [];
  const unreferenced: FamilyChains['unreferenced'][number][] = [];
  const seenByTable = new Map<string, Set<string>>();
  for (const root of chainRoots(ruleset)) {
    const { table, chain } = root;
    if (root.unreferenced) {
      unreferenced.push({
        table: table.name,
        chain: chain.name,
        owner: chainOwner(chain.name, false),
        rules: chain.rules.length,
        line: chain.location.line,
      });
      continue;
    }
    const seen = seenByTable.get(table.name) ?? new Set<string>();
    seenByTable.set(table.name, seen);
    hooks.push(expand(table, chain.name, seen));
  }
  return { family: ruleset.family, file: ruleset.file, hooks, unreferenced };
}

export function buildChainsView(snapshot: Snapshot): ChainsView {
  const era = snapshot.era.era;
  const families = [snapshot.ipv4, snapshot.ipv6]
    .filter((r): r is Ruleset => r !== null)
    .map((r) => familyChains(r));
  const host = snapshot.host;
  const containers = [...host.containers]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => ({
      name: c.name,
      running: c.running,
      networkMode: networkModeText(c, host),
      networks: c.endpoints.map((e) => ({
        name: e.network,
        ipv4: e.ipv4,
        ipv6: e.ipv6,
        bridge: bridgeOfEndpoint(host, e),
      })),
      paths: containerPaths(c, host, era),
    }));
  return { schemaVersion: 1, era, families, containers };
}
