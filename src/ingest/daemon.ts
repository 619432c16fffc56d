/**
 * daemon.json → what it sets (`DaemonFile`): every firewall-relevant key type-checked, unknown
 * keys reported (dockerd refuses to start with them). What it does not set is Docker's default
 * for the version, which src/docker/daemon-config.ts fills in; this reader knows no Docker.
 */
import ipaddr from 'ipaddr.js';
import type { Diagnostic } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type { DaemonConfig, DaemonFile } from '../model/host.ts';
import type { FieldContext } from './fields.ts';
import { kindWord, wrongType } from './fields.ts';
import type { JsonObject, JsonValue } from './json.ts';
import { parseJson } from './json.ts';

/** Keys dockerd accepts in daemon.json that have no firewall effect (accepted, not interpreted). */
const OTHER_DOCKERD_KEYS: ReadonlySet<string> = new Set([
  'allow-nondistributable-artifacts',
  'api-cors-header',
  'authorization-plugins',
  'builder',
  'cdi-spec-dirs',
  'cgroup-parent',
  'cluster-advertise',
  'cluster-store',
  'cluster-store-opts',
  'containerd',
  'containerd-namespace',
  'containerd-plugins-namespace',
  'cpu-rt-period',
  'cpu-rt-runtime',
  'data-root',
  'debug',
  'default-cgroupns-mode',
  'default-gateway',
  'default-gateway-v6',
  'default-ipc-mode',
  'default-runtime',
  'default-shm-size',
  'default-ulimits',
  'dns',
  'dns-opts',
  'dns-search',
  'exec-opts',
  'exec-root',
  'features',
  'group',
  'host-gateway-ip',
  'host-gateway-ips',
  'init',
  'init-path',
  'insecure-registries',
  'labels',
  'log-driver',
  'log-format',
  'log-level',
  'log-opts',
  'max-concurrent-downloads',
  'max-concurrent-uploads',
  'max-download-attempts',
  'metrics-addr',
  'min-api-version',
  'mtu',
  'network-control-plane-mtu',
  'no-new-privileges',
  'node-generic-resources',
  'oom-score-adjust',
  'pidfile',
  'proxies',
  'raw-logs',
  'registry-mirrors',
  'runtimes',
  'seccomp-profile',
  'selinux-enabled',
  'shutdown-timeout',
  'storage-driver',
  'storage-opts',
  'swarm-default-advertise-addr',
  'tls',
  'tlscacert',
  'tlscert',
  'tlskey',
  'tlsverify',
  'userland-proxy-path',
  'userns-remap',
  'validate',
  'default-isolation',
]);

type Interpreted = Exclude<keyof DaemonConfig, 'otherKeys'>;

/** daemon.json key → DaemonConfig field, for the keys dockwall interprets. */
const FIREWALL_KEYS: Readonly<Record<string, Interpreted>> = {
  iptables: 'iptables',
  ip6tables: 'ip6tables',
  'ip-forward': 'ipForward',
  'ip-forward-no-drop': 'ipForwardNoDrop',
  'ip-masq': 'ipMasq',
  icc: 'icc',
  ip: 'ip',
  'userland-proxy': 'userlandProxy',
  ipv6: 'ipv6',
  bip: 'bip',
  bip6: 'bip6',
  'fixed-cidr': 'fixedCidr',
  'fixed-cidr-v6': 'fixedCidrV6',
  bridge: 'bridge',
  'allow-direct-routing': 'allowDirectRouting',
  'bridge-accept-fwmark': 'bridgeAcceptFwmark',
  'firewall-backend': 'firewallBackend',
  experimental: 'experimental',
  'live-restore': 'liveRestore',
  hosts: 'hosts',
  'default-address-pools': 'defaultAddressPools',
  'default-network-opts': 'defaultNetworkOpts',
};

export interface DaemonLoadResult {
  readonly daemon: DaemonFile;
  readonly diagnostics: readonly Diagnostic[];
}

/** What a file that cannot be read sets: nothing (dockerd would refuse it). */
const NOTHING: DaemonFile = { settings: {}, otherKeys: [] };

/**
 * Reads daemon.json text: the settings it makes, each with its location. Never throws; a broken
 * file sets nothing and says why.
 */
export function loadDaemonFile(text: string, file: string): DaemonLoadResult {
  const parsed = parseJson(text, file);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  if (parsed.value === null) {
    diagnostics.push(
      diagnostic(
        'daemon-config-unreadable',
        'error',
        'daemon.json could not be read; Docker’s defaults are assumed (dockerd itself would refuse to start with this file)',
        { file, line: 1, column: 1 },
      ),
    );
    return { daemon: NOTHING, diagnostics };
  }
  if (parsed.value.kind !== 'object') {
    diagnostics.push(
      diagnostic(
        'wrong-type',
        'error',
        `daemon.json must be a JSON object, found ${kindWord(parsed.value)}`,
        parsed.value.location,
      ),
    );
    return { daemon: NOTHING, diagnostics };
  }
  const ctx: FieldContext = { file, diagnostics };
  const settings: Record<string, unknown> = {};
  const otherKeys: string[] = [];
  for (const entry of parsed.value.entries) {
    const target = FIREWALL_KEYS[entry.key];
    if (target === undefined) {
      if (OTHER_DOCKERD_KEYS.has(entry.key)) {
        otherKeys.push(entry.key);
        checkOtherKey(ctx, entry.key, entry.value);
      } else {
        otherKeys.push(entry.key);
        diagnostics.push(
          diagnostic(
            'unknown-daemon-key',
            'error',
            `unknown daemon.json key "${entry.key}": dockerd refuses to start with it`,
            entry.keyLocation,
            'check the spelling against `dockerd --help` (keys are the long flag names)',
          ),
        );
      }
      continue;
    }
    const value = readKey(ctx, entry.key, entry.value);
    if (value !== undefined) {
      settings[target] = { value, source: 'file', location: entry.keyLocation };
    }
  }
  return { daemon: { settings, otherKeys }, diagnostics };
}

const BOOLEAN_KEYS = new Set([
  'iptables',
  'ip6tables',
  'ip-forward',
  'ip-forward-no-drop',
  'ip-masq',
  'icc',
  'userland-proxy',
  'ipv6',
  'allow-direct-routing',
  'experimental',
  'live-restore',
]);

/** The typed value of one interpreted key, or undefined (reported) when it is malformed. */
function readKey(ctx: FieldContext, key: string, value: JsonValue): unknown {
  const path = `daemon.json "${key}"`;
  if (BOOLEAN_KEYS.has(key)) {
    if (value.kind === 'boolean') return value.value;
    wrongType(ctx, path, value, 'true or false');
    return undefined;
  }
  switch (key) {
    case 'ip':
      return readAddress(ctx, path, value);
    case 'bip':
    case 'bip6':
    case 'fixed-cidr':
    case 'fixed-cidr-v6':
      return readCidr(ctx, path, value);
    case 'bridge':
      if (value.kind === 'string') return value.value;
      wrongType(ctx, path, value, 'a string');
      return undefined;
    case 'bridge-accept-fwmark':
      if (
        value.kind === 'string' &&
        /^(0x[0-9a-fA-F]+|\d+)(\/(0x[0-9a-fA-F]+|\d+))?$/.test(value.value)
      ) {
        return value.value;
      }
      if (value.kind === 'string' && value.value === '') return null;
      badValue(ctx, path, value, 'a mark like "0x1" or "0x1/0xff"');
      return undefined;
    case 'firewall-backend':
      if (value.kind === 'string' && (value.value === 'iptables' || value.value === 'nftables')) {
        return value.value;
      }
      if (value.kind === 'string' && value.value === '') return 'iptables';
      badValue(ctx, path, value, '"iptables" or "nftables"');
      return undefined;
    case 'hosts':
      return readStringArray(ctx, path, value);
    case 'default-address-pools':
      return readPools(ctx, path, value);
    case 'default-network-opts':
      return readNetworkOpts(ctx, path, value);
    default:
      return undefined;
  }
}

function badValue(ctx: FieldContext, path: string, value: JsonValue, expected: string): void {
  if (value.kind !== 'string') {
    wrongType(ctx, path, value, expected);
    return;
  }
  ctx.diagnostics.push(
    diagnostic(
      'invalid-value',
      'error',
      `${path} must be ${expected}, found "${value.value}"`,
      value.location,
    ),
  );
}

function readAddress(ctx: FieldContext, path: string, value: JsonValue): string | undefined {
  if (value.kind === 'string' && ipaddr.isValid(value.value)) return value.value;
  badValue(ctx, path, value, 'an IP address');
  return undefined;
}

function readCidr(ctx: FieldContext, path: string, value: JsonValue): string | undefined {
  if (value.kind === 'string' && isCidr(value.value)) return value.value;
  badValue(ctx, path, value, 'an address with prefix length, like "172.17.0.1/16"');
  return undefined;
}

export function isCidr(text: string): boolean {
  try {
    ipaddr.parseCIDR(text);
    return true;
  } catch {
    return false;
  }
}

function readStringArray(ctx: FieldContext, path: string, value: JsonValue): string[] | undefined {
  if (value.kind !== 'array') {
    wrongType(ctx, path, value, 'an array of strings');
    return undefined;
  }
  const out: string[] = [];
  for (const item of value.items) {
    if (item.kind === 'string') out.push(item.value);
    else wrongType(ctx, `${path} item`, item, 'a string');
  }
  return out;
}

function readPools(
  ctx: FieldContext,
  path: string,
  value: JsonValue,
): { base: string; size: number }[] | undefined {
  if (value.kind !== 'array') {
    wrongType(ctx, path, value, 'an array of {"base": CIDR, "size": number}');
    return undefined;
  }
  const pools: { base: string; size: number }[] = [];
  for (const item of value.items) {
    if (item.kind !== 'object') {
      wrongType(ctx, `${path} item`, item, 'an object {"base": CIDR, "size": number}');
      continue;
    }
    const base = item.entries.find((e) => e.key === 'base')?.value;
    const size = item.entries.find((e) => e.key === 'size')?.value;
    if (base === undefined || size === undefined) {
      ctx.diagnostics.push(
        diagnostic(
          'missing-field',
          'error',
          `${path} item needs both "base" and "size"`,
          item.location,
        ),
      );
      continue;
    }
    const cidr = readCidr(ctx, `${path} "base"`, base);
    if (
      size.kind !== 'number' ||
      !Number.isInteger(size.value) ||
      size.value < 0 ||
      size.value > 128
    ) {
      badValue(ctx, `${path} "size"`, size, 'a prefix length (integer)');
      continue;
    }
    if (cidr !== undefined) pools.push({ base: cidr, size: size.value });
  }
  return pools;
}

function readNetworkOpts(
  ctx: FieldContext,
  path: string,
  value: JsonValue,
): Record<string, Record<string, string>> | undefined {
  if (value.kind !== 'object') {
    wrongType(ctx, path, value, 'an object {"bridge": {option: value}}');
    return undefined;
  }
  const out: Record<string, Record<string, string>> = {};
  for (const driver of value.entries) {
    const opts = driver.value;
    if (opts.kind !== 'object') {
      wrongType(ctx, `${path} "${driver.key}"`, opts, 'an object of option strings');
      continue;
    }
    out[driver.key] = readOptionStrings(ctx, `${path} "${driver.key}"`, opts);
  }
  return out;
}

function readOptionStrings(
  ctx: FieldContext,
  path: string,
  opts: JsonObject,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const opt of opts.entries) {
    if (opt.value.kind === 'string') out[opt.key] = opt.value.value;
    else wrongType(ctx, `${path} "${opt.key}"`, opt.value, 'a string');
  }
  return out;
}

/**
 * Keys of docker-firewall.md §3 that dockwall does not interpret are still type-checked: dockerd
 * refuses a file where they have the wrong type, and then none of its settings apply.
 */
function checkOtherKey(ctx: FieldContext, key: string, value: JsonValue): void {
  const path = `daemon.json "${key}"`;
  switch (key) {
    case 'userland-proxy-path':
      if (value.kind !== 'string') wrongType(ctx, path, value, 'a string');
      return;
    case 'default-gateway':
    case 'default-gateway-v6':
      readAddress(ctx, path, value);
      return;
    case 'mtu':
    case 'network-control-plane-mtu':
      if (value.kind !== 'number') wrongType(ctx, path, value, 'a whole number');
      else if (!Number.isInteger(value.value) || value.value < 0) {
        ctx.diagnostics.push(
          diagnostic(
            'invalid-value',
            'error',
            `${path} must be a whole number, found ${value.value}`,
            value.location,
          ),
        );
      }
      return;
    case 'tls':
    case 'tlsverify':
    case 'debug':
      if (value.kind !== 'boolean') wrongType(ctx, path, value, 'true or false');
      return;
    case 'features':
      if (value.kind !== 'object') {
        wrongType(ctx, path, value, 'an object of feature names to true or false');
        return;
      }
      for (const f of value.entries) {
        if (f.value.kind !== 'boolean')
          wrongType(ctx, `${path} "${f.key}"`, f.value, 'true or false');
      }
      return;
    case 'host-gateway-ips':
    case 'dns':
      readStringArray(ctx, path, value);
      return;
    default:
      return;
  }
}
