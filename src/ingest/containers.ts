/**
 * `docker inspect` output → `Container[]`: network modes (container:<ref> chains resolved),
 * endpoints per network, published ports (`NetworkSettings.Ports`) next to what was asked for
 * (`HostConfig.PortBindings`), and diagnostics where the two disagree. Both inspect shapes are
 * accepted: with the top-level `NetworkSettings.IPAddress` (≤28) and without it (Engine 29).
 */
import type { Diagnostic, SourceLocation } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type {
  Container,
  Endpoint,
  Network,
  NetworkMode,
  PortBindingRequest,
  Protocol,
  PublishedPort,
} from '../model/host.ts';
import { isProtocol, isVlanDriver } from '../model/host.ts';
import type { FieldContext } from './fields.ts';
import {
  asObject,
  booleanField,
  kindWord,
  numberField,
  objectField,
  stringField,
  wrongType,
} from './fields.ts';
import type { JsonObject, JsonValue } from './json.ts';
import { parseJson } from './json.ts';

export interface ContainersLoadResult {
  readonly containers: readonly Container[];
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Reads a containers file. `networks` (from networks.json) gives drivers of user networks; pass
 * an empty list when there is none. A truncated file still yields the containers before the cut.
 */
export function loadContainers(
  text: string,
  file: string,
  networks: readonly Network[],
): ContainersLoadResult {
  const parsed = parseJson(text, file);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const ctx: FieldContext = { file, diagnostics };
  const top = parsed.value ?? parsed.partial;
  if (top === null) return { containers: [], diagnostics };
  if (parsed.value === null && top.kind === 'array') {
    diagnostics.push(
      diagnostic(
        'partial-input',
        'warning',
        `only the ${top.items.length} complete container(s) before the error were read`,
        top.location,
      ),
    );
  }
  // One `docker inspect` object on its own is accepted too (a single container's dump).
  const items: readonly JsonValue[] =
    top.kind === 'array' ? top.items : top.kind === 'object' ? [top] : [];
  if (top.kind !== 'array' && top.kind !== 'object') {
    diagnostics.push(
      diagnostic(
        'wrong-type',
        'error',
        `a containers file must be the JSON array printed by \`docker inspect\`, found ${kindWord(top)}`,
        top.location,
      ),
    );
  }
  const drafts: Draft[] = [];
  items.forEach((item, i) => {
    const draft = readContainer(ctx, item, `containers[${i}]`);
    if (draft !== null) drafts.push(draft);
  });
  const containers = drafts.map((d) => finish(ctx, d, drafts, networks));
  return { containers, diagnostics };
}

/** A container before its network mode is resolved (`container:` chains need every draft). */
type Draft = Omit<Container, 'networkMode'> & {
  readonly modeText: string;
  readonly modeLocation: SourceLocation;
};

function readContainer(ctx: FieldContext, value: JsonValue, path: string): Draft | null {
  const object = asObject(ctx, value, path);
  if (object === null) return null;
  const id = stringField(ctx, object, 'Id', path, 'required');
  const rawName = stringField(ctx, object, 'Name', path, 'required');
  if (id === null) return null;
  const name = (rawName ?? id.slice(0, 12)).replace(/^\//, '');
  const config = objectField(ctx, object, 'Config', path);
  const image =
    (config === null ? null : stringField(ctx, config, 'Image', `${path}.Config`)) ??
    stringField(ctx, object, 'Image', path) ??
    '';
  const state = objectField(ctx, object, 'State', path);
  const running =
    state === null ? false : (booleanField(ctx, state, 'Running', `${path}.State`) ?? false);
  const hostConfig = objectField(ctx, object, 'HostConfig', path, 'required');
  const settings = objectField(ctx, object, 'NetworkSettings', path, 'required');
  let modeText = 'default';
  let modeLocation = object.location;
  if (hostConfig !== null) {
    const entry = hostConfig.entries.find((e) => e.key === 'NetworkMode');
    const mode = stringField(ctx, hostConfig, 'NetworkMode', `${path}.HostConfig`, 'required');
    if (mode !== null && mode !== '') modeText = mode;
    if (entry !== undefined) modeLocation = entry.value.location;
  }
  const endpoints =
    settings === null ? [] : readEndpoints(ctx, settings, `${path}.NetworkSettings`);
  const published =
    settings === null ? [] : readPublished(ctx, settings, `${path}.NetworkSettings`);
  const requested = hostConfig === null ? [] : readRequested(ctx, hostConfig, `${path}.HostConfig`);
  const exposedMap =
    config === null ? null : objectField(ctx, config, 'ExposedPorts', `${path}.Config`);
  const exposed = (exposedMap?.entries ?? []).flatMap((e) => {
    const port = parsePortKey(ctx, e.key, e.keyLocation, `${path}.Config.ExposedPorts`);
    return port === null ? [] : [port];
  });
  const publishAll =
    hostConfig === null
      ? false
      : (booleanField(ctx, hostConfig, 'PublishAllPorts', `${path}.HostConfig`) ?? false);
  return {
    id,
    name,
    image,
    running,
    modeText,
    modeLocation,
    endpoints,
    published,
    requested,
    exposed,
    publishAll,
    location: object.location,
  };
}

/** `80/tcp` → port and protocol (no protocol means tcp, as Docker reads it). */
function parsePortKey(
  ctx: FieldContext,
  key: string,
  location: SourceLocation,
  path: string,
): { port: number; protocol: Protocol } | null {
  const match = /^(\d+)(?:\/([a-z]+))?$/.exec(key);
  const port = match === null ? NaN : Number(match[1]);
  const protocol = match?.[2] ?? 'tcp';
  if (match === null || port < 1 || port > 65535 || !isProtocol(protocol)) {
    ctx.diagnostics.push(
      diagnostic(
        'invalid-value',
        'error',
        `${path}: "${key}" is not a port like "80/tcp"`,
        location,
      ),
    );
    return null;
  }
  return { port, protocol };
}

function emptyToNull(value: string | null): string | null {
  return value === null || value === '' ? null : value;
}

function readEndpoints(ctx: FieldContext, settings: JsonObject, path: string): Endpoint[] {
  const networks = objectField(ctx, settings, 'Networks', path);
  const endpoints: Endpoint[] = [];
  for (const entry of networks?.entries ?? []) {
    const epath = `${path}.Networks.${entry.key}`;
    const ep = asObject(ctx, entry.value, epath);
    if (ep === null) continue;
    endpoints.push({
      network: entry.key,
      networkId: emptyToNull(stringField(ctx, ep, 'NetworkID', epath)),
      ipv4: emptyToNull(stringField(ctx, ep, 'IPAddress', epath)),
      ipv4PrefixLength: nonZero(numberField(ctx, ep, 'IPPrefixLen', epath)),
      ipv6: emptyToNull(stringField(ctx, ep, 'GlobalIPv6Address', epath)),
      ipv6PrefixLength: nonZero(numberField(ctx, ep, 'GlobalIPv6PrefixLen', epath)),
      gateway: emptyToNull(stringField(ctx, ep, 'Gateway', epath)),
      gatewayV6: emptyToNull(stringField(ctx, ep, 'IPv6Gateway', epath)),
      mac: emptyToNull(stringField(ctx, ep, 'MacAddress', epath)),
    });
  }
  // The pre-29 shape also repeats the default-bridge endpoint at the top level; when Networks is
  // absent (very old or hand-made files) that is the only place the address is.
  if (endpoints.length === 0) {
    const ipv4 = emptyToNull(stringField(ctx, settings, 'IPAddress', path));
    if (ipv4 !== null) {
      endpoints.push({
        network: 'bridge',
        networkId: null,
        ipv4,
        ipv4PrefixLength: nonZero(numberField(ctx, settings, 'IPPrefixLen', path)),
        ipv6: emptyToNull(stringField(ctx, settings, 'GlobalIPv6Address', path)),
        ipv6PrefixLength: nonZero(numberField(ctx, settings, 'GlobalIPv6PrefixLen', path)),
        gateway: emptyToNull(stringField(ctx, settings, 'Gateway', path)),
        gatewayV6: emptyToNull(stringField(ctx, settings, 'IPv6Gateway', path)),
        mac: emptyToNull(stringField(ctx, settings, 'MacAddress', path)),
      });
    }
  }
  return endpoints;
}

function nonZero(n: number | null): number | null {
  return n === null || n === 0 ? null : n;
}

/** Each `{HostIp, HostPort}` binding of a port map, with its port key. */
function bindings(
  ctx: FieldContext,
  map: JsonObject,
  path: string,
): {
  port: number;
  protocol: Protocol;
  hostIp: string;
  hostPort: string;
  location: SourceLocation;
}[] {
  const out: ReturnType<typeof bindings> = [];
  for (const entry of map.entries) {
    const port = parsePortKey(ctx, entry.key, entry.keyLocation, path);
    if (port === null) continue;
    const list = entry.value;
    if (list.kind === 'null') continue; // exposed but not published
    if (list.kind !== 'array') {
      wrongType(ctx, `${path}["${entry.key}"]`, list, 'an array of {HostIp, HostPort} or null');
      continue;
    }
    list.items.forEach((item, i) => {
      const bpath = `${path}["${entry.key}"][${i}]`;
      const b = asObject(ctx, item, bpath);
      if (b === null) return;
      out.push({
        ...port,
        hostIp: stringField(ctx, b, 'HostIp', bpath) ?? '',
        hostPort: stringField(ctx, b, 'HostPort', bpath) ?? '',
        location: b.location,
      });
    });
  }
  return out;
}

function readPublished(ctx: FieldContext, settings: JsonObject, path: string): PublishedPort[] {
  const ports = objectField(ctx, settings, 'Ports', path);
  if (ports === null) return [];
  const out: PublishedPort[] = [];
  for (const b of bindings(ctx, ports, `${path}.Ports`)) {
    let hostPort: number | null = null;
    if (b.hostPort !== '') {
      hostPort = /^\d+$/.test(b.hostPort) ? Number(b.hostPort) : NaN;
      if (Number.isNaN(hostPort) || hostPort < 1 || hostPort > 65535) {
        ctx.diagnostics.push(
          diagnostic(
            'invalid-value',
            'error',
            `${path}.Ports: HostPort "${b.hostPort}" is not a port`,
            b.location,
          ),
        );
        continue;
      }
    }
    out.push({
      containerPort: b.port,
      protocol: b.protocol,
      hostIp: b.hostIp === '' ? '0.0.0.0' : b.hostIp,
      hostPort,
      location: b.location,
    });
  }
  return out;
}

function readRequested(
  ctx: FieldContext,
  hostConfig: JsonObject,
  path: string,
): PortBindingRequest[] {
  const map = objectField(ctx, hostConfig, 'PortBindings', path);
  if (map === null) return [];
  return bindings(ctx, map, `${path}.PortBindings`).map((b) => ({
    containerPort: b.port,
    protocol: b.protocol,
    hostIp: b.hostIp,
    hostPort: b.hostPort,
    location: b.location,
  }));
}

/** Resolves the network mode and states where inspect's requested and published ports differ. */
function finish(
  ctx: FieldContext,
  draft: Draft,
  all: readonly Draft[],
  networks: readonly Network[],
): Container {
  const networkMode = resolveMode(ctx, draft, all, networks);
  // host and none "networks" carry no addresses; they are modes, not endpoints.
  const endpoints = draft.endpoints.filter((e) => e.network !== 'host' && e.network !== 'none');
  const container: Container = {
    id: draft.id,
    name: draft.name,
    image: draft.image,
    running: draft.running,
    networkMode,
    endpoints,
    published: draft.published,
    requested: draft.requested,
    exposed: draft.exposed,
    publishAll: draft.publishAll,
    location: draft.location,
  };
  checkPorts(ctx, container);
  return container;
}

function findContainer(ref: string, all: readonly Draft[]): Draft | undefined {
  const name = ref.replace(/^\//, '');
  const exact = all.find((d) => d.id === ref || d.name === name);
  if (exact !== undefined || ref === '') return exact;
  // Docker accepts any unique id prefix.
  const byPrefix = all.filter((d) => d.id.startsWith(ref));
  return byPrefix.length === 1 ? byPrefix[0] : undefined;
}

function resolveMode(
  ctx: FieldContext,
  draft: Draft,
  all: readonly Draft[],
  networks: readonly Network[],
): NetworkMode {
  const text = draft.modeText;
  if (text === 'default' || text === 'bridge') return { kind: 'bridge', network: 'bridge' };
  if (text === 'host') return { kind: 'host' };
  if (text === 'none') return { kind: 'none' };
  if (text.startsWith('container:')) {
    const ref = text.slice('container:'.length);
    return { kind: 'container', ref, resolved: followChain(ctx, draft, all) };
  }
  const network =
    networks.find((n) => n.name === text || n.id === text) ??
    networks.find((n) => text.length >= 12 && n.id.startsWith(text));
  if (network?.isDefaultBridge === true) return { kind: 'bridge', network: network.name };
  return { kind: 'network', network: network?.name ?? text, driver: network?.driver ?? null };
}

/** Follows container:<ref> links to the container that owns the namespace. */
function followChain(ctx: FieldContext, start: Draft, all: readonly Draft[]): string | null {
  const seen: Draft[] = [start];
  let current = start;
  for (;;) {
    const ref = current.modeText.slice('container:'.length);
    const target = findContainer(ref, all);
    if (target === undefined) {
      ctx.diagnostics.push(
        diagnostic(
          'dangling-container-ref',
          current === start ? 'warning' : 'note',
          `${start.name} shares the network namespace of container "${ref}"${current === start ? '' : ` (via ${current.name})`}, which is not in the containers file; its exposure is unknown`,
          current === start ? start.modeLocation : current.modeLocation,
          'collect with `docker inspect $(docker ps -aq)` so every container is included',
        ),
      );
      return null;
    }
    if (seen.includes(target)) {
      ctx.diagnostics.push(
        diagnostic(
          'container-mode-cycle',
          'error',
          `network mode of ${start.name} loops: ${[...seen, target].map((d) => d.name).join(' → ')}`,
          start.modeLocation,
        ),
      );
      return null;
    }
    if (!target.modeText.startsWith('container:')) return target.name;
    seen.push(target);
    current = target;
  }
}

function describeRequest(r: PortBindingRequest): string {
  const host = `${r.hostIp === '' ? '' : `${r.hostIp}:`}${r.hostPort === '' ? '(any)' : r.hostPort}`;
  return `${host}→${r.containerPort}/${r.protocol}`;
}

function checkPorts(ctx: FieldContext, c: Container): void {
  const mode = c.networkMode.kind;
  if (c.requested.length === 0) return;
  const list = c.requested.map(describeRequest).join(', ');
  const first = c.requested[0];
  if (first === undefined) return;
  if (mode === 'host') {
    ctx.diagnostics.push(
      diagnostic(
        'ports-discarded-host-mode',
        'warning',
        `${c.name} runs in host network mode: the requested port bindings ${list} are discarded by Docker; the process binds host sockets directly and only INPUT rules apply to it`,
        first.location,
      ),
    );
    return;
  }
  if (mode === 'container') {
    ctx.diagnostics.push(
      diagnostic(
        'ports-rejected-container-mode',
        'error',
        `${c.name} shares another container's network namespace: Docker rejects port publishing in this mode ("conflicting options: port publishing and the container type network mode"), so ${list} is not published`,
        first.location,
      ),
    );
    return;
  }
  const net = c.networkMode;
  if (net.kind === 'network' && isVlanDriver(net.driver)) {
    ctx.diagnostics.push(
      diagnostic(
        'ports-discarded-vlan-network',
        'warning',
        `${c.name} is on ${net.driver} network ${net.network}: Docker publishes no port there, so the requested port bindings ${list} do nothing; the container is reached at its own address`,
        first.location,
      ),
    );
    return;
  }
  if (mode === 'none') {
    ctx.diagnostics.push(
      diagnostic(
        'ports-discarded-none-mode',
        'warning',
        `${c.name} has network mode none: the requested port bindings ${list} publish nothing`,
        first.location,
      ),
    );
    return;
  }
  if (!c.running) return; // a stopped container publishes nothing; that is not a disagreement
  for (const r of c.requested) {
    const found = c.published.some(
      (p) =>
        p.containerPort === r.containerPort &&
        p.protocol === r.protocol &&
        (r.hostPort === '' || p.hostPort === null || portInRange(p.hostPort, r.hostPort)),
    );
    if (!found) {
      ctx.diagnostics.push(
        diagnostic(
          'port-binding-not-published',
          'warning',
          `${c.name} asked for ${describeRequest(r)} but NetworkSettings.Ports does not show it in effect`,
          r.location,
        ),
      );
    }
  }
}

function portInRange(port: number, spec: string): boolean {
  const [from, to] = spec.split('-').map(Number);
  if (from === undefined || Number.isNaN(from)) return false;
  return port >= from && port <= (to ?? from);
}
