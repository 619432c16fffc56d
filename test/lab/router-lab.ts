/**
 * A router between two namespaces, for the referees of what routing itself does with a packet
 * (the groups and rp_filter referees): a client behind the router's in0, a server behind its
 * out0, forwarding on, and counters in the router's mangle chains that say where the kernel took
 * each UDP datagram to port 5000 — forwarded, delivered, or dropped after PREROUTING.
 */
import { spawnSync } from 'node:child_process';
import type { Family } from '../../src/model/ruleset.ts';
import type { Trace } from '../../src/model/trace.ts';
import { labCommand as sh, labSuffix } from './netns.ts';

/** Where the kernel took a datagram; null: it met no chain of the router. */
export type Fate = 'forwarded' | 'delivered' | 'dropped';

/** Where dockwall's trace takes it, in the kernel's words (or its verdict, where not delivered). */
export function traceFate(tr: Trace): string {
  if (tr.delivery?.kind === 'forward') return 'forwarded';
  return tr.delivery?.kind === 'local' ? 'delivered' : tr.verdict;
}

export interface RouterLab {
  readonly client: string;
  readonly router: string;
  readonly server: string;
  /** A command run in the router's namespace. */
  inRouter(args: readonly string[], input?: string): string;
  /** A veth pair: `aDev` in namespace `a`, `bDev` in `b` (the same namespace for both may be). */
  veth(a: string, aDev: string, b: string, bDev: string): void;
  /** The link (MAC) address of the router's in0. */
  in0Mac(): string;
  /** Adds addresses (IPv6 without duplicate detection). */
  addresses(ns: string, dev: string, cidrs: readonly string[]): void;
  /**
   * Sends a datagram by running `python` in the client and reads the router's counters: where
   * the kernel took it, or null where it met no chain.
   */
  fate(family: Family, python: string): Fate | null;
  /** Deletes the namespaces; never throws. */
  destroy(): void;
}

/** The router's mangle chains count what arrives on in0 for UDP port 5000, per hook. */
const COUNTING = [
  '*mangle',
  ':PREROUTING ACCEPT [0:0]',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':POSTROUTING ACCEPT [0:0]',
  '-A PREROUTING -i in0 -p udp -m udp --dport 5000',
  '-A INPUT -i in0 -p udp -m udp --dport 5000',
  '-A FORWARD -i in0 -p udp -m udp --dport 5000',
  'COMMIT',
  '*filter',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  '-A FORWARD -p udp -j ACCEPT',
  'COMMIT',
  '',
].join('\n');

/**
 * Builds the three namespaces, links client–in0 and out0–server, turns forwarding on and loads
 * the counters (for IPv6 too where `ipv6`). Addresses and routes are the caller's.
 */
export function routerLab(tag: string, ipv6: boolean): RouterLab {
  const suffix = labSuffix(tag, 0);
  const [client, router, server] = ['c', 'r', 's'].map((x) => `dwk-${suffix}-${x}`) as [
    string,
    string,
    string,
  ];
  const inRouter = (args: readonly string[], input = ''): string =>
    sh(['ip', 'netns', 'exec', router, ...args], input);
  const veth = (a: string, aDev: string, b: string, bDev: string): void => {
    sh([
      'ip',
      'link',
      'add',
      `${aDev}${suffix}`,
      'type',
      'veth',
      'peer',
      'name',
      `${bDev}${suffix}`,
    ]);
    sh(['ip', 'link', 'set', `${aDev}${suffix}`, 'netns', a]);
    sh(['ip', 'link', 'set', `${bDev}${suffix}`, 'netns', b]);
    sh(['ip', '-n', a, 'link', 'set', `${aDev}${suffix}`, 'name', aDev]);
    sh(['ip', '-n', b, 'link', 'set', `${bDev}${suffix}`, 'name', bDev]);
    sh(['ip', '-n', a, 'link', 'set', aDev, 'up']);
    sh(['ip', '-n', b, 'link', 'set', bDev, 'up']);
  };
  const addresses = (ns: string, dev: string, cidrs: readonly string[]): void => {
    for (const c of cidrs)
      sh(['ip', '-n', ns, 'addr', 'add', c, 'dev', dev, ...(c.includes(':') ? ['nodad'] : [])]);
  };
  const fate = (family: Family, python: string): Fate | null => {
    const save = family === 'ipv4' ? 'iptables' : 'ip6tables';
    inRouter([save, '-t', 'mangle', '-Z']);
    sh(['ip', 'netns', 'exec', client, 'python3', '-c', python]);
    spawnSync('sleep', ['0.2']);
    const counts = new Map<string, number>();
    let chain = '';
    for (const line of inRouter([save, '-t', 'mangle', '-L', '-v', '-x', '-n']).split('\n')) {
      const head = /^Chain (\S+)/.exec(line);
      if (head !== null) chain = head[1] ?? '';
      else if (/dpt:5000/.test(line)) counts.set(chain, Number(line.trim().split(/\s+/)[0]));
    }
    if ((counts.get('PREROUTING') ?? 0) === 0) return null;
    if ((counts.get('FORWARD') ?? 0) > 0) return 'forwarded';
    return (counts.get('INPUT') ?? 0) > 0 ? 'delivered' : 'dropped';
  };
  const in0Mac = (): string => {
    const links = JSON.parse(sh(['ip', '-n', router, '-j', 'link', 'show', 'in0'])) as {
      address?: string;
    }[];
    const mac = links[0]?.address;
    if (mac === undefined) throw new Error('in0 has no link address');
    return mac;
  };
  const destroy = (): void => {
    for (const ns of [client, router, server])
      spawnSync('ip', ['netns', 'del', ns], { encoding: 'utf8' });
  };
  try {
    for (const ns of [client, router, server]) {
      sh(['ip', 'netns', 'add', ns]);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    veth(client, 'eth0', router, 'in0');
    veth(router, 'out0', server, 'eth0');
    inRouter(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    inRouter(['iptables-restore'], COUNTING);
    if (ipv6) {
      inRouter(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
      inRouter(['ip6tables-restore'], COUNTING);
    }
  } catch (error) {
    destroy();
    throw error;
  }
  return { client, router, server, inRouter, veth, in0Mac, addresses, fate, destroy };
}
