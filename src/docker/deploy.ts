/**
 * The rules a host has once Docker has (started and) created some networks and started some
 * containers: dockerd's sequence of firewall steps for the layout of its version — driver start,
 * FORWARD policy, DOCKER-USER, the default bridge, then each network, each container's endpoints,
 * published ports and legacy links — applied on top of the host's own rules.
 *
 * iptables layouts are applied to the base rules, so the operator's rules keep their places and
 * Docker's inserts and appends land where dockerd would put them. Docker's nftables tables belong
 * to Docker alone and are rebuilt whole: the base networks and containers first (in the order
 * given), then the new ones.
 */
import type { Container, DaemonConfig, Network } from '../model/host.ts';
import type { Family, Ruleset } from '../model/ruleset.ts';
import type {
  BindingProtocol,
  BridgeNetworkConfig,
  FamilyNetworkConfig,
  FamilyStates,
  FirewallConfig,
  PortBinding,
} from './bridge-firewall.ts';
import {
  addClassicNetwork,
  addClassicPorts,
  arrangeClassicUserChain,
  startClassic,
} from './iptables-classic.ts';
import type { IptablesState } from './iptables-state.ts';
import {
  append,
  emptyState,
  ensureJump,
  exists,
  newChain,
  remove,
  renderIptablesSave,
  setPolicy,
  stateFromRuleset,
} from './iptables-state.ts';
import type { IptablerVersion } from './iptabler.ts';
import {
  addIptablerEndpoint,
  addIptablerNetwork,
  addIptablerPorts,
  startIptabler,
} from './iptabler.ts';
import type { NftStates } from './nftabler.ts';
import {
  addNftablerEndpoint,
  addNftablerNetwork,
  addNftablerPorts,
  renderNftTable,
  startNftabler,
} from './nftabler.ts';
import { addLinkRules } from './iptables-shapes.ts';
import { publishingEndpoint } from './topology.ts';
import type { DockerVersion } from './version.ts';
import { atLeast } from './version.ts';

/** The rule layouts Docker can write, by who writes them. */
export type SynthesisLayout = 'none' | 'classic' | 'v28' | 'v29' | 'nftables';

/** A legacy `--link` from this container (the parent) to another on the default bridge. */
export interface LegacyLink {
  readonly childIp: string;
  readonly ports: readonly { readonly port: number; readonly protocol: string }[];
}

export interface DeployedContainer {
  readonly container: Container;
  readonly links: readonly LegacyLink[];
}

export interface DeployInput {
  readonly layout: SynthesisLayout;
  readonly version: DockerVersion;
  readonly daemon: DaemonConfig;
  /** The host's rules before (either may be absent). */
  readonly base: { readonly ipv4: Ruleset | null; readonly ipv6: Ruleset | null };
  /** True when Docker's chains are not in the base rules: dockerd starts as part of the plan. */
  readonly startDaemon: boolean;
  /** net.ipv4.ip_forward / net.ipv6.conf.all.forwarding before dockerd touched them. */
  readonly forwardingBefore: { readonly ipv4: boolean | null; readonly ipv6: boolean | null };
  /** Networks and containers already on the host (the nftables tables are rebuilt from them). */
  readonly existingNetworks: readonly Network[];
  readonly existingContainers: readonly DeployedContainer[];
  /** Containers on the host that are removed first (replaced by the plan): their rules go. */
  readonly removedContainers: readonly DeployedContainer[];
  /** Networks created, in order (with `startDaemon`, the default bridge first). */
  readonly networks: readonly Network[];
  /** Containers started, in order. */
  readonly containers: readonly DeployedContainer[];
}

export interface DeployResult {
  /** iptables-save / ip6tables-save text (null when the base had none and Docker wrote none). */
  readonly ipv4: string | null;
  readonly ipv6: string | null;
  /** `nft list table` text of Docker's tables, for the nftables layout. */
  readonly nft: string | null;
}

export function firewallConfigOf(daemon: DaemonConfig): FirewallConfig {
  return {
    ipv4: daemon.iptables.value,
    ipv6: daemon.iptables.value && daemon.ip6tables.value,
    hairpin: !daemon.userlandProxy.value,
    allowDirectRouting: daemon.allowDirectRouting.value,
    wsl2Mirrored: false,
  };
}

const OPT = 'com.docker.network.';

function familyConfig(network: Network, family: Family): FamilyNetworkConfig {
  const subnet = network.subnets.find((s) => s.family === family);
  const enabled = family === 'ipv4' ? network.enableIPv4 : network.enableIPv6;
  const mode = family === 'ipv4' ? network.gatewayModeV4 : network.gatewayModeV6;
  const host = network.options[`${OPT}host_${family}`];
  return {
    prefix: subnet !== undefined && enabled ? subnet.cidr : null,
    hostIp: host === undefined || host === '' ? null : host,
    routed: mode === 'routed',
    unprotected: mode === 'nat-unprotected',
  };
}

/** A bridge network as the driver's firewall code sees it. */
export function bridgeConfigOf(network: Network, daemon: DaemonConfig): BridgeNetworkConfig {
  const trusted = network.options[`${OPT}bridge.trusted_host_interfaces`];
  return {
    ifName: network.bridgeName ?? '',
    internal: network.internal,
    icc: network.icc,
    masquerade: network.masquerade,
    trustedHostInterfaces: trusted === undefined || trusted === '' ? [] : trusted.split(':'),
    acceptFwMark: daemon.bridgeAcceptFwmark.value,
    v4: familyConfig(network, 'ipv4'),
    v6: familyConfig(network, 'ipv6'),
  };
}

/** moby's `PortBindingReq.Compare`: NATed before routed, then container port, protocol, host port, host IP. */
function compareBindings(a: PortBinding, b: PortBinding): number {
  const mapper = (x: PortBinding) => (x.hostPort === 0 ? 1 : 0);
  const proto: Record<BindingProtocol, number> = { tcp: 0, udp: 1, sctp: 2 };
  const ip = (x: string) => (x.includes(':') ? `1${x}` : `0${x}`);
  return (
    mapper(a) - mapper(b) ||
    a.containerPort - b.containerPort ||
    proto[a.protocol] - proto[b.protocol] ||
    a.hostPort - b.hostPort ||
    compareAddresses(ip(a.hostIp), ip(b.hostIp)) ||
    compareAddresses(a.containerIp, b.containerIp)
  );
}

function compareAddresses(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The bindings the driver programs for a container's published ports, in Docker's order. */
export function portBindingsOf(container: Container): PortBinding[] {
  const endpoint = publishingEndpoint(container);
  if (endpoint === undefined) return [];
  const out: PortBinding[] = [];
  for (const p of container.published) {
    const v6Host = p.hostIp.includes(':');
    // A host-IPv6 binding goes to the container's IPv6 address, or through docker-proxy to IPv4.
    const containerIp = v6Host ? (endpoint.ipv6 ?? endpoint.ipv4) : endpoint.ipv4;
    if (containerIp === null) continue;
    out.push({
      protocol: p.protocol,
      containerIp,
      containerPort: p.containerPort,
      hostIp: p.hostIp,
      hostPort: p.hostPort ?? 0,
    });
  }
  return out.sort(compareBindings);
}

interface Programmer {
  network(net: BridgeNetworkConfig): void;
  endpoint(net: BridgeNetworkConfig, ipv4: string | null, ipv6: string | null): void;
  ports(net: BridgeNetworkConfig, bindings: readonly PortBinding[]): void;
  link(net: BridgeNetworkConfig, parentIp: string, link: LegacyLink): void;
}

function iptablerVersion(layout: 'v28' | 'v29', version: DockerVersion): IptablerVersion {
  return { era: layout, perEndpointDirectAccess: atLeast(version, 28, 2) };
}

/** DOCKER-USER of 28+/29: created, (before 28.2.2 ending in RETURN) and jumped to first. */
function userChain(state: IptablesState, version: DockerVersion): void {
  newChain(state, 'filter', 'DOCKER-USER');
  if (!atLeast(version, 28, 2, 2) && !exists(state, 'filter', 'DOCKER-USER', '-j RETURN')) {
    append(state, 'filter', 'DOCKER-USER', '-j RETURN');
  }
  ensureJump(state, 'filter', 'FORWARD', 'DOCKER-USER');
}

function iptablesProgrammer(
  input: DeployInput,
  states: FamilyStates,
  fw: FirewallConfig,
): Programmer {
  const { version, daemon } = input;
  const forwarding = { ...input.forwardingBefore };
  const noDrop = daemon.ipForwardNoDrop.value || !daemon.ipForward.value;
  if (input.layout === 'classic') {
    // ≤22: DOCKER-USER only in IPv4; from 23.0 in every family iptables is enabled for.
    const userStates = [
      ...(fw.ipv4 ? [states.ipv4] : []),
      ...(fw.ipv6 && atLeast(version, 23) ? [states.ipv6] : []),
    ];
    if (input.startDaemon) {
      startClassic(states, fw);
      if (daemon.ipForward.value) {
        if (forwarding.ipv4 === false && fw.ipv4)
          setPolicy(states.ipv4, 'filter', 'FORWARD', 'DROP');
        // ≤27 set the IPv6 FORWARD policy to DROP whenever ip6tables was on.
        if (fw.ipv6) setPolicy(states.ipv6, 'filter', 'FORWARD', 'DROP');
      }
      userStates.forEach(arrangeClassicUserChain);
    }
    return {
      network: (net) => {
        addClassicNetwork(states, fw, net);
        userStates.forEach(arrangeClassicUserChain);
      },
      endpoint: () => {},
      ports: (net, bindings) => addClassicPorts(states, fw, net, bindings),
      link: (net, parentIp, l) => addLinkRules(states, fw, net, parentIp, l.childIp, l.ports),
    };
  }
  const v = iptablerVersion(input.layout === 'v28' ? 'v28' : 'v29', version);
  if (input.startDaemon) {
    startIptabler(states, fw, v);
    if (fw.ipv4) userChain(states.ipv4, version);
    if (fw.ipv6) userChain(states.ipv6, version);
  }
  return {
    network: (net) => {
      // 28+: forwarding is switched on per network, with a DROP policy if Docker switched it.
      if (daemon.ipForward.value && net.v4.prefix !== null && forwarding.ipv4 === false) {
        if (fw.ipv4 && !noDrop) setPolicy(states.ipv4, 'filter', 'FORWARD', 'DROP');
        forwarding.ipv4 = true;
      }
      if (daemon.ipForward.value && net.v6.prefix !== null && forwarding.ipv6 === false) {
        if (fw.ipv6 && !noDrop) setPolicy(states.ipv6, 'filter', 'FORWARD', 'DROP');
        forwarding.ipv6 = true;
      }
      addIptablerNetwork(states, fw, net, v);
    },
    endpoint: (net, ipv4, ipv6) => addIptablerEndpoint(states, fw, net, ipv4, ipv6, v),
    ports: (net, bindings) => addIptablerPorts(states, fw, net, bindings, v),
    link: (net, parentIp, l) => addLinkRules(states, fw, net, parentIp, l.childIp, l.ports),
  };
}

function nftProgrammer(nft: NftStates, fw: FirewallConfig): Programmer {
  return {
    network: (net) => addNftablerNetwork(nft, fw, net),
    endpoint: (net, ipv4, ipv6) => addNftablerEndpoint(nft, fw, net, ipv4, ipv6),
    ports: (net, bindings) => addNftablerPorts(nft, fw, net, bindings),
    // Legacy links are not synthesised for the nftables backend.
    link: () => {},
  };
}

function runContainers(
  containers: readonly DeployedContainer[],
  bridges: ReadonlyMap<string, BridgeNetworkConfig>,
  p: Programmer,
): void {
  for (const { container, links } of containers) {
    if (!container.running) continue;
    for (const e of container.endpoints) {
      const net = bridges.get(e.network);
      if (net !== undefined) p.endpoint(net, e.ipv4, e.ipv6);
    }
    const gateway = publishingEndpoint(container);
    const net = gateway === undefined ? undefined : bridges.get(gateway.network);
    if (gateway === undefined || net === undefined) continue;
    p.ports(net, portBindingsOf(container));
    if (gateway.ipv4 !== null) for (const l of links) p.link(net, gateway.ipv4, l);
  }
}

/**
 * A removed container's rules are the ones its endpoints, ports and links added (Docker deletes
 * exactly those): replayed on empty tables, then deleted from the host's.
 */
function removeContainerRules(
  input: DeployInput,
  states: FamilyStates,
  fw: FirewallConfig,
  bridges: ReadonlyMap<string, BridgeNetworkConfig>,
): void {
  if (input.removedContainers.length === 0) return;
  const scratch: FamilyStates = { ipv4: emptyState('ipv4'), ipv6: emptyState('ipv6') };
  const p = iptablesProgrammer({ ...input, startDaemon: false }, scratch, fw);
  runContainers(input.removedContainers, bridges, p);
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const t of scratch[family].tables) {
      for (const c of t.chains) for (const r of c.rules) remove(states[family], t.name, c.name, r);
    }
  }
}

function bridgeMap(networks: readonly Network[], daemon: DaemonConfig) {
  return new Map(
    networks
      .filter((n) => n.driver === 'bridge' && n.bridgeName !== null)
      .map((n) => [n.name, bridgeConfigOf(n, daemon)] as const),
  );
}

export function deployRules(input: DeployInput): DeployResult {
  const fw = firewallConfigOf(input.daemon);
  const states: FamilyStates = {
    ipv4: input.base.ipv4 === null ? emptyState('ipv4') : stateFromRuleset(input.base.ipv4),
    ipv6: input.base.ipv6 === null ? emptyState('ipv6') : stateFromRuleset(input.base.ipv6),
  };
  const all = [...input.existingNetworks, ...input.networks];
  const bridges = bridgeMap(all, input.daemon);
  const bridgeOf = (n: Network) => bridges.get(n.name);
  let nft: string | null = null;
  if (input.layout === 'classic' || input.layout === 'v28' || input.layout === 'v29') {
    removeContainerRules(input, states, fw, bridges);
    const p = iptablesProgrammer(input, states, fw);
    for (const n of input.networks) {
      const net = bridgeOf(n);
      if (net !== undefined) p.network(net);
    }
    runContainers(input.containers, bridges, p);
  } else if (input.layout === 'nftables') {
    const tables = startNftabler(fw);
    const p = nftProgrammer(tables, fw);
    for (const n of all) {
      const net = bridgeOf(n);
      if (net !== undefined) p.network(net);
    }
    runContainers([...input.existingContainers, ...input.containers], bridges, p);
    nft = [tables.ip, tables.ip6].flatMap((t) => (t === null ? [] : [renderNftTable(t)])).join('');
  }
  const text = (s: IptablesState, before: Ruleset | null) =>
    before === null && s.tables.length === 0 ? null : renderIptablesSave(s);
  return {
    ipv4: text(states.ipv4, input.base.ipv4),
    ipv6: text(states.ipv6, input.base.ipv6),
    nft,
  };
}
