/**
 * The iptables rules Docker ≤27 writes (the bridge driver's `setupIPChains`, `setupIPTables`,
 * `ProgramChain`, `setINC` and the per-port `Forward` rules): everything lives in FORWARD, the
 * DOCKER chains and DOCKER-ISOLATION-STAGE-1/2; most network rules are inserted at the top, so the
 * newest network's block comes first. Applied to an `IptablesState` in dockerd's order.
 */
import type {
  BridgeNetworkConfig,
  FamilyNetworkConfig,
  FamilyStates,
  FirewallConfig,
  PortBinding,
} from './bridge-firewall.ts';
import { familyOfAddress } from './bindings.ts';
import type { IptablesState } from './iptables-state.ts';
import { append, canonicalRule, ensureJump, exists, insert, newChain } from './iptables-state.ts';
import {
  dnatRule,
  enabledFamilies,
  hairpinMasqueradeRule,
  natJumpRules,
  openPortRule,
} from './iptables-shapes.ts';

const ISOLATION_1 = 'DOCKER-ISOLATION-STAGE-1';
const ISOLATION_2 = 'DOCKER-ISOLATION-STAGE-2';

/** `setupIPChains`: DOCKER in nat and filter, the isolation chains ending in RETURN. */
export function startClassic(states: FamilyStates, config: FirewallConfig): void {
  for (const { state, v6 } of enabledFamilies(states, config)) {
    newChain(state, 'nat', 'DOCKER');
    newChain(state, 'filter', 'DOCKER');
    newChain(state, 'filter', ISOLATION_1);
    newChain(state, 'filter', ISOLATION_2);
    append(state, 'filter', ISOLATION_1, '-j RETURN');
    append(state, 'filter', ISOLATION_2, '-j RETURN');
    if (!v6 && !config.hairpin && config.wsl2Mirrored) {
      insert(state, 'nat', 'DOCKER', '-d 127.0.0.0/8 -i loopback0 -j RETURN');
    }
  }
}

/**
 * A network's rules: per family it has a subnet in (`setupIP4Tables` / `setupIP6Tables`), then
 * the inter-network isolation rules (`setINC`) for every family iptables is enabled for — even
 * one the network has no subnet in, as dockerd does.
 */
export function addClassicNetwork(
  states: FamilyStates,
  config: FirewallConfig,
  net: BridgeNetworkConfig,
): void {
  for (const { state, v6 } of enabledFamilies(states, config)) {
    const fam = v6 ? net.v6 : net.v4;
    if (fam.prefix === null) continue;
    if (net.internal) internalRules(state, net, fam.prefix, v6);
    else externalRules(state, config, net, fam, v6);
    ensureJump(state, 'filter', 'FORWARD', ISOLATION_1);
  }
  if (net.internal) return;
  // IPv6 first, as isolateNetwork does.
  for (const { state } of [...enabledFamilies(states, config)].reverse()) {
    insert(
      state,
      'filter',
      ISOLATION_1,
      canonicalRule({ i: net.ifName, o: `!${net.ifName}` }, `-j ${ISOLATION_2}`),
    );
    insert(state, 'filter', ISOLATION_2, canonicalRule({ o: net.ifName }, '-j DROP'));
  }
}

function setIcc(state: IptablesState, br: string, icc: boolean): void {
  if (icc) insert(state, 'filter', 'FORWARD', canonicalRule({ i: br, o: br }, '-j ACCEPT'));
  else append(state, 'filter', 'FORWARD', canonicalRule({ i: br, o: br }, '-j DROP'));
}

function internalRules(
  state: IptablesState,
  net: BridgeNetworkConfig,
  prefix: string,
  v6: boolean,
) {
  const br = net.ifName;
  const inDrop = v6
    ? canonicalRule({ d: `!${prefix}`, i: br, o: `!${br}` }, '-j DROP')
    : canonicalRule({ d: `!${prefix}`, i: br }, '-j DROP');
  const outDrop = v6
    ? canonicalRule({ s: `!${prefix}`, i: `!${br}`, o: br }, '-j DROP')
    : canonicalRule({ s: `!${prefix}`, o: br }, '-j DROP');
  insert(state, 'filter', ISOLATION_1, inDrop);
  insert(state, 'filter', ISOLATION_1, outDrop);
  setIcc(state, br, net.icc);
}

function externalRules(
  state: IptablesState,
  config: FirewallConfig,
  net: BridgeNetworkConfig,
  fam: FamilyNetworkConfig,
  v6: boolean,
): void {
  const br = net.ifName;
  const target = fam.hostIp === null ? '-j MASQUERADE' : `-j SNAT --to-source ${fam.hostIp}`;
  if (!fam.routed && net.masquerade) {
    insert(
      state,
      'nat',
      'POSTROUTING',
      canonicalRule({ s: fam.prefix ?? '', o: `!${br}` }, target),
    );
    if (!config.hairpin) insert(state, 'nat', 'DOCKER', canonicalRule({ i: br }, '-j RETURN'));
  }
  if (config.hairpin) {
    insert(
      state,
      'nat',
      'POSTROUTING',
      canonicalRule({ o: br }, `-m addrtype --src-type LOCAL ${target}`),
    );
  }
  setIcc(state, br, net.icc);
  insert(state, 'filter', 'FORWARD', canonicalRule({ i: br, o: `!${br}` }, '-j ACCEPT'));
  // ProgramChain (nat): the PREROUTING and OUTPUT jumps, once.
  natJumpRules(state, config.hairpin, v6);
  // ProgramChain (filter): the bridge's jump to DOCKER, then its conntrack ACCEPT above it.
  insert(state, 'filter', 'FORWARD', canonicalRule({ o: br }, '-j DOCKER'));
  insert(
    state,
    'filter',
    'FORWARD',
    canonicalRule({ o: br }, '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'),
  );
}

/** Per-port rules, all appended: DNAT, the container's hairpin MASQUERADE, the ACCEPT. */
export function addClassicPorts(
  states: FamilyStates,
  config: FirewallConfig,
  net: BridgeNetworkConfig,
  bindings: readonly PortBinding[],
): void {
  for (const b of bindings) {
    const v6 = familyOfAddress(b.containerIp) === 'ipv6';
    // A host-IPv6 → container-IPv4 binding is served by docker-proxy: no rules.
    if (familyOfAddress(b.hostIp) !== familyOfAddress(b.containerIp)) continue;
    if (!(v6 ? config.ipv6 : config.ipv4)) continue;
    const state = v6 ? states.ipv6 : states.ipv4;
    if (b.hostPort !== 0) {
      const dnat = dnatRule(b, net.ifName, { hairpin: config.hairpin, skipLinkLocal: false });
      append(state, 'nat', 'DOCKER', dnat);
      // ≤27 masquerades a container's hairpin to its own port whether or not the proxy runs.
      append(state, 'nat', 'POSTROUTING', hairpinMasqueradeRule(b));
    }
    append(state, 'filter', 'DOCKER', openPortRule(b, net.ifName));
  }
}

/**
 * `arrangeUserFilterRule`, run at start and after every network: DOCKER-USER ending in RETURN
 * and jumped to first from FORWARD. Only in IPv4 before 23.0.
 */
export function arrangeClassicUserChain(state: IptablesState): void {
  newChain(state, 'filter', 'DOCKER-USER');
  if (!exists(state, 'filter', 'DOCKER-USER', '-j RETURN')) {
    append(state, 'filter', 'DOCKER-USER', '-j RETURN');
  }
  ensureJump(state, 'filter', 'FORWARD', 'DOCKER-USER');
}
