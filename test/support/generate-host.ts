/**
 * A generated snapshot of a big kube-proxy-plus-Docker host: ≥ 100,000 iptables rules, thousands
 * of Kubernetes services (ClusterIP, NodePort) load-balanced over endpoints, and thousands of
 * Docker containers on user bridges publishing ports — with containers.json, networks.json,
 * ip-addr.json, ip-route.json, listeners.txt, sysctl.txt, daemon.json and docker-version.json
 * that agree with the rules. Deterministic from a seed, so benchmarks and UI tests see the same host every time.
 *
 * Layout (what the rules and files say, so tests can check it):
 * - external interface `eth0` 203.0.113.10/24, default route via 203.0.113.1;
 * - Kubernetes: pod network 10.244.0.0/16 (this node's pods on `cni0` 10.244.0.0/24, others via
 *   `flannel.1`), service ClusterIPs in 10.96.0.0/12; service i listens on port 80 + (i % 50),
 *   every third service is a NodePort (30000 + i % 2768);
 * - Docker 28.x layout: network k is `net-kk` on bridge `br-<12 hex of its id>`, subnet
 *   10.100.k.0/24, gateway .1; container i (`app-iiiii`) is on network i % networks at
 *   10.100.(i % networks).(2 + ⌊i / networks⌋), listens on 80/tcp, published on host port
 *   10000 + i/tcp; every 10th also publishes 53/udp on 10000 + i/udp; every 7th is bound to
 *   127.0.0.1, every 13th (not 7th) to 203.0.113.10, the rest to 0.0.0.0;
 * - DOCKER-USER holds an allowlist per network and, as real hosts do by mistake, DROP rules
 *   written against host ports (which never match after DNAT).
 *
 * CLI: `node dist/test/support/generate-host.js OUT_DIR [--services N] [--endpoints N] [--containers N]
 * [--networks N] [--seed N]`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { prng } from './prng.ts';

export interface GenerateHostOptions {
  /** Kubernetes services (default 3000). */
  readonly services?: number;
  /** Endpoints behind each service (default 10). */
  readonly endpointsPerService?: number;
  /** Docker containers publishing ports (default 2000). */
  readonly containers?: number;
  /** Docker user bridge networks (default 20, at most 250). */
  readonly networks?: number;
  readonly seed?: number;
  /** External interface and the host's address on it (default eth0, 203.0.113.10/24). */
  readonly externalInterface?: string;
  readonly externalAddress?: string;
}

export interface PublishedMapping {
  readonly container: string;
  readonly containerAddress: string;
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp';
  readonly hostIp: string;
  readonly hostPort: number;
}

export interface GeneratedHost {
  /** File name → contents, as written into the snapshot directory. */
  readonly files: Readonly<Record<string, string>>;
  /** `-A` lines in iptables-save.txt. */
  readonly rules: number;
  readonly chains: number;
  readonly services: number;
  readonly nodePorts: number;
  readonly containers: number;
  readonly networks: number;
  readonly published: readonly PublishedMapping[];
  /** Each NodePort service: its port and endpoints (`address:port`; none: kube-proxy REJECTs). */
  readonly nodePortServices: readonly NodePortService[];
  readonly externalAddress: string;
}

export interface NodePortService {
  readonly nodePort: number;
  readonly protocol: 'tcp' | 'udp';
  readonly endpoints: readonly string[];
}

export const EXTERNAL_INTERFACE = 'eth0';
export const EXTERNAL_ADDRESS = '203.0.113.10';
const DOCKER_VERSION = '28.5.2';

/** kube-proxy names chains by a hash of the service (and endpoint); so do we. */
function kubeHash(prefix: string, text: string): string {
  const digest = createHash('sha256').update(text).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  for (let i = 0; i < 16; i++) out += alphabet[(digest[i] ?? 0) % 32];
  return `${prefix}-${out}`;
}

function hexId(rand: () => number): string {
  let s = '';
  for (let i = 0; i < 64; i++) s += Math.floor(rand() * 16).toString(16);
  return s;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

interface Net {
  readonly name: string;
  readonly id: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly index: number;
}

interface Ctr {
  readonly name: string;
  readonly id: string;
  readonly net: Net;
  readonly address: string;
  readonly mac: string;
  readonly veth: string;
  readonly mappings: readonly PublishedMapping[];
}

/** Builds every file of the snapshot in memory (pure, deterministic). */
export function generateHostFiles(options: GenerateHostOptions = {}): GeneratedHost {
  const services = options.services ?? 3000;
  const endpoints = Math.max(1, options.endpointsPerService ?? 10);
  const containerCount = options.containers ?? 2000;
  const networkCount = Math.min(250, Math.max(1, options.networks ?? 20));
  const rand = prng(options.seed ?? 1);
  const extIf = options.externalInterface ?? EXTERNAL_INTERFACE;
  const extAddr = options.externalAddress ?? EXTERNAL_ADDRESS;
  if (Math.ceil(containerCount / networkCount) > 250) {
    throw new RangeError(`${containerCount} containers do not fit ${networkCount} /24 networks`);
  }

  const nets: Net[] = Array.from({ length: networkCount }, (_, k) => {
    const id = hexId(rand);
    return {
      name: `net-${pad(k, 2)}`,
      id,
      bridge: `br-${id.slice(0, 12)}`,
      subnet: `10.100.${k}.0/24`,
      gateway: `10.100.${k}.1`,
      index: k,
    };
  });
  const ctrs: Ctr[] = Array.from({ length: containerCount }, (_, i) => {
    const net = nets[i % networkCount] as Net;
    const host = 2 + Math.floor(i / networkCount);
    const address = `10.100.${net.index}.${host}`;
    const name = `app-${pad(i, 5)}`;
    const hostIp = i % 7 === 0 ? '127.0.0.1' : i % 13 === 0 ? extAddr : '0.0.0.0';
    const mappings: PublishedMapping[] = [
      {
        container: name,
        containerAddress: address,
        containerPort: 80,
        protocol: 'tcp',
        hostIp,
        hostPort: 10000 + i,
      },
    ];
    if (i % 10 === 0) {
      mappings.push({
        container: name,
        containerAddress: address,
        containerPort: 53,
        protocol: 'udp',
        hostIp,
        hostPort: 10000 + i,
      });
    }
    const mac = `02:42:0a:64:${pad(net.index, 2).slice(-2)}:${host.toString(16).padStart(2, '0')}`;
    return {
      name,
      id: hexId(rand),
      net,
      address,
      mac,
      veth: `veth${hexId(rand).slice(0, 7)}`,
      mappings,
    };
  });
  const published = ctrs.flatMap((c) => c.mappings);

  // ------------------------------------------------------------------ Kubernetes services
  interface Svc {
    readonly key: string;
    readonly clusterIp: string;
    readonly port: number;
    readonly protocol: 'tcp' | 'udp';
    readonly nodePort: number | null;
    readonly endpoints: readonly string[];
  }
  const svcs: Svc[] = Array.from({ length: services }, (_, i) => {
    const ns = `team-${pad(i % 40, 2)}`;
    const ip = 0x0a600000 + 10 + i; // 10.96.0.10 onward
    const clusterIp = [24, 16, 8, 0].map((s) => (ip >>> s) & 255).join('.');
    const protocol = i % 17 === 0 ? 'udp' : 'tcp';
    // A few services have no ready endpoints: kube-proxy REJECTs them in filter.
    const count = i % 53 === 0 ? 0 : endpoints;
    const eps = Array.from({ length: count }, () => {
      const third = Math.floor(rand() * 256);
      const fourth = 2 + Math.floor(rand() * 252);
      return `10.244.${third}.${fourth}:${8000 + Math.floor(rand() * 1000)}`;
    });
    return {
      key: `${ns}/svc-${pad(i, 5)}:${protocol === 'udp' ? 'dns' : 'http'}`,
      clusterIp,
      port: 80 + (i % 50),
      protocol,
      nodePort: i % 3 === 0 ? 30000 + (i % 2768) : null,
      endpoints: eps,
    };
  });

  const chains = {
    raw: new Set<string>(),
    mangle: new Set<string>(),
    filter: new Set<string>(),
    nat: new Set<string>(),
  };
  const lines = {
    raw: [] as string[],
    mangle: [] as string[],
    filter: [] as string[],
    nat: [] as string[],
  };
  const A = (table: keyof typeof lines, chain: string, rest: string): void => {
    chains[table].add(chain);
    lines[table].push(`-A ${chain} ${rest}`);
  };
  const chain = (table: keyof typeof lines, name: string): void => void chains[table].add(name);

  // raw: Docker 28 drops packets addressed straight to containers from outside their bridge,
  // and loopback-bound ports from anywhere but lo.
  for (const c of ctrs) A('raw', 'PREROUTING', `-d ${c.address}/32 ! -i ${c.net.bridge} -j DROP`);
  for (const m of published) {
    if (m.hostIp === '127.0.0.1') {
      A(
        'raw',
        'PREROUTING',
        `-d 127.0.0.1/32 ! -i lo -p ${m.protocol} -m ${m.protocol} --dport ${m.hostPort} -j DROP`,
      );
    }
  }

  // mangle: kube-proxy's canary chains only.
  chain('mangle', 'KUBE-IPTABLES-HINT');
  chain('mangle', 'KUBE-KUBELET-CANARY');
  chain('mangle', 'KUBE-PROXY-CANARY');

  // nat: kube-proxy first (it inserts at the top), then Docker.
  A('nat', 'PREROUTING', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  A('nat', 'PREROUTING', '-m addrtype --dst-type LOCAL -j DOCKER');
  A('nat', 'OUTPUT', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  A('nat', 'OUTPUT', '! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER');
  A(
    'nat',
    'POSTROUTING',
    '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
  );
  A(
    'nat',
    'POSTROUTING',
    '-s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
  );
  A(
    'nat',
    'POSTROUTING',
    '-s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
  );
  for (const n of nets) A('nat', 'POSTROUTING', `-s ${n.subnet} ! -o ${n.bridge} -j MASQUERADE`);
  A('nat', 'POSTROUTING', '-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE');
  A('nat', 'KUBE-MARK-MASQ', '-j MARK --set-xmark 0x4000/0x4000');
  A('nat', 'KUBE-POSTROUTING', '-m mark ! --mark 0x4000/0x4000 -j RETURN');
  A('nat', 'KUBE-POSTROUTING', '-j MARK --set-xmark 0x4000/0x0');
  A(
    'nat',
    'KUBE-POSTROUTING',
    '-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  );
  chain('nat', 'KUBE-NODEPORTS');
  for (const s of svcs) {
    const p = s.protocol;
    const svc = kubeHash('KUBE-SVC', s.key);
    if (s.endpoints.length === 0) continue;
    A(
      'nat',
      'KUBE-SERVICES',
      `-d ${s.clusterIp}/32 -p ${p} -m comment --comment "${s.key} cluster IP" -m ${p} --dport ${s.port} -j ${svc}`,
    );
    if (s.nodePort !== null) {
      const ext = kubeHash('KUBE-EXT', s.key);
      A(
        'nat',
        'KUBE-NODEPORTS',
        `-p ${p} -m comment --comment "${s.key}" -m ${p} --dport ${s.nodePort} -j ${ext}`,
      );
      A(
        'nat',
        ext,
        `-m comment --comment "masquerade traffic for ${s.key} external destinations" -j KUBE-MARK-MASQ`,
      );
      A('nat', ext, `-j ${svc}`);
    }
    A(
      'nat',
      svc,
      `! -s 10.244.0.0/16 -d ${s.clusterIp}/32 -p ${p} -m comment --comment "${s.key} cluster IP" -m ${p} --dport ${s.port} -j KUBE-MARK-MASQ`,
    );
    s.endpoints.forEach((ep, j) => {
      const sep = kubeHash('KUBE-SEP', `${s.key} ${ep}`);
      const left = s.endpoints.length - j;
      const stat =
        left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(10)}` : '';
      A('nat', svc, `-m comment --comment "${s.key} -> ${ep}"${stat} -j ${sep}`);
      A(
        'nat',
        sep,
        `-s ${ep.split(':')[0] ?? ''}/32 -m comment --comment "${s.key}" -j KUBE-MARK-MASQ`,
      );
      A(
        'nat',
        sep,
        `-p ${p} -m comment --comment "${s.key}" -m ${p} -j DNAT --to-destination ${ep}`,
      );
    });
  }
  A(
    'nat',
    'KUBE-SERVICES',
    '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  );
  A('nat', 'DOCKER', '-i docker0 -j RETURN');
  for (const n of nets) A('nat', 'DOCKER', `-i ${n.bridge} -j RETURN`);
  for (const c of ctrs) {
    for (const m of c.mappings) {
      const dst = m.hostIp === '0.0.0.0' ? '' : `-d ${m.hostIp}/32 `;
      A(
        'nat',
        'DOCKER',
        `${dst}! -i ${c.net.bridge} -p ${m.protocol} -m ${m.protocol} --dport ${m.hostPort} -j DNAT --to-destination ${m.containerAddress}:${m.containerPort}`,
      );
    }
  }

  // filter: kube-proxy's hooks, then Docker 28's.
  const f = (c: string, rest: string): void => A('filter', c, rest);
  f(
    'INPUT',
    '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  );
  f('INPUT', '-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS');
  f(
    'INPUT',
    '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
  );
  f('INPUT', '-j KUBE-FIREWALL');
  f(
    'FORWARD',
    '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  );
  f('FORWARD', '-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD');
  f(
    'FORWARD',
    '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  );
  f(
    'FORWARD',
    '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
  );
  f('FORWARD', '-j DOCKER-USER');
  f('FORWARD', '-j DOCKER-FORWARD');
  f('FORWARD', '-s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT');
  f('FORWARD', '-d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT');
  f(
    'OUTPUT',
    '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  );
  f(
    'OUTPUT',
    '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  );
  f('OUTPUT', '-j KUBE-FIREWALL');
  f(
    'KUBE-FIREWALL',
    '! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
  );
  f('KUBE-FORWARD', '-m conntrack --ctstate INVALID -j DROP');
  f(
    'KUBE-FORWARD',
    '-m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
  );
  f(
    'KUBE-FORWARD',
    '-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  );
  for (const name of [
    'KUBE-EXTERNAL-SERVICES',
    'KUBE-NODEPORTS',
    'KUBE-PROXY-FIREWALL',
    'KUBE-SERVICES',
    'KUBE-KUBELET-CANARY',
    'KUBE-PROXY-CANARY',
  ]) {
    chain('filter', name);
  }
  for (const s of svcs) {
    if (s.endpoints.length > 0) continue;
    const p = s.protocol;
    f(
      'KUBE-SERVICES',
      `-d ${s.clusterIp}/32 -p ${p} -m comment --comment "${s.key} has no endpoints" -m ${p} --dport ${s.port} -j REJECT --reject-with icmp-port-unreachable`,
    );
    if (s.nodePort !== null) {
      f(
        'KUBE-EXTERNAL-SERVICES',
        `-p ${p} -m comment --comment "${s.key} has no endpoints" -m addrtype --dst-type LOCAL -m ${p} --dport ${s.nodePort} -j REJECT --reject-with icmp-port-unreachable`,
      );
    }
  }
  // DOCKER-USER: an operator's allowlist per network, and DROPs on host ports that never match.
  for (const n of nets) {
    f('DOCKER-USER', `-i ${extIf} -o ${n.bridge} -s 198.51.100.0/24 -j RETURN`);
  }
  for (const c of ctrs.filter((_, i) => i % 25 === 1)) {
    const m = c.mappings[0];
    if (m) f('DOCKER-USER', `-i ${extIf} -p tcp -m tcp --dport ${m.hostPort} -j DROP`);
  }
  f('DOCKER-USER', '-j RETURN');
  const bridges = ['docker0', ...nets.map((n) => n.bridge)];
  for (const c of ctrs) {
    for (const m of c.mappings) {
      f(
        'DOCKER',
        `-d ${c.address}/32 ! -i ${c.net.bridge} -o ${c.net.bridge} -p ${m.protocol} -m ${m.protocol} --dport ${m.containerPort} -j ACCEPT`,
      );
    }
  }
  for (const b of bridges) f('DOCKER', `! -i ${b} -o ${b} -j DROP`);
  for (const b of bridges) f('DOCKER-BRIDGE', `-o ${b} -j DOCKER`);
  for (const b of bridges)
    f('DOCKER-CT', `-o ${b} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
  f('DOCKER-FORWARD', '-j DOCKER-CT');
  f('DOCKER-FORWARD', '-j DOCKER-ISOLATION-STAGE-1');
  f('DOCKER-FORWARD', '-j DOCKER-BRIDGE');
  for (const b of bridges) f('DOCKER-FORWARD', `-i ${b} -j ACCEPT`);
  for (const b of bridges)
    f('DOCKER-ISOLATION-STAGE-1', `-i ${b} ! -o ${b} -j DOCKER-ISOLATION-STAGE-2`);
  for (const b of bridges) f('DOCKER-ISOLATION-STAGE-2', `-o ${b} -j DROP`);

  const builtins: Record<keyof typeof lines, readonly [string, string][]> = {
    raw: [
      ['PREROUTING', 'ACCEPT'],
      ['OUTPUT', 'ACCEPT'],
    ],
    mangle: [
      ['PREROUTING', 'ACCEPT'],
      ['INPUT', 'ACCEPT'],
      ['FORWARD', 'ACCEPT'],
      ['OUTPUT', 'ACCEPT'],
      ['POSTROUTING', 'ACCEPT'],
    ],
    filter: [
      ['INPUT', 'ACCEPT'],
      ['FORWARD', 'DROP'],
      ['OUTPUT', 'ACCEPT'],
    ],
    nat: [
      ['PREROUTING', 'ACCEPT'],
      ['INPUT', 'ACCEPT'],
      ['OUTPUT', 'ACCEPT'],
      ['POSTROUTING', 'ACCEPT'],
    ],
  };
  let save = '';
  let chainCount = 0;
  for (const table of ['raw', 'mangle', 'filter', 'nat'] as const) {
    const builtin = new Set(builtins[table].map(([n]) => n));
    save += `# Generated by iptables-save v1.8.9 (nf_tables) on Sun Nov 22 12:00:00 2026\n*${table}\n`;
    for (const [n, policy] of builtins[table]) save += `:${n} ${policy} [0:0]\n`;
    const user = [...chains[table]].filter((n) => !builtin.has(n)).sort();
    for (const n of user) save += `:${n} - [0:0]\n`;
    chainCount += builtin.size + user.length;
    save += lines[table].join('\n') + (lines[table].length > 0 ? '\n' : '');
    save += `COMMIT\n# Completed on Sun Nov 22 12:00:00 2026\n`;
  }
  const ruleCount = Object.values(lines).reduce((n, l) => n + l.length, 0);

  const files: Record<string, string> = {
    'iptables-save.txt': save,
    'containers.json': JSON.stringify(ctrs.map(inspectContainer), null, 1) + '\n',
    'networks.json': JSON.stringify(networksJson(nets, ctrs), null, 1) + '\n',
    'ip-addr.json': JSON.stringify(ipAddr(nets, ctrs, extIf, extAddr)) + '\n',
    'ip-route.json': JSON.stringify(ipRoute(nets, extIf, extAddr)) + '\n',
    'listeners.txt': listeners(published),
    'daemon.json':
      JSON.stringify(
        {
          iptables: true,
          ip6tables: false,
          'userland-proxy': true,
          'default-address-pools': [{ base: '10.100.0.0/16', size: 24 }],
        },
        null,
        2,
      ) + '\n',
    'docker-version.json': JSON.stringify(dockerVersion()) + '\n',
    // Forwarding on (Docker and Kubernetes need it), br_netfilter loaded (kube-proxy requires it).
    'sysctl.txt': [
      'net.ipv4.ip_forward = 1',
      'net.ipv6.conf.all.forwarding = 0',
      'net.bridge.bridge-nf-call-iptables = 1',
      'net.bridge.bridge-nf-call-ip6tables = 1',
      'net.ipv4.conf.all.route_localnet = 0',
      '',
    ].join('\n'),
  };
  return {
    files,
    rules: ruleCount,
    chains: chainCount,
    services,
    nodePorts: svcs.filter((s) => s.nodePort !== null).length,
    containers: containerCount,
    networks: networkCount,
    published,
    nodePortServices: svcs.flatMap((s) =>
      s.nodePort === null
        ? []
        : [{ nodePort: s.nodePort, protocol: s.protocol, endpoints: s.endpoints }],
    ),
    externalAddress: extAddr,
  };
}

function inspectContainer(c: Ctr): unknown {
  const key = (m: PublishedMapping): string => `${m.containerPort}/${m.protocol}`;
  const ports: Record<string, { HostIp: string; HostPort: string }[]> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  const exposed: Record<string, object> = {};
  for (const m of c.mappings) {
    ports[key(m)] = [{ HostIp: m.hostIp, HostPort: String(m.hostPort) }];
    bindings[key(m)] = [
      { HostIp: m.hostIp === '0.0.0.0' ? '' : m.hostIp, HostPort: String(m.hostPort) },
    ];
    exposed[key(m)] = {};
  }
  return {
    Id: c.id,
    Created: '2026-11-01T09:00:00.000000000Z',
    Name: `/${c.name}`,
    State: {
      Status: 'running',
      Running: true,
      Paused: false,
      Restarting: false,
      Pid: 0,
      ExitCode: 0,
    },
    Config: {
      Image: 'registry.example/app:1.4',
      ExposedPorts: exposed,
      Cmd: ['/app', '--listen', ':80'],
    },
    HostConfig: { NetworkMode: c.net.name, PortBindings: bindings, PublishAllPorts: false },
    NetworkSettings: {
      Ports: ports,
      Networks: {
        [c.net.name]: {
          IPAMConfig: null,
          Links: null,
          Aliases: null,
          MacAddress: c.mac,
          DriverOpts: null,
          GwPriority: 0,
          NetworkID: c.net.id,
          EndpointID: createHash('sha256').update(c.id).digest('hex'),
          Gateway: c.net.gateway,
          IPAddress: c.address,
          IPPrefixLen: 24,
          IPv6Gateway: '',
          GlobalIPv6Address: '',
          GlobalIPv6PrefixLen: 0,
          DNSNames: [c.name, c.id.slice(0, 12)],
        },
      },
    },
  };
}

function networksJson(nets: readonly Net[], ctrs: readonly Ctr[]): unknown[] {
  const members = new Map<string, Ctr[]>();
  for (const c of ctrs) members.set(c.net.name, [...(members.get(c.net.name) ?? []), c]);
  const bridge = {
    Name: 'bridge',
    Id: createHash('sha256').update('bridge').digest('hex'),
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: {
      Driver: 'default',
      Options: null,
      Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }],
    },
    Internal: false,
    Containers: {},
    Options: {
      'com.docker.network.bridge.default_bridge': 'true',
      'com.docker.network.bridge.enable_icc': 'true',
      'com.docker.network.bridge.enable_ip_masquerade': 'true',
      'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
      'com.docker.network.bridge.name': 'docker0',
      'com.docker.network.driver.mtu': '1500',
    },
    Labels: {},
  };
  return [
    bridge,
    ...nets.map((n) => ({
      Name: n.name,
      Id: n.id,
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv4: true,
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
      Internal: false,
      Containers: Object.fromEntries(
        (members.get(n.name) ?? []).map((c) => [
          c.id,
          { Name: c.name, MacAddress: c.mac, IPv4Address: `${c.address}/24`, IPv6Address: '' },
        ]),
      ),
      Options: {},
      Labels: {},
    })),
  ];
}

function ipAddr(
  nets: readonly Net[],
  ctrs: readonly Ctr[],
  extIf: string,
  extAddr: string,
): unknown[] {
  let index = 0;
  const iface = (
    name: string,
    kind: string,
    addrs: [string, number, string][],
    extra: object = {},
  ) => ({
    ifindex: ++index,
    ifname: name,
    flags:
      name === 'lo' ? ['LOOPBACK', 'UP', 'LOWER_UP'] : ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: name === 'lo' ? 65536 : 1500,
    operstate: name === 'lo' ? 'UNKNOWN' : 'UP',
    link_type: name === 'lo' ? 'loopback' : 'ether',
    linkinfo: kind === '' ? undefined : { info_kind: kind },
    ...extra,
    addr_info: addrs.map(([local, prefixlen, scope]) => ({
      family: 'inet',
      local,
      prefixlen,
      scope,
      label: name,
    })),
  });
  return [
    iface('lo', '', [['127.0.0.1', 8, 'host']]),
    iface(extIf, '', [[extAddr, 24, 'global']]),
    iface('flannel.1', 'vxlan', [['10.244.0.0', 32, 'global']]),
    iface('cni0', 'bridge', [['10.244.0.1', 24, 'global']]),
    iface('docker0', 'bridge', [['172.17.0.1', 16, 'global']]),
    ...nets.map((n) => iface(n.bridge, 'bridge', [[n.gateway, 24, 'global']])),
    ...ctrs.map((c) => iface(c.veth, 'veth', [], { master: c.net.bridge })),
  ];
}

function ipRoute(nets: readonly Net[], extIf: string, extAddr: string): unknown[] {
  return [
    {
      type: 'unicast',
      dst: 'default',
      gateway: '203.0.113.1',
      dev: extIf,
      protocol: 'static',
      flags: [],
    },
    {
      type: 'unicast',
      dst: '10.244.0.0/24',
      dev: 'cni0',
      protocol: 'kernel',
      scope: 'link',
      prefsrc: '10.244.0.1',
      flags: [],
    },
    {
      type: 'unicast',
      dst: '10.244.0.0/16',
      dev: 'flannel.1',
      gateway: '10.244.0.0',
      flags: ['onlink'],
    },
    {
      type: 'unicast',
      dst: '172.17.0.0/16',
      dev: 'docker0',
      protocol: 'kernel',
      scope: 'link',
      prefsrc: '172.17.0.1',
      flags: ['linkdown'],
    },
    {
      type: 'unicast',
      dst: '203.0.113.0/24',
      dev: extIf,
      protocol: 'kernel',
      scope: 'link',
      prefsrc: extAddr,
      flags: [],
    },
    ...nets.map((n) => ({
      type: 'unicast',
      dst: n.subnet,
      dev: n.bridge,
      protocol: 'kernel',
      scope: 'link',
      prefsrc: n.gateway,
      flags: [],
    })),
    {
      type: 'local',
      dst: extAddr,
      table: 'local',
      dev: extIf,
      protocol: 'kernel',
      scope: 'host',
      prefsrc: extAddr,
      flags: [],
    },
    {
      type: 'local',
      dst: '127.0.0.0/8',
      table: 'local',
      dev: 'lo',
      protocol: 'kernel',
      scope: 'host',
      prefsrc: '127.0.0.1',
      flags: [],
    },
  ];
}

/** `ss -Htlnup` as the collector writes it: docker-proxy per mapping, plus the node's daemons. */
function listeners(published: readonly PublishedMapping[]): string {
  const row = (netid: string, state: string, local: string, proc: string, pid: number): string =>
    `${netid}   ${state} 0      4096   ${local.padStart(22)}   ${netid === 'udp' ? '0.0.0.0:*' : '0.0.0.0:*'}    users:(("${proc}",pid=${pid},fd=${3 + (pid % 20)}))`;
  const out = [
    row('tcp', 'LISTEN', '0.0.0.0:22', 'sshd', 811),
    row('tcp', 'LISTEN', '127.0.0.1:10248', 'kubelet', 1502),
    row('tcp', 'LISTEN', '127.0.0.1:10249', 'kube-proxy', 1733),
    row('tcp', 'LISTEN', '*:10250', 'kubelet', 1502),
    row('tcp', 'LISTEN', '*:10256', 'kube-proxy', 1733),
    row('tcp', 'LISTEN', '0.0.0.0:9100', 'node_exporter', 990),
    row('udp', 'UNCONN', '0.0.0.0:8472', 'flanneld', 1210),
  ];
  published.forEach((m, i) => {
    const state = m.protocol === 'tcp' ? 'LISTEN' : 'UNCONN';
    out.push(row(m.protocol, state, `${m.hostIp}:${m.hostPort}`, 'docker-proxy', 20000 + i));
  });
  return out.join('\n') + '\n';
}

function dockerVersion(): unknown {
  return {
    Client: { Version: DOCKER_VERSION, ApiVersion: '1.51', Os: 'linux', Arch: 'amd64' },
    Server: {
      Platform: { Name: 'Docker Engine - Community' },
      Components: [{ Name: 'Engine', Version: DOCKER_VERSION, Details: { ApiVersion: '1.51' } }],
      Version: DOCKER_VERSION,
      ApiVersion: '1.51',
      MinAPIVersion: '1.24',
      Os: 'linux',
      Arch: 'amd64',
      KernelVersion: '6.8.0-49-generic',
    },
  };
}

/** Writes the snapshot directory; returns what it generated (without the file contents). */
export function generateHost(
  dir: string,
  options: GenerateHostOptions = {},
): Omit<GeneratedHost, 'files'> & { readonly dir: string } {
  const { files, ...summary } = generateHostFiles(options);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return { ...summary, dir };
}

function parseArgs(
  argv: readonly string[],
): { dir: string; options: GenerateHostOptions } | string {
  const [dir, ...rest] = argv;
  if (dir === undefined || dir.startsWith('-'))
    return 'usage: generate-host OUT_DIR [--services N] [--endpoints N] [--containers N] [--networks N] [--seed N]';
  const options: Record<string, number> = {};
  const names: Record<string, string> = {
    '--services': 'services',
    '--endpoints': 'endpointsPerService',
    '--containers': 'containers',
    '--networks': 'networks',
    '--seed': 'seed',
  };
  for (let i = 0; i < rest.length; i += 2) {
    const key = names[rest[i] ?? ''];
    const value = Number(rest[i + 1]);
    if (key === undefined || !Number.isInteger(value) || value < 0)
      return `bad option ${rest[i] ?? ''} ${rest[i + 1] ?? ''}`;
    options[key] = value;
  }
  return { dir, options };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const parsed = parseArgs(process.argv.slice(2));
  if (typeof parsed === 'string') {
    process.stderr.write(`${parsed}\n`);
    process.exitCode = 2;
  } else {
    const s = generateHost(parsed.dir, parsed.options);
    process.stdout.write(
      `generated ${s.dir}: ${s.rules} rules in ${s.chains} chains, ${s.services} services ` +
        `(${s.nodePorts} NodePorts), ${s.containers} containers on ${s.networks} networks, ` +
        `${s.published.length} published ports\n`,
    );
  }
}
