/**
 * The chain view: the chains a packet meets, as one tree shared by `dockwall chains` and the
 * review UI. Its roots are the base chains in the order a reader follows a packet — hooks in
 * reading order, each hook's base chains by priority as the engine runs them (iptables' tables
 * at their standard priorities, nftables base chains at theirs, src/engine/pipeline.ts) — then
 * the chains no base chain leads to, whose rules never run. Below a chain hang the chains its
 * rules jump or go to (an nftables verdict map: each element's chain); each chain is marked
 * built-in, Docker-managed, DOCKER-USER or operator-written. With it, per container, the network
 * mode and the paths its inbound traffic takes.
 */
import { isDockerChain } from '../docker/chains.ts';
import { isDockerNftTable } from '../docker/nft-layout.ts';
import { containerPaths, networkModeText } from '../docker/paths.ts';
import { bridgeOfEndpoint } from '../docker/topology.ts';
import { HOOK_ORDER } from '../engine/hooks.ts';
import { hookPipeline } from '../engine/pipeline.ts';
import type { LayoutEra } from '../model/host.ts';
import { jumpTargets } from '../model/rule-queries.ts';
import type { Chain, Family, Ruleset, Table } from '../model/ruleset.ts';
import { findChain, tableId } from '../model/ruleset.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { firewallOf } from '../model/snapshot.ts';
import type { Hook } from '../model/trace.ts';
import { compareText } from '../model/text-order.ts';

export type ChainOwner = 'docker' | 'docker-user' | 'operator' | 'builtin';

/** Where a base chain sits in the hook pipeline. */
export interface BasePlace {
  readonly hook: Hook;
  /** nftables' own name of the hook (`ingress`, `forward`); iptables: the hook's name. */
  readonly hookName: string;
  readonly priority: number;
}

/** Named priorities (nft's names; iptables' tables sit at the same numbers). */
const NAMED_PRIORITIES: readonly (readonly [string, number])[] = [
  ['raw', -300],
  ['mangle', -150],
  ['dstnat', -100],
  ['filter', 0],
  ['security', 50],
  ['srcnat', 100],
];

/** `priority -1 (filter - 1)`: the number, and the nearest name when it is close. */
export function priorityText(priority: number): string {
  const near = NAMED_PRIORITIES.find(([, n]) => Math.abs(priority - n) <= 10);
  if (near === undefined) return `priority ${priority}`;
  const [name, n] = near;
  const offset = priority === n ? '' : priority > n ? ` + ${priority - n}` : ` - ${n - priority}`;
  return `priority ${priority} (${name}${offset})`;
}

/** A top-level chain of the tree. */
export interface ChainRoot {
  readonly family: Family;
  readonly table: Table;
  readonly chain: Chain;
  /** No base chain leads here by jumps, so its rules never run. */
  readonly unreferenced: boolean;
  /** The hook and priority of a base chain (null for unreferenced chains). */
  readonly base: BasePlace | null;
}

/**
 * An iptables base chain that has no rules and accepts says nothing about the path, and is left
 * out — except filter's and nat's hooks Docker writes to, where a reader looks for Docker's
 * jumps. nftables base chains exist only because someone declared them, and are all shown.
 */
function shownBaseChain(table: Table, chain: Chain): boolean {
  if (table.nft !== undefined) return true;
  if (chain.rules.length > 0 || chain.policy === 'DROP') return true;
  return table.name === 'filter' || (table.name === 'nat' && chain.name !== 'INPUT');
}

/** The roots of one ruleset's tree: shown base chains in packet order, then unreferenced chains. */
export function chainRoots(ruleset: Ruleset): ChainRoot[] {
  const roots: ChainRoot[] = [];
  const placed = new Set<Chain>();
  const { pipeline } = hookPipeline(ruleset);
  for (const hook of HOOK_ORDER) {
    for (const entry of pipeline[hook]) {
      const { table, chain } = entry;
      placed.add(chain);
      if (!shownBaseChain(table, chain)) continue;
      roots.push({
        family: ruleset.family,
        table,
        chain,
        unreferenced: false,
        base: { hook, hookName: chain.base?.hook ?? hook, priority: entry.priority },
      });
    }
  }
  // Built-in chains no hook runs (an nftables chain on a hook of no IP packet) still show.
  for (const table of ruleset.tables) {
    for (const chain of table.chains) {
      if (chain.builtin && !placed.has(chain) && chain.rules.length > 0) {
        roots.push({ family: ruleset.family, table, chain, unreferenced: false, base: null });
      }
    }
  }
  for (const table of ruleset.tables) {
    const reached = reachedFromBuiltins(table);
    for (const chain of table.chains) {
      if (!chain.builtin && !reached.has(chain.name)) {
        roots.push({ family: ruleset.family, table, chain, unreferenced: true, base: null });
      }
    }
  }
  return roots;
}

/** Chains reached by jumps, gotos and verdict maps from the table's built-in chains (those included). */
function reachedFromBuiltins(table: Table): Set<string> {
  const byName = new Map(table.chains.map((c) => [c.name, c]));
  const reached = new Set<string>();
  const stack = table.chains.filter((c) => c.builtin).map((c) => c.name);
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (reached.has(name)) continue;
    reached.add(name);
    for (const rule of byName.get(name)?.rules ?? []) {
      for (const target of jumpTargets(rule)) if (byName.has(target)) stack.push(target);
    }
  }
  return reached;
}

/**
 * Who writes a chain. nftables: every chain of Docker's `docker-bridges` tables is Docker's, every
 * chain of another native table the operator's (base chains included); iptables-nft's tables
 * read from nft's listing are iptables chains.
 */
export function chainOwner(table: Table, chain: string, builtin: boolean): ChainOwner {
  if (table.nft !== undefined && table.nft.iptablesNft !== true) {
    return isDockerNftTable(table) ? 'docker' : 'operator';
  }
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
  /** nftables verdict maps: the chain each element jumps or goes to, expanded below the rule. */
  readonly dispatches: readonly ChainNode[];
}

export interface ChainNode {
  /** `filter`, or an nftables table with its family: `ip docker-bridges`. */
  readonly table: string;
  readonly chain: string;
  /** Hook and priority, for the base chains at the top of the tree. */
  readonly base?: BasePlace;
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
  /** The listing the family's rules were read from (iptables-save, else the nftables listing). */
  readonly file: string;
  /** The nftables listing when native nftables tables are part of this family's firewall. */
  readonly nftFile: string | null;
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
  readonly schemaVersion: 2;
  readonly era: LayoutEra;
  readonly families: readonly FamilyChains[];
  readonly containers: readonly ContainerPaths[];
}

/** The tree below one chain, each chain's rules written out once per table. */
function expand(table: Table, name: string, seen: Set<string>): ChainNode {
  const chain = findChain(table, name);
  if (chain === undefined) {
    return {
      table: tableId(table),
      chain: name,
      owner: chainOwner(table, name, false),
      policy: null,
      line: 0,
      expanded: false,
      missing: true,
      rules: [],
    };
  }
  const base = {
    table: tableId(table),
    chain: name,
    owner: chainOwner(table, name, chain.builtin),
    policy: chain.policy,
    line: chain.location.line,
    missing: false,
  };
  if (seen.has(name)) return { ...base, expanded: false, rules: [] };
  seen.add(name);
  const rules = chain.rules.map((r) => {
    const jump = r.target?.kind === 'jump' ? r.target.chain : null;
    const dispatched = r.target?.kind === 'vmap' ? jumpTargets(r) : [];
    return {
      index: r.index,
      line: r.location.line,
      text: r.text,
      enters: jump === null ? null : expand(table, jump, seen),
      dispatches: dispatched.map((target) => expand(table, target, seen)),
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
        table: tableId(table),
        chain: chain.name,
        owner: chainOwner(table, chain.name, false),
        rules: chain.rules.length,
        line: chain.location.line,
      });
      continue;
    }
    const id = tableId(table);
    const seen = seenByTable.get(id) ?? new Set<string>();
    seenByTable.set(id, seen);
    const node = expand(table, chain.name, seen);
    hooks.push(root.base === null ? node : { ...node, base: root.base });
  }
  const native = ruleset.tables.find((t) => t.nft !== undefined);
  return {
    family: ruleset.family,
    file: ruleset.file,
    nftFile: native?.location?.file ?? null,
    hooks,
    unreferenced,
  };
}

export function buildChainsView(snapshot: Snapshot): ChainsView {
  const era = snapshot.era.era;
  const families = (['ipv4', 'ipv6'] as const)
    .map((family) => firewallOf(snapshot, family))
    .filter((r): r is Ruleset => r !== null)
    .map((r) => familyChains(r));
  const host = snapshot.host;
  const containers = [...host.containers]
    .sort((a, b) => compareText(a.name, b.name))
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
  return { schemaVersion: 2, era, families, containers };
}
