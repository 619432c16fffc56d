/**
 * The planner on hosts that already run Docker: the rules Docker adds land among the host's own
 * rules as dockerd would put them, a redeployed container's old rules go, addresses are chosen
 * as Docker's IPAM would, and what Docker would refuse is an error with its place.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allocateSubnet, nextAddress, parsePrefix, prefixText } from '../../src/docker/ipam.ts';
import { DEFAULT_ADDRESS_POOLS } from '../../src/docker/version.ts';
import { main } from '../../src/cli/main.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { captureIo, capturesDir, repoRoot } from '../support/plan-scenarios.ts';
import { RULES } from '../../rules/index.ts';
import { analyze } from '../../src/lint/analyze.ts';
import { DEFAULT_CONFIG } from '../../src/lint/config-types.ts';
import { tempDir } from '../support/temp-dir.ts';

const fixtures = path.join(repoRoot, 'fixtures');
const outDir = () => path.join(tempDir('dwplan-'), 'out');
const text = (dir: string, f: string) => readFileSync(path.join(dir, f), 'utf8');

async function plan(args: string[], env: Record<string, string> = {}) {
  const { io, err } = captureIo();
  const code = await main(['plan', ...args], { ...io, env });
  return { code, err: err() };
}

describe('addresses as Docker’s default IPAM hands them out', () => {
  const taken = (...cidrs: string[]) => cidrs.map((c) => parsePrefix(c)!);
  it('takes the first free subnet of the default pools, skipping networks and host routes', () => {
    const first = allocateSubnet(DEFAULT_ADDRESS_POOLS, taken('172.17.0.0/16'));
    expect(first && prefixText(first)).toBe('172.18.0.0/16');
    const skip = allocateSubnet(
      DEFAULT_ADDRESS_POOLS,
      taken('172.17.0.0/16', '172.18.0.0/16', '172.19.5.0/24', '172.20.0.0/15'),
    );
    expect(skip && prefixText(skip)).toBe('172.22.0.0/16');
    const small = allocateSubnet([{ base: '10.10.0.0/16', size: 24 }], taken('10.10.0.0/24'));
    expect(small && prefixText(small)).toBe('10.10.1.0/24');
    expect(allocateSubnet([{ base: '10.0.0.0/24', size: 24 }], taken('10.0.0.0/8'))).toBeNull();
  });
  it('gives a container the next address after the highest in use, inside ip_range', () => {
    const net = parsePrefix('192.0.2.0/24')!;
    expect(nextAddress(net, net, ['192.0.2.1'])).toBe('192.0.2.2');
    expect(nextAddress(net, net, ['192.0.2.1', '192.0.2.7'])).toBe('192.0.2.8');
    expect(nextAddress(net, parsePrefix('192.0.2.128/25')!, ['192.0.2.1'])).toBe('192.0.2.129');
    const full = parsePrefix('192.0.2.0/30')!;
    expect(nextAddress(full, full, ['192.0.2.1', '192.0.2.2'])).toBeNull();
  });
});

describe('dockwall plan on a host that runs Docker', () => {
  it.skipIf(!existsSync(capturesDir))(
    'adds a network to a running 28.5 daemon exactly as dockerd did',
    async () => {
      const out = outDir();
      const r = await plan([
        path.join(fixtures, 'snapshots/28.5.2/s0-new-daemon'),
        '--compose',
        path.join(fixtures, 'plan/28.5.2/s3-usernet-portmap/compose.yaml'),
        '--out',
        out,
      ]);
      expect(r.code, r.err).toBe(0);
      const captured = readFileSync(
        path.join(capturesDir, 'docker-28.5.2/s3-usernet-portmap.iptables-save'),
        'utf8',
      );
      expect(text(out, 'iptables-save.txt')).toBe(captured.replace(/^#.*\n/gm, ''));
      // The base names none of its containers: the planned ones alone are not written as if
      // they were all, and every report says so.
      expect(existsSync(path.join(out, 'containers.json'))).toBe(false);
      const planned = await loadSnapshot({ directory: out });
      expect(planned.assumptions.map((a) => a.text)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /^planned: the base has no containers\.json: the project's containers are not written/,
          ),
        ]),
      );
    },
  );

  it('keeps the operator’s rules, replaces the project’s containers and publishes the new ports', async () => {
    const base = path.join(fixtures, 'example-host');
    const out = outDir();
    const r = await plan(
      [base, '--compose', path.join(fixtures, 'example-compose/compose.yaml'), '--out', out],
      {
        DB_PORT: '5432',
      },
    );
    expect(r.code, r.err).toBe(0);
    const before = text(base, 'iptables-save.txt').split('\n');
    const after = text(out, 'iptables-save.txt').split('\n');
    // Every rule of the operator survives, in its order.
    const operator = before.filter((l) => /^-A (INPUT|DOCKER-USER|ufw)/.test(l));
    expect(operator.length).toBeGreaterThan(3);
    expect(after.filter((l) => operator.includes(l))).toEqual(operator);
    // The old database mapping on every address is gone; the new one is bound to loopback.
    expect(after.filter((l) => l.includes('--dport 5432 -j DNAT'))).toEqual([
      '-A DOCKER -d 127.0.0.1/32 ! -i br-5d1f0c3a9b7e -p tcp -m tcp --dport 5432 -j DNAT --to-destination 172.18.0.4:5432',
    ]);
    expect(after).toContain(
      '-A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 5432 -j DROP',
    );
    expect(
      after.some((l) => l.includes('--dport 8081 -j DNAT --to-destination 172.18.0.5:8080')),
    ).toBe(true);
    // The cache is published on every address.
    expect(after).toContain(
      '-A DOCKER ! -i br-5d1f0c3a9b7e -p tcp -m tcp --dport 6379 -j DNAT --to-destination 172.18.0.6:6379',
    );
    const snapshot = await loadSnapshot({ directory: out });
    expect(snapshot.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(snapshot.host.containers.map((c) => c.name).sort()).toEqual([
      'node-exporter',
      'shop-adminer-1',
      'shop-cache-1',
      'shop-db-1',
      'shop-web-1',
    ]);
    // The collector's files gain the bridges' docker-proxy listeners; nothing else is invented.
    expect(text(out, 'listeners.txt')).toContain('127.0.0.1:5432');
    // the policy rules as the base has them: dockerd writes none
    expect(snapshot.host.policyRules?.ipv4?.map((r) => r.text)).toEqual([
      '0: from all lookup local',
      '32766: from all lookup main',
      '32767: from all lookup default',
    ]);
    const manifest = JSON.parse(text(out, 'manifest.json')) as {
      planned: { containersReplaced: string[] };
    };
    expect(manifest.planned.containersReplaced.sort()).toEqual(['shop-db-1', 'shop-web-1']);
  });

  it('refuses what Docker would refuse, with the place, and writes nothing', async () => {
    const dir = tempDir('dwplan-bad-');
    const compose = path.join(dir, 'compose.yaml');
    // The example host's default-address-pools are both taken: no subnet for a new network.
    writeFileSync(
      compose,
      'services:\n  x:\n    image: x\n    networks: [extra]\nnetworks:\n  extra: {}\n',
    );
    const out = outDir();
    const r = await plan([path.join(fixtures, 'example-host'), '--compose', compose, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('default address pools are exhausted');
    expect(r.err).toContain(`${compose}:6:`);
    expect(existsSync(out)).toBe(false);
    // A bridge name with a line break would write a line of its own into iptables-save.txt.
    writeFileSync(
      compose,
      'services:\n  x:\n    image: x\n    networks: [n]\nnetworks:\n  n:\n    driver_opts:\n      com.docker.network.bridge.name: "br\\n-A INPUT -j ACCEPT"\n',
    );
    const injected = await plan([
      path.join(fixtures, 'plan/base/28.5.2'),
      '--compose',
      compose,
      '--out',
      out,
    ]);
    expect(injected.code).toBe(2);
    expect(injected.err).toContain('must be an interface name');
    expect(existsSync(out)).toBe(false);
    writeFileSync(compose, 'services:\n  x:\n    image: x\n    ports: ["99999:80"]\n');
    const bad = await plan([
      path.join(fixtures, 'example-host'),
      '--compose',
      compose,
      '--out',
      out,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(`${compose}:4:`);
  });

  it('publishes nothing on a macvlan network, as the lab’s dockerd did, and says why', async () => {
    // the lab's capture: dockerd 20.10.24 with macvlan network lan (ext0, IPAM range
    // 203.0.113.48/28) and a container on it at .53 whose -p Docker did not apply
    const base = path.join(fixtures, 'lab/macvlan-20.10.24');
    const dir = tempDir('dwplan-mv-');
    const compose = path.join(dir, 'compose.yaml');
    writeFileSync(
      compose,
      'name: edge\nservices:\n  web:\n    image: nginx\n    ports: ["9090:80"]\n    networks: [lan]\nnetworks:\n  lan:\n    external: true\n',
    );
    const out = outDir();
    const r = await plan([base, '--compose', compose, '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('lan is a macvlan network; Docker publishes no port on it');
    // no rule for the mapping (the capture's counters aside)
    const rules = (dir: string) =>
      text(dir, 'iptables-save.txt')
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .map((l) => l.replace(/\[\d+:\d+\]$/, ''));
    expect(rules(out)).toEqual(rules(base));
    const planned = await loadSnapshot({ directory: out });
    const web = planned.host.containers.find((c) => c.name === 'edge-web-1');
    // the external network by its own name, an address from its IPAM range after the highest
    // in use, and the mapping asked for but not in effect
    expect(web?.endpoints.map((e) => [e.network, e.ipv4])).toEqual([['lan', '203.0.113.54']]);
    expect(web?.published).toEqual([]);
    expect(web?.requested.map((q) => q.hostPort)).toEqual(['9090']);
    const result = analyze(planned, DEFAULT_CONFIG, { rules: RULES });
    expect(
      result.findings
        .filter((f) => f.ruleId === 'unfiltered-network')
        .map((f) => f.object.container)
        .sort(),
    ).toEqual(['edge-web-1', 'pihole']);
    // the change gains nothing through the host's firewall, and says what it gains beside it
    const report = path.join(dir, 'diff.json');
    const { io } = captureIo();
    await main(['diff', base, out, '--format', 'json', '--output', report, '--fail-on', 'never'], {
      ...io,
      env: {},
    });
    const diff = JSON.parse(text(dir, 'diff.json')) as { notes: string[] };
    expect(diff.notes).toEqual([
      "Nothing reachable from outside through this host's firewall changed.",
      "Newly reachable beside this host's firewall, at their own address on a macvlan or ipvlan network (unfiltered-network): edge-web-1 203.0.113.54 on ext0.",
    ]);
  });

  it('hands out a new network’s addresses from its ip_range', async () => {
    const dir = tempDir('dwplan-range-');
    const compose = path.join(dir, 'compose.yaml');
    writeFileSync(
      compose,
      'name: r\nservices:\n  a:\n    image: x\n    networks: [n]\nnetworks:\n  n:\n    ipam:\n      config:\n        - subnet: 10.77.0.0/16\n          ip_range: 10.77.5.0/24\n',
    );
    const out = outDir();
    const r = await plan([
      path.join(fixtures, 'plan/base/28.5.2'),
      '--compose',
      compose,
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    const planned = await loadSnapshot({ directory: out });
    expect(planned.host.networks.find((n) => n.name === 'r_n')?.subnets).toEqual([
      { family: 'ipv4', cidr: '10.77.0.0/16', gateway: '10.77.0.1', ipRange: '10.77.5.0/24' },
    ]);
    expect(planned.host.containers.find((c) => c.name === 'r-a-1')?.endpoints[0]?.ipv4).toBe(
      '10.77.5.1',
    );
  });

  it('will not write into a directory that has files', async () => {
    const out = tempDir('dwplan-full-');
    writeFileSync(path.join(out, 'keep.txt'), 'x');
    const r = await plan([
      path.join(fixtures, 'example-host'),
      '--compose',
      path.join(fixtures, 'example-compose/compose.yaml'),
      '--out',
      out,
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('not empty');
  });
});
