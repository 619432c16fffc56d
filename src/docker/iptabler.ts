/**
 * The iptables rules Docker 28.x and 29.x write (moby's `iptabler`, 28.0.1 onwards): chains set
 * up when the bridge driver starts, per-network rules, per-endpoint raw rules, per-port rules and
 * legacy links, each applied to an `IptablesState` with the same operation (append, insert at the
 * top, ensure-jump) dockerd uses, so the resulting order is Docker's.
 *
 * What differs between the two eras is said where it happens: 28.x keeps the
 * DOCKER-ISOLATION-STAGE-1/2 chains and the nat `-i <bridge> -j RETURN` rules and drops
 * internal-network traffic in STAGE-1; 29.x has DOCKER-INTERNAL instead and the
 * `bridge-accept-fwmark` rule. Before 28.2.0 direct access was dropped per published port,
 * from 28.2.0 per endpoint.
 */
import type {
  BridgeNetworkConfig,
  FamilyNetworkConfig,
  FamilyStates,
  FirewallConfig,
  PortBinding,
} from './bridge-firewall.ts';
import { parseFwMark } from './bridge-firewall.ts';
import { familyOfAddress, isLoopback } from './bindings.ts';
import type { IptablesState } from './iptables-state.ts';
import {
  dnatRule,
  enabledFamilies,
  hairpinMasqueradeRule,
  natJumpRules,
  openPortRule,
} from './iptables-shapes.ts';
import {
  append,
  canonicalRule,
  ensureJump,
  insert,
  newChain,
  portMatch,
} from './iptables-state.ts';

export interface IptablerVersion {
  readonly era: 'v28' | 'v29';
  /** 28.2.0+: direct access dropped per endpoint (before: per published port). */
  readonly perEndpointDirectAccess: boolean;
}

const ISOLATION_1 = 'DOCKER-ISOLATION-STAGE-1';
const ISOLATION_2 = 'DOCKER-ISOLATION-STAGE-2';
const INTERNAL = 'DOCKER-INTERNAL';

/** `setupIPChains`: the chains and jumps the bridge driver creates when it starts. */
export function startIptabler(
  states: FamilyStates,
  config: FirewallConfig,
  version: IptablerVersion,
): void {
  for (const { state, v6 } of enabledFamilies(states, config)) {
    newChain(state, 'nat', 'DOCKER');
    for (const chain of ['DOCKER', 'DOCKER-FORWARD', 'DOCKER-BRIDGE', 'DOCKER-CT']) {
      newChain(state, 'filter', chain);
    }
    const middle = version.era === 'v29' ? [INTERNAL] : [ISOLATION_1, ISOLATION_2];
    for (const chain of middle) newChain(state, 'filter', chain);
    natJumpRules(state, config.hairpin, v6);
    // Re-inserted at the top in reverse order: CT, then INTERNAL / STAGE-1, then BRIDGE.
    ensureJump(state, 'filter', 'FORWARD', 'DOCKER-FORWARD');
    ensureJump(state, 'filter', 'DOCKER-FORWARD', 'DOCKER-BRIDGE');
    ensureJump(state, 'filter', 'DOCKER-FORWARD', version.era === 'v29' ? INTERNAL : ISOLATION_1);
    ensureJump(state, 'filter', 'DOCKER-FORWARD', 'DOCKER-CT');
    if (!v6 && !config.hairpin && config.wsl2Mirrored) {
      insert(state, 'nat', 'DOCKER', '-d 127.0.0.0/8 -i loopback0 -j RETURN');
    }
  }
}

function familyConfig(net: BridgeNetworkConfig, v6: boolean): FamilyNetworkConfig {
  return v6 ? net.v6 : net.v4;
}

/** `NewNetwork`: the network-level rules, per family the network has a subnet in. */
export function addIptablerNetwork(
  states: FamilyStates,
  config: FirewallConfig,
  net: BridgeNetworkConfig,
  version: IptablerVersion,
): void {
  for (const { state, v6 } of enabledFamilies(states, config)) {
    const fam = familyConfig(net, v6);
    if (fam.prefix === null) continue;
    if (net.internal) internalNetworkRules(state, net, fam.prefix, v6, version);
    else externalNetworkRules(state, config, net, fam, v6, version);
  }
}

function internalNetworkRules(
  state: IptablesState,
  net: BridgeNetworkConfig,
  prefix: string,
  v6: boolean,
  version: IptablerVersion,
): void {
  const br = net.ifName;
  const chain = version.era === 'v29' ? INTERNAL : ISOLATION_1;
  const inDrop = v6
    ? canonicalRule({ d: `!${prefix}`, i: br, o: `!${br}` }, '-j DROP')
    : canonicalRule({ d: `!${prefix}`, i: br }, '-j DROP');
  const outDrop = v6
    ? canonicalRule({ s: `!${prefix}`, i: `!${br}`, o: br }, '-j DROP')
    : canonicalRule({ s: `!${prefix}`, o: br }, '-j DROP');
  insert(state, 'filter', chain, inDrop);
  insert(state, 'filter', chain, outDrop);
  // An internal network has no outgoing rule, so ICC needs its own ACCEPT.
  append(state, 'filter', 'DOCKER-FORWARD', iccRule(br, net.icc));
}

function iccRule(br: string, icc: boolean): string {
  return canonicalRule({ i: br, o: br }, icc ? '-j ACCEPT' : '-j DROP');
}

function natTarget(fam: FamilyNetworkConfig): string {
  return fam.hostIp === null ? '-j MASQUERADE' : `-j SNAT --to-source ${fam.hostIp}`;
}

function externalNetworkRules(
  state: IptablesState,
  config: FirewallConfig,
  net: BridgeNetworkConfig,
  fam: FamilyNetworkConfig,
  v6: boolean,
  version: IptablerVersion,
): void {
  const br = net.ifName;
  const prefix = fam.prefix ?? '';
  if (version.era === 'v29' && net.acceptFwMark !== null) {
    const m = parseFwMark(net.acceptFwMark);
    if (m !== null) {
      // iptables-save prints marks in hex whatever Docker passed.
      const mark = m.mask === null ? `0x${hex(m.mark)}` : `0x${hex(m.mark)}/0x${hex(m.mask)}`;
      insert(state, 'filter', 'DOCKER-FORWARD', `-m mark --mark ${mark} -j ACCEPT`);
    }
  }
  if (net.masquerade) {
    if (!fam.routed) {
      insert(
        state,
        'nat',
        'POSTROUTING',
        canonicalRule({ s: prefix, o: `!${br}` }, natTarget(fam)),
      );
    }
    // 28.x: with the userland proxy, traffic from the bridge skips DNAT (docker-proxy serves it).
    if (version.era === 'v28' && !config.hairpin) {
      insert(state, 'nat', 'DOCKER', canonicalRule({ i: br }, '-j RETURN'));
    }
  }
  if (config.hairpin) {
    insert(
      state,
      'nat',
      'POSTROUTING',
      canonicalRule({ o: br }, `-m addrtype --src-type LOCAL ${natTarget(fam)}`),
    );
  }
  if (!net.icc) append(state, 'filter', 'DOCKER-FORWARD', iccRule(br, false));
  if (fam.routed) {
    append(
      state,
      'filter',
      'DOCKER',
      canonicalRule({ o: br, p: v6 ? 'ipv6-icmp' : 'icmp' }, '-j ACCEPT'),
    );
  }
  append(
    state,
    'filter',
    'DOCKER-FORWARD',
    net.icc
      ? canonicalRule({ i: br }, '-j ACCEPT')
      : canonicalRule({ i: br, o: `!${br}` }, '-j ACCEPT'),
  );
  append(
    state,
    'filter',
    'DOCKER',
    canonicalRule({ i: `!${br}`, o: br }, fam.unprotected ? '-j ACCEPT' : '-j DROP'),
  );
  append(
    state,
    'filter',
    'DOCKER-CT',
    canonicalRule({ o: br }, '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'),
  );
  append(state, 'filter', 'DOCKER-BRIDGE', canonicalRule({ o: br }, '-j DOCKER'));
  if (version.era === 'v28') {
    // Inter-network isolation (removed in 29.0).
    if (fam.routed) {
      insert(state, 'filter', ISOLATION_1, canonicalRule({ o: br }, '-j RETURN'));
      insert(
        state,
        'filter',
        ISOLATION_1,
        canonicalRule({ i: br }, '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'),
      );
    }
    append(
      state,
      'filter',
      ISOLATION_1,
      canonicalRule({ i: br, o: `!${br}` }, `-j ${ISOLATION_2}`),
    );
    insert(state, 'filter', ISOLATION_2, canonicalRule({ o: br }, '-j DROP'));
  }
}

function hex(n: number): string {
  return n.toString(16);
}

/** Raw-table DROP of packets addressed straight to a container, unless they come in on its bridge. */
function directAccessRules(
  state: IptablesState,
  config: FirewallConfig,
  net: BridgeNetworkConfig,
  address: string,
): void {
  for (const trusted of net.trustedHostInterfaces) {
    append(state, 'raw', 'PREROUTING', canonicalRule({ d: address, i: trusted }, '-j ACCEPT'));
  }
  if (config.allowDirectRouting) return;
  append(state, 'raw', 'PREROUTING', canonicalRule({ d: address, i: `!${net.ifName}` }, '-j DROP'));
}

/** `AddEndpoint`: from 28.2.0, direct access to the container's addresses is dropped in raw. */
export function addIptablerEndpoint(
  states: FamilyStates,
  config: FirewallConfig,
  net: BridgeNetworkConfig,
  ipv4: string | null,
  ipv6: string | null,
  version: IptablerVersion,
): void {
  if (!version.perEndpointDirectAccess) return;
  for (const [address, v6] of [
    [ipv4, false],
    [ipv6, true],
  ] as const) {
    if (address === null || !(v6 ? config.ipv6 : config.ipv4)) continue;
    const fam = familyConfig(net, v6);
    if (net.internal || fam.unprotected || fam.routed) continue;
    directAccessRules(v6 ? states.ipv6 : states.ipv4, config, net, address);
  }
}

/** `AddPorts`: DNAT, hairpin MASQUERADE, per-port ACCEPT and the raw loopback DROP. */
export function addIptablerPorts(
  states: FamilyStates,
  config: FirewallConfig,
  net: BridgeNetworkConfig,
  bindings: readonly PortBinding[],
  version: IptablerVersion,
): void {
  for (const b of bindings) {
    const v6 = familyOfAddress(b.containerIp) === 'ipv6';
    if (!(v6 ? config.ipv6 : config.ipv4) || net.internal) continue;
    const fam = familyConfig(net, v6);
    const state = v6 ? states.ipv6 : states.ipv4;
    const port = (n: number) => portMatch(b.protocol, 'dport', n);
    if (b.hostPort !== 0 && isLoopback(b.hostIp) && familyOfAddress(b.hostIp) === 'ipv4') {
      if (config.wsl2Mirrored) {
        append(
          states.ipv4,
          'raw',
          'PREROUTING',
          canonicalRule(
            { d: b.hostIp, i: 'loopback0', p: b.protocol },
            `${port(b.hostPort)} -j ACCEPT`,
          ),
        );
      }
      append(
        states.ipv4,
        'raw',
        'PREROUTING',
        canonicalRule({ d: b.hostIp, i: '!lo', p: b.protocol }, `${port(b.hostPort)} -j DROP`),
      );
    }
    if (!version.perEndpointDirectAccess && !fam.unprotected && !fam.routed) {
      append(
        state,
        'raw',
        'PREROUTING',
        canonicalRule(
          { d: b.containerIp, i: `!${net.ifName}`, p: b.protocol },
          `${port(b.containerPort)} -j DROP`,
        ),
      );
    }
    // A host-IPv6 → container-IPv4 binding is served by docker-proxy: no rules.
    if (familyOfAddress(b.containerIp) !== familyOfAddress(b.hostIp)) continue;
    if (b.hostPort !== 0) {
      const dnat = dnatRule(b, net.ifName, { hairpin: config.hairpin, skipLinkLocal: v6 });
      append(state, 'nat', 'DOCKER', dnat);
      if (config.hairpin) append(state, 'nat', 'POSTROUTING', hairpinMasqueradeRule(b));
    }
    if (!fam.unprotected) insert(state, 'filter', 'DOCKER', openPortRule(b, net.ifName));
  }
}
