/**
 * dockerd also takes its options from command-line flags and systemd drop-ins, which daemon.json
 * does not show. The default bridge's options and the rules reveal the values in effect; where
 * they contradict the effective configuration read from daemon.json (or its defaults), say so.
 */
import type { Diagnostic } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type { DaemonConfig, Network, Setting } from '../model/host.ts';
import type { NftRuleset, Rule, Ruleset, Table } from '../model/ruleset.ts';
import { wasRead, type Snapshot } from '../model/snapshot.ts';
import { rulesIn } from '../model/rule-queries.ts';
import { ruleAddress } from './rules.ts';

const OPT = 'com.docker.network.bridge.';

function origin(setting: Setting<unknown>, key: string): string {
  return setting.source === 'file'
    ? `daemon.json sets "${key}" to ${JSON.stringify(setting.value)}`
    : `daemon.json does not set "${key}" (Docker's default: ${JSON.stringify(setting.value)})`;
}

export function checkDaemonAgainstHost(
  daemon: DaemonConfig,
  networks: readonly Network[],
  ipv4: Ruleset | null,
  ipv6: Ruleset | null = null,
  /** True when the snapshot shows Docker objects (containers or networks). */
  dockerPresent = false,
  /** The nftables ruleset, when one was collected. */
  nft: NftRuleset | null = null,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const bridges = nft === null ? [] : dockerBridgesTables(nft);
  if (nft !== null && bridges.length > 0) {
    // nftables backend: Docker's rules are the docker-bridges tables, iptables holds none
    out.push(...checkBackend(daemon, bridges));
    out.push(...checkNftFamily(daemon.iptables, 'iptables', 'ip', bridges, nft, dockerPresent));
    if (daemon.iptables.value) {
      out.push(
        ...checkNftFamily(daemon.ip6tables, 'ip6tables', 'ip6', bridges, nft, dockerPresent),
      );
    }
  } else {
    out.push(...checkFamily(daemon.iptables, 'iptables', ipv4, dockerPresent));
    if (daemon.iptables.value) {
      out.push(...checkFamily(daemon.ip6tables, 'ip6tables', ipv6, dockerPresent));
    }
  }
  const bridge = networks.find((n) => n.isDefaultBridge);
  if (bridge !== undefined) {
    const compare = (
      key: string,
      setting: Setting<boolean | string>,
      option: string,
      flag: (v: string) => string,
    ): void => {
      const raw = bridge.options[`${OPT}${option}`];
      if (raw === undefined) return;
      const same =
        typeof setting.value === 'boolean'
          ? (raw === 'true') === setting.value
          : raw === setting.value;
      if (same) return;
      out.push(
        diagnostic(
          'daemon-config-mismatch',
          'warning',
          `${origin(setting, key)}, but the default bridge runs with ${option}=${raw}: dockerd runs with ${flag(raw)} (a command-line flag, a systemd drop-in, or daemon.json changed since dockerd started), so ${raw} is in effect`,
          bridge.location,
          'put the option in daemon.json so the configuration is in one place',
        ),
      );
    };
    compare('icc', daemon.icc, 'enable_icc', (v) => `--icc=${v}`);
    compare('ip-masq', daemon.ipMasq, 'enable_ip_masquerade', (v) => `--ip-masq=${v}`);
    compare('ip', daemon.ip, 'host_binding_ipv4', (v) => `--ip=${v}`);
  }
  const shown = userlandProxyInRules(ipv4);
  if (shown !== null) {
    const { value: skipsLoopback, rule: jump } = shown;
    if (skipsLoopback !== daemon.userlandProxy.value) {
      out.push(
        diagnostic(
          'daemon-config-mismatch',
          'warning',
          `${origin(daemon.userlandProxy, 'userland-proxy')}, but Docker's nat OUTPUT rule is written for userland-proxy=${String(skipsLoopback)}: dockerd runs with --userland-proxy=${String(skipsLoopback)} (a command-line flag, a systemd drop-in, or daemon.json changed since dockerd started), which is in effect`,
          jump.location,
        ),
      );
    }
  }
  return out;
}

/**
 * Whether dockerd runs with the userland proxy, as its IPv4 rules show it: with the proxy on,
 * Docker's nat OUTPUT jump skips loopback (`! -d 127.0.0.0/8`); null when the rules do not say.
 */
export function userlandProxyInRules(ipv4: Ruleset | null): { value: boolean; rule: Rule } | null {
  const jump = rulesIn(ipv4, 'nat', 'OUTPUT').find(
    (r) => r.target?.kind === 'jump' && r.target.chain === 'DOCKER',
  );
  if (jump === undefined || ruleAddress(jump, 'dst') !== null) return null;
  const skipsLoopback = jump.core.some(
    (o) =>
      o.type === 'address' && o.field === 'dst' && o.negated && o.value.address === '127.0.0.0',
  );
  return { value: skipsLoopback, rule: jump };
}

/**
 * Whether dockerd runs the userland proxy: as its rules show (they are what it runs), else as
 * daemon.json says or leaves to Docker's default. `assumed` says so when neither file does.
 */
export function effectiveUserlandProxy(snapshot: Snapshot): {
  on: boolean;
  assumed: string | null;
} {
  const shown = userlandProxyInRules(snapshot.ipv4);
  if (shown !== null) return { on: shown.value, assumed: null };
  const daemonRead = wasRead(snapshot, 'daemon');
  return {
    on: snapshot.host.daemon.userlandProxy.value,
    assumed: daemonRead
      ? null
      : 'userland-proxy is taken to be on, Docker’s default (no daemon.json, and the rules do not show it)',
  };
}

/** Docker's nftables tables (`ip docker-bridges`, `ip6 docker-bridges`). */
function dockerBridgesTables(nft: NftRuleset): Table[] {
  return nft.tables.filter((t) => t.name === 'docker-bridges');
}

const NOTE =
  '(a command-line flag, a systemd drop-in, or daemon.json changed since dockerd started)';

/** The tables show the nftables backend: does the configuration say so? */
function checkBackend(daemon: DaemonConfig, bridges: readonly Table[]): Diagnostic[] {
  const setting = daemon.firewallBackend;
  if (setting.value === 'nftables') return [];
  const first = bridges[0];
  if (first === undefined) return [];
  return [
    diagnostic(
      'daemon-config-mismatch',
      'warning',
      `${origin(setting, 'firewall-backend')}, but the nftables ruleset holds Docker's table ${first.nft?.family ?? 'ip'} docker-bridges: dockerd runs with the nftables backend (--firewall-backend=nftables or DOCKER_FIREWALL_BACKEND=nftables ${NOTE})`,
      first.location,
    ),
  ];
}

/** nftables backend: is Docker's table of the family there where the configuration says so? */
function checkNftFamily(
  setting: Setting<boolean>,
  key: 'iptables' | 'ip6tables',
  family: 'ip' | 'ip6',
  bridges: readonly Table[],
  nft: NftRuleset,
  dockerPresent: boolean,
): Diagnostic[] {
  const table = bridges.find((t) => t.nft?.family === family);
  if (table !== undefined && !setting.value) {
    return [
      diagnostic(
        'daemon-config-mismatch',
        'warning',
        `${origin(setting, key)}, but the nftables ruleset holds Docker's table ${family} docker-bridges: dockerd runs with --${key}=true ${NOTE}`,
        table.location,
      ),
    ];
  }
  if (table === undefined && setting.value && dockerPresent) {
    return [
      diagnostic(
        'daemon-config-mismatch',
        'warning',
        `${origin(setting, key)}, but the nftables ruleset has no ${family} docker-bridges table beside the other family's: dockerd runs with --${key}=false ${NOTE}, or the table was deleted`,
        { file: nft.file, line: 1, column: 1 },
      ),
    ];
  }
  return [];
}

/** The first chain Docker creates in a ruleset, if any. */
function dockerChain(rs: Ruleset): { name: string; location: Diagnostic['location'] } | null {
  for (const t of rs.tables) {
    if (t.name !== 'nat' && t.name !== 'filter') continue;
    const c = t.chains.find((x) => x.name === 'DOCKER' || x.name === 'DOCKER-FORWARD');
    if (c !== undefined) return { name: `${t.name} ${c.name}`, location: c.location };
  }
  return null;
}

/** iptables / ip6tables: does the ruleset show Docker at work where the configuration says so? */
function checkFamily(
  setting: Setting<boolean>,
  key: 'iptables' | 'ip6tables',
  rs: Ruleset | null,
  dockerPresent: boolean,
): Diagnostic[] {
  if (rs === null) return [];
  const chain = dockerChain(rs);
  const note =
    '(a command-line flag, a systemd drop-in, or daemon.json changed since dockerd started)';
  if (chain !== null && !setting.value) {
    return [
      diagnostic(
        'daemon-config-mismatch',
        'warning',
        `${origin(setting, key)}, but ${key}-save shows Docker's chain ${chain.name}: dockerd runs with --${key}=true ${note}`,
        chain.location,
      ),
    ];
  }
  if (chain === null && setting.value && dockerPresent) {
    return [
      diagnostic(
        'daemon-config-mismatch',
        'warning',
        `${origin(setting, key)}, but ${key}-save has none of Docker's chains: dockerd runs with --${key}=false ${note}, or its rules were flushed`,
        { file: rs.file, line: 1, column: 1 },
      ),
    ];
  }
  return [];
}
