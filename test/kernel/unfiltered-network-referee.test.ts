/**
 * The kernel referees a macvlan container (fixtures/lab/macvlan-20.10.24, collected from a real
 * dockerd 20.10.24): the host's captured rules in one namespace, the container's macvlan device
 * hanging off the host's ext0 in another, a client on ext0's network in a third. The client
 * reaches the container's port though the host's INPUT, FORWARD and DOCKER-USER drop all it
 * sends, and the container's -p 8080:80 opens nothing on the host. dockwall must say the same:
 * the trace of each probe, the unfiltered-network finding, and no exposure of 8080. The host
 * itself does not reach the container: ext0 never hands its own frames to its devices. Needs root;
 * in CI a missing capability is a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { analyze } from '../../src/lint/analyze.ts';
import { DEFAULT_CONFIG } from '../../src/lint/config-types.ts';
import { newConnection } from '../../src/analysis/packets.ts';
import type { Packet } from '../../src/model/trace.ts';
import { labCapability, labCommand, labSuffix, linkExternal } from '../lab/netns.ts';
import { EXTERNAL } from '../lab/topology.ts';
import { linkSnapshot } from './engine-link.ts';

const FIXTURE = path.resolve(import.meta.dirname, '../../fixtures/lab/macvlan-20.10.24');
const CONTAINER = '203.0.113.53';
// the lab's external network (linkExternal), which the capture's addresses are
const HOST = EXTERNAL.hostAddress;
const CLIENT = EXTERNAL.clientAddress;

const capability = labCapability();
const suiteRuns = capability.ok || process.env['CI'] === 'true';

type Observation = 'connected' | 'refused' | 'timeout' | 'error';

const sh = labCommand;

/** A new TCP connection from the client namespace, as the kernel answers it. */
function probe(clientNs: string, address: string, port: number): Observation {
  const script = [
    'import socket, sys',
    's = socket.socket(); s.settimeout(2)',
    'try:',
    `    s.connect((${JSON.stringify(address)}, ${port})); print("connected")`,
    'except ConnectionRefusedError: print("refused")',
    'except (socket.timeout, TimeoutError): print("timeout")',
    'except OSError as e: print("error", e)',
  ].join('\n');
  const r = spawnSync('ip', ['netns', 'exec', clientNs, 'python3', '-c', script], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  const word = r.stdout.trim().split(/\s+/)[0] ?? '';
  return word === 'connected' || word === 'refused' || word === 'timeout' ? word : 'error';
}

/** The client's new TCP connection, arriving on the host's ext0. */
const connection = (destination: string, port: number): Packet =>
  newConnection('ipv4', 'tcp', CLIENT, destination, port, 'ext0');

describe.runIf(suiteRuns)('kernel referee for a macvlan container', () => {
  it('has what the lab needs', () => {
    expect(capability.ok, capability.reason).toBe(true);
  });

  it('reaches the container past the host firewall, as the trace and the finding say', async () => {
    const suffix = labSuffix('mv', 0);
    const [hostNs, clientNs, containerNs] = ['h', 'c', 'k'].map((x) => `dwk-${suffix}-${x}`) as [
      string,
      string,
      string,
    ];
    let listener: ChildProcess | null = null;
    try {
      for (const ns of [hostNs, clientNs, containerNs]) {
        sh(['ip', 'netns', 'add', ns]);
        sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      }
      linkExternal(sh, hostNs, clientNs);
      // the container's device, as Docker's macvlan driver makes it: a child of the parent
      sh(['ip', '-n', hostNs, 'link', 'add', 'c0', 'link', 'ext0', 'type', 'macvlan']);
      sh(['ip', '-n', hostNs, 'link', 'set', 'c0', 'netns', containerNs]);
      sh(['ip', '-n', containerNs, 'addr', 'add', `${CONTAINER}/24`, 'dev', 'c0']);
      sh(['ip', '-n', containerNs, 'link', 'set', 'c0', 'up']);
      sh(['ip', 'netns', 'exec', hostNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      sh(
        ['ip', 'netns', 'exec', hostNs, 'iptables-restore'],
        readFileSync(path.join(FIXTURE, 'iptables-save.txt'), 'utf8'),
      );
      // the container's server on 80, as the capture's httpd
      const server = [
        'import socket',
        's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
        's.bind(("0.0.0.0", 80)); s.listen(8); print("ready", flush=True)',
        'while True:',
        '    c, _ = s.accept(); c.close()',
      ].join('\n');
      const started = spawn('ip', ['netns', 'exec', containerNs, 'python3', '-c', server], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      listener = started;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the server did not start')), 10_000);
        started.stdout?.on('data', () => {
          clearTimeout(timer);
          resolve();
        });
      });

      const engine = await linkSnapshot(FIXTURE);
      const cases: { to: string; port: number; kernel: Observation }[] = [
        { to: CONTAINER, port: 80, kernel: probe(clientNs, CONTAINER, 80) },
        { to: CONTAINER, port: 53, kernel: probe(clientNs, CONTAINER, 53) },
        { to: HOST, port: 8080, kernel: probe(clientNs, HOST, 8080) },
      ];
      const said = cases.map((c) => {
        const tr = engine.trace(connection(c.to, c.port));
        return `${c.to}:${c.port} kernel ${c.kernel}, dockwall ${tr.verdict} (${tr.certainty})${tr.below === undefined ? '' : ' below the host'}`;
      });
      // the host itself: its packets leave ext0 for the wire, and ext0 keeps them from c0
      const fromHost = engine.trace({
        ...connection(CONTAINER, 80),
        source: HOST,
        inInterface: null,
      });
      said.push(
        `host → ${CONTAINER}:80 kernel ${probe(hostNs, CONTAINER, 80)}, dockwall ${fromHost.verdict} (${fromHost.certainty})`,
      );
      // the container answers (a port with no listener refuses: its own kernel, no firewall);
      // the host's -p 8080 is dropped by its INPUT
      expect(said).toEqual([
        `${CONTAINER}:80 kernel connected, dockwall accepted (certain) below the host`,
        `${CONTAINER}:53 kernel refused, dockwall accepted (certain) below the host`,
        `${HOST}:8080 kernel timeout, dockwall dropped (certain)`,
        `host → ${CONTAINER}:80 kernel timeout, dockwall dropped (certain)`,
      ]);

      const snapshot = await loadSnapshot({ directory: FIXTURE });
      const result = analyze(snapshot, DEFAULT_CONFIG, { rules: RULES });
      const finding = result.findings.find((f) => f.ruleId === 'unfiltered-network');
      expect(finding?.certainty).toBe('certain');
      expect(finding?.witness).toMatchObject({ destination: CONTAINER, destinationPort: 80 });
      // (the capture's empty ip6tables leaves IPv6 open: only IPv4 has the -p)
      expect(
        result.exposures.filter(
          (e) => e.family === 'ipv4' && e.ports.some((p) => p.from <= 8080 && 8080 <= p.to),
        ),
      ).toEqual([]);
    } finally {
      listener?.kill();
      for (const ns of [hostNs, clientNs, containerNs])
        spawnSync('ip', ['netns', 'del', ns], { encoding: 'utf8' });
    }
  }, 60_000);
});
