/**
 * The kernel referees its check of every source by its route back (engine/context.ts
 * `sourcesChecked`): once a policy rule or a local route has been added by hand since boot, the
 * kernel looks the route back up for every packet from outside, `rp_filter` off as well, and
 * drops one whose route back is a broadcast route, or a local route where `accept_local` is off.
 * A router forwards between a client behind in0 and a server behind out0, `rp_filter` off,
 * `route_localnet` on for in0 (so that 127.0.0.5 gets past the martian check); the client sends
 * UDP datagrams from spoofed sources. Each case is a new router: the kernel never forgets that a
 * rule was added. dockwall, given the router's own files, must say what the kernel did where the
 * snapshot shows the cause, and never be certain where it does not. Needs root; in CI a missing
 * capability is a failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newConnection } from '../../src/analysis/packets.ts';
import { labCapability, labCommand as sh } from '../lab/netns.ts';
import { routerLab, traceFate } from '../lab/router-lab.ts';
import { spoof } from '../lab/spoof.ts';
import { linkSnapshot } from './engine-link.ts';

const capability = labCapability();
const suiteRuns = capability.ok || process.env['CI'] === 'true';

/** in0's and out0's broadcast addresses, a loopback address, and a plain client. */
const SOURCES = ['192.0.2.255', '198.51.100.255', '127.0.0.5', '192.0.2.7'] as const;

/**
 * A new router, changed by `change` (commands run in it); each source sent through it, as
 * "SOURCE: kernel FATE, dockwall FATE (certainty)".
 */
async function probe(change: readonly (readonly string[])[]): Promise<string[]> {
  const lab = routerLab('sc', false);
  const { client, router } = lab;
  const dir = mkdtempSync(path.join(tmpdir(), 'dockwall-source-check-'));
  const inRouter = (...args: string[]): string => lab.inRouter(args);
  try {
    lab.addresses(client, 'eth0', ['192.0.2.2/24']);
    lab.addresses(router, 'in0', ['192.0.2.1/24']);
    lab.addresses(router, 'out0', ['198.51.100.1/24']);
    lab.addresses(lab.server, 'eth0', ['198.51.100.2/24']);
    sh(['ip', '-n', client, 'route', 'add', 'default', 'via', '192.0.2.1']);
    sh(['ip', '-n', router, 'route', 'add', 'default', 'via', '198.51.100.2']);
    for (const key of ['all.rp_filter=0', 'in0.rp_filter=0', 'in0.route_localnet=1'])
      inRouter('sysctl', '-qw', `net.ipv4.conf.${key}`);
    for (const args of change) inRouter(...args);
    // the client learns the router's link address from a datagram of its own address first: an
    // ARP request from a loopback sender would go unanswered
    lab.fate('ipv4', spoof('ipv4', '192.0.2.2', '198.51.100.2'));
    const kernel = SOURCES.map((s) => lab.fate('ipv4', spoof('ipv4', s, '198.51.100.2')));
    const ip = (...args: string[]): string => sh(['ip', '-n', router, ...args]);
    writeFileSync(path.join(dir, 'iptables-save.txt'), inRouter('iptables-save'));
    writeFileSync(path.join(dir, 'ip-addr.json'), ip('-j', 'addr', 'show'));
    writeFileSync(path.join(dir, 'ip-route.json'), ip('-4', '-j', 'route', 'show', 'table', 'all'));
    writeFileSync(path.join(dir, 'ip-rule.json'), ip('-j', '-4', 'rule', 'show'));
    const conf = (name: string, key: string): string =>
      `net.ipv4.conf.${name}.${key} = ${inRouter('cat', `/proc/sys/net/ipv4/conf/${name}/${key}`).trim()}`;
    writeFileSync(
      path.join(dir, 'sysctl.txt'),
      [
        'net.ipv4.ip_forward = 1',
        ...['all', 'lo', 'in0', 'out0'].flatMap((n) =>
          ['route_localnet', 'rp_filter', 'accept_local', 'forwarding'].map((k) => conf(n, k)),
        ),
        '',
      ].join('\n'),
    );
    const engine = await linkSnapshot(dir);
    return SOURCES.map((source, i) => {
      const tr = engine.trace(newConnection('ipv4', 'udp', source, '198.51.100.2', 5000, 'in0'));
      return `${source}: kernel ${kernel[i] ?? 'lost'}, dockwall ${traceFate(tr)} (${tr.certainty})`;
    });
  } finally {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.runIf(suiteRuns)('kernel referee for the check of every source by its route back', () => {
  it('has what the lab needs', () => {
    expect(capability.ok, capability.reason).toBe(true);
  });

  it('does not check while no rule or local route was added: dockwall says it takes that', async () => {
    expect(await probe([])).toEqual([
      '192.0.2.255: kernel forwarded, dockwall forwarded (possible)',
      '198.51.100.255: kernel forwarded, dockwall forwarded (possible)',
      '127.0.0.5: kernel forwarded, dockwall forwarded (possible)',
      '192.0.2.7: kernel forwarded, dockwall forwarded (certain)',
    ]);
  }, 120_000);

  it('checks once a policy rule is there, and dockwall is certain of the drops', async () => {
    const rule = ['ip', 'rule', 'add', 'from', '10.99.0.0/16', 'lookup', '100', 'prio', '100'];
    expect(await probe([rule])).toEqual([
      '192.0.2.255: kernel dropped, dockwall dropped (certain)',
      '198.51.100.255: kernel dropped, dockwall dropped (certain)',
      '127.0.0.5: kernel dropped, dockwall dropped (certain)',
      '192.0.2.7: kernel forwarded, dockwall forwarded (certain)',
    ]);
  }, 120_000);

  it('checks once a local route is there', async () => {
    expect(await probe([['ip', 'route', 'add', 'local', '203.0.113.0/24', 'dev', 'lo']])).toEqual([
      '192.0.2.255: kernel dropped, dockwall dropped (certain)',
      '198.51.100.255: kernel dropped, dockwall dropped (certain)',
      '127.0.0.5: kernel dropped, dockwall dropped (certain)',
      '192.0.2.7: kernel forwarded, dockwall forwarded (certain)',
    ]);
  }, 120_000);

  it('still checks after the rule is deleted, which no snapshot shows: dockwall is not certain', async () => {
    const rule = ['ip', 'rule', 'add', 'from', '10.99.0.0/16', 'lookup', '100', 'prio', '100'];
    expect(await probe([rule, ['ip', 'rule', 'del', 'prio', '100']])).toEqual([
      '192.0.2.255: kernel dropped, dockwall forwarded (possible)',
      '198.51.100.255: kernel dropped, dockwall forwarded (possible)',
      '127.0.0.5: kernel dropped, dockwall forwarded (possible)',
      '192.0.2.7: kernel forwarded, dockwall forwarded (certain)',
    ]);
  }, 120_000);
});
