/**
 * The kernel referees the policy routing fold (docker/policy-routes.ts) on random hosts: a
 * router with two ways out (out0, and x0, a veth pair kept inside it), a main table and tables
 * 100 and 200 of random routes (by either way, `throw`, `unreachable`, `blackhole`, a default
 * one), and random rules ahead of the main table (lookups with or without
 * `suppress_prefixlength`, `to` a prefix, dead ends, `goto`, `nop`, some by mark). The client
 * sends a UDP datagram to each of a fixed list of destinations; the router's mangle chains say
 * whether the kernel forwarded it and by which way. Where dockwall is certain it must agree, on
 * the fate and on the way out; where it is unsure the case is counted, not judged. Seeds:
 * `DWK_POLICY_SEEDS` (`A-B,C,…`), else 1–12. Needs root; in CI a missing capability is a failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newConnection } from '../../src/analysis/packets.ts';
import { labCapability, labCommand } from '../lab/netns.ts';
import { type RouterLab, routerLab, traceFate } from '../lab/router-lab.ts';
import { spoof } from '../lab/spoof.ts';
import { prng } from '../support/prng.ts';
import { linkSnapshot } from './engine-link.ts';
import { randomSeeds } from './random-operator.ts';

const capability = labCapability();
const suiteRuns = capability.ok || process.env['CI'] === 'true';
const sh = labCommand;

/** Prefixes that nest and overlap, so that longest matches and tables cross. */
const PREFIXES = [
  '10.0.0.0/8',
  '10.1.0.0/16',
  '10.1.2.0/24',
  '10.1.2.128/25',
  '10.1.128.0/17',
  '10.2.0.0/16',
];
const DESTINATIONS = [
  '10.1.2.5',
  '10.1.2.200',
  '10.1.200.1',
  '10.1.5.5',
  '10.2.3.4',
  '10.3.3.3',
  '100.64.0.1',
];
const WAYS = [
  ['via', '198.51.100.2', 'dev', 'out0'],
  ['via', '203.0.113.2', 'dev', 'x0'],
] as const;

/** One random host: the `ip` commands that make its routes and rules. */
function randomHost(seed: number): string[][] {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const cmds: string[][] = [];
  const routeOf = (table: string | null, to: string): string[] => {
    const x = r();
    const kind =
      x < 0.55 ? [...pick(WAYS)] : x < 0.7 ? ['throw'] : x < 0.85 ? ['unreachable'] : ['blackhole'];
    // `throw`, `unreachable` and `blackhole` are types that come before the prefix
    const head = kind.length === 1 ? [...kind, to] : [to, ...kind];
    return ['route', 'replace', ...head, ...(table === null ? [] : ['table', table])];
  };
  if (r() < 0.75) cmds.push(['route', 'replace', 'default', ...pick(WAYS)]);
  for (const table of [null, '100', '200']) {
    const n = Math.floor(r() * 4);
    for (let i = 0; i < n; i++) cmds.push(routeOf(table, r() < 0.2 ? 'default' : pick(PREFIXES)));
  }
  const priorities = [100, 200, 300, 400].slice(0, 1 + Math.floor(r() * 4));
  for (const p of priorities) {
    const selectors: string[] = [];
    if (r() < 0.3) selectors.push('to', pick(PREFIXES));
    const y = r();
    if (y < 0.15) selectors.push('fwmark', '0x1');
    else if (y < 0.25) selectors.unshift('not', 'fwmark', '0x1');
    const z = r();
    const later = priorities.filter((q) => q > p);
    const action =
      z < 0.55
        ? [
            'lookup',
            pick(['100', '200', 'main']),
            ...(r() < 0.3 ? ['suppress_prefixlength', String(pick([0, 8, 16]))] : []),
          ]
        : z < 0.75
          ? [pick(['unreachable', 'prohibit', 'blackhole'])]
          : z < 0.85 && later.length > 0
            ? ['goto', String(pick(later))]
            : ['nop'];
    cmds.push(['rule', 'add', ...selectors, ...action, 'pref', String(p)]);
  }
  return cmds;
}

/** The router's files as the collector writes them (IPv4 only). */
async function snapshot(lab: RouterLab, dir: string) {
  const ip = (...args: string[]): string => sh(['ip', '-n', lab.router, ...args]);
  writeFileSync(path.join(dir, 'iptables-save.txt'), lab.inRouter(['iptables-save']));
  writeFileSync(path.join(dir, 'ip-addr.json'), ip('-j', 'addr', 'show'));
  writeFileSync(path.join(dir, 'ip-route.json'), ip('-4', '-j', 'route', 'show', 'table', 'all'));
  writeFileSync(path.join(dir, 'ip-rule.json'), ip('-j', '-4', 'rule', 'show'));
  writeFileSync(
    path.join(dir, 'sysctl.txt'),
    'net.ipv4.ip_forward = 1\nnet.ipv4.conf.all.rp_filter = 0\nnet.ipv4.conf.all.route_localnet = 0\n',
  );
  return linkSnapshot(dir);
}

/** Which way out the router's POSTROUTING counted the last datagram on, if any. */
function wayOut(lab: RouterLab): string | null {
  const listing = lab.inRouter(['iptables', '-t', 'mangle', '-L', 'POSTROUTING', '-v', '-x', '-n']);
  for (const line of listing.split('\n')) {
    const m = /^\s*(\d+)\s+\d+\s+.*\s(out0|x0)\s/.exec(line);
    if (m !== null && Number(m[1]) > 0) return m[2] ?? null;
  }
  return null;
}

describe.runIf(suiteRuns)('kernel referee for policy routing: random rules and tables', () => {
  it('has what the lab needs', () => {
    expect(capability.ok, capability.reason).toBe(true);
  });

  // how many answers were certain, and so judged: a fold unsure of everything would pass
  const judged = { probes: 0, certain: 0 };
  const seeds = randomSeeds(
    process.env['DWK_POLICY_SEEDS'],
    Array.from({ length: 12 }, (_, i) => i + 1),
  );
  it.each(seeds.map((s) => [s]))(
    'seed %i: every certain answer is the kernel’s',
    async (seed) => {
      const lab = routerLab(`po${seed}`, false);
      const dir = mkdtempSync(path.join(tmpdir(), 'dockwall-policy-'));
      try {
        lab.addresses(lab.client, 'eth0', ['192.0.2.2/24']);
        lab.addresses(lab.router, 'in0', ['192.0.2.1/24']);
        lab.addresses(lab.router, 'out0', ['198.51.100.1/24']);
        lab.addresses(lab.server, 'eth0', ['198.51.100.2/24']);
        sh(['ip', '-n', lab.client, 'route', 'add', 'default', 'via', '192.0.2.1']);
        const ip = (...args: string[]): string => sh(['ip', '-n', lab.router, ...args]);
        ip('link', 'add', 'x0', 'type', 'veth', 'peer', 'name', 'x1');
        ip('link', 'set', 'x0', 'up');
        ip('link', 'set', 'x1', 'up');
        lab.addresses(lab.router, 'x0', ['203.0.113.1/24']);
        for (const way of ['out0', 'x0'])
          lab.inRouter([
            'iptables',
            '-t',
            'mangle',
            '-A',
            'POSTROUTING',
            '-o',
            way,
            '-p',
            'udp',
            '--dport',
            '5000',
          ]);
        const host = randomHost(seed);
        for (const c of host) ip(...c);
        const engine = await snapshot(lab, dir);
        const wrong: string[] = [];
        for (const to of DESTINATIONS) {
          const kernel = lab.fate('ipv4', spoof('ipv4', '192.0.2.2', to));
          if (kernel === null) throw new Error(`192.0.2.2 → ${to}: never reached the router`);
          const out = kernel === 'forwarded' ? wayOut(lab) : null;
          const tr = engine.trace(newConnection('ipv4', 'udp', '192.0.2.2', to, 5000, 'in0'));
          const fate = traceFate(tr);
          const by = tr.delivery?.outInterface ?? null;
          judged.probes += 1;
          if (tr.certainty !== 'certain') continue;
          judged.certain += 1;
          if (fate !== kernel || (kernel === 'forwarded' && by !== out))
            wrong.push(
              `${to}: kernel ${kernel} ${out ?? ''}, dockwall ${fate} ${by ?? ''} (certain)`,
            );
        }
        expect(wrong, host.map((c) => `ip ${c.join(' ')}`).join('\n')).toEqual([]);
      } finally {
        lab.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    180_000,
  );

  it('was sure of most answers, so that the kernel judged them', () => {
    expect(judged.probes).toBe(seeds.length * DESTINATIONS.length);
    expect(judged.certain / judged.probes).toBeGreaterThan(0.6);
  });
});
