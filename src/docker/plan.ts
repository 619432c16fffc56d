/**
 * `dockwall plan`: the host a Compose project leaves behind. From a base snapshot (the host as
 * collected, or a fresh host), the Compose project and the daemon configuration it will run with:
 * the engine version and rule layout, dockerd's start when Docker is not running yet, the
 * project's networks and containers, and the rules Docker adds for them merged into the host's
 * own. Everything the plan had to choose or guess is returned as an assumption.
 */
import type { ComposeProject } from '../model/compose.ts';
import type { Diagnostic } from '../model/diagnostic.ts';
import type { Container, DaemonConfig, LayoutEra, Network } from '../model/host.ts';
import { wasRead, type Snapshot } from '../model/snapshot.ts';
import type { DeployedContainer } from './deploy.ts';
import { deployRules } from './deploy.ts';
import { versionForEra } from './era.ts';
import { plannedId } from './inspect-json.ts';
import { parsePrefix, prefixText } from './ipam.ts';
import type { ComposePlan, PlannedContainer } from './plan-compose.ts';
import { planCompose } from './plan-compose.ts';
import type { DockerVersion } from './version.ts';
import { parseDockerVersion } from './version.ts';
import { bareAddress } from '../model/address-text.ts';

export interface PlanInput {
  readonly base: Snapshot;
  readonly project: ComposeProject;
  /** The daemon configuration the host will run with (the base's when not overridden). */
  readonly daemon: DaemonConfig;
  readonly profiles: readonly string[];
}

export interface PlanResult {
  readonly version: DockerVersion;
  readonly layout: LayoutEra;
  /** True when dockerd starts as part of the plan (no Docker rules on the base host). */
  readonly daemonStarted: boolean;
  /** `userland-proxy: false`: dockerd itself, not docker-proxy, holds published ports. */
  readonly daemonProxyOff: boolean;
  readonly iptables: string | null;
  readonly ip6tables: string | null;
  /** `nft list table` text of Docker's tables (nftables backend). */
  readonly nft: string | null;
  /** Networks that did not exist: the default bridge when dockerd starts, then the project's. */
  readonly createdNetworks: readonly Network[];
  readonly networkLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly containers: readonly PlannedContainer[];
  /** Base containers the project replaces (same name). */
  readonly replaces: readonly string[];
  readonly assumptions: readonly string[];
  readonly diagnostics: readonly Diagnostic[];
}

/** The rule layout a daemon of this version and configuration writes. */
export function layoutOf(version: DockerVersion, daemon: DaemonConfig): LayoutEra {
  if (!daemon.iptables.value) return 'none';
  if (version.major < 28) return 'classic';
  if (version.major === 28) return 'v28';
  return daemon.firewallBackend.value === 'nftables' ? 'nftables' : 'v29';
}

/** The default bridge dockerd creates at start (`bip`, `fixed-cidr(-v6)`, `icc`, `ip-masq`, `ip`). */
export function defaultBridgeNetwork(daemon: DaemonConfig): Network | null {
  const bridge = daemon.bridge.value;
  if (bridge === 'none') return null;
  const bip = daemon.bip.value ?? '172.17.0.1/16';
  const v4 = parsePrefix(bip);
  const gateway = bareAddress(bip);
  const subnets: Network['subnets'][number][] = [];
  if (v4 !== null) subnets.push({ family: 'ipv4', cidr: prefixText(v4), gateway });
  const v6Text = daemon.ipv6.value ? (daemon.bip6.value ?? daemon.fixedCidrV6.value) : null;
  const v6 = v6Text === null ? null : parsePrefix(v6Text);
  if (v6 !== null) {
    const bip6 = daemon.bip6.value;
    const gw6 = bip6 === null ? `${bareAddress(prefixText(v6))}1` : bareAddress(bip6);
    subnets.push({ family: 'ipv6', cidr: prefixText(v6), gateway: gw6 });
  }
  const OPT = 'com.docker.network.bridge.';
  const name = bridge === '' ? 'docker0' : bridge;
  return {
    id: plannedId('network', 'bridge'),
    name: 'bridge',
    driver: 'bridge',
    bridgeName: name,
    subnets,
    internal: false,
    icc: daemon.icc.value,
    masquerade: daemon.ipMasq.value,
    enableIPv4: true,
    enableIPv6: v6 !== null,
    gatewayModeV4: 'nat',
    gatewayModeV6: 'nat',
    hostBindingIpv4: daemon.ip.value,
    hostBindingIpv6: null,
    isDefaultBridge: true,
    options: {
      [`${OPT}default_bridge`]: 'true',
      [`${OPT}enable_icc`]: String(daemon.icc.value),
      [`${OPT}enable_ip_masquerade`]: String(daemon.ipMasq.value),
      [`${OPT}host_binding_ipv4`]: daemon.ip.value,
      [`${OPT}name`]: name,
      'com.docker.network.driver.mtu': '1500',
    },
    location: { file: 'daemon.json', line: 1, column: 1 },
  };
}

function versionOf(base: Snapshot, assumptions: string[]): DockerVersion {
  const stated =
    base.host.dockerVersion === null ? null : parseDockerVersion(base.host.dockerVersion);
  if (stated !== null) return stated;
  const inferred = versionForEra(base.era.era);
  if (inferred !== null) {
    assumptions.push(
      `engine version unknown: Docker ${inferred.major}.x assumed from the ${base.era.era} rule layout of the base`,
    );
    return inferred;
  }
  assumptions.push(
    'engine version unknown and no Docker rules on the base: Docker 29 assumed (give docker-version.json or --docker-version)',
  );
  return { major: 29, minor: 0, patch: 0, text: '29.0.0' };
}

/** Prefixes a new network must not overlap: the host's routes and interface subnets. */
function reservedPrefixes(base: Snapshot): string[] {
  const routes = base.host.routes
    .filter((r) => r.destination !== 'default')
    .map((r) => r.destination);
  const addresses = base.host.interfaces.flatMap((i) =>
    i.addresses.filter((a) => a.scope !== 'host').map((a) => `${a.address}/${a.prefixLength}`),
  );
  return [...routes, ...addresses];
}

function boundPorts(base: Snapshot): Set<string> {
  return new Set([
    ...base.host.listeners.map((l) => `${l.protocol}/${l.port}`),
    ...base.host.containers.flatMap((c) =>
      c.published.flatMap((p) => (p.hostPort === null ? [] : [`${p.protocol}/${p.hostPort}`])),
    ),
  ]);
}

export function planHost(input: PlanInput): PlanResult {
  const { base, project, daemon } = input;
  const assumptions: string[] = [];
  const version = versionOf(base, assumptions);
  const layout = layoutOf(version, daemon);
  const dockerRulesBefore = base.era.era !== 'none';
  if (dockerRulesBefore && base.era.era !== layout && layout !== 'none') {
    assumptions.push(
      `the base rules show the ${base.era.era} layout but Docker ${version.text} with this daemon.json writes the ${layout} layout: the new rules are added in the ${layout} layout next to the old ones, as a restart-free change would`,
    );
  }
  const daemonStarted = !dockerRulesBefore && !base.host.networks.some((n) => n.isDefaultBridge);
  const created: Network[] = [];
  let existingNetworks = base.host.networks;
  if (daemonStarted) {
    const bridge = defaultBridgeNetwork(daemon);
    if (bridge !== null) created.push(bridge);
  } else if (!wasRead(base, 'networks')) {
    const bridge = defaultBridgeNetwork(daemon);
    if (bridge !== null) existingNetworks = [...existingNetworks, bridge];
    assumptions.push(
      'the base has no networks.json: its networks are unknown; only the default bridge (from daemon.json) is kept clear of new subnets',
    );
  }
  for (const role of ['networks', 'containers'] as const) {
    if (!daemonStarted && !wasRead(base, role)) {
      assumptions.push(
        `the base has no ${role}.json: the project's ${role} are not written to one either (alone they would read as all the host has); their rules are planned`,
      );
    }
  }
  const sysctls = base.host.sysctls;
  if (daemonStarted && layout !== 'none' && layout !== 'nftables' && sysctls.ipv4Forward === null) {
    assumptions.push(
      'no sysctl.txt: IP forwarding taken as already on before dockerd started, so Docker leaves the FORWARD policy as it is',
    );
  }
  const plan: ComposePlan = planCompose(
    project,
    {
      daemon,
      networks: [...existingNetworks, ...created],
      containers: base.host.containers,
      reserved: reservedPrefixes(base),
      boundPorts: boundPorts(base),
      userlandProxy: daemon.userlandProxy.value,
      version,
    },
    { profiles: input.profiles },
  );
  created.push(...plan.networks);
  const replaced = new Set(plan.replaces);
  const deployed = (c: Container): DeployedContainer => ({ container: c, links: [] });
  const rules = deployRules({
    layout,
    version,
    daemon,
    base: { ipv4: base.ipv4, ipv6: base.ipv6 },
    startDaemon: daemonStarted,
    forwardingBefore: { ipv4: sysctls.ipv4Forward ?? true, ipv6: sysctls.ipv6Forward ?? true },
    existingNetworks,
    existingContainers: base.host.containers.filter((c) => !replaced.has(c.name)).map(deployed),
    removedContainers: base.host.containers.filter((c) => replaced.has(c.name)).map(deployed),
    networks: created,
    containers: plan.containers,
  });
  if (layout === 'none') {
    assumptions.push(
      'daemon.json sets "iptables": false: Docker writes no rules; published ports are served by docker-proxy through INPUT',
    );
  }
  return {
    version,
    layout,
    daemonStarted,
    daemonProxyOff: !daemon.userlandProxy.value,
    iptables: rules.ipv4,
    ip6tables: rules.ipv6,
    nft: rules.nft,
    createdNetworks: created,
    networkLabels: plan.networkLabels,
    containers: plan.containers,
    replaces: plan.replaces,
    assumptions: [...assumptions, ...plan.assumptions],
    diagnostics: plan.diagnostics,
  };
}
