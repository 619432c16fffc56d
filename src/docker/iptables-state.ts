/**
 * A host's iptables as Docker changes it: tables → chains (with policies) → rules, each rule
 * held as the canonical text iptables-save prints after `-A CHAIN ` (`canonicalRule` builds it).
 * Docker's programming is a sequence of the operations iptables offers — create a chain, append,
 * insert at the top, delete, ensure a jump is first, set a policy — applied to this state in the
 * order dockerd issues them; `renderIptablesSave` prints the result as iptables-save does.
 *
 * The state is built from a collected ruleset (`stateFromRuleset`) so that Docker's operations
 * land among the operator's own rules exactly as they would on the host.
 */
import { hostPrefix } from '../model/address-text.ts';
import { printRule } from '../model/print-ruleset.ts';
import type { Family, Ruleset } from '../model/ruleset.ts';

export interface ChainState {
  readonly name: string;
  /** Built-in chains have a policy; user chains null. */
  policy: 'ACCEPT' | 'DROP' | null;
  /** Rule texts without the `-A CHAIN ` prefix, in order. */
  readonly rules: string[];
}

export interface TableState {
  readonly name: string;
  readonly chains: ChainState[];
}

export interface IptablesState {
  readonly family: Family;
  readonly tables: TableState[];
}

/** The built-in chains of each table, in the order iptables-save prints them. */
const BUILTIN_CHAINS: Readonly<Record<string, readonly string[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** Where a table that did not exist yet appears in an iptables-save dump. */
const TABLE_ORDER = ['raw', 'mangle', 'filter', 'nat', 'security'];

export function emptyState(family: Family): IptablesState {
  return { family, tables: [] };
}

/** The state a collected ruleset describes (rules as iptables-save prints them). */
export function stateFromRuleset(ruleset: Ruleset): IptablesState {
  return {
    family: ruleset.family,
    tables: ruleset.tables.map((t) => ({
      name: t.name,
      chains: t.chains.map((c) => ({
        name: c.name,
        policy: c.builtin ? (c.policy ?? 'ACCEPT') : null,
        rules: c.rules.map((r) => printRule(r).slice(`-A ${r.chain} `.length)),
      })),
    })),
  };
}

/** The table, created with its built-in chains (policy ACCEPT) when it does not exist. */
export function table(state: IptablesState, name: string): TableState {
  const found = state.tables.find((t) => t.name === name);
  if (found !== undefined) return found;
  const created: TableState = {
    name,
    chains: (BUILTIN_CHAINS[name] ?? []).map((c) => ({ name: c, policy: 'ACCEPT', rules: [] })),
  };
  const rank = (n: string) => {
    const i = TABLE_ORDER.indexOf(n);
    return i < 0 ? TABLE_ORDER.length : i;
  };
  const at = state.tables.findIndex((t) => rank(t.name) > rank(name));
  state.tables.splice(at < 0 ? state.tables.length : at, 0, created);
  return created;
}

export function findChain(
  state: IptablesState,
  tableName: string,
  chain: string,
): ChainState | undefined {
  return state.tables.find((t) => t.name === tableName)?.chains.find((c) => c.name === chain);
}

/** `iptables -N`: creates the chain unless it exists (Docker flushes nothing it did not make). */
export function newChain(state: IptablesState, tableName: string, chain: string): ChainState {
  const t = table(state, tableName);
  const found = t.chains.find((c) => c.name === chain);
  if (found !== undefined) return found;
  const created: ChainState = { name: chain, policy: null, rules: [] };
  t.chains.push(created);
  return created;
}

/** `iptables -X` after flushing: removes a user chain (and nothing else). */
export function removeChain(state: IptablesState, tableName: string, chain: string): void {
  const t = state.tables.find((x) => x.name === tableName);
  if (t === undefined) return;
  const i = t.chains.findIndex((c) => c.name === chain && c.policy === null);
  if (i >= 0) t.chains.splice(i, 1);
}

function chainFor(state: IptablesState, tableName: string, chain: string): ChainState {
  return findChain(state, tableName, chain) ?? newChain(state, tableName, chain);
}

export function exists(state: IptablesState, tableName: string, chain: string, rule: string) {
  return findChain(state, tableName, chain)?.rules.includes(rule) ?? false;
}

/** `-A`, skipped when the rule is already there (Docker checks with `-C` first). */
export function append(state: IptablesState, tableName: string, chain: string, rule: string) {
  const c = chainFor(state, tableName, chain);
  if (!c.rules.includes(rule)) c.rules.push(rule);
}

/** `-I` at the top, skipped when the rule is already there. */
export function insert(state: IptablesState, tableName: string, chain: string, rule: string) {
  const c = chainFor(state, tableName, chain);
  if (!c.rules.includes(rule)) c.rules.unshift(rule);
}

/** `-D`: removes the first equal rule, if any. */
export function remove(state: IptablesState, tableName: string, chain: string, rule: string) {
  const c = findChain(state, tableName, chain);
  const i = c?.rules.indexOf(rule) ?? -1;
  if (c !== undefined && i >= 0) c.rules.splice(i, 1);
}

/** `EnsureJumpRule`: the jump is deleted where it is and inserted at the top. */
export function ensureJump(state: IptablesState, tableName: string, from: string, to: string) {
  const rule = `-j ${to}`;
  remove(state, tableName, from, rule);
  insert(state, tableName, from, rule);
}

export function setPolicy(
  state: IptablesState,
  tableName: string,
  chain: string,
  policy: 'ACCEPT' | 'DROP',
): void {
  chainFor(state, tableName, chain).policy = policy;
}

/**
 * iptables-save text of the state, without the `# Generated` comments: per table its built-in
 * chains, then user chains sorted by name (as iptables-save lists them), then the rules chain by
 * chain in the same order.
 */
export function renderIptablesSave(state: IptablesState): string {
  const lines: string[] = [];
  for (const t of state.tables) {
    const builtin = BUILTIN_CHAINS[t.name] ?? [];
    const chains = [
      ...t.chains
        .filter((c) => c.policy !== null)
        .sort((a, b) => builtin.indexOf(a.name) - builtin.indexOf(b.name)),
      ...t.chains.filter((c) => c.policy === null).sort((a, b) => compareBytes(a.name, b.name)),
    ];
    lines.push(`*${t.name}`);
    for (const c of chains) lines.push(`:${c.name} ${c.policy ?? '-'} [0:0]`);
    for (const c of chains) for (const r of c.rules) lines.push(`-A ${c.name} ${r}`);
    lines.push('COMMIT');
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Canonical rule text

/** A core option value; a leading `!` negates it (`'!br-dummy'`). */
type Core = string | undefined;

export interface RuleCore {
  readonly s?: Core;
  readonly d?: Core;
  readonly i?: Core;
  readonly o?: Core;
  readonly p?: Core;
}

function hostMask(address: string): string {
  return address.includes('/') ? address : hostPrefix(address);
}

function coreOption(flag: string, value: Core, isAddress: boolean): string[] {
  if (value === undefined) return [];
  const negated = value.startsWith('!');
  const v = negated ? value.slice(1) : value;
  return [...(negated ? ['!'] : []), flag, isAddress ? hostMask(v) : v];
}

/**
 * One rule as iptables-save prints it: the core options in `-s -d -i -o -p` order (host
 * addresses with their `/32` or `/128`), then `rest` — the matches and target in the order
 * Docker gives them, already in iptables' own spelling (`-m tcp --dport 80 -j ACCEPT`).
 */
export function canonicalRule(core: RuleCore, rest: string): string {
  return [
    ...coreOption('-s', core.s, true),
    ...coreOption('-d', core.d, true),
    ...coreOption('-i', core.i, false),
    ...coreOption('-o', core.o, false),
    ...coreOption('-p', core.p, false),
    rest,
  ]
    .filter((w) => w !== '')
    .join(' ');
}

/** `-m tcp --dport 80` (iptables adds the protocol's own match module for a port). */
export function portMatch(protocol: string, field: 'dport' | 'sport', port: number): string {
  return `-m ${protocol} --${field} ${port}`;
}
