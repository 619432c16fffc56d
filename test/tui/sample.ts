/** A small review input built by hand: two rulesets' worth of chains, containers, findings. */
import type { AuditResult, Exposure, Finding } from '../../src/model/audit.ts';
import type { DaemonConfig, DockerHost, Setting } from '../../src/model/host.ts';
import type { Chain, Rule, Ruleset, Target } from '../../src/model/ruleset.ts';
import type { Packet, Trace, TraceStep } from '../../src/model/trace.ts';
import type { ReviewData, Tracer } from '../../src/tui/data.ts';

const FILE = 'iptables.txt';
const loc = (line: number) => ({ file: FILE, line, column: 1 });

function rule(
  chain: string,
  index: number,
  line: number,
  text: string,
  target: Target | null,
): Rule {
  return {
    table: 'filter',
    chain,
    index,
    location: loc(line),
    text,
    counters: { packets: 1500n, bytes: 90000n },
    core: [],
    matches: [],
    target,
  };
}

const jump = (chain: string, line: number): Target => ({
  kind: 'jump',
  chain,
  goto: false,
  location: loc(line),
});
const accept = (line: number): Target => ({ kind: 'ACCEPT', location: loc(line) });
const drop = (line: number): Target => ({ kind: 'DROP', location: loc(line) });

function chain(name: string, line: number, rules: Rule[], policy: 'ACCEPT' | 'DROP' | null): Chain {
  return { name, builtin: policy !== null, policy, counters: null, location: loc(line), rules };
}

/** FORWARD → DOCKER-USER, DOCKER; DOCKER accepts 172.17.0.2:5432; INPUT; an unreferenced chain. */
export function sampleRuleset(extraForwardRules = 0): Ruleset {
  const forward = [
    rule('FORWARD', 1, 10, '-A FORWARD -j DOCKER-USER', jump('DOCKER-USER', 10)),
    rule('FORWARD', 2, 11, '-A FORWARD -o docker0 -j DOCKER', jump('DOCKER', 11)),
    rule('FORWARD', 3, 12, '-A FORWARD -j LOOPY', jump('LOOPY', 12)),
  ];
  for (let i = 0; i < extraForwardRules; i += 1) {
    forward.push(
      rule(
        'FORWARD',
        4 + i,
        100 + i,
        `-A FORWARD -s 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 -j DROP`,
        drop(100 + i),
      ),
    );
  }
  return {
    family: 'ipv4',
    file: FILE,
    kind: 'save',
    header: null,
    tables: [
      {
        name: 'filter',
        location: loc(1),
        chains: [
          chain(
            'INPUT',
            2,
            [rule('INPUT', 1, 20, '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT', accept(20))],
            'ACCEPT',
          ),
          chain('FORWARD', 3, forward, 'DROP'),
          chain(
            'DOCKER',
            4,
            [
              rule(
                'DOCKER',
                1,
                30,
                '-A DOCKER -d 172.17.0.2/32 -p tcp -m tcp --dport 5432 -j ACCEPT',
                accept(30),
              ),
            ],
            null,
          ),
          chain(
            'DOCKER-USER',
            5,
            [
              rule('DOCKER-USER', 1, 40, '-A DOCKER-USER -j RETURN', {
                kind: 'RETURN',
                location: loc(40),
              }),
            ],
            null,
          ),
          chain('LOOPY', 6, [rule('LOOPY', 1, 50, '-A LOOPY -j LOOPY', jump('LOOPY', 50))], null),
          chain('ORPHAN', 7, [rule('ORPHAN', 1, 60, '-A ORPHAN -j DROP', drop(60))], null),
        ],
      },
    ],
  };
}

export const witness: Packet = {
  family: 'ipv4',
  protocol: 'tcp',
  source: '198.51.100.7',
  sourcePort: 40000,
  destination: '192.0.2.10',
  destinationPort: 5432,
  inInterface: 'eth0',
  state: 'NEW',
  mark: 0,
};

export const steps: readonly TraceStep[] = [
  {
    hook: 'PREROUTING',
    table: 'nat',
    chain: 'PREROUTING',
    rule: 1,
    line: 80,
    file: FILE,
    ruleText: '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    action: 'jump DOCKER',
    uncertain: false,
  },
  {
    hook: 'PREROUTING',
    table: 'nat',
    chain: 'DOCKER',
    rule: 1,
    line: 81,
    file: FILE,
    ruleText:
      '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 5432 -j DNAT --to-destination 172.17.0.2:5432',
    action: 'DNAT 172.17.0.2:5432',
    uncertain: false,
  },
  {
    hook: 'FORWARD',
    table: 'filter',
    chain: 'FORWARD',
    rule: 1,
    line: 10,
    file: FILE,
    ruleText: '-A FORWARD -j DOCKER-USER',
    action: 'jump DOCKER-USER',
    uncertain: false,
  },
  {
    hook: 'FORWARD',
    table: 'filter',
    chain: 'DOCKER-USER',
    rule: 1,
    line: 40,
    file: FILE,
    ruleText: '-A DOCKER-USER -j RETURN',
    action: 'RETURN',
    uncertain: false,
  },
  {
    hook: 'FORWARD',
    table: 'filter',
    chain: 'FORWARD',
    rule: 2,
    line: 11,
    file: FILE,
    ruleText: '-A FORWARD -o docker0 -j DOCKER',
    action: 'jump DOCKER',
    uncertain: false,
  },
  {
    hook: 'FORWARD',
    table: 'filter',
    chain: 'DOCKER',
    rule: 1,
    line: 30,
    file: FILE,
    ruleText: '-A DOCKER -d 172.17.0.2/32 -p tcp -m tcp --dport 5432 -j ACCEPT',
    action: 'ACCEPT',
    uncertain: false,
  },
];

function finding(
  ruleId: string,
  severity: Finding['severity'],
  message: string,
  line: number,
  object: Finding['object'],
  withWitness: boolean,
): Finding {
  return {
    ruleId,
    severity,
    message,
    location: loc(line),
    object,
    certainty: 'certain',
    witness: withWitness ? witness : null,
    trace: withWitness ? steps : [],
    related: [],
    fingerprint: `${ruleId}:${JSON.stringify(object)}`,
  };
}

export function sampleFindings(count = 0): Finding[] {
  const list = [
    finding(
      'exposed-database',
      'error',
      'PostgreSQL of container db is reachable from anywhere on 0.0.0.0:5432',
      30,
      { container: 'db', port: 5432, protocol: 'tcp' },
      true,
    ),
    finding(
      'docker-user-ineffective',
      'warning',
      'DOCKER-USER only returns: it filters nothing',
      40,
      { chain: 'DOCKER-USER', table: 'filter' },
      false,
    ),
    finding(
      'shadowed-rule',
      'note',
      'Rule never matches: covered by an earlier rule',
      60,
      { chain: 'ORPHAN', table: 'filter', rule: 1 },
      false,
    ),
  ];
  for (let i = 0; i < count; i += 1) {
    list.push(
      finding(
        'shadowed-rule',
        'note',
        `Generated rule ${i} is shadowed`,
        100 + i,
        { chain: 'FORWARD', rule: 4 + i },
        false,
      ),
    );
  }
  return list;
}

export const exposure: Exposure = {
  id: 'ipv4/tcp/host:5432→container:db:5432',
  family: 'ipv4',
  protocol: 'tcp',
  kind: 'published',
  toHost: true,
  destinations: ['203.0.113.10/32'],
  anyHostAddress: true,
  ports: [{ from: 5432, to: 5432 }],
  target: {
    kind: 'container',
    name: 'db',
    addresses: ['172.17.0.2/32'],
    ports: [{ from: 5432, to: 5432 }],
    outInterface: 'docker0',
    network: 'bridge',
    listening: null,
    proxiedBy: null,
    namedFrom: 'containers.json',
  },
  reachableFrom: [{ interface: 'eth0', sources: ['0.0.0.0/0'] }],
  certainty: 'certain',
  assumptions: [],
  witness,
  trace: steps,
};

function setting<T>(value: T): Setting<T> {
  return { value, source: 'default' };
}

const daemon: DaemonConfig = {
  iptables: setting(true),
  ip6tables: setting(false),
  ipForward: setting(true),
  ipForwardNoDrop: setting(false),
  ipMasq: setting(true),
  icc: setting(true),
  ip: setting('0.0.0.0'),
  userlandProxy: setting(true),
  ipv6: setting(false),
  bip: setting(null),
  bip6: setting(null),
  fixedCidr: setting(null),
  fixedCidrV6: setting(null),
  bridge: setting(''),
  allowDirectRouting: setting(false),
  bridgeAcceptFwmark: setting(null),
  firewallBackend: setting('iptables'),
  experimental: setting(false),
  liveRestore: setting(false),
  hosts: setting([]),
  defaultAddressPools: setting([]),
  defaultNetworkOpts: setting({}),
  otherKeys: [],
};

export const host: DockerHost = {
  dockerVersion: '28.5.2',
  daemon,
  containers: [
    {
      id: 'aaa',
      name: 'db',
      image: 'postgres:17',
      running: true,
      networkMode: { kind: 'bridge', network: 'bridge' },
      endpoints: [
        {
          network: 'bridge',
          networkId: null,
          ipv4: '172.17.0.2',
          ipv4PrefixLength: 16,
          ipv6: null,
          ipv6PrefixLength: null,
          gateway: '172.17.0.1',
          gatewayV6: null,
          mac: null,
        },
      ],
      published: [
        {
          containerPort: 5432,
          protocol: 'tcp',
          hostIp: '0.0.0.0',
          hostPort: 5432,
          location: { file: 'containers.json', line: 40, column: 5 },
        },
      ],
      requested: [],
      exposed: [],
      publishAll: false,
      location: { file: 'containers.json', line: 2, column: 3 },
    },
    {
      id: 'bbb',
      name: 'sidecar',
      image: 'busybox',
      running: true,
      networkMode: { kind: 'container', ref: 'db', resolved: 'db' },
      endpoints: [],
      published: [],
      requested: [],
      exposed: [],
      publishAll: false,
      location: { file: 'containers.json', line: 90, column: 3 },
    },
  ],
  networks: [],
  listeners: [],
  interfaces: [
    { name: 'lo', index: 1, up: true, addresses: [], kind: 'loopback' },
    { name: 'eth0', index: 2, up: true, addresses: [], kind: 'ether' },
  ],
  routes: [],
  sysctls: {
    ipv4Forward: true,
    ipv6Forward: null,
    bridgeNfCallIptables: null,
    bridgeNfCallIp6tables: null,
    routeLocalnet: null,
    routeLocalnetByInterface: new Map(),
    rpFilter: null,
    rpFilterByInterface: new Map(),
    forwardingByInterface: new Map(),
    acceptLocal: null,
    acceptLocalByInterface: new Map(),
  },
};

export function sampleAudit(findings: Finding[], exposures: Exposure[]): AuditResult {
  const count = (s: Finding['severity']) => findings.filter((f) => f.severity === s).length;
  return {
    schemaVersion: 2,
    tool: { name: 'dockwall', version: '0.1.0' },
    snapshot: {
      directory: 'sample',
      files: [],
      assumptions: [],
      context: [],
      era: { era: 'v28', evidence: [], versionMismatch: null },
    },
    summary: {
      exposures: exposures.length,
      findings: { error: count('error'), warning: count('warning'), note: count('note') },
      diagnostics: { error: 0, warning: 0, note: 0 },
      rules: 9,
      containers: 2,
    },
    exposures,
    findings,
    diagnostics: [],
  };
}

/** A stand-in tracer that records what it was asked and answers with the sample path. */
export function recordingTracer(): { tracer: (packet: Packet) => Trace; packets: Packet[] } {
  const packets: Packet[] = [];
  const tracer = (packet: Packet): Trace => {
    packets.push(packet);
    if (packet.destinationPort === 9) throw new Error('no route to 192.0.2.10');
    const dropped = packet.destinationPort !== 5432;
    const trace: Trace = {
      packet,
      verdict: dropped ? 'dropped' : 'accepted',
      certainty: 'certain',
      steps: dropped
        ? [
            {
              hook: 'FORWARD',
              table: 'filter',
              chain: 'FORWARD',
              rule: null,
              line: 3,
              file: FILE,
              ruleText: '',
              action: 'policy DROP',
              uncertain: false,
            },
          ]
        : steps,
      delivery: dropped
        ? null
        : { kind: 'forward', address: '172.17.0.2', port: 5432, outInterface: 'docker0' },
      uncertainRules: [],
      assumptions: [],
    };
    return trace;
  };
  return { tracer, packets };
}

export function sampleData(
  options: {
    findings?: Finding[];
    exposures?: Exposure[];
    tracer?: Tracer | null;
    extraRules?: number;
  } = {},
): ReviewData {
  return {
    audit: sampleAudit(options.findings ?? sampleFindings(), options.exposures ?? [exposure]),
    rulesets: [sampleRuleset(options.extraRules ?? 0)],
    host,
    ruleDoc: (id) => (id === 'exposed-database' ? 'Databases published to every address' : null),
    trace: options.tracer === undefined ? recordingTracer().tracer : options.tracer,
  };
}
