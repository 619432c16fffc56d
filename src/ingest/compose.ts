/**
 * Compose files → `ComposeProject`: services (network mode, networks, ports, expose, links,
 * replicas) and networks (driver, options, IPAM, internal, IPv4/IPv6), in the Compose
 * specification's syntax — ports in short (`[IP:][HOST:]CONTAINER[/PROTO]`, ranges) and long
 * form, networks as a list or a map — with variables interpolated as Compose does.
 *
 * Several files merge as `docker compose -f a -f b` does: later files override a service's or a
 * network's scalar fields and add to its `ports`, `expose` and `links`. Keys Compose knows that do
 * not touch the firewall are accepted silently; anything else, and anything that could not be
 * read, is a located diagnostic. Never throws.
 */
import path from 'node:path';
import type { Diagnostic, DiagnosticCode, SourceLocation } from '../model/diagnostic.ts';
import { diagnostic, fileLocation } from '../model/diagnostic.ts';
import type {
  ComposeIpamConfig,
  ComposeNetwork,
  ComposePort,
  ComposeProject,
  ComposeService,
  ComposeServiceNetwork,
} from '../model/compose.ts';
import { isProtocol, type Protocol } from '../model/host.ts';
import type { Environment } from './compose-interpolate.ts';
import { interpolate } from './compose-interpolate.ts';
import type { JsonObject, JsonValue } from './json.ts';
import { readInputFile, SIZE_LIMITS } from './read-input.ts';
import { readYaml } from './yaml.ts';

/** Service keys of the Compose specification that do not change the host's firewall. */
const QUIET_SERVICE_KEYS = new Set([
  'annotations',
  'attach',
  'blkio_config',
  'build',
  'cap_add',
  'cap_drop',
  'cgroup',
  'cgroup_parent',
  'configs',
  'cpu_count',
  'cpu_percent',
  'cpu_period',
  'cpu_quota',
  'cpu_rt_period',
  'cpu_rt_runtime',
  'cpu_shares',
  'cpus',
  'cpuset',
  'credential_spec',
  'develop',
  'device_cgroup_rules',
  'devices',
  'dns',
  'dns_opt',
  'dns_search',
  'domainname',
  'entrypoint',
  'env_file',
  'environment',
  'extra_hosts',
  'gpus',
  'group_add',
  'healthcheck',
  'hostname',
  'init',
  'ipc',
  'isolation',
  'labels',
  'label_file',
  'logging',
  'mac_address',
  'mem_limit',
  'mem_reservation',
  'mem_swappiness',
  'memswap_limit',
  'models',
  'oom_kill_disable',
  'oom_score_adj',
  'pid',
  'pids_limit',
  'platform',
  'post_start',
  'pre_stop',
  'privileged',
  'provider',
  'pull_policy',
  'pull_refresh_after',
  'read_only',
  'restart',
  'runtime',
  'secrets',
  'security_opt',
  'shm_size',
  'stdin_open',
  'stop_grace_period',
  'stop_signal',
  'storage_opt',
  'sysctls',
  'tmpfs',
  'tty',
  'ulimits',
  'use_api_socket',
  'user',
  'userns_mode',
  'uts',
  'volumes',
  'volumes_from',
  'working_dir',
  'driver_opts',
]);
const SERVICE_KEYS = new Set([
  ...QUIET_SERVICE_KEYS,
  'image',
  'command',
  'container_name',
  'network_mode',
  'networks',
  'ports',
  'expose',
  'links',
  'depends_on',
  'scale',
  'deploy',
  'profiles',
  'extends',
  'external_links',
]);
const TOP_KEYS = new Set([
  'version',
  'name',
  'services',
  'networks',
  'volumes',
  'configs',
  'secrets',
  'include',
  'models',
]);
const NETWORK_KEYS = new Set([
  'driver',
  'driver_opts',
  'attachable',
  'enable_ipv4',
  'enable_ipv6',
  'external',
  'internal',
  'ipam',
  'labels',
  'name',
]);

export interface ComposeFile {
  /** The path as the user named it (diagnostics use it). */
  readonly path: string;
  readonly text: string;
}

export interface ComposeReadOptions {
  readonly env: Environment;
  /** `--project-name`; otherwise `name:`, COMPOSE_PROJECT_NAME, then the first file's directory. */
  readonly projectName?: string;
  /** The first file's directory, absolute (defaults to resolving its path here). */
  readonly directory?: string;
}

/** A service or network as one file states it: only the fields that file sets. */
type Stated<T> = { -readonly [K in keyof T]?: T[K] };

interface Ctx {
  readonly file: string;
  readonly diagnostics: Diagnostic[];
}

function report(
  ctx: Ctx,
  severity: 'error' | 'warning' | 'note',
  message: string,
  location: SourceLocation,
  code: DiagnosticCode = 'compose-invalid',
): void {
  ctx.diagnostics.push(diagnostic(code, severity, message, location));
}

function unknownKey(ctx: Ctx, what: string, kind: string, location: SourceLocation): void {
  report(ctx, 'warning', `${what} is not ${kind}; ignored`, location, 'compose-unknown-key');
}

function kindName(v: JsonValue): string {
  return v.kind === 'object' ? 'a mapping' : v.kind === 'array' ? 'a list' : `a ${v.kind}`;
}

function expect(ctx: Ctx, v: JsonValue, what: string, where: string): void {
  report(ctx, 'error', `${where} must be ${what}, found ${kindName(v)}`, v.location);
}

/** A string, or a number / boolean written where Compose takes a string. */
function text(v: JsonValue): string | null {
  if (v.kind === 'string') return v.value;
  if (v.kind === 'number' || v.kind === 'boolean') return String(v.value);
  return null;
}

function bool(ctx: Ctx, v: JsonValue, where: string): boolean | null {
  if (v.kind === 'boolean') return v.value;
  if (v.kind === 'string' && /^(true|false)$/i.test(v.value))
    return v.value.toLowerCase() === 'true';
  if (v.kind === 'null') return null;
  expect(ctx, v, 'true or false', where);
  return null;
}

function integer(ctx: Ctx, v: JsonValue, where: string): number | null {
  const t = text(v);
  if (t !== null && /^-?\d+$/.test(t.trim())) return Number(t.trim());
  if (v.kind !== 'null') expect(ctx, v, 'a whole number', where);
  return null;
}

function stringMap(ctx: Ctx, v: JsonValue, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (v.kind === 'object') {
    for (const e of v.entries) {
      const t = text(e.value);
      if (t !== null) out[e.key] = t;
      else if (e.value.kind !== 'null') expect(ctx, e.value, 'a string', `${where}.${e.key}`);
    }
  } else if (v.kind === 'array') {
    // Labels may be a list of `key=value`.
    for (const item of v.items) {
      const t = text(item);
      if (t === null) continue;
      const [k = '', ...rest] = t.split('=');
      out[k] = rest.join('=');
    }
  } else if (v.kind !== 'null') expect(ctx, v, 'a mapping', where);
  return out;
}

function stringList(ctx: Ctx, v: JsonValue, where: string): string[] {
  if (v.kind === 'null') return [];
  if (v.kind !== 'array') {
    const t = text(v);
    if (t !== null) return [t];
    expect(ctx, v, 'a list', where);
    return [];
  }
  return v.items.flatMap((i) => {
    const t = text(i);
    if (t === null) expect(ctx, i, 'a string', where);
    return t === null ? [] : [t];
  });
}

/** Shell-like split of a command string: blanks separate, quotes group, no expansion. */
function splitWords(t: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of t.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

function startOf(l: SourceLocation): SourceLocation {
  return { file: l.file, line: l.line, column: l.column };
}

// ---------------------------------------------------------------------------------------------
// Ports

function portNumber(text: string): number | null {
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= 0 && n <= 65535 ? n : null;
}

function portRange(text: string): { from: number; to: number } | null {
  const [a = '', b] = text.split('-');
  const from = portNumber(a.trim());
  const to = b === undefined ? from : portNumber(b.trim());
  if (from === null || to === null || to < from) return null;
  return { from, to };
}

function protocolOf(ctx: Ctx, t: string, location: SourceLocation): Protocol | null {
  const p = t.toLowerCase();
  if (isProtocol(p)) return p;
  report(ctx, 'error', `unknown protocol "${t}" (Docker publishes tcp, udp or sctp)`, location);
  return null;
}

function checkRanges(
  ctx: Ctx,
  target: { from: number; to: number },
  published: { from: number; to: number } | null,
  location: SourceLocation,
  spec: string,
): boolean {
  if (target.from === 0) {
    report(ctx, 'error', `"${spec}": container port 0 is not a port`, location);
    return false;
  }
  if (published !== null && target.to !== target.from) {
    const n = target.to - target.from;
    if (published.to - published.from !== n) {
      report(
        ctx,
        'error',
        `"${spec}": the host range and the container range differ in size`,
        location,
      );
      return false;
    }
  }
  return true;
}

/** Short syntax `[IP:][HOST:]CONTAINER[/PROTOCOL]`, as Docker's ParsePortSpec splits it. */
function shortPort(ctx: Ctx, v: JsonValue): ComposePort | null {
  const spec = text(v) ?? '';
  const location = startOf(v.location);
  const [body = '', protoText] = spec.split('/');
  const protocol = protoText === undefined ? 'tcp' : protocolOf(ctx, protoText, location);
  if (protocol === null) return null;
  const parts = body.split(':');
  const n = parts.length;
  const containerText = parts[n - 1] ?? '';
  const hostText = n >= 2 ? (parts[n - 2] ?? '') : '';
  let hostIp = n >= 3 ? parts.slice(0, n - 2).join(':') : '';
  if (hostIp.startsWith('[') && hostIp.endsWith(']')) hostIp = hostIp.slice(1, -1);
  const target = portRange(containerText);
  const published = hostText === '' ? null : portRange(hostText);
  if (target === null || (hostText !== '' && published === null)) {
    report(
      ctx,
      'error',
      `"${spec}" is not a port mapping ([IP:][HOST:]CONTAINER[/PROTOCOL])`,
      location,
    );
    return null;
  }
  if (hostIp !== '' && !isAddress(hostIp)) {
    report(ctx, 'error', `"${spec}": "${hostIp}" is not an IP address`, location);
    return null;
  }
  if (!checkRanges(ctx, target, published, location, spec)) return null;
  return {
    target,
    published,
    hostIp: hostIp === '' ? null : hostIp,
    protocol,
    mode: 'host',
    location,
  };
}

function isAddress(t: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(t) || (t.includes(':') && /^[0-9a-fA-F:.]+$/.test(t));
}

const LONG_PORT_KEYS = new Set([
  'target',
  'published',
  'host_ip',
  'protocol',
  'mode',
  'name',
  'app_protocol',
]);

function longPort(ctx: Ctx, v: JsonObject, where: string): ComposePort | null {
  const location = startOf(v.location);
  for (const e of v.entries) {
    if (!LONG_PORT_KEYS.has(e.key) && !e.key.startsWith('x-')) {
      unknownKey(ctx, `${where}: "${e.key}"`, 'a port key', e.keyLocation);
    }
  }
  const get = (k: string) => v.entries.find((e) => e.key === k)?.value;
  const targetValue = get('target');
  if (targetValue === undefined) {
    report(ctx, 'error', `${where}: "target" (the container port) is missing`, location);
    return null;
  }
  const target = portRange(text(targetValue) ?? '');
  const publishedValue = get('published');
  const publishedText = publishedValue === undefined ? '' : (text(publishedValue) ?? '');
  const published = publishedText === '' ? null : portRange(publishedText);
  if (target === null || (publishedText !== '' && published === null)) {
    report(ctx, 'error', `${where}: target and published must be ports or port ranges`, location);
    return null;
  }
  const hostIpValue = get('host_ip');
  const hostIp = hostIpValue === undefined ? null : text(hostIpValue);
  if (hostIp !== null && hostIp !== '' && !isAddress(hostIp)) {
    report(
      ctx,
      'error',
      `${where}: host_ip "${hostIp}" is not an IP address`,
      hostIpValue?.location ?? location,
    );
    return null;
  }
  const protoValue = get('protocol');
  const protocol =
    protoValue === undefined ? 'tcp' : protocolOf(ctx, text(protoValue) ?? '', protoValue.location);
  if (protocol === null) return null;
  const modeValue = get('mode');
  const modeText = modeValue === undefined ? 'host' : (text(modeValue) ?? '');
  if (modeText !== 'host' && modeText !== 'ingress') {
    report(
      ctx,
      'error',
      `${where}: mode "${modeText}" is not host or ingress`,
      modeValue?.location ?? location,
    );
  }
  if (!checkRanges(ctx, target, published, location, where)) return null;
  return {
    target,
    published,
    hostIp: hostIp === null || hostIp === '' ? null : hostIp,
    protocol,
    mode: modeText === 'ingress' ? 'ingress' : 'host',
    location,
  };
}

function readPorts(ctx: Ctx, v: JsonValue, where: string): ComposePort[] {
  if (v.kind !== 'array') {
    if (v.kind !== 'null') expect(ctx, v, 'a list', where);
    return [];
  }
  return v.items.flatMap((item, i) => {
    const p =
      item.kind === 'object'
        ? longPort(ctx, item, `${where}[${i}]`)
        : text(item) !== null
          ? shortPort(ctx, item)
          : (expect(ctx, item, 'a port mapping', `${where}[${i}]`), null);
    return p === null ? [] : [p];
  });
}

function readExpose(ctx: Ctx, v: JsonValue, where: string): ComposeService['expose'] {
  return stringList(ctx, v, where).flatMap((spec) => {
    const [body = '', protoText] = spec.split('/');
    const protocol = protoText === undefined ? 'tcp' : protocolOf(ctx, protoText, v.location);
    const range = portRange(body);
    if (range === null || protocol === null) {
      if (range === null)
        report(ctx, 'error', `${where}: "${spec}" is not a port or port range`, v.location);
      return [];
    }
    return [{ ...range, protocol }];
  });
}

// ---------------------------------------------------------------------------------------------
// Services

function readServiceNetworks(ctx: Ctx, v: JsonValue, where: string): ComposeServiceNetwork[] {
  const base = (name: string, location: SourceLocation): ComposeServiceNetwork => ({
    name,
    ipv4Address: null,
    ipv6Address: null,
    gwPriority: 0,
    priority: 0,
    location: startOf(location),
  });
  if (v.kind === 'array') {
    return v.items.flatMap((i) => {
      const t = text(i);
      if (t === null) expect(ctx, i, 'a network name', where);
      return t === null ? [] : [base(t, i.location)];
    });
  }
  if (v.kind !== 'object') {
    if (v.kind !== 'null') expect(ctx, v, 'a list or a mapping', where);
    return [];
  }
  return v.entries.map((e) => {
    const n = base(e.key, e.keyLocation);
    if (e.value.kind === 'null') return n;
    if (e.value.kind !== 'object') {
      expect(ctx, e.value, 'a mapping', `${where}.${e.key}`);
      return n;
    }
    const out = { ...n };
    for (const f of e.value.entries) {
      const at = `${where}.${e.key}.${f.key}`;
      switch (f.key) {
        case 'ipv4_address':
        case 'ipv6_address': {
          const a = text(f.value);
          const v6 = f.key === 'ipv6_address';
          if (a === null || !isAddress(a) || a.includes(':') !== v6) {
            report(
              ctx,
              'error',
              `${at} must be an ${v6 ? 'IPv6' : 'IPv4'} address`,
              f.value.location,
            );
          } else if (v6) out.ipv6Address = a;
          else out.ipv4Address = a;
          break;
        }
        case 'gw_priority':
          out.gwPriority = integer(ctx, f.value, at) ?? 0;
          break;
        case 'priority':
          out.priority = integer(ctx, f.value, at) ?? 0;
          break;
        case 'aliases':
        case 'link_local_ips':
        case 'mac_address':
        case 'driver_opts':
        case 'interface_name':
          break;
        default:
          if (!f.key.startsWith('x-')) {
            unknownKey(ctx, at, 'a service network key', f.keyLocation);
          }
      }
    }
    return out;
  });
}

function readService(ctx: Ctx, name: string, v: JsonValue): Stated<ComposeService> | null {
  const where = `services.${name}`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    report(
      ctx,
      'error',
      `service name "${name}" may hold only letters, digits, ".", "_" and "-"`,
      v.location,
    );
    return null;
  }
  if (v.kind !== 'object') {
    expect(ctx, v, 'a mapping', where);
    return null;
  }
  const s: Stated<ComposeService> = { name, location: startOf(v.location) };
  for (const e of v.entries) {
    const at = `${where}.${e.key}`;
    switch (e.key) {
      case 'image':
        s.image = text(e.value) ?? '';
        break;
      case 'command':
        s.command =
          e.value.kind === 'array' ? stringList(ctx, e.value, at) : splitWords(text(e.value) ?? '');
        break;
      case 'container_name':
        s.containerName = text(e.value);
        break;
      case 'network_mode':
        s.networkMode = text(e.value);
        s.networkModeLocation = startOf(e.value.location);
        break;
      case 'networks':
        s.networks = readServiceNetworks(ctx, e.value, at);
        break;
      case 'ports':
        s.ports = readPorts(ctx, e.value, at);
        break;
      case 'expose':
        s.expose = readExpose(ctx, e.value, at);
        break;
      case 'links':
        s.links = stringList(ctx, e.value, at).map((l) => {
          const [service = '', alias] = l.split(':');
          return { service, alias: alias ?? service };
        });
        break;
      case 'depends_on':
        s.dependsOn =
          e.value.kind === 'object'
            ? e.value.entries.map((d) => d.key)
            : stringList(ctx, e.value, at);
        break;
      case 'scale': {
        const n = integer(ctx, e.value, at);
        if (n !== null) s.replicas = n;
        break;
      }
      case 'deploy':
        if (e.value.kind === 'object') {
          const r = e.value.entries.find((d) => d.key === 'replicas');
          const n = r === undefined ? null : integer(ctx, r.value, `${at}.replicas`);
          if (n !== null) s.replicas = n;
        }
        break;
      case 'profiles':
        s.profiles = stringList(ctx, e.value, at);
        break;
      case 'extends':
        report(
          ctx,
          'warning',
          `${at}: extends is not applied; the service is planned with only its own keys`,
          e.keyLocation,
          'compose-unsupported',
        );
        break;
      case 'external_links':
        report(
          ctx,
          'note',
          `${at}: external links change no firewall rule and are not planned`,
          e.keyLocation,
          'compose-unsupported',
        );
        break;
      default:
        if (!SERVICE_KEYS.has(e.key) && !e.key.startsWith('x-')) {
          unknownKey(ctx, at, 'a Compose service key', e.keyLocation);
        }
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Networks

function readIpam(ctx: Ctx, v: JsonValue, where: string): ComposeIpamConfig[] {
  if (v.kind !== 'object') {
    if (v.kind !== 'null') expect(ctx, v, 'a mapping', where);
    return [];
  }
  const out: ComposeIpamConfig[] = [];
  for (const e of v.entries) {
    if (e.key === 'driver') {
      const d = text(e.value);
      if (d !== null && d !== 'default') {
        report(
          ctx,
          'warning',
          `${where}.driver "${d}": addresses from a third-party IPAM driver cannot be predicted; Docker's default allocation is assumed`,
          e.value.location,
          'compose-unsupported',
        );
      }
    } else if (e.key === 'config') {
      if (e.value.kind !== 'array') {
        expect(ctx, e.value, 'a list', `${where}.config`);
        continue;
      }
      for (const c of e.value.items) {
        if (c.kind !== 'object') {
          expect(ctx, c, 'a mapping', `${where}.config`);
          continue;
        }
        const get = (k: string) => {
          const f = c.entries.find((x) => x.key === k);
          return f === undefined ? null : text(f.value);
        };
        out.push({ subnet: get('subnet'), gateway: get('gateway'), ipRange: get('ip_range') });
      }
    } else if (e.key !== 'options' && !e.key.startsWith('x-')) {
      unknownKey(ctx, `${where}.${e.key}`, 'an ipam key', e.keyLocation);
    }
  }
  return out;
}

function readNetwork(ctx: Ctx, key: string, v: JsonValue): Stated<ComposeNetwork> {
  const where = `networks.${key}`;
  const n: Stated<ComposeNetwork> = { key, location: startOf(v.location) };
  if (v.kind === 'null') return n;
  if (v.kind !== 'object') {
    expect(ctx, v, 'a mapping', where);
    return n;
  }
  for (const e of v.entries) {
    const at = `${where}.${e.key}`;
    switch (e.key) {
      case 'name':
        n.name = text(e.value);
        break;
      case 'driver':
        n.driver = text(e.value);
        break;
      case 'driver_opts':
        n.driverOpts = stringMap(ctx, e.value, at);
        break;
      case 'labels':
        n.labels = stringMap(ctx, e.value, at);
        break;
      case 'internal':
        n.internal = bool(ctx, e.value, at) ?? false;
        break;
      case 'enable_ipv4':
        n.enableIpv4 = bool(ctx, e.value, at);
        break;
      case 'enable_ipv6':
        n.enableIpv6 = bool(ctx, e.value, at);
        break;
      case 'external':
        if (e.value.kind === 'object') {
          n.external = true;
          const name = e.value.entries.find((x) => x.key === 'name');
          if (name !== undefined) n.name = text(name.value);
        } else n.external = bool(ctx, e.value, at) ?? false;
        break;
      case 'ipam':
        n.ipam = readIpam(ctx, e.value, at);
        break;
      case 'attachable':
        break;
      default:
        if (!NETWORK_KEYS.has(e.key) && !e.key.startsWith('x-')) {
          unknownKey(ctx, at, 'a Compose network key', e.keyLocation);
        }
    }
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Files, merging, the project

interface FileContent {
  name: { value: string; where: string } | null;
  services: Stated<ComposeService>[];
  networks: Stated<ComposeNetwork>[];
}

function readFileContent(ctx: Ctx, value: JsonValue | null): FileContent {
  const out: FileContent = { name: null, services: [], networks: [] };
  if (value === null) return out;
  if (value.kind !== 'object') {
    expect(ctx, value, 'a mapping', 'a Compose file');
    return out;
  }
  for (const e of value.entries) {
    switch (e.key) {
      case 'name': {
        const t = text(e.value);
        if (t !== null) out.name = { value: t, where: `name: in ${ctx.file}` };
        break;
      }
      case 'version':
        report(
          ctx,
          'note',
          '"version" is obsolete in the Compose specification and is ignored',
          e.keyLocation,
          'compose-obsolete',
        );
        break;
      case 'services':
        if (e.value.kind === 'object') {
          for (const s of e.value.entries) {
            const svc = readService(ctx, s.key, s.value);
            if (svc !== null) out.services.push(svc);
          }
        } else if (e.value.kind !== 'null') expect(ctx, e.value, 'a mapping', 'services');
        break;
      case 'networks':
        if (e.value.kind === 'object') {
          for (const n of e.value.entries) out.networks.push(readNetwork(ctx, n.key, n.value));
        } else if (e.value.kind !== 'null') expect(ctx, e.value, 'a mapping', 'networks');
        break;
      case 'include':
        report(
          ctx,
          'warning',
          'include is not followed: the included files are not planned; name them with --compose instead',
          e.keyLocation,
          'compose-unsupported',
        );
        break;
      default:
        if (!TOP_KEYS.has(e.key) && !e.key.startsWith('x-')) {
          unknownKey(ctx, `"${e.key}"`, 'a top-level Compose key', e.keyLocation);
        }
    }
  }
  return out;
}

/** Compose's merge: later scalars win; ports, expose and links add up (equal entries once). */
function mergeInto<T extends object>(
  target: Stated<T>,
  source: Stated<T>,
  lists: readonly (keyof T)[],
) {
  for (const [k, v] of Object.entries(source) as [keyof T, T[keyof T]][]) {
    if (v === undefined) continue;
    const old = target[k];
    if (lists.includes(k) && Array.isArray(old) && Array.isArray(v)) {
      const key = (x: object) => JSON.stringify({ ...x, location: undefined });
      const seen = new Set((old as object[]).map(key));
      const added = (v as object[]).filter((x) => !seen.has(key(x)));
      target[k] = [...(old as object[]), ...added] as T[keyof T];
    } else target[k] = v;
  }
}

/** Compose's project-name normalisation: lower case, only [a-z0-9_-], starting alphanumeric. */
export function normaliseProjectName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[^a-z0-9]+/, '');
}

function finishService(s: Stated<ComposeService>, file: string): ComposeService {
  return {
    name: s.name ?? '',
    image: s.image ?? '',
    command: s.command ?? null,
    containerName: s.containerName ?? null,
    networkMode: s.networkMode ?? null,
    networkModeLocation: s.networkModeLocation ?? null,
    networks: s.networks ?? null,
    ports: s.ports ?? [],
    expose: s.expose ?? [],
    links: s.links ?? [],
    dependsOn: s.dependsOn ?? [],
    replicas: s.replicas ?? 1,
    profiles: s.profiles ?? [],
    location: s.location ?? fileLocation(file),
  };
}

function finishNetwork(n: Stated<ComposeNetwork>, file: string): ComposeNetwork {
  return {
    key: n.key ?? '',
    name: n.name ?? null,
    external: n.external ?? false,
    driver: n.driver ?? null,
    driverOpts: n.driverOpts ?? {},
    ipam: n.ipam ?? [],
    internal: n.internal ?? false,
    enableIpv4: n.enableIpv4 ?? null,
    enableIpv6: n.enableIpv6 ?? null,
    labels: n.labels ?? {},
    location: n.location ?? fileLocation(file),
  };
}

/** Reads and merges Compose files already in memory. */
export function readCompose(
  files: readonly ComposeFile[],
  options: ComposeReadOptions,
): ComposeProject {
  const diagnostics: Diagnostic[] = [];
  const services = new Map<string, Stated<ComposeService>>();
  const networks = new Map<string, Stated<ComposeNetwork>>();
  let named: { value: string; where: string } | null = null;
  for (const f of files) {
    const ctx: Ctx = { file: f.path, diagnostics };
    const yaml = readYaml(f.text, f.path, (value, location) =>
      interpolate(value, options.env, location, diagnostics),
    );
    diagnostics.push(...yaml.diagnostics);
    const content = readFileContent(ctx, yaml.value);
    named = content.name ?? named;
    for (const s of content.services) {
      const old = services.get(s.name ?? '');
      if (old === undefined) services.set(s.name ?? '', s);
      else mergeInto(old, s, ['ports', 'expose', 'links']);
    }
    for (const n of content.networks) {
      const old = networks.get(n.key ?? '');
      if (old === undefined) networks.set(n.key ?? '', n);
      else mergeInto(old, n, []);
    }
  }
  const first = files[0]?.path ?? '.';
  const fromEnv = options.env['COMPOSE_PROJECT_NAME'];
  const [raw, source] =
    options.projectName !== undefined
      ? [options.projectName, '--project-name']
      : named !== null
        ? [named.value, named.where]
        : fromEnv !== undefined && fromEnv !== ''
          ? [fromEnv, 'COMPOSE_PROJECT_NAME']
          : [
              path.basename(options.directory ?? path.dirname(path.resolve(first))),
              `the directory of ${first}`,
            ];
  const name = normaliseProjectName(raw);
  if (name === '') {
    diagnostics.push(
      diagnostic(
        'compose-invalid',
        'error',
        `project name "${raw}" (from ${source}) has no letters or digits`,
        fileLocation(first),
      ),
    );
  }
  return {
    name: name === '' ? 'project' : name,
    nameSource: source,
    files: files.map((f) => f.path),
    services: [...services.values()].map((s) => finishService(s, first)),
    networks: [...networks.values()].map((n) => finishNetwork(n, first)),
    diagnostics,
  };
}

/**
 * Reads Compose files from disk with the variables Compose would see: the process environment
 * over the `.env` file beside the first Compose file. A file that cannot be read is a diagnostic.
 */
export async function loadCompose(
  paths: readonly string[],
  options: { readonly env: Environment; readonly projectName?: string; readonly cwd: string },
): Promise<ComposeProject> {
  const diagnostics: Diagnostic[] = [];
  const files: ComposeFile[] = [];
  for (const p of paths) {
    const read = await readInputFile(path.resolve(options.cwd, p), {
      within: null,
      maxBytes: SIZE_LIMITS.small,
    });
    // Diagnostics name the file as the user wrote it.
    diagnostics.push(
      ...read.diagnostics.map((d) => ({ ...d, location: { ...d.location, file: p } })),
    );
    if (read.status === 'read') files.push({ path: p, text: read.text });
    else if (read.status === 'missing') {
      diagnostics.push(
        diagnostic('file-not-found', 'error', `${p} does not exist`, fileLocation(p)),
      );
    }
  }
  const first = paths[0];
  const dotEnv: Record<string, string> = {};
  if (first !== undefined) {
    // The .env beside the first file: a regular file inside that directory, or nothing.
    const dir = path.dirname(path.resolve(options.cwd, first));
    const env = await readInputFile(path.join(dir, '.env'), {
      within: dir,
      maxBytes: SIZE_LIMITS.small,
    });
    diagnostics.push(...env.diagnostics);
    if (env.status === 'read') Object.assign(dotEnv, parseDotEnv(env.text, env.path, diagnostics));
  }
  const project = readCompose(files, {
    env: { ...dotEnv, ...options.env },
    ...(first === undefined ? {} : { directory: path.dirname(path.resolve(options.cwd, first)) }),
    ...(options.projectName === undefined ? {} : { projectName: options.projectName }),
  });
  return { ...project, diagnostics: [...diagnostics, ...project.diagnostics] };
}

/** `KEY=value` lines (quotes stripped, `#` comments and `export ` prefixes allowed). */
export function parseDotEnv(
  text: string,
  file: string,
  diagnostics: Diagnostic[],
): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (m === null) {
      diagnostics.push(
        diagnostic('compose-invalid', 'warning', `not a KEY=value line; ignored`, {
          file,
          line: i + 1,
          column: 1,
        }),
      );
      return;
    }
    let value = m[2] ?? '';
    const q = value[0];
    if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2)
      value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '');
    out[m[1] ?? ''] = value;
  });
  return out;
}
