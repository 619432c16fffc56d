import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/command.ts';
import type { TraceView } from '../../src/analysis/trace-view.ts';
import { trace } from '../../src/cli/commands/trace.ts';
import { tempDir } from '../support/temp-dir.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const host = path.join(repoRoot, 'fixtures/example-host');

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await trace.run(args, {
    stdout,
    stderr,
    stdin: new PassThrough(),
    env: {},
    cwd: repoRoot,
  });
  return { code, out, err };
}

describe('dockwall trace on the example host', () => {
  it('follows a published port through DNAT to the container, with rule lines', async () => {
    const r = await run([host, '--from', '198.51.100.7', '--to', '203.0.113.10:8080', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as TraceView;
    expect(j.result).toBe('accepted');
    expect(j.certainty).toBe('certain');
    expect(j.destination).toEqual({
      kind: 'container',
      name: 'shop-web-1',
      address: '172.18.0.2',
      port: 80,
      listening: true,
    });
    const dnat = j.steps.find((s) => s.action.startsWith('DNAT'));
    expect(dnat).toMatchObject({ table: 'nat', chain: 'DOCKER', action: 'DNAT 172.18.0.2:80' });
    expect(dnat?.line).toBeGreaterThan(0);
    expect(j.steps.at(-2)).toMatchObject({ table: 'filter', chain: 'DOCKER', action: 'ACCEPT' });
    expect(j.packet.inInterface).toBe('eth0');
  });

  it('says where an unpublished port is dropped, as text', async () => {
    const r = await run([host, '--from', '198.51.100.7', '--to', '203.0.113.10:9999']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/INPUT filter\/INPUT\s+policy DROP \(line \d+\)/);
    expect(r.out).toMatch(/^Verdict: dropped \(certain\)$/m);
  });

  it('traces host-originated traffic when --from is the host itself', async () => {
    const r = await run([host, '--from', '203.0.113.10', '--to', '203.0.113.10:8080', '--json']);
    const j = JSON.parse(r.out) as TraceView;
    expect(j.packet.inInterface).toBeNull();
    expect(j.steps[0]?.hook).toBe('OUTPUT');
  });

  it('rejects bad arguments as usage errors', async () => {
    await expect(run([host, '--from', 'nope', '--to', '203.0.113.10:80'])).rejects.toThrow(
      UsageError,
    );
    await expect(run([host, '--from', '198.51.100.7', '--to', '203.0.113.10'])).rejects.toThrow(
      UsageError,
    );
    await expect(run([host, '--from', '198.51.100.7', '--to', '[2001:db8::1]:80'])).rejects.toThrow(
      /same family/,
    );
  });
});

/**
 * A directory with a rules file of these lines, and a writer of files beside it; removed after
 * the tests of the describe block it is made in.
 */
function rulesDir(prefix: string, lines: readonly string[]) {
  const dir = tempDir(prefix);
  const rules = path.join(dir, 'rules.v4');
  writeFileSync(rules, [...lines, ''].join('\n'));
  const file = (name: string, text: string): string => {
    const at = path.join(dir, name);
    writeFileSync(at, text);
    return at;
  };
  return { rules, file };
}

describe('dockwall trace of a DNAT to 127.0.0.1 from outside', () => {
  const { rules, file: sysctl } = rulesDir('dw-localnet-', [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    '-A PREROUTING -i eth0 -p tcp -m tcp --dport 5000 -j DNAT --to-destination 127.0.0.1',
    'COMMIT',
  ]);
  const traceWith = (...extra: string[]) =>
    run([
      '--iptables',
      rules,
      ...extra,
      '--from',
      '198.51.100.7',
      '--in',
      'eth0',
      '--to',
      '203.0.113.1:5000',
    ]);

  it('says why routing drops it where route_localnet is off', async () => {
    const off = sysctl(
      'off.txt',
      'net.ipv4.conf.all.route_localnet = 0\nnet.ipv4.conf.eth0.route_localnet = 0\n',
    );
    const r = await traceWith('--sysctl', off);
    expect(r.out).toMatch(
      /^Verdict: dropped \(certain\) — not routed: a loopback destination arriving on eth0, and route_localnet is off there$/m,
    );
  });

  it('delivers it where route_localnet is on', async () => {
    const on = sysctl('on.txt', 'net.ipv4.conf.eth0.route_localnet = 1\n');
    const r = await traceWith('--sysctl', on, '--json');
    const j = JSON.parse(r.out) as TraceView;
    expect([j.result, j.certainty, j.destination?.address]).toEqual([
      'accepted',
      'certain',
      '127.0.0.1',
    ]);
  });

  it('names what it assumed where the snapshot does not say', async () => {
    const r = await traceWith();
    expect(r.out).toMatch(
      /^Verdict: accepted \(possible\) — delivered to the host at 127\.0\.0\.1:5000/m,
    );
    expect(r.out).toMatch(/^Assumed: route_localnet is taken to be on for eth0 /m);
  });
});

describe("dockwall trace of the host's own packet that nat OUTPUT sends from 127.0.0.1 away", () => {
  // random seed 3215: the kernel does not send a packet from a loopback address out of another
  // interface than lo unless route_localnet is on there, so the connection timed out
  const { rules, file } = rulesDir('dw-localnet-out-', [
    '*nat',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    '-A OUTPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.3:80',
    '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
    'COMMIT',
  ]);
  // the host's addresses: 172.17.0.3 is not one of them
  const iface = (ifname: string, local: string, prefixlen: number, scope = 'global') => ({
    ifname,
    addr_info: [{ family: 'inet', local, prefixlen, scope }],
  });
  const addresses = file(
    'ip-addr.json',
    JSON.stringify([
      iface('lo', '127.0.0.1', 8, 'host'),
      iface('eth0', '203.0.113.1', 24),
      iface('docker0', '172.17.0.1', 16),
    ]),
  );
  const traceWith = (...extra: string[]) =>
    run([
      '--iptables',
      rules,
      '--ip-addr',
      addresses,
      ...extra,
      '--from',
      '127.0.0.1',
      '--to',
      '127.0.0.1:8080',
    ]);

  it('drops it where route_localnet is off for the interface its new route leaves by', async () => {
    const off = file(
      'off.txt',
      'net.ipv4.conf.all.route_localnet = 0\nnet.ipv4.conf.docker0.route_localnet = 0\n',
    );
    const r = await traceWith('--sysctl', off);
    expect(r.out).toMatch(/^NAT: nat\/OUTPUT: DNAT 172\.17\.0\.3:80$/m);
    expect(r.out).toMatch(
      /^Verdict: dropped \(certain\) — not routed: the packet's source 127\.0\.0\.1 is a loopback address and its route leaves by docker0, where route_localnet is off: the kernel does not send it$/m,
    );
  });

  it('sends it where route_localnet is on there', async () => {
    const on = file('on.txt', 'net.ipv4.conf.docker0.route_localnet = 1\n');
    const r = await traceWith('--sysctl', on, '--json');
    const j = JSON.parse(r.out) as TraceView;
    expect([j.result, j.destination?.address, j.destination?.port]).toEqual([
      'accepted',
      '172.17.0.3',
      80,
    ]);
  });

  it('takes the kernel default where the snapshot does not say, and says so', async () => {
    const r = await traceWith();
    expect(r.out).toMatch(/^Verdict: dropped \(possible\) — not routed: /m);
    expect(r.out).toMatch(/^Assumed: route_localnet is taken to be off for docker0, /m);
  });
});
