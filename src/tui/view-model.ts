/**
 * Derived, read-only data the panes show: findings sorted and grouped by severity, the chain
 * tree flattened into rows, containers with the findings about them. Built once per audit;
 * the per-key work (filtering, flattening after a toggle) is memoised on the immutable inputs,
 * so moving the cursor never recomputes a 100,000-row list.
 */
import type { ChainRoot as ViewRoot } from '../analysis/chain-view.ts';
import { chainRoots, priorityText } from '../analysis/chain-view.ts';
import { chainsByName, jumpTargets } from '../model/rule-queries.ts';
import type { Exposure, Finding } from '../model/audit.ts';
import type { Severity } from '../model/diagnostic.ts';
import type { Container } from '../model/host.ts';
import type { Chain, Rule, Ruleset, Table } from '../model/ruleset.ts';
import { tableId } from '../model/ruleset.ts';
import type { ReviewData } from './data.ts';
import { addressPort } from '../model/trace.ts';
import { findingObject, formatNetworkMode } from './format.ts';
import { compareText } from '../model/text-order.ts';

export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'note'];

const severityRank: Record<Severity, number> = { error: 0, warning: 1, note: 2 };

export interface ContainerRow {
  readonly container: Container;
  readonly mode: string;
  /** `network address` for each endpoint (of the namespace owner for `container:` modes). */
  readonly networks: readonly string[];
  /** `hostIp:hostPort→containerPort/proto`. */
  readonly ports: readonly string[];
  readonly findings: readonly Finding[];
}

export type ChainRow =
  | {
      readonly kind: 'chain';
      readonly key: string;
      readonly depth: number;
      readonly title: string;
      readonly chain: Chain;
      readonly expanded: boolean;
      readonly findings: number;
      /** Not reached from any built-in hook. */
      readonly unreferenced: boolean;
    }
  | {
      readonly kind: 'rule';
      readonly key: string;
      readonly depth: number;
      readonly rule: Rule;
      readonly findings: number;
      /** Chain this rule jumps or goes to, when it does (an nftables verdict map: the first). */
      readonly jump: string | null;
      /** The jump can be opened (target exists and is not already on the path). */
      readonly expandable: boolean;
      readonly expanded: boolean;
      /** Why the jump cannot be opened: a loop or an undefined chain. */
      readonly note: string | null;
    }
  | {
      readonly kind: 'policy';
      readonly key: string;
      readonly depth: number;
      readonly text: string;
    };

interface ChainRoot extends ViewRoot {
  readonly key: string;
}

export interface ReviewModel {
  readonly data: ReviewData;
  /** Sorted: severity, then unsuppressed first, then file and line. */
  readonly findings: readonly Finding[];
  readonly exposures: readonly Exposure[];
  readonly containers: readonly ContainerRow[];
  readonly chainRoots: readonly ChainRoot[];
  readonly ruleCount: number;
  /** Findings touching each rule, by `file:line`. */
  readonly findingsByLine: ReadonlyMap<string, number>;
  /** Keys of the chain rows open at start: the built-in hooks. */
  readonly initialExpanded: ReadonlySet<string>;
}

export interface FindingFilter {
  readonly severities: readonly Severity[];
  readonly text: string;
}

export type FindingRow =
  | { readonly kind: 'group'; readonly severity: Severity; readonly count: number }
  | { readonly kind: 'finding'; readonly finding: Finding; readonly index: number };

function lineKey(file: string, line: number): string {
  return `${file}:${line}`;
}

function compareFindings(a: Finding, b: Finding): number {
  return (
    severityRank[a.severity] - severityRank[b.severity] ||
    Number(a.suppressed !== undefined) - Number(b.suppressed !== undefined) ||
    compareText(a.location.file, b.location.file) ||
    a.location.line - b.location.line ||
    compareText(a.ruleId, b.ruleId)
  );
}

/** The chain view's roots, keyed for the UI (the family is named when there are two). */
function buildRoots(rulesets: readonly Ruleset[]): ChainRoot[] {
  const families = new Set(rulesets.map((r) => r.family));
  return rulesets.flatMap((ruleset) => {
    const prefix = families.size > 1 ? `${ruleset.family} ` : '';
    return chainRoots(ruleset).map((root) => ({
      ...root,
      key: `${prefix}${tableId(root.table)} ${root.chain.name}`,
    }));
  });
}

function countFindingsByLine(findings: readonly Finding[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const f of findings) {
    const keys = new Set([lineKey(f.location.file, f.location.line)]);
    for (const r of f.related) keys.add(lineKey(r.location.file, r.location.line));
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

function containerRows(data: ReviewData, findings: readonly Finding[]): ContainerRow[] {
  const containers = data.host?.containers ?? [];
  const byName = new Map(containers.map((c) => [c.name, c]));
  // Grouped once: thousands of containers times thousands of findings must not be scanned.
  const byContainer = new Map<string, Finding[]>();
  for (const f of findings) {
    const name = f.object.container;
    if (name === undefined) continue;
    const list = byContainer.get(name);
    if (list === undefined) byContainer.set(name, [f]);
    else list.push(f);
  }
  return containers.map((c) => {
    // A `container:` mode shares the namespace of the container at the end of the chain.
    const owner =
      c.networkMode.kind === 'container' && c.networkMode.resolved !== null
        ? (byName.get(c.networkMode.resolved) ?? c)
        : c;
    const networks = owner.endpoints.map((e) => {
      const addresses = [e.ipv4, e.ipv6].filter((a): a is string => a !== null && a !== '');
      return addresses.length === 0 ? e.network : `${e.network} ${addresses.join(' ')}`;
    });
    const ports = owner.published.map(
      (p) => `${addressPort(p.hostIp, p.hostPort)}→${p.containerPort}/${p.protocol}`,
    );
    const about = [
      ...(byContainer.get(c.name) ?? []),
      ...(owner === c ? [] : (byContainer.get(owner.name) ?? [])),
    ];
    return {
      container: c,
      mode: formatNetworkMode(c.networkMode),
      networks,
      ports,
      findings: about,
    };
  });
}

export function buildModel(data: ReviewData): ReviewModel {
  const findings = [...data.audit.findings].sort(compareFindings);
  const chainRoots = buildRoots(data.rulesets);
  const initialExpanded = new Set(chainRoots.filter((r) => !r.unreferenced).map((r) => r.key));
  let ruleCount = 0;
  for (const rs of data.rulesets) {
    for (const t of rs.tables) for (const c of t.chains) ruleCount += c.rules.length;
  }
  return {
    data,
    findings,
    exposures: data.audit.exposures,
    containers: containerRows(data, findings),
    chainRoots,
    ruleCount,
    findingsByLine: countFindingsByLine(findings),
    initialExpanded,
  };
}

// ---------------------------------------------------------------------------------------------
// Findings: filter and group

const filterCache = new WeakMap<ReviewModel, WeakMap<FindingFilter, readonly Finding[]>>();

export function filterFindings(model: ReviewModel, filter: FindingFilter): readonly Finding[] {
  let perModel = filterCache.get(model);
  if (perModel === undefined) {
    perModel = new WeakMap();
    filterCache.set(model, perModel);
  }
  const cached = perModel.get(filter);
  if (cached !== undefined) return cached;
  const text = filter.text.trim().toLowerCase();
  const result = model.findings.filter(
    (f) =>
      filter.severities.includes(f.severity) &&
      (text === '' ||
        `${f.ruleId} ${f.message} ${findingObject(f)} ${f.location.file}:${f.location.line}`
          .toLowerCase()
          .includes(text)),
  );
  perModel.set(filter, result);
  return result;
}

const rowsCache = new WeakMap<readonly Finding[], readonly FindingRow[]>();

/** Group header rows interleaved with the (severity-sorted) findings. */
export function findingRows(findings: readonly Finding[]): readonly FindingRow[] {
  const cached = rowsCache.get(findings);
  if (cached !== undefined) return cached;
  const counts = new Map<Severity, number>();
  for (const f of findings) counts.set(f.severity, (counts.get(f.severity) ?? 0) + 1);
  const rows: FindingRow[] = [];
  let current: Severity | null = null;
  findings.forEach((finding, index) => {
    if (finding.severity !== current) {
      current = finding.severity;
      rows.push({ kind: 'group', severity: current, count: counts.get(current) ?? 0 });
    }
    rows.push({ kind: 'finding', finding, index });
  });
  rowsCache.set(findings, rows);
  return rows;
}

/** Row index of the index-th finding (group headers come before each severity's findings). */
export function findingRowIndex(rows: readonly FindingRow[], index: number): number {
  // Findings are in row order, so the row is index plus the headers before it (at most 3).
  for (let r = index; r < Math.min(rows.length, index + SEVERITIES.length + 1); r += 1) {
    const row = rows[r];
    if (row?.kind === 'finding' && row.index === index) return r;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Chains: the tree of jumps, flattened for display

const chainCache = new WeakMap<ReviewModel, WeakMap<ReadonlySet<string>, readonly ChainRow[]>>();
const chainFindingCache = new WeakMap<Chain, number>();

function chainFindings(model: ReviewModel, chain: Chain): number {
  const cached = chainFindingCache.get(chain);
  if (cached !== undefined) return cached;
  let n = 0;
  for (const rule of chain.rules) {
    n += model.findingsByLine.get(lineKey(rule.location.file, rule.location.line)) ?? 0;
  }
  chainFindingCache.set(chain, n);
  return n;
}

function pushRules(
  model: ReviewModel,
  rows: ChainRow[],
  expanded: ReadonlySet<string>,
  table: Table,
  chain: Chain,
  parentKey: string,
  depth: number,
  path: ReadonlySet<string>,
): void {
  for (const rule of chain.rules) {
    const key = `${parentKey}#${rule.index}`;
    const vmap = rule.target?.kind === 'vmap';
    const targets = jumpTargets(rule);
    const jump = targets[0] ?? null;
    const openable = (name: string): Chain | undefined => {
      const target = chainsByName(table).get(name);
      return target !== undefined && !path.has(name) && target.rules.length > 0
        ? target
        : undefined;
    };
    const target = jump === null ? undefined : chainsByName(table).get(jump);
    const loop = jump !== null && path.has(jump);
    const expandable = vmap
      ? targets.some((t) => openable(t) !== undefined)
      : jump !== null && openable(jump) !== undefined;
    const note =
      jump === null || vmap
        ? null
        : loop
          ? 'loop: already on this path'
          : target === undefined
            ? 'chain not defined'
            : target.rules.length === 0
              ? 'empty chain'
              : null;
    const isOpen = expandable && expanded.has(key);
    rows.push({
      kind: 'rule',
      key,
      depth,
      rule,
      findings: model.findingsByLine.get(lineKey(rule.location.file, rule.location.line)) ?? 0,
      jump,
      expandable,
      expanded: isOpen,
      note,
    });
    if (!isOpen) continue;
    if (!vmap) {
      const next = openable(jump ?? '');
      if (next !== undefined) {
        pushRules(model, rows, expanded, table, next, key, depth + 1, new Set(path).add(next.name));
      }
      continue;
    }
    // A verdict map sends packets to one chain per element: each is a row of its own.
    for (const name of targets) {
      const next = openable(name);
      if (next === undefined) continue;
      const chainKey = `${key}>${name}`;
      const chainOpen = expanded.has(chainKey);
      rows.push({
        kind: 'chain',
        key: chainKey,
        depth: depth + 1,
        title: `→ ${name} (${next.rules.length} rule${next.rules.length === 1 ? '' : 's'})`,
        chain: next,
        expanded: chainOpen,
        findings: chainFindings(model, next),
        unreferenced: false,
      });
      if (chainOpen) {
        const inner = new Set(path).add(name);
        pushRules(model, rows, expanded, table, next, chainKey, depth + 2, inner);
      }
    }
  }
}

export function chainRows(model: ReviewModel, expanded: ReadonlySet<string>): readonly ChainRow[] {
  let perModel = chainCache.get(model);
  if (perModel === undefined) {
    perModel = new WeakMap();
    chainCache.set(model, perModel);
  }
  const cached = perModel.get(expanded);
  if (cached !== undefined) return cached;
  const rows: ChainRow[] = [];
  for (const root of model.chainRoots) {
    const isOpen = expanded.has(root.key);
    const policy = root.chain.policy === null ? '' : ` policy ${root.chain.policy}`;
    // nftables base chains: where on the hook (iptables' tables sit at their standard places)
    const place =
      root.base === null || root.table.nft === undefined
        ? ''
        : ` · ${root.base.hookName} ${priorityText(root.base.priority)}`;
    rows.push({
      kind: 'chain',
      key: root.key,
      depth: 0,
      title: `${root.key}${policy} (${root.chain.rules.length} rule${root.chain.rules.length === 1 ? '' : 's'})${place}`,
      chain: root.chain,
      expanded: isOpen,
      findings: chainFindings(model, root.chain),
      unreferenced: root.unreferenced,
    });
    if (!isOpen) continue;
    pushRules(
      model,
      rows,
      expanded,
      root.table,
      root.chain,
      root.key,
      1,
      new Set([root.chain.name]),
    );
    if (root.chain.policy !== null) {
      rows.push({
        kind: 'policy',
        key: `${root.key}#policy`,
        depth: 1,
        text: `policy ${root.chain.policy}`,
      });
    }
  }
  perModel.set(expanded, rows);
  return rows;
}
