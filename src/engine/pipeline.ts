/**
 * The hook pipeline: which base chains see a packet at each hook, in the order the kernel runs
 * them. nftables is the general case — every base chain registered on a hook runs, lowest
 * priority first — and iptables' tables are base chains at their standard priorities (raw -300,
 * mangle -150, nat -100 before routing and 100 after, filter 0, security 50). One list per hook
 * for a family, whatever wrote the chains: iptables(-nft), native `ip`/`ip6`/`inet` tables, and
 * `netdev` ingress (before PREROUTING) / egress (after POSTROUTING) chains bound to devices.
 */
import type { Diagnostic } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import { chainsByName } from '../model/rule-queries.ts';
import type { Chain, Family, Ruleset, Table, TargetKind } from '../model/ruleset.ts';
import { ruleActions, tableId } from '../model/ruleset.ts';
import type { Hook } from '../model/trace.ts';
import { HOOK_TABLES } from './hooks.ts';

/** iptables' standard priorities (NF_IP_PRI_*), by table and hook. */
const IPTABLES_PRIORITY: Readonly<Record<string, number>> = {
  raw: -300,
  mangle: -150,
  filter: 0,
  security: 50,
};

/**
 * Where conntrack's NAT runs: destination NAT in PREROUTING and OUTPUT (a reply's SNAT is undone
 * there), source NAT in POSTROUTING and INPUT (a reply's DNAT is undone there).
 */
export const DST_NAT_PRIORITY = -100;
export const SRC_NAT_PRIORITY = 100;

function iptablesPriority(table: string, hook: Hook): number {
  if (table === 'nat')
    return hook === 'PREROUTING' || hook === 'OUTPUT' ? DST_NAT_PRIORITY : SRC_NAT_PRIORITY;
  return IPTABLES_PRIORITY[table] ?? 0;
}

const NFT_HOOKS: Readonly<Record<string, Hook>> = {
  prerouting: 'PREROUTING',
  input: 'INPUT',
  forward: 'FORWARD',
  output: 'OUTPUT',
  postrouting: 'POSTROUTING',
  ingress: 'PREROUTING',
  egress: 'POSTROUTING',
};

/** nftables families whose chains see IP packets of a family at the IP hooks. */
function appliesTo(t: Table, family: Family): boolean {
  const f = t.nft?.family;
  if (f === undefined) return true;
  if (f === 'inet' || f === 'netdev') return true;
  return (f === 'ip' && family === 'ipv4') || (f === 'ip6' && family === 'ipv6');
}

export interface PipelineEntry {
  readonly table: Table;
  /** `filter`, `ip docker-bridges`: how rule references name the table. */
  readonly tableId: string;
  readonly chain: Chain;
  readonly type: 'filter' | 'nat' | 'route';
  readonly priority: number;
  /**
   * `ingress` chains run before every PREROUTING chain, for packets arriving on `devices`;
   * `egress` chains after every POSTROUTING chain, for packets leaving through them.
   */
  readonly stage: 'ingress' | 'hook' | 'egress';
  /** Interfaces an ingress/egress chain is bound to; null when the listing does not say. */
  readonly devices: readonly string[] | null;
  /** Whether this chain's accepts name who let a packet through (filter chains after routing). */
  readonly attributes: boolean;
  /**
   * Every packet that enters leaves accepted, as it came in what the engine tracks, and no later
   * NAT chain of the hook asks whether it got a binding here: no match of the chains it reaches
   * can change where a packet goes, so one that cannot be decided leaves the verdict certain
   * (Docker's `-o docker0 -m addrtype --src-type LOCAL -j MASQUERADE`, the host's addresses
   * unknown).
   */
  readonly passesEvery: boolean;
}

export type Pipeline = Readonly<Record<Hook, readonly PipelineEntry[]>>;

const STAGE_ORDER = { ingress: 0, hook: 1, egress: 2 } as const;

/** Every hook's base chains for the ruleset's family, in run order. */
export function hookPipeline(ruleset: Ruleset): { pipeline: Pipeline; notes: Diagnostic[] } {
  const out: Record<Hook, (PipelineEntry & { order: number })[]> = {
    PREROUTING: [],
    INPUT: [],
    FORWARD: [],
    OUTPUT: [],
    POSTROUTING: [],
  };
  let order = 0;
  for (const table of ruleset.tables) {
    if (!appliesTo(table, ruleset.family)) continue;
    const id = tableId(table);
    if (table.nft === undefined) {
      for (const hook of Object.keys(HOOK_TABLES) as Hook[]) {
        if (!HOOK_TABLES[hook].includes(table.name)) continue;
        const chain = table.chains.find((c) => c.name === hook);
        if (chain === undefined) continue;
        out[hook].push({
          table,
          tableId: id,
          chain,
          type: table.name === 'nat' ? 'nat' : 'filter',
          priority: iptablesPriority(table.name, hook),
          stage: 'hook',
          devices: [],
          attributes: table.name === 'filter',
          passesEvery: false,
          order: order++,
        });
      }
      continue;
    }
    for (const chain of table.chains) {
      const b = chain.base;
      if (b === undefined) continue;
      const hook = NFT_HOOKS[b.hook];
      if (hook === undefined) continue;
      const stage = b.hook === 'ingress' ? 'ingress' : b.hook === 'egress' ? 'egress' : 'hook';
      out[hook].push({
        table,
        tableId: id,
        chain,
        type: b.type,
        priority: b.priority,
        stage,
        devices: stage === 'hook' ? [] : b.devices,
        attributes:
          b.type === 'filter' &&
          stage === 'hook' &&
          (hook === 'INPUT' || hook === 'FORWARD' || hook === 'OUTPUT'),
        passesEvery: false,
        order: order++,
      });
    }
  }
  const notes: Diagnostic[] = [];
  const pipeline = {} as Record<Hook, PipelineEntry[]>;
  for (const hook of Object.keys(out) as Hook[]) {
    const list = out[hook].sort(
      (a, b) =>
        STAGE_ORDER[a.stage] - STAGE_ORDER[b.stage] || a.priority - b.priority || a.order - b.order,
    );
    notes.push(...tieNotes(hook, list, ruleset.family));
    const lastNat = list.findLastIndex((e) => e.type === 'nat');
    pipeline[hook] = list.map(({ order: _order, ...entry }, k) => ({
      ...entry,
      passesEvery:
        (entry.type !== 'nat' || k === lastNat) && acceptsEvery(entry.table, entry.chain),
    }));
  }
  return { pipeline, notes };
}

/** What a rule may do in a chain that accepts every packet as it came. */
const ACCEPTING: ReadonlySet<TargetKind> = new Set<TargetKind>([
  'ACCEPT',
  'RETURN',
  'CONTINUE',
  // the source is not a field a verdict of a later hook reads: the engine keeps it as sent
  'SNAT',
  'MASQUERADE',
  'LOG',
  'NFLOG',
  'TCPMSS',
  'CHECKSUM',
]);

/**
 * Whether a base chain accepts every packet unchanged: its policy accepts and every rule of
 * the chains it reaches (jumps to chains that exist, no loop) only accepts, returns, source-NATs
 * or passes the packet on. Iterative: a hostile dump may nest chains past the call stack.
 */
function acceptsEvery(table: Table, base: Chain): boolean {
  if ((base.policy ?? 'ACCEPT') !== 'ACCEPT') return false;
  const byName = chainsByName(table);
  const reached = new Map<Chain, Chain[]>([[base, []]]);
  const queue = [base];
  for (let i = 0; i < queue.length; i++) {
    const chain = queue[i] as Chain;
    const callees = reached.get(chain) as Chain[];
    for (const rule of chain.rules)
      for (const a of ruleActions(rule)) {
        if (a.kind === 'vmap' && a.entries !== null) continue; // its verdicts come next
        if (a.kind !== 'jump') {
          if (!ACCEPTING.has(a.kind)) return false;
          continue;
        }
        const sub = byName.get(a.chain);
        if (sub === undefined) return false;
        callees.push(sub);
        if (!reached.has(sub)) {
          reached.set(sub, []);
          queue.push(sub);
        }
      }
  }
  return !hasLoop(reached);
}

/** Whether a jump graph holds a loop (Kahn's order leaves some chain out). */
function hasLoop(callees: ReadonlyMap<Chain, readonly Chain[]>): boolean {
  const callers = new Map<Chain, number>();
  for (const list of callees.values())
    for (const c of list) callers.set(c, (callers.get(c) ?? 0) + 1);
  const free = [...callees.keys()].filter((c) => (callers.get(c) ?? 0) === 0);
  let ordered = 0;
  while (free.length > 0) {
    const chain = free.pop() as Chain;
    ordered++;
    for (const c of callees.get(chain) ?? []) {
      const left = (callers.get(c) as number) - 1;
      callers.set(c, left);
      if (left === 0) free.push(c);
    }
  }
  return ordered < callees.size;
}

/** Rewrites the packet: where two such chains share a priority, their order decides. */
function rewrites(e: PipelineEntry): boolean {
  return (
    e.type === 'nat' ||
    e.chain.rules.some((r) =>
      ruleActions(r).some(
        (a) => a.kind === 'MARK' || a.kind === 'CONNMARK' || a.kind === 'NOTRACK',
      ),
    )
  );
}

/**
 * The kernel orders base chains of equal priority by when they were registered, which a listing
 * does not show; the engine takes the listing's order. Said where it can change a verdict.
 */
function tieNotes(hook: Hook, list: readonly PipelineEntry[], family: Family): Diagnostic[] {
  const notes: Diagnostic[] = [];
  for (let i = 1; i < list.length; i++) {
    const a = list[i - 1];
    const b = list[i];
    if (a === undefined || b === undefined) continue;
    if (a.stage !== b.stage || a.priority !== b.priority || a.table === b.table) continue;
    if (!rewrites(a) && !rewrites(b)) continue;
    notes.push(
      diagnostic(
        'hook-priority-tie',
        'note',
        `${family} ${hook}: ${a.tableId}/${a.chain.name} and ${b.tableId}/${b.chain.name} share priority ${a.priority}; the kernel runs them in the order they were registered, which the listing does not show — taken to be the listing's order`,
        b.chain.location,
      ),
    );
  }
  return notes;
}
