/**
 * `dockwall chains` as text: the chain view (src/analysis/chain-view.ts) written as an indented
 * tree per family, the unreferenced chains, and each container's networks and paths.
 */
import type { BasePlace, ChainNode, ChainOwner, ChainsView } from '../analysis/chain-view.ts';
import { priorityText } from '../analysis/chain-view.ts';
import { safeJson, safeText } from '../model/safe-text.ts';
import { eraName } from './describe.ts';

const OWNER_LABEL: Readonly<Record<ChainOwner, string>> = {
  builtin: 'built-in',
  docker: 'Docker-managed',
  'docker-user': 'DOCKER-USER: operator rules, Docker-created',
  operator: 'operator-written',
};

function placeText(base: BasePlace): string {
  // nftables' ingress and egress hooks run before PREROUTING and after POSTROUTING
  const hook = base.hookName.toUpperCase() === base.hook ? '' : ` ${base.hookName}`;
  return `${hook} ${priorityText(base.priority)}`;
}

function nodeLines(node: ChainNode, depth: number, out: string[]): void {
  const pad = '  '.repeat(depth);
  const policy = node.policy === null ? '' : ` policy ${node.policy}`;
  const state = node.missing
    ? ' — MISSING (jump target not defined)'
    : node.expanded
      ? ''
      : ' (shown above)';
  const place = node.base === undefined ? '' : `${placeText(node.base)}`;
  out.push(
    `${pad}${node.table} ${node.chain}${policy} [${OWNER_LABEL[node.owner]}]${place}${state}`,
  );
  if (!node.expanded) return;
  if (node.rules.length === 0) out.push(`${pad}  (no rules)`);
  for (const r of node.rules) {
    out.push(
      `${pad}  ${String(r.index).padStart(2)}. ${r.text.replace(/^-A \S+ /, '')}  (line ${r.line})`,
    );
    if (r.enters !== null) nodeLines(r.enters, depth + 2, out);
    for (const d of r.dispatches) nodeLines(d, depth + 2, out);
  }
}

/** The view as text; every line is escaped and clipped (rule text and names came from input). */
export function formatChainsText(view: ChainsView): string {
  const out: string[] = [`Rule layout: ${eraName(view.era)}`];
  for (const f of view.families) {
    const files = f.nftFile === null || f.nftFile === f.file ? f.file : `${f.file}, ${f.nftFile}`;
    out.push('', `== ${f.family === 'ipv4' ? 'IPv4' : 'IPv6'} (${files}) ==`);
    let hook: string | null = null;
    for (const root of f.hooks) {
      if (root.base !== undefined && root.base.hook !== hook) {
        hook = root.base.hook;
        out.push('', `-- ${hook} --`);
      }
      out.push('');
      nodeLines(root, 0, out);
    }
    if (f.unreferenced.length > 0) {
      out.push(
        '',
        'Unreferenced chains (no built-in chain leads to them, so their rules never run):',
      );
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

/** The view as JSON, with the layout's name beside its id. */
export function formatChainsJson(view: ChainsView): string {
  const { schemaVersion, era, families, containers } = view;
  const json = { schemaVersion, era, eraText: eraName(era), families, containers };
  return safeJson(json);
}
