/**
 * The files of a planned snapshot: the base snapshot's files with what Docker changes on the host
 * once the plan has run — rules, networks and containers (as `docker inspect` prints them), the
 * bridges with their gateway addresses and routes, docker-proxy listeners, and IP forwarding
 * when dockerd switched it on. A file the base did not have is not invented (a listeners.txt with
 * only docker-proxy in it would claim the host listens on nothing else); the manifest records
 * the plan and every assumption.
 */
import type { Container, Network } from '../model/host.ts';
import type { SnapshotFileRole } from '../model/snapshot.ts';
import type { ContainerExtras } from './inspect-json.ts';
import { containerInspect, networkInspect } from './inspect-json.ts';
import type { PlanResult } from './plan.ts';

export interface PlanFilesInput {
  /** Raw text of each base file that was read, by role. */
  readonly baseTexts: Partial<Record<SnapshotFileRole, string>>;
  readonly baseNetworks: readonly Network[];
  readonly result: PlanResult;
  /** The effective daemon.json text (the --daemon file, else the base's), or null. */
  readonly daemonJson: string | null;
  readonly manifest: Readonly<Record<string, unknown>>;
}

function jsonArray(text: string | undefined): unknown[] {
  if (text === undefined) return [];
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? (v as unknown[]) : [v];
  } catch {
    return [];
  }
}

function nameOf(item: unknown): string {
  const n = (item as { Name?: unknown }).Name;
  return typeof n === 'string' ? n.replace(/^\//, '') : '';
}

function pretty(value: unknown): string {
  return `${JSON.stringify(value, null, 4)}\n`;
}

/** The planned snapshot's files, by file name. */
export function planFiles(input: PlanFilesInput): Map<string, string> {
  const { baseTexts, result } = input;
  const files = new Map<string, string>();
  const allNetworks = [...input.baseNetworks, ...result.createdNetworks];
  const newContainers = result.containers.map((p) => p.container);
  if (result.iptables !== null) files.set('iptables-save.txt', result.iptables);
  if (result.ip6tables !== null) files.set('ip6tables-save.txt', result.ip6tables);
  if (result.nft !== null)
    files.set('nft-ruleset.txt', mergeNft(baseTexts['nft-ruleset'], result.nft));
  else if (baseTexts['nft-ruleset'] !== undefined)
    files.set(nftName(baseTexts['nft-ruleset']), baseTexts['nft-ruleset']);
  if (input.daemonJson !== null) files.set('daemon.json', input.daemonJson);
  for (const role of [
    'docker-version',
    'sysctl',
    'ip-addr',
    'ip-route',
    'ip-rule',
    'ip6-rule',
    'listeners',
  ] as const) {
    const t = baseTexts[role];
    if (t !== undefined) files.set(FILE[role], t);
  }

  // Inspect files are written only where they describe the whole host: the base had them, or
  // the host had no Docker before. Otherwise the planned containers alone would read as all the
  // host has (and the base's own containers' rules as drift).
  const complete = (role: 'networks' | 'containers') =>
    baseTexts[role] !== undefined || result.daemonStarted;
  if (complete('networks')) {
    const networks = jsonArray(baseTexts.networks);
    for (const n of result.createdNetworks) {
      networks.push(networkInspect(n, result.networkLabels.get(n.name) ?? {}, newContainers));
    }
    files.set('networks.json', pretty(networks));
  }
  if (complete('containers')) {
    const replaced = new Set(result.replaces);
    const containers = jsonArray(baseTexts.containers).filter((c) => !replaced.has(nameOf(c)));
    for (const p of result.containers) {
      const extras: ContainerExtras = { labels: p.labels, command: p.command, links: p.linkNames };
      containers.push(containerInspect(p.container, allNetworks, extras));
    }
    files.set('containers.json', pretty(containers));
  }

  const bridges = result.createdNetworks.filter((n) => n.bridgeName !== null);
  if (baseTexts['ip-addr'] !== undefined) {
    files.set('ip-addr.json', withBridges(baseTexts['ip-addr'], bridges));
  }
  if (baseTexts['ip-route'] !== undefined) {
    files.set('ip-route.json', withRoutes(baseTexts['ip-route'], bridges));
  }
  if (baseTexts.listeners !== undefined) {
    files.set('listeners.txt', withProxies(baseTexts.listeners, newContainers, result));
  }
  if (
    baseTexts.sysctl !== undefined &&
    result.daemonStarted &&
    result.layout !== 'nftables' &&
    result.layout !== 'none'
  ) {
    // dockerd switches IPv4 forwarding on when it creates its first network.
    files.set(
      'sysctl.txt',
      baseTexts.sysctl.replace(/^(net\.ipv4\.ip_forward\s*=\s*)0\s*$/m, '$11'),
    );
  }
  files.set('manifest.json', pretty(input.manifest));
  return files;
}

const FILE = {
  'docker-version': 'docker-version.json',
  sysctl: 'sysctl.txt',
  'ip-addr': 'ip-addr.json',
  'ip-route': 'ip-route.json',
  // the policy rules as the base has them: dockerd writes none
  'ip-rule': 'ip-rule.json',
  'ip6-rule': 'ip6-rule.json',
  listeners: 'listeners.txt',
} as const;

function nftName(text: string): string {
  const t = text.trimStart();
  return t.startsWith('{') || t.startsWith('[') ? 'nft-ruleset.json' : 'nft-ruleset.txt';
}

/** The base's nftables text without Docker's old tables, then Docker's planned ones. */
function mergeNft(base: string | undefined, docker: string): string {
  if (base === undefined || nftName(base) !== 'nft-ruleset.txt') return docker;
  const kept: string[] = [];
  let skipping = false;
  let depth = 0;
  for (const line of base.split('\n')) {
    if (!skipping && /^table\s+(ip|ip6)\s+docker-bridges\s*\{/.test(line)) {
      skipping = true;
      depth = 0;
    }
    if (skipping) {
      depth += (line.match(/\{/g) ?? []).length - (line.match(/\}/g) ?? []).length;
      if (depth <= 0) skipping = false;
      continue;
    }
    kept.push(line);
  }
  const rest = kept.join('\n').trim();
  return rest === '' ? docker : `${rest}\n${docker}`;
}

/** `ip -j addr` with each new bridge and its gateway addresses (down until a container joins). */
function withBridges(text: string, bridges: readonly Network[]): string {
  const list = jsonArray(text) as Record<string, unknown>[];
  let index = Math.max(
    0,
    ...list.map((i) => (typeof i['ifindex'] === 'number' ? i['ifindex'] : 0)),
  );
  for (const n of bridges) {
    if (list.some((i) => i['ifname'] === n.bridgeName)) continue;
    index += 1;
    list.push({
      ifindex: index,
      ifname: n.bridgeName,
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu: 1500,
      operstate: 'UP',
      link_type: 'ether',
      linkinfo: { info_kind: 'bridge' },
      addr_info: n.subnets
        .filter((s) => s.gateway !== null)
        .map((s) => ({
          family: s.family === 'ipv4' ? 'inet' : 'inet6',
          local: s.gateway,
          prefixlen: Number(s.cidr.split('/')[1] ?? 0),
          scope: 'global',
        })),
    });
  }
  return `${JSON.stringify(list)}\n`;
}

/** `ip -j route` with each new bridge's connected routes. */
function withRoutes(text: string, bridges: readonly Network[]): string {
  const list = jsonArray(text) as Record<string, unknown>[];
  for (const n of bridges) {
    for (const s of n.subnets) {
      if (list.some((r) => r['dst'] === s.cidr)) continue;
      list.push({
        dst: s.cidr,
        dev: n.bridgeName,
        protocol: 'kernel',
        scope: 'link',
        prefsrc: s.gateway,
        flags: [],
      });
    }
  }
  return `${JSON.stringify(list)}\n`;
}

/**
 * docker-proxy (dockerd itself with the userland proxy off) holds each published host port;
 * written in the form the base file uses.
 */
function withProxies(text: string, containers: readonly Container[], result: PlanResult): string {
  const lines = text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  const withNetid = lines.some((l) => /^(tcp|udp)\s/.test(l));
  const proxyOff = result.daemonProxyOff;
  for (const c of containers) {
    for (const p of c.published) {
      if (p.hostPort === null || p.protocol === 'sctp') continue;
      // Without the proxy nothing serves host-IPv6 → container-IPv4.
      if (proxyOff && p.hostIp.includes(':') && !c.endpoints.some((e) => e.ipv6 !== null)) continue;
      const local = p.hostIp.includes(':')
        ? `[${p.hostIp}]:${p.hostPort}`
        : `${p.hostIp}:${p.hostPort}`;
      const peer = p.hostIp.includes(':') ? '[::]:*' : '0.0.0.0:*';
      const state = p.protocol === 'udp' ? 'UNCONN' : 'LISTEN';
      const proc = `users:(("${proxyOff ? 'dockerd' : 'docker-proxy'}",pid=0,fd=0))`;
      const row = `${state} 0      4096   ${local.padEnd(20)} ${peer.padEnd(12)} ${proc}`;
      if (!withNetid && p.protocol === 'udp') continue;
      lines.push(withNetid ? `${p.protocol}   ${row}` : row);
    }
  }
  return `${lines.join('\n')}\n`;
}
