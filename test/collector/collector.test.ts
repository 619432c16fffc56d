/**
 * Both collectors for real: a network namespace gets rules (iptables-restore of a captured
 * 28.5.2 dump), an address and a listener; scripts/collect.sh and `dockwall collect` run inside
 * it, and dockwall must read back the same rules, addresses and listeners.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import type { Ruleset } from '../../src/model/ruleset.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { suiteTempDir } from '../support/temp-dir.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const fixture = path.join(repoRoot, 'fixtures/snapshots/28.5.2/s3-usernet-portmap');
const node = path.join(repoRoot, 'node_modules/.bin/node');

function has(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const isRoot = process.getuid?.() === 0;
const tools = ['ip', 'iptables-restore', 'ip6tables-restore', 'iptables-save', 'ss', 'busybox'];
const lacking = [...(isRoot ? [] : ['root']), ...tools.filter((t) => !has(t))];
const inCi = process.env['CI'] === 'true';
const canRun = lacking.length === 0;

if (inCi && !canRun) {
  // In CI a missing capability is a failure, not a skip.
  describe('collector in a network namespace', () => {
    it(`needs ${lacking.join(', ')}`, () => {
      expect(lacking).toEqual([]);
    });
  });
}

const ns = `dwc-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
const port = 20_000 + (process.pid % 20_000);
const sh = (args: string[], input?: string) =>
  execFileSync(args[0] ?? '', args.slice(1), {
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });

/** Rules as comparable data: table, chain, policy, and each rule's text. */
function shape(rs: Ruleset | null) {
  return (rs?.tables ?? []).map((t) => ({
    table: t.name,
    chains: t.chains
      .filter((c) => c.rules.length > 0 || !c.builtin)
      .map((c) => ({ chain: c.name, policy: c.policy, rules: c.rules.map((r) => r.text) }))
      .sort((a, b) => a.chain.localeCompare(b.chain)),
  }));
}

describe.skipIf(!canRun)(
  `collector in a network namespace${canRun ? '' : ` (skipped: needs ${lacking.join(', ')})`}`,
  () => {
    let listener: ChildProcess | null = null;
    // made here, before the beforeAll below, removed after its afterAll has stopped the
    // namespace's processes; not made when the block is skipped
    const outSh = suiteTempDir('dwc-sh-');
    const outNode = suiteTempDir('dwc-node-');
    let fromSh: Snapshot;
    let fromNode: Snapshot;

    beforeAll(async () => {
      sh(['ip', 'netns', 'add', ns]);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      // a veth pair kept inside the namespace (no dummy module needed)
      sh(['ip', '-n', ns, 'link', 'add', 'dwc0', 'type', 'veth', 'peer', 'name', 'dwc1']);
      sh(['ip', '-n', ns, 'link', 'set', 'dwc1', 'up']);
      sh(['ip', '-n', ns, 'addr', 'add', '198.51.100.7/24', 'dev', 'dwc0']);
      sh(['ip', '-n', ns, 'addr', 'add', '2001:db8:7::7/64', 'dev', 'dwc0', 'nodad']);
      sh(['ip', '-n', ns, 'link', 'set', 'dwc0', 'up']);
      // reverse path filtering: loose on one interface, strict on the other
      sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0']);
      sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.conf.dwc0.rp_filter=2']);
      sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.conf.dwc1.rp_filter=1']);
      // a policy rule of each family ahead of the main table
      sh(['ip', '-n', ns, 'rule', 'add', 'fwmark', '0xca6c', 'lookup', '51820', 'pref', '100']);
      sh(['ip', '-n', ns, '-6', 'rule', 'add', 'to', '2001:db8:dead::/48', 'prohibit']);
      sh(
        ['ip', 'netns', 'exec', ns, 'iptables-restore'],
        readFileSync(path.join(fixture, 'iptables-save.txt'), 'utf8'),
      );
      sh(
        ['ip', 'netns', 'exec', ns, 'ip6tables-restore'],
        readFileSync(path.join(fixture, 'ip6tables-save.txt'), 'utf8'),
      );
      listener = spawn('ip', ['netns', 'exec', ns, 'busybox', 'nc', '-l', '-p', String(port)], {
        stdio: 'ignore',
      });
      for (let i = 0; i < 50; i += 1) {
        if (sh(['ip', 'netns', 'exec', ns, 'ss', '-Htln']).includes(`:${port}`)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      // No Docker daemon is reachable on purpose: the collectors must record that and go on.
      const env = ['env', 'DOCKER_HOST=unix:///nonexistent/dwc.sock'];
      sh([
        'ip',
        'netns',
        'exec',
        ns,
        ...env,
        'sh',
        path.join(repoRoot, 'scripts/collect.sh'),
        outSh(),
      ]);
      const script = `import(${JSON.stringify(path.join(repoRoot, 'src/cli/commands/collect.ts'))}).then(async (m) => { process.exitCode = await m.collectCommand.run(['--out', ${JSON.stringify(outNode())}], { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() }); })`;
      sh(['ip', 'netns', 'exec', ns, ...env, node, '-e', script]);
      fromSh = await loadSnapshot({ directory: outSh() });
      fromNode = await loadSnapshot({ directory: outNode() });
    });

    afterAll(() => {
      if (listener?.pid !== undefined) listener.kill();
      try {
        sh(['ip', 'netns', 'pids', ns])
          .split('\n')
          .filter((p) => p !== '')
          .forEach((p) => process.kill(Number(p)));
      } catch {
        // namespace already gone
      }
      if (existsSync(`/run/netns/${ns}`)) sh(['ip', 'netns', 'del', ns]);
    });

    it('both collectors write the same files', () => {
      expect(readdirSync(outNode()).sort()).toEqual(readdirSync(outSh()).sort());
      expect(readdirSync(outSh())).toEqual(
        expect.arrayContaining([
          'iptables-save.txt',
          'ip-addr.json',
          'listeners.txt',
          'manifest.json',
        ]),
      );
    });

    it('reads back the restored rules equal to the capture', () => {
      const original = parseIptables(
        readFileSync(path.join(fixture, 'iptables-save.txt'), 'utf8'),
        { file: 'x' },
      );
      const original6 = parseIptables(
        readFileSync(path.join(fixture, 'ip6tables-save.txt'), 'utf8'),
        { file: 'x', family: 'ipv6' },
      );
      for (const s of [fromSh, fromNode]) {
        expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        expect(shape(s.ipv4)).toEqual(shape(original.ruleset));
        expect(shape(s.ipv6)).toEqual(shape(original6.ruleset));
        expect(s.era.era).toBe('v28');
      }
    });

    it('reads back the namespace’s addresses and listener', () => {
      for (const s of [fromSh, fromNode]) {
        const dwc0 = s.host.interfaces.find((i) => i.name === 'dwc0');
        expect(dwc0?.addresses.map((a) => `${a.address}/${a.prefixLength}`)).toEqual(
          expect.arrayContaining(['198.51.100.7/24', '2001:db8:7::7/64']),
        );
        expect(s.host.interfaces.map((i) => i.name).sort()).toEqual(['dwc0', 'dwc1', 'lo']);
        // the policy rules of each family, in the kernel's order
        expect(s.host.policyRules?.ipv4?.map((r) => r.text)).toEqual([
          '0: from all lookup local',
          '100: from all fwmark 0xca6c lookup 51820',
          '32766: from all lookup main',
          '32767: from all lookup default',
        ]);
        expect(s.host.policyRules?.ipv6?.map((r) => r.text)).toEqual([
          '0: from all lookup local',
          expect.stringMatching(/^\d+: from all to 2001:db8:dead::\/48 prohibit$/),
          '32766: from all lookup main',
        ]);
        expect(s.host.routes).toContainEqual(
          expect.objectContaining({
            family: 'ipv4',
            destination: '198.51.100.0/24',
            device: 'dwc0',
          }),
        );
        expect(
          s.host.listeners.map((l) => [l.protocol, l.address, l.port, l.process?.name]),
        ).toEqual([['tcp', '*', port, 'busybox']]);
      }
      expect(fromNode.host.listeners.map((l) => l.process?.pid)).toEqual(
        fromSh.host.listeners.map((l) => l.process?.pid),
      );
      expect(fromNode.host.sysctls).toEqual(fromSh.host.sysctls);
      expect(fromSh.host.sysctls.ipv4Forward).not.toBeNull();
      // route_localnet per interface: whether a DNAT to 127.0.0.1 from outside is delivered
      for (const s of [fromSh, fromNode]) {
        expect(s.host.sysctls.routeLocalnet).toBe(false);
        expect([...s.host.sysctls.routeLocalnetByInterface].sort()).toEqual([
          ['dwc0', false],
          ['dwc1', false],
          ['lo', false],
        ]);
        // rp_filter for all and per interface: which sources routing takes from each
        const lo = Number(
          sh(['ip', 'netns', 'exec', ns, 'cat', '/proc/sys/net/ipv4/conf/lo/rp_filter']).trim(),
        );
        expect(s.host.sysctls.rpFilter).toBe(0);
        // and forwarding per interface
        expect([...s.host.sysctls.forwardingByInterface].map(([n]) => n).sort()).toEqual([
          'dwc0',
          'dwc1',
          'lo',
        ]);
        expect([...s.host.sysctls.rpFilterByInterface].sort()).toEqual([
          ['dwc0', 2],
          ['dwc1', 1],
          ['lo', lo],
        ]);
        // accept_local for all and per interface: whether a source of the host's own is routed
        expect(s.host.sysctls.acceptLocal).toBe(false);
        expect([...s.host.sysctls.acceptLocalByInterface].sort()).toEqual([
          ['dwc0', false],
          ['dwc1', false],
          ['lo', false],
        ]);
      }
    });

    it('records the unreachable daemon in the manifest instead of failing', () => {
      for (const s of [fromSh, fromNode]) {
        const missing = (s.manifest?.['missing'] ?? []) as { file: string; reason: string }[];
        expect(missing.find((m) => m.file === 'containers.json')?.reason).toMatch(
          /daemon is not reachable|not installed/,
        );
        expect(s.files.find((f) => f.role === 'containers')?.status).toBe('missing');
      }
      // docker-version.json holds only the client part when the daemon is down (if docker exists)
      expect(fromSh.assumptions.find((a) => a.role === 'docker-version')?.text).toMatch(
        /^(no docker-version.json|docker-version.json has no engine version): engine version inferred from the v28 rule layout/,
      );
      expect(fromSh.manifest?.['collector']).toBe('collect.sh');
      expect(fromNode.manifest?.['collector']).toBe('dockwall collect');
    });
  },
);

describe('dockwall collect arguments', () => {
  it('refuses stray arguments with a usage error', async () => {
    const { collectCommand } = await import('../../src/cli/commands/collect.ts');
    const { UsageError } = await import('../../src/cli/command.ts');
    const io = {
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
      env: {},
      cwd: '/',
    };
    await expect(collectCommand.run(['somewhere'], io)).rejects.toThrow(UsageError);
    await expect(collectCommand.run(['--bogus'], io)).rejects.toThrow(UsageError);
    expect(collectCommand.usage).toMatch(/never|nothing is changed/);
  });
});
