/**
 * Builds a lab topology in Linux network namespaces, runs probes, and tears everything down.
 *
 * Layout: one host namespace (the fixture's rules via iptables-restore, a bridge per Docker
 * network with its gateway, ext0 to the remote client), one namespace per container (veth into
 * its bridge, address, default route, listeners), and a client namespace (203.0.113.2) with a
 * route to everything via the host. No traffic leaves these namespaces.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { release } from 'node:os';
import { AGENT_SOURCE } from './agent.ts';
import type { Probe } from './probes.ts';
import { EXTERNAL6 } from './ipv6.ts';
import { EXTERNAL, type LabTopology } from './topology.ts';

export type Observation = 'connected' | 'refused' | 'unreachable' | 'timeout' | 'error';

const OBSERVATIONS: readonly string[] = ['connected', 'refused', 'unreachable', 'timeout'];
const asObservation = (o: string | undefined): Observation =>
  o !== undefined && OBSERVATIONS.includes(o) ? (o as Observation) : 'error';

export interface ProbeResult {
  readonly probe: Probe;
  readonly outcome: Observation;
  /** What the listener answered: `host` or `<container>:<port>/<proto>`; null when no answer. */
  readonly identity: string | null;
  /**
   * The UDP listener that heard the probe's datagram (an identity as above), whatever became of
   * its answer; absent when none did (or the probe is TCP).
   */
  readonly heard?: string;
  /** What the prober said where it is none of the observations (`error:EINVAL`). */
  readonly error?: string;
}

export interface Lab {
  readonly topology: LabTopology;
  readonly hostNs: string;
  readonly clientNs: string;
  readonly containerNs: ReadonlyMap<string, string>;
  /** Whether bridged (same-bridge) traffic traverses iptables in the host namespace. */
  readonly brNetfilter: boolean;
  /**
   * Whether the lab set bridge-nf-call-iptables as the topology asks (br_netfilter loaded): the
   * collected sysctl.txt then says which way bridged traffic goes.
   */
  readonly brNetfilterSet: boolean;
  /** Interfaces of the host namespace, for the engine's context. */
  readonly hostInterfaces: readonly string[];
  readonly listeners: ChildProcess[];
  /** The probes' datagrams the lab's UDP listeners heard: the probe's id, the listener's identity. */
  readonly heard: { id: string; identity: string }[];
  readonly log: string[];
}

export interface Capability {
  readonly ok: boolean;
  readonly reason: string;
}

let pythonPath: string | null = null;

function python(): string {
  if (pythonPath === null) {
    const r = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], {
      encoding: 'utf8',
    });
    pythonPath = r.status === 0 ? r.stdout.trim() : 'python3';
  }
  return pythonPath;
}

/** Can this process build namespaces here? Says why not. */
export function labCapability(): Capability {
  if (process.platform !== 'linux') return { ok: false, reason: 'not Linux' };
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return { ok: false, reason: 'not root' };
  for (const tool of ['ip', 'iptables-restore', 'nft', 'python3']) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
    if (r.status !== 0) return { ok: false, reason: `${tool} not found` };
  }
  const probe = `dwk-cap${process.pid % 100000}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.status !== 0) return { ok: false, reason: `ip netns add failed: ${add.stderr.trim()}` };
  const ipt = spawnSync('ip', ['netns', 'exec', probe, 'iptables', '-t', 'filter', '-S'], {
    encoding: 'utf8',
  });
  const nft = spawnSync('ip', ['netns', 'exec', probe, 'nft', 'list', 'ruleset'], {
    encoding: 'utf8',
  });
  spawnSync('ip', ['netns', 'del', probe]);
  if (ipt.status !== 0) return { ok: false, reason: `iptables unusable: ${ipt.stderr.trim()}` };
  if (nft.status !== 0) return { ok: false, reason: `nft unusable: ${nft.stderr.trim()}` };
  return { ok: true, reason: 'root, ip, iptables, nft and python3 available' };
}

/** Kernel, iptables and nft versions, stated with recorded observations. */
export function labVersions(): { kernel: string; iptables: string; nft: string } {
  const ipt = spawnSync('iptables', ['--version'], { encoding: 'utf8' });
  const nft = spawnSync('nft', ['--version'], { encoding: 'utf8' });
  return {
    kernel: release(),
    iptables: ipt.status === 0 ? ipt.stdout.trim() : 'unknown',
    nft: nft.status === 0 ? nft.stdout.trim() : 'unknown',
  };
}

function run(log: string[], args: readonly string[], input?: string): string {
  const r = spawnSync(args[0] ?? '', args.slice(1), {
    encoding: 'utf8',
    input: input ?? '',
    timeout: 15_000,
  });
  log.push(`$ ${args.join(' ')}${r.status === 0 ? '' : ` → ${r.status}: ${r.stderr.trim()}`}`);
  if (r.status !== 0) {
    throw new Error(
      `lab command failed: ${args.join(' ')}: ${r.stderr.trim() || r.error?.message}`,
    );
  }
  return r.stdout;
}

/** One command of a lab test, its output; a failure throws with the command's error. */
export function labCommand(args: readonly string[], input = ''): string {
  return run([], args, input);
}

const inNs = (ns: string, ...args: string[]): string[] => ['ip', 'netns', 'exec', ns, ...args];
const sysctl = (ns: string, key: string, value: string): string[] =>
  inNs(ns, 'sysctl', '-qw', `${key}=${value}`);

/**
 * A namespace suffix no other run can have: the whole pid (live pids are unique on the
 * machine) and the lab's index, apart — `pid % n` and run-together digits let two test runs in
 * parallel pick the same names.
 */
export function labSuffix(tag: string, index: number): string {
  return `${tag}${process.pid.toString(36)}-${index.toString(36)}`;
}

/** A veth pair: `name` in the host's namespace, its peer `eth0` in namespace `ns`. */
function vethToEth0(hostNs: string, name: string, ns: string): string[] {
  return [
    'ip',
    '-n',
    hostNs,
    'link',
    'add',
    name,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    ns,
  ];
}

/**
 * The host's external interface and the remote client's `eth0`: a veth pair between their
 * namespaces, each end with its address (shared/lab/client.sh's layout) and up.
 */
export function linkExternal(
  exec: (args: readonly string[]) => void,
  hostNs: string,
  clientNs: string,
): void {
  const ext = EXTERNAL.hostInterface;
  const len = String(EXTERNAL.prefixLength);
  exec(vethToEth0(hostNs, ext, clientNs));
  exec(['ip', '-n', hostNs, 'addr', 'add', `${EXTERNAL.hostAddress}/${len}`, 'dev', ext]);
  exec(['ip', '-n', hostNs, 'link', 'set', ext, 'up']);
  exec(['ip', '-n', clientNs, 'addr', 'add', `${EXTERNAL.clientAddress}/${len}`, 'dev', 'eth0']);
  exec(['ip', '-n', clientNs, 'link', 'set', 'eth0', 'up']);
}

/**
 * Builds the lab. `suffix` keeps namespace names unique (`dwk-<suffix>-…`). On any failure
 * everything created so far is removed before the error propagates.
 */
export async function buildLab(topology: LabTopology, suffix: string): Promise<Lab> {
  const log: string[] = [];
  const hostNs = `dwk-${suffix}-h`;
  const clientNs = `dwk-${suffix}-cl`;
  const containerNs = new Map<string, string>();
  topology.containers.forEach((c, i) => containerNs.set(c.name, `dwk-${suffix}-c${i}`));
  const lab: Lab = {
    topology,
    hostNs,
    clientNs,
    containerNs,
    brNetfilter: false,
    brNetfilterSet: false,
    hostInterfaces: [],
    listeners: [],
    heard: [],
    log,
  };
  const v6 = topology.v6;
  try {
    for (const ns of [hostNs, clientNs, ...containerNs.values()]) {
      // a namespace of this name can only be a leftover of a killed run with our pid
      if (existsSync(`/run/netns/${ns}`)) spawnSync('ip', ['netns', 'del', ns]);
      run(log, ['ip', 'netns', 'add', ns]);
      run(log, ['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      // ICMP errors are how REJECT and closed UDP ports show, and every probe is sent at once:
      // the per-peer limit and the namespace's budget (a burst of 50 every 20 ms, whatever
      // icmp_msgs_per_sec says) turned some into apparent drops — a datagram to a closed port
      // timed out where it was refused on other runs. An empty rate mask exempts every type
      // from both.
      run(log, sysctl(ns, 'net.ipv4.icmp_ratemask', '0'));
      run(log, sysctl(ns, 'net.ipv4.icmp_ratelimit', '0'));
      if (v6 !== null) {
        // No duplicate address detection: addresses are usable at once, not "tentative".
        run(log, sysctl(ns, 'net.ipv6.conf.all.accept_dad', '0'));
        run(log, sysctl(ns, 'net.ipv6.conf.default.accept_dad', '0'));
        run(log, sysctl(ns, 'net.ipv6.icmp.ratemask', ''));
        run(log, sysctl(ns, 'net.ipv6.icmp.ratelimit', '0'));
      }
    }
    if (v6 !== null) run(log, sysctl(hostNs, 'net.ipv6.conf.all.forwarding', '1'));
    run(log, sysctl(hostNs, 'net.ipv4.ip_forward', '1'));
    const interfaces = ['lo', EXTERNAL.hostInterface];

    linkExternal((args) => run(log, args), hostNs, clientNs);
    run(log, ['ip', '-n', clientNs, 'route', 'add', 'default', 'via', EXTERNAL.hostAddress]);
    if (v6 !== null) {
      const len6 = String(EXTERNAL6.prefixLength);
      run(log, [
        'ip',
        '-n',
        hostNs,
        '-6',
        'addr',
        'add',
        `${EXTERNAL6.hostAddress}/${len6}`,
        'dev',
        EXTERNAL.hostInterface,
        'nodad',
      ]);
      run(log, [
        'ip',
        '-n',
        clientNs,
        '-6',
        'addr',
        'add',
        `${EXTERNAL6.clientAddress}/${len6}`,
        'dev',
        'eth0',
        'nodad',
      ]);
      run(log, [
        'ip',
        '-n',
        clientNs,
        '-6',
        'route',
        'add',
        'default',
        'via',
        EXTERNAL6.hostAddress,
      ]);
    }

    for (const b of topology.bridges) {
      const prefix = b.subnet.split('/')[1] ?? '24';
      run(log, ['ip', '-n', hostNs, 'link', 'add', b.name, 'type', 'bridge']);
      run(log, ['ip', '-n', hostNs, 'addr', 'add', `${b.gateway}/${prefix}`, 'dev', b.name]);
      run(log, ['ip', '-n', hostNs, 'link', 'set', b.name, 'up']);
      interfaces.push(b.name);
    }
    for (const b of v6?.bridges ?? []) {
      if (!topology.bridges.some((x) => x.name === b.name)) {
        run(log, ['ip', '-n', hostNs, 'link', 'add', b.name, 'type', 'bridge']);
        run(log, ['ip', '-n', hostNs, 'link', 'set', b.name, 'up']);
        interfaces.push(b.name);
      }
      const prefix = b.subnet.split('/')[1] ?? '64';
      run(log, [
        'ip',
        '-n',
        hostNs,
        '-6',
        'addr',
        'add',
        `${b.gateway}/${prefix}`,
        'dev',
        b.name,
        'nodad',
      ]);
    }
    for (const address of new Set(topology.rejected.map((x) => x.address))) {
      run(log, [
        'ip',
        '-n',
        hostNs,
        'route',
        'add',
        `${address}/32`,
        'via',
        EXTERNAL.clientAddress,
      ]);
    }
    for (const b of topology.routeLocalnet) {
      run(log, sysctl(hostNs, `net.ipv4.conf.${b}.route_localnet`, '1'));
    }
    topology.containers.forEach((c, i) => {
      const ns = containerNs.get(c.name) ?? '';
      const veth = `dwv${i}`;
      run(log, vethToEth0(hostNs, veth, ns));
      run(log, ['ip', '-n', hostNs, 'link', 'set', veth, 'master', c.bridge, 'up']);
      run(log, ['ip', '-n', ns, 'addr', 'add', `${c.address}/${c.prefixLength}`, 'dev', 'eth0']);
      run(log, ['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      run(log, ['ip', '-n', ns, 'route', 'add', 'default', 'via', c.gateway]);
      const c6 = v6?.containers.find((x) => x.name === c.name);
      const gw6 = v6?.bridges.find((b) => b.name === c.bridge)?.gateway;
      if (c6 !== undefined && gw6 !== undefined) {
        run(log, [
          'ip',
          '-n',
          ns,
          '-6',
          'addr',
          'add',
          `${c6.address}/${c6.prefixLength}`,
          'dev',
          'eth0',
          'nodad',
        ]);
        run(log, ['ip', '-n', ns, '-6', 'route', 'add', 'default', 'via', gw6]);
      }
      interfaces.push(veth);
    });

    // br_netfilter: the sysctl exists per namespace only when the module is loaded. On, as
    // dockerd sets it, unless the scenario turns it off.
    const nfPath = '/proc/sys/net/bridge/bridge-nf-call-iptables';
    let brNetfilter = false;
    let brNetfilterSet = false;
    if (existsSync(nfPath)) {
      const value = topology.bridgeNfCall ? '1' : '0';
      try {
        run(log, sysctl(hostNs, 'net.bridge.bridge-nf-call-iptables', value));
        if (v6 !== null) run(log, sysctl(hostNs, 'net.bridge.bridge-nf-call-ip6tables', value));
        const read = run(log, inNs(hostNs, 'cat', nfPath)).trim();
        brNetfilterSet = read === value;
        brNetfilter = read === '1';
      } catch {
        brNetfilter = false;
      }
    }

    run(log, inNs(hostNs, 'iptables-restore'), topology.iptablesSave);
    if (v6 !== null) run(log, inNs(hostNs, 'ip6tables-restore'), v6.ip6tablesSave);
    // native nftables tables (Docker's nftables backend, an operator's) beside iptables'
    if (topology.nftRuleset !== null) run(log, inNs(hostNs, 'nft', '-f', '-'), topology.nftRuleset);

    const serving: Promise<void>[] = [];
    for (const c of topology.containers) {
      const binds = v6?.containers.some((x) => x.name === c.name) ? ['0.0.0.0', '::'] : ['0.0.0.0'];
      const spec = binds.flatMap((address) =>
        c.ports.flatMap((port) =>
          (['tcp', 'udp'] as const).map((protocol) => ({
            address,
            port,
            protocol,
            identity: `${c.name}:${port}/${protocol}`,
          })),
        ),
      );
      serving.push(startListener(lab, containerNs.get(c.name) ?? '', spec));
    }
    const hostSpec = topology.hostListeners.map((l) => ({
      address: l.address,
      port: l.port,
      protocol: l.protocol,
      identity: 'host',
    }));
    serving.push(startListener(lab, hostNs, hostSpec));
    await Promise.all(serving);
    return { ...lab, brNetfilter, brNetfilterSet, hostInterfaces: interfaces };
  } catch (e) {
    destroyLab(lab);
    throw e;
  }
}

function startListener(lab: Lab, ns: string, spec: readonly object[]): Promise<void> {
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, python(), '-c', AGENT_SOURCE, 'serve', JSON.stringify(spec)],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  lab.listeners.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`listener in ${ns} not ready: ${err}`)),
      10_000,
    );
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) {
        const heard = /^heard (\S+) (\S+)$/.exec(line);
        if (heard !== null) lab.heard.push({ id: heard[1] ?? '', identity: heard[2] ?? '' });
        else if (line === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`listener in ${ns} exited ${code}: ${err}`));
    });
  });
}

/** Sends every probe: each origin's probes at once, all origins in parallel, 1 s timeouts. */
export async function runProbes(
  lab: Lab,
  probes: readonly Probe[],
  timeoutSeconds = 1,
): Promise<ProbeResult[]> {
  const byNs = new Map<string, Probe[]>();
  for (const p of probes) {
    const ns =
      p.origin.kind === 'client'
        ? lab.clientNs
        : p.origin.kind === 'host'
          ? lab.hostNs
          : (lab.containerNs.get(p.origin.name) ?? '');
    byNs.set(ns, [...(byNs.get(ns) ?? []), p]);
  }
  const batches = [...byNs].map(async ([ns, ps]) => {
    const spec = ps.map((p) => ({
      id: p.id,
      protocol: p.protocol,
      source: p.source,
      sourcePort: p.sourcePort,
      destination: p.destination,
      port: p.port,
      timeout: timeoutSeconds,
    }));
    const out = await runAsync(
      inNs(ns, python(), '-c', AGENT_SOURCE, 'probe', JSON.stringify(spec)),
    );
    lab.log.push(`probe batch in ${ns}: ${ps.length} probes`);
    const parsed = JSON.parse(out) as { id: string; outcome: string; identity?: string }[];
    return ps.map((p) => {
      const r = parsed.find((x) => x.id === p.id);
      // a probe's datagram carries its id
      const heard =
        p.protocol === 'udp' ? lab.heard.find((h) => h.id === p.id)?.identity : undefined;
      const outcome = asObservation(r?.outcome);
      return {
        probe: p,
        outcome,
        identity: r?.identity ?? null,
        ...(heard === undefined ? {} : { heard }),
        ...(outcome === 'error' ? { error: r?.outcome ?? 'no result' } : {}),
      };
    });
  });
  const results = (await Promise.all(batches)).flat();
  const order = new Map(probes.map((p, i) => [p.id, i]));
  return results.sort((a, b) => (order.get(a.probe.id) ?? 0) - (order.get(b.probe.id) ?? 0));
}

function runAsync(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(args[0] ?? '', args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`probe failed (${code}): ${err.trim()}`));
    });
  });
}

/**
 * Collects the lab host as the collector would on a real host — `iptables-save`, `ip -j addr`,
 * `ip -j route show table all`, `ss -Htlnup`, the sysctls — plus the scenario's inspect files,
 * into a snapshot directory, so the whole pipeline (ingest, context, engine) can be refereed.
 */
export function collectLabSnapshot(
  lab: Lab,
  dir: string,
  inspect: { readonly containers?: readonly unknown[]; readonly networks?: readonly unknown[] },
): void {
  mkdirSync(dir, { recursive: true });
  const h = lab.hostNs;
  const write = (name: string, text: string): void => writeFileSync(path.join(dir, name), text);
  write('iptables-save.txt', run(lab.log, inNs(h, 'iptables-save')));
  if (lab.topology.v6 !== null)
    write('ip6tables-save.txt', run(lab.log, inNs(h, 'ip6tables-save')));
  // as the collector does: the whole nftables ruleset, iptables-nft's own tables included
  write('nft-ruleset.json', run(lab.log, inNs(h, 'nft', '-j', 'list', 'ruleset')));
  write('ip-addr.json', run(lab.log, ['ip', '-n', h, '-j', 'addr', 'show']));
  write('ip-route.json', run(lab.log, ['ip', '-n', h, '-j', 'route', 'show', 'table', 'all']));
  write('listeners.txt', run(lab.log, inNs(h, 'ss', '-Htlnup')));
  const keys = [
    'net.ipv4.ip_forward',
    'net.ipv6.conf.all.forwarding',
    'net.ipv4.conf.all.route_localnet',
    'net.ipv4.conf.all.accept_local',
    ...(lab.brNetfilterSet ? ['net.bridge.bridge-nf-call-iptables'] : []),
    ...(lab.brNetfilterSet && lab.topology.v6 !== null
      ? ['net.bridge.bridge-nf-call-ip6tables']
      : []),
  ];
  // route_localnet, rp_filter and accept_local of every interface, as the collector records them
  const perInterface = run(
    lab.log,
    inNs(h, 'sysctl', '-a', '--pattern', '\\.(route_localnet|rp_filter|accept_local)$'),
  );
  write('sysctl.txt', `${run(lab.log, inNs(h, 'sysctl', ...keys))}${perInterface}`);
  if (inspect.containers && inspect.containers.length > 0)
    write('containers.json', JSON.stringify(inspect.containers, null, 1));
  if (inspect.networks && inspect.networks.length > 0)
    write('networks.json', JSON.stringify(inspect.networks, null, 1));
}

/** Stops the listeners this lab started and deletes its namespaces; never throws. */
export function destroyLab(lab: Lab): void {
  for (const child of lab.listeners) {
    if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
  }
  for (const ns of [lab.clientNs, ...lab.containerNs.values(), lab.hostNs]) {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}
