/**
 * `dockwall chains`: the order a packet meets chains, rebuilt from the dump. Per family, each
 * hook's base chain in packet order, jumps expanded into the chains they enter (each marked
 * Docker-managed, DOCKER-USER or operator-written), chains nothing jumps to, and each container
 * with its network mode, networks and the paths its inbound traffic takes.
 */
import { isDockerManagedChain } from '../docker/chains.ts';
import { bridgeOfEndpoint } from '../docker/topology.ts';
import type { Container, DockerHost, LayoutEra } from '../model/host.ts';
import type { Family, Ruleset, Table } from '../model/ruleset.ts';
import { findChain, findTable } from '../model/ruleset.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { safeText } from '../model/safe-text.ts';
import { describeEra } from './describe.ts';

export type ChainOwner = 'docker' | 'docker-user' | 'operator' | 'builtin';

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
  readonly eraText: string;
  readonly families: readonly FamilyChains[];
  readonly containers: readonly ContainerPaths[];
}

/** Packet order: inbound (PREROUTING, then INPUT or FORWARD), outbound (OUTPUT, POSTROUTING). */
const HOOK_ORDER: readonly [string, string][] = [
  ['raw', 'PREROUTING'],
  ['mangle', 'PREROUTING'],
  ['nat', 'PREROUTING'],
  ['mangle', 'FORWARD'],
  ['filter', 'FORWARD'],
  ['mangle', 'INPUT'],
  ['filter', 'INPUT'],
  ['raw', 'OUTPUT'],
  ['mangle', 'OUTPUT'],
  ['nat', 'OUTPUT'],
  ['filter', 'OUTPUT'],
  ['mangle', 'POSTROUTING'],
  ['nat', 'POSTROUTING'],
];

function ownerOf(table: string, chain: string, builtin: boolean, era: LayoutEra): ChainOwner {
  if (builtin) return 'builtin';
  if (chain === 'DOCKER-USER') return 'docker-user';
  return isDockerManagedChain(table, chain, era) ? 'docker' : 'operator';
}

function expand(table: Table, name: string, era: LayoutEra, seen: Set<string>): ChainNode {
  const chain = findChain(table, name);
  if (chain === undefined) {
    return {
      table: table.name,
      chain: name,
      owner: ownerOf(table.name, name, false, era),
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
    owner: ownerOf(table.name, name, chain.builtin, era),
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
      enters: target === null ? null : expand(table, target, era, seen),
    };
  });
  return { ...base, expanded: true, rules };
}

function familyChains(ruleset: Ruleset, era: LayoutEra): FamilyChains {
  const hooks: ChainNode[] = [];
  const seenByTable = new Map<string, Set<string>>();
  for (const [tableName, hook] of HOOK_ORDER) {
    const table = findTable(ruleset, tableName);
    const base = table === undefined ? undefined : findChain(table, hook);
    if (table === undefined || base === undefined) continue;
    // Empty accepting raw/mangle hooks say nothing about the path; filter and nat are always shown.
    if (
      (tableName === 'raw' || tableName === 'mangle') &&
      base.rules.length === 0 &&
      base.policy !== 'DROP'
    ) {
      continue;
    }
    const seen = seenByTable.get(tableName) ?? new Set<string>();
    seenByTable.set(tableName, seen);
    hooks.push(expand(table, hook, era, seen));
  }
  const unreferenced: FamilyChains['unreferenced'][number][] = [];
  for (const table of ruleset.tables) {
    const referenced = new Set<string>();
    for (const c of table.chains) {
      for (const r of c.rules) if (r.target?.kind === 'jump') referenced.add(r.target.chain);
    }
    for (const c of table.chains) {
      if (c.builtin || referenced.has(c.name)) continue;
      unreferenced.push({
        table: table.name,
        chain: c.name,
        owner: ownerOf(table.name, c.name, false, era),
        rules: c.rules.length,
        line: c.location.line,
      });
    }
  }
  return { family: ruleset.family, file: ruleset.file, hooks, unreferenced };
}

function modeText(c: Container, host: DockerHost): string {
  const m = c.networkMode;
  switch (m.kind) {
    case 'bridge':
      return m.network === 'bridge' ? 'bridge (default)' : `bridge ${m.network}`;
    case 'host':
      return 'host';
    case 'none':
      return 'none';
    case 'container': {
      const target = host.containers.find((x) => x.id === m.resolved || x.name === m.resolved);
      return `container:${m.ref} → ${m.resolved === null ? 'unresolved' : (target?.name ?? m.resolved)}`;
    }
    case 'network':
      return `${m.driver ?? 'network'} ${m.network}`;
  }
}

function pathsOf(c: Container, host: DockerHost, era: LayoutEra): string[] {
  let subject = c;
  const m = c.networkMode;
  if (m.kind === 'container') {
    const target = host.containers.find((x) => x.id === m.resolved || x.name === m.resolved);
    if (target === undefined)
      return ["unknown: the shared namespace's container is not in the snapshot"];
    subject = target;
  }
  const mode = subject.networkMode;
  if (mode.kind === 'host')
    return ['inbound: filter INPUT only (a host process; Docker adds no rules)'];
  if (mode.kind === 'none') return ['none: loopback only'];
  const drivers = subject.endpoints.map(
    (e) =>
      host.networks.find((n) => n.name === e.network || n.id === e.networkId)?.driver ?? 'bridge',
  );
  if (drivers.length > 0 && drivers.every((d) => d === 'macvlan' || d === 'ipvlan')) {
    return ["own address on the parent network: not through this host's INPUT or FORWARD"];
  }
  const forward =
    era === 'classic'
      ? 'filter FORWARD → DOCKER-USER → DOCKER-ISOLATION-STAGE-1 → DOCKER'
      : era === 'v28'
        ? 'filter FORWARD → DOCKER-USER → DOCKER-FORWARD → DOCKER-CT / DOCKER-ISOLATION-STAGE-1 / DOCKER-BRIDGE → DOCKER'
        : era === 'v29'
          ? 'filter FORWARD → DOCKER-USER → DOCKER-FORWARD → DOCKER-CT / DOCKER-INTERNAL / DOCKER-BRIDGE → DOCKER'
          : 'filter FORWARD';
  const out: string[] = [];
  const published = subject.published.filter((p) => p.hostPort !== null);
  if (published.length > 0) {
    const ports = published
      .map((p) => `${p.hostIp}:${p.hostPort ?? ''}→${p.containerPort}/${p.protocol}`)
      .join(', ');
    out.push(
      `published (${ports}): ${era === 'classic' || era === 'v28' || era === 'v29' ? 'raw PREROUTING → ' : ''}nat PREROUTING → DOCKER (DNAT) → ${forward}`,
    );
  }
  out.push(
    `direct to its address: ${era === 'v28' || era === 'v29' ? 'raw PREROUTING (drop unless from its bridge) → ' : ''}${forward}`,
  );
  if (
    published.some((p) => p.hostIp === '::' || p.hostIp === '0.0.0.0') &&
    host.daemon.userlandProxy.value
  ) {
    out.push(
      'from the host via 127.0.0.1, and IPv6 to an IPv4-only container: docker-proxy → filter INPUT',
    );
  }
  return out;
}

export function buildChainsView(snapshot: Snapshot): ChainsView {
  const era = snapshot.era.era;
  const families = [snapshot.ipv4, snapshot.ipv6]
    .filter((r): r is Ruleset => r !== null)
    .map((r) => familyChains(r, era));
  const host = snapshot.host;
  const containers = [...host.containers]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => ({
      name: c.name,
      running: c.running,
      networkMode: modeText(c, host),
      networks: c.endpoints.map((e) => ({
        name: e.network,
        ipv4: e.ipv4,
        ipv6: e.ipv6,
        bridge: bridgeOfEndpoint(host, e),
      })),
      paths: pathsOf(c, host, era),
    }));
  return { schemaVersion: 1, era, eraText: describeEra(snapshot.era), families, containers };
}

const OWNER_LABEL: Readonly<Record<ChainOwner, string>> = {
  builtin: 'built-in',
  docker: 'Docker-managed',
  'docker-user': 'DOCKER-USER: operator rules, Docker-created',
  operator: 'operator-written',
};

function nodeLines(node: ChainNode, depth: number, out: string[]): void {
  const pad = '  '.repeat(depth);
  const policy = node.policy === null ? '' : ` policy ${node.policy}`;
  const state = node.missing
    ? ' — MISSING (jump target not defined)'
    : node.expanded
      ? ''
      : ' (shown above)';
  out.push(`${pad}${node.table} ${node.chain}${policy} [${OWNER_LABEL[node.owner]}]${state}`);
  if (!node.expanded) return;
  if (node.rules.length === 0) out.push(`${pad}  (no rules)`);
  for (const r of node.rules) {
    out.push(
      `${pad}  ${String(r.index).padStart(2)}. ${r.text.replace(/^-A \S+ /, '')}  (line ${r.line})`,
    );
    if (r.enters !== null) nodeLines(r.enters, depth + 2, out);
  }
}

/** The view as text; every line is escaped and clipped (rule text and names came from input). */
export function formatChainsText(view: ChainsView): string {
  const out: string[] = [`Rule layout: ${view.eraText}`];
  for (const f of view.families) {
    out.push('', `== ${f.family === 'ipv4' ? 'IPv4' : 'IPv6'} (${f.file}) ==`);
    for (const hook of f.hooks) {
      out.push('');
      nodeLines(hook, 0, out);
    }
    if (f.unreferenced.length > 0) {
      out.push('', 'Unreferenced chains (no rule jumps to them, so their rules never run):');
      for (const u of f.unreferenced) {
        out.push(
          `  ${u.table} ${u.chain} [${OWNER_LABEL[u.owner]}], ${u.rules} rule(s), line ${u.line}`,
        );
      }
    }
  }
  out.push('', '== Containers ==');
  if (view.containers.length === 0) out.push('  (none in the snapshot)');
  for (const c of view.containers) {
    out.push('', `${c.name}${c.running ? '' : ' (stopped)'} — network mode ${c.networkMode}`);
    for (const n of c.networks) {
      const addrs = [n.ipv4, n.ipv6].filter((a) => a !== null).join(', ');
      out.push(
        `  network ${n.name}${n.bridge === null ? '' : ` on ${n.bridge}`}${addrs === '' ? '' : `: ${addrs}`}`,
      );
    }
    for (const p of c.paths) out.push(`  path ${p}`);
  }
  return `${out.map((line) => safeText(line)).join('\n')}\n`;
}
