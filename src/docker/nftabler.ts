/**
 * The nftables rules Docker 29.x writes with `"firewall-backend": "nftables"` (moby's
 * `nftabler`): one table `docker-bridges` per family with base chains for forward, nat and raw,
 * verdict maps keyed on bridge names, and four chains per bridge network. Rendered as
 * `nft list table <family> docker-bridges` prints it (counters at zero).
 *
 * How the text comes out in Docker's order: dockerd applies each step (driver start, a network, an
 * endpoint, a set of ports) as one nft transaction in which new maps and chains are created in
 * name order and map elements are added in key order; nft lists chains and elements in creation
 * order. Inside a chain Docker sorts rules by rule group, keeping insertion order within a group.
 */
import type { FirewallConfig, BridgeNetworkConfig, PortBinding } from './bridge-firewall.ts';
import { isUnspecified, joinHostPort, parseFwMark } from './bridge-firewall.ts';
import { familyOfAddress, isLoopback } from './bindings.ts';

export type NftFamily = 'ip' | 'ip6';

interface NftChain {
  readonly name: string;
  /** `type filter hook forward priority filter; policy accept;` for base chains. */
  readonly base: string | null;
  /** Rule group → rules in insertion order. */
  readonly groups: Map<number, string[]>;
}

interface NftMap {
  readonly name: string;
  readonly elements: [string, string][];
}

export interface NftTableState {
  readonly family: NftFamily;
  readonly maps: NftMap[];
  readonly chains: NftChain[];
}

export interface NftStates {
  ip: NftTableState | null;
  ip6: NftTableState | null;
}

const FORWARD = 'filter-FORWARD';
const POSTROUTING = 'nat-POSTROUTING';
const PREROUTING = 'nat-PREROUTING';
const OUTPUT = 'nat-OUTPUT';
const NAT = 'nat-prerouting-and-output';
const RAW = 'raw-PREROUTING';
const FWD_IN_MAP = 'filter-forward-in-jumps';
const FWD_OUT_MAP = 'filter-forward-out-jumps';
const POST_OUT_MAP = 'nat-postrouting-out-jumps';
const POST_IN_MAP = 'nat-postrouting-in-jumps';

// Rule groups (moby nftabler.go).
const INITIAL = 0;
const FWD_IN_FWMARK = 1;
const FWD_IN_ICC = 3;
const FWD_IN_PORTS = 4;
const FWD_IN_FINAL = 5;
const RAW_PORTS = 1;

const COUNTER = 'counter packets 0 bytes 0';

function byName<T extends { readonly name: string }>(items: T[]): T[] {
  return items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function chainOf(t: NftTableState, name: string): NftChain {
  const c = t.chains.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no nftables chain ${name}`);
  return c;
}

function addRule(t: NftTableState, chain: string, group: number, rule: string): void {
  const c = chainOf(t, chain);
  const rules = c.groups.get(group) ?? [];
  if (!rules.includes(rule)) rules.push(rule);
  c.groups.set(group, rules);
}

function chain(name: string, base: string | null = null): NftChain {
  return { name, base, groups: new Map() };
}

function quote(ifName: string): string {
  return `"${ifName}"`;
}

/** `NewNftabler`: the table of each enabled family with its base chains and verdict maps. */
export function startNftabler(config: FirewallConfig): NftStates {
  const init = (family: NftFamily): NftTableState => {
    const t: NftTableState = {
      family,
      maps: byName(
        [FWD_IN_MAP, FWD_OUT_MAP, POST_OUT_MAP, POST_IN_MAP].map((name) => ({
          name,
          elements: [],
        })),
      ),
      chains: byName([
        chain(FORWARD, 'type filter hook forward priority filter; policy accept;'),
        chain(POSTROUTING, 'type nat hook postrouting priority srcnat; policy accept;'),
        chain(NAT),
        chain(PREROUTING, 'type nat hook prerouting priority dstnat; policy accept;'),
        chain(OUTPUT, 'type nat hook output priority dstnat; policy accept;'),
        chain(RAW, 'type filter hook prerouting priority raw; policy accept;'),
      ]),
    };
    addRule(t, FORWARD, INITIAL, `oifname vmap @${FWD_IN_MAP}`);
    addRule(t, FORWARD, INITIAL, `iifname vmap @${FWD_OUT_MAP}`);
    addRule(t, POSTROUTING, INITIAL, `iifname vmap @${POST_OUT_MAP}`);
    addRule(t, POSTROUTING, INITIAL, `oifname vmap @${POST_IN_MAP}`);
    addRule(t, PREROUTING, INITIAL, `fib daddr type local ${COUNTER} jump ${NAT}`);
    const skipLoopback = config.hairpin
      ? ''
      : family === 'ip'
        ? 'ip daddr != 127.0.0.0/8 '
        : 'ip6 daddr != ::1 ';
    addRule(t, OUTPUT, INITIAL, `${skipLoopback}fib daddr type local ${COUNTER} jump ${NAT}`);
    if (!config.hairpin && config.wsl2Mirrored && family === 'ip') {
      addRule(t, NAT, INITIAL, `iifname "loopback0" ip daddr 127.0.0.0/8 ${COUNTER} return`);
    }
    return t;
  };
  return { ip: config.ipv4 ? init('ip') : null, ip6: config.ipv6 ? init('ip6') : null };
}

function tables(states: NftStates): { t: NftTableState; v6: boolean }[] {
  const out: { t: NftTableState; v6: boolean }[] = [];
  if (states.ip !== null) out.push({ t: states.ip, v6: false });
  if (states.ip6 !== null) out.push({ t: states.ip6, v6: true });
  return out;
}

function fwdIn(br: string): string {
  return `filter-forward-in__${br}`;
}
function fwdOut(br: string): string {
  return `filter-forward-out__${br}`;
}
function postIn(br: string): string {
  return `nat-postrouting-in__${br}`;
}
function postOut(br: string): string {
  return `nat-postrouting-out__${br}`;
}

function addElement(t: NftTableState, map: string, key: string, value: string): void {
  const m = t.maps.find((x) => x.name === map);
  if (m !== undefined && !m.elements.some(([k]) => k === key)) m.elements.push([key, value]);
}

/** `nft list` prints marks as 0x%08x and a masked compare as `& mask == mark`. */
function nftMark(text: string): string | null {
  const m = parseFwMark(text);
  if (m === null) return null;
  const h = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
  return m.mask === null ? h(m.mark) : `& ${h(m.mask)} == ${h(m.mark)}`;
}

/** `NewNetwork`: the bridge's four chains, their verdict-map entries and rules. */
export function addNftablerNetwork(
  states: NftStates,
  config: FirewallConfig,
  net: BridgeNetworkConfig,
): void {
  for (const { t, v6 } of tables(states)) {
    const fam = v6 ? net.v6 : net.v4;
    if (fam.prefix === null) continue;
    const br = net.ifName;
    t.chains.push(
      ...byName([chain(fwdIn(br)), chain(fwdOut(br)), chain(postIn(br)), chain(postOut(br))]),
    );
    addElement(t, FWD_IN_MAP, br, `jump ${fwdIn(br)}`);
    addElement(t, FWD_OUT_MAP, br, `jump ${fwdOut(br)}`);
    addElement(t, POST_IN_MAP, br, `jump ${postIn(br)}`);
    addElement(t, POST_OUT_MAP, br, `jump ${postOut(br)}`);
    addRule(t, fwdIn(br), INITIAL, `ct state established,related ${COUNTER} accept`);
    addRule(t, fwdOut(br), INITIAL, `ct state established,related ${COUNTER} accept`);
    const icc = net.icc ? 'accept' : 'drop';
    if (net.internal) {
      addRule(
        t,
        fwdIn(br),
        INITIAL,
        `iifname != ${quote(br)} ${COUNTER} drop comment "INTERNAL NETWORK INGRESS"`,
      );
      addRule(
        t,
        fwdOut(br),
        INITIAL,
        `oifname != ${quote(br)} ${COUNTER} drop comment "INTERNAL NETWORK EGRESS"`,
      );
      addRule(t, fwdIn(br), FWD_IN_ICC, `${COUNTER} ${icc} comment "ICC"`);
      continue;
    }
    if (net.acceptFwMark !== null) {
      const mark = nftMark(net.acceptFwMark);
      if (mark !== null) {
        addRule(
          t,
          fwdIn(br),
          FWD_IN_FWMARK,
          `meta mark ${mark} ${COUNTER} accept comment "ALLOW FW MARK"`,
        );
      }
    }
    addRule(t, fwdIn(br), FWD_IN_ICC, `iifname ${quote(br)} ${COUNTER} ${icc} comment "ICC"`);
    addRule(t, fwdOut(br), INITIAL, `${COUNTER} accept comment "OUTGOING"`);
    addRule(
      t,
      fwdIn(br),
      FWD_IN_FINAL,
      fam.unprotected
        ? `${COUNTER} accept comment "UNPROTECTED"`
        : `${COUNTER} drop comment "UNPUBLISHED PORT DROP"`,
    );
    if (fam.routed) {
      const icmp = v6 ? 'meta l4proto ipv6-icmp' : 'ip protocol icmp';
      addRule(t, fwdIn(br), INITIAL, `${icmp} ${COUNTER} accept comment "ICMP"`);
    }
    const verdict = fam.hostIp === null ? 'masquerade' : `snat to ${fam.hostIp}`;
    const comment = fam.hostIp === null ? 'MASQUERADE' : 'SNAT';
    if (net.masquerade && !fam.routed) {
      addRule(
        t,
        postOut(br),
        INITIAL,
        `oifname != ${quote(br)} ${t.family} saddr ${fam.prefix} ${COUNTER} ${verdict} comment "${comment}"`,
      );
    }
    if (config.hairpin) {
      addRule(
        t,
        postIn(br),
        INITIAL,
        `fib saddr type local ${COUNTER} ${verdict} comment "${comment} FROM HOST"`,
      );
    }
  }
}

/** `AddEndpoint`: direct access to the container's addresses dropped in raw-PREROUTING. */
export function addNftablerEndpoint(
  states: NftStates,
  config: FirewallConfig,
  net: BridgeNetworkConfig,
  ipv4: string | null,
  ipv6: string | null,
): void {
  for (const { t, v6 } of tables(states)) {
    const address = v6 ? ipv6 : ipv4;
    const fam = v6 ? net.v6 : net.v4;
    if (address === null) continue;
    if (net.internal || fam.unprotected || fam.routed || config.allowDirectRouting) continue;
    const names = [net.ifName, ...net.trustedHostInterfaces].map(quote);
    const iif = names.length === 1 ? names[0] : `{ ${names.join(', ')} }`;
    addRule(
      t,
      RAW,
      RAW_PORTS,
      `${t.family} daddr ${address} iifname != ${iif} ${COUNTER} drop comment "DROP DIRECT ACCESS"`,
    );
  }
}

/** `AddPorts`: per-port accept, DNAT, hairpin masquerade and the remote-loopback drop. */
export function addNftablerPorts(
  states: NftStates,
  config: FirewallConfig,
  net: BridgeNetworkConfig,
  bindings: readonly PortBinding[],
): void {
  if (net.internal) return;
  for (const { t, v6 } of tables(states)) {
    const fam = v6 ? net.v6 : net.v4;
    if (fam.prefix === null) continue;
    const pbs = bindings.filter((b) => (familyOfAddress(b.containerIp) === 'ipv6') === v6);
    const sameFamily = (b: PortBinding) =>
      familyOfAddress(b.containerIp) === familyOfAddress(b.hostIp);
    if (!fam.unprotected) {
      for (const b of pbs) {
        addRule(
          t,
          fwdIn(net.ifName),
          FWD_IN_PORTS,
          `${t.family} daddr ${b.containerIp} ${b.protocol} dport ${b.containerPort} ${COUNTER} accept`,
        );
      }
    }
    for (const b of pbs) {
      if (b.hostPort === 0 || !sameFamily(b)) continue;
      const skip = config.hairpin ? '' : `iifname != ${quote(net.ifName)} `;
      const ll = v6 ? 'ip6 saddr != fe80::/10 ' : '';
      const daddr = isUnspecified(b.hostIp) ? '' : `${t.family} daddr ${b.hostIp} `;
      addRule(
        t,
        NAT,
        INITIAL,
        `${skip}${ll}${daddr}${b.protocol} dport ${b.hostPort} ${COUNTER} dnat to ${joinHostPort(b.containerIp, b.containerPort)} comment "DNAT"`,
      );
    }
    if (config.hairpin) {
      for (const b of pbs) {
        if (b.hostPort === 0 || !sameFamily(b)) continue;
        addRule(
          t,
          postIn(net.ifName),
          INITIAL,
          `${t.family} saddr ${b.containerIp} ${t.family} daddr ${b.containerIp} ${b.protocol} dport ${b.containerPort} ${COUNTER} masquerade comment "MASQ TO OWN PORT"`,
        );
      }
    }
    if (v6) continue;
    for (const b of pbs) {
      if (b.hostPort === 0 || !isLoopback(b.hostIp) || familyOfAddress(b.hostIp) !== 'ipv4') {
        continue;
      }
      if (config.wsl2Mirrored) {
        addRule(
          t,
          RAW,
          RAW_PORTS,
          `iifname "loopback0" ip daddr ${b.hostIp} ${b.protocol} dport ${b.hostPort} ${COUNTER} accept comment "ACCEPT WSL2 LOOPBACK"`,
        );
      }
      addRule(
        t,
        RAW,
        RAW_PORTS,
        `iifname != "lo" ip daddr ${b.hostIp} ${b.protocol} dport ${b.hostPort} ${COUNTER} drop comment "DROP REMOTE LOOPBACK"`,
      );
    }
  }
}

/** `nft list table <family> docker-bridges` text of one table. */
export function renderNftTable(t: NftTableState): string {
  const blocks: string[] = [];
  for (const m of t.maps) {
    const lines = [`\tmap ${m.name} {`, '\t\ttype ifname : verdict'];
    if (m.elements.length > 0) {
      const items = m.elements.map(([k, v]) => `${quote(k)} : ${v}`);
      lines.push(`\t\telements = { ${items.join(',\n\t\t\t     ')} }`);
    }
    lines.push('\t}');
    blocks.push(lines.join('\n'));
  }
  for (const c of t.chains) {
    const lines = [`\tchain ${c.name} {`];
    if (c.base !== null) lines.push(`\t\t${c.base}`);
    const groups = [...c.groups.keys()].sort((a, b) => a - b);
    for (const g of groups) for (const r of c.groups.get(g) ?? []) lines.push(`\t\t${r}`);
    lines.push('\t}');
    blocks.push(lines.join('\n'));
  }
  return `table ${t.family} docker-bridges {\n${blocks.join('\n\n')}\n}\n`;
}
