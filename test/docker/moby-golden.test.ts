/**
 * Docker's own golden files (fixtures/moby-golden, copied from moby's iptabler and nftabler unit
 * tests) reproduced byte for byte: for every option combination moby's test runs, the firewall is
 * started, one network `br-dummy` added with one endpoint and a port binding 80/tcp → 8080 on
 * 0.0.0.0 and :: (or 127.0.0.1 and ::1), and the rules dumped as the test dumps them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type {
  BridgeNetworkConfig,
  FamilyStates,
  FirewallConfig,
  PortBinding,
} from '../../src/docker/bridge-firewall.ts';
import {
  addIptablerEndpoint,
  addIptablerNetwork,
  addIptablerPorts,
  startIptabler,
} from '../../src/docker/iptabler.ts';
import { emptyState, renderIptablesSave, table } from '../../src/docker/iptables-state.ts';
import type { NftStates } from '../../src/docker/nftabler.ts';
import {
  addNftablerEndpoint,
  addNftablerNetwork,
  addNftablerPorts,
  renderNftTable,
  startNftabler,
} from '../../src/docker/nftabler.ts';

const goldenDir = path.resolve(import.meta.dirname, '../../fixtures/moby-golden');

interface Case {
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  readonly hairpin: boolean;
  readonly internal: boolean;
  readonly icc: boolean;
  readonly masq: boolean;
  readonly snat: boolean;
  readonly gwm: 'nat' | 'nat-unprotected' | 'routed';
  readonly bindLocalhost: boolean;
  readonly wsl2Mirrored: boolean;
}

/** Every combination moby's TestIptabler / TestNftabler runs (9 booleans × 3 gateway modes). */
function allCases(): Case[] {
  const out: Case[] = [];
  for (let i = 0; i < 1 << 9; i++) {
    const p = (n: number) => (i & (1 << n)) !== 0;
    for (const gwm of ['nat', 'nat-unprotected', 'routed'] as const) {
      out.push({
        ipv4: p(0),
        ipv6: p(1),
        hairpin: p(2),
        internal: p(3),
        icc: p(4),
        masq: p(5),
        snat: p(6),
        gwm,
        bindLocalhost: p(7),
        wsl2Mirrored: p(8),
      });
    }
  }
  return out;
}

/** The golden file name moby's test compares a case with (results are shared between cases). */
function resultName(c: Case): string {
  return c.internal
    ? `hairpin=${c.hairpin},internal=true,icc=${c.icc}`
    : `hairpin=${c.hairpin},internal=false,icc=${c.icc},masq=${c.masq},snat=${c.snat},gwm=${c.gwm},bindlh=${c.bindLocalhost}`;
}

function withWsl2(c: Case, name: string): string {
  return c.ipv4 && c.wsl2Mirrored && (c.bindLocalhost || !c.hairpin)
    ? `${name},wsl2mirrored=true`
    : name;
}

function configs(c: Case): {
  fw: FirewallConfig;
  net: BridgeNetworkConfig;
  bindings: PortBinding[];
} {
  const fam = (prefix: string, hostIp: string) => ({
    prefix,
    hostIp: c.snat ? hostIp : null,
    routed: c.gwm === 'routed',
    unprotected: c.gwm === 'nat-unprotected',
  });
  const pb = (containerIp: string, hostIp: string): PortBinding => ({
    protocol: 'tcp',
    containerIp,
    containerPort: 80,
    hostIp,
    hostPort: 8080,
  });
  return {
    fw: {
      ipv4: c.ipv4,
      ipv6: c.ipv6,
      hairpin: c.hairpin,
      allowDirectRouting: false,
      wsl2Mirrored: c.wsl2Mirrored,
    },
    net: {
      ifName: 'br-dummy',
      internal: c.internal,
      icc: c.icc,
      masquerade: c.masq,
      trustedHostInterfaces: [],
      acceptFwMark: null,
      v4: fam('192.168.0.0/24', '192.168.123.0'),
      v6: fam('fd49:efd7:54aa::/64', 'fd34:d0d4:672f::123'),
    },
    bindings: c.bindLocalhost
      ? [pb('192.168.0.2', '127.0.0.1'), pb('fd49:efd7:54aa::1', '::1')]
      : [pb('192.168.0.2', '0.0.0.0'), pb('fd49:efd7:54aa::1', '::')],
  };
}

const V29 = { era: 'v29', perEndpointDirectAccess: true } as const;

/** The dump moby's test takes: `iptables-save -t raw`, `-t filter`, `-t nat`. */
function dump(states: FamilyStates, family: 'ipv4' | 'ipv6'): string {
  const s = states[family];
  for (const t of ['raw', 'filter', 'nat']) table(s, t);
  return renderIptablesSave(s);
}

function iptablerRun(c: Case): { cleaned: FamilyStates; done: FamilyStates } {
  const { fw, net, bindings } = configs(c);
  const fresh = (): FamilyStates => ({ ipv4: emptyState('ipv4'), ipv6: emptyState('ipv6') });
  const cleaned = fresh();
  startIptabler(cleaned, fw, V29);
  const done = fresh();
  startIptabler(done, fw, V29);
  addIptablerNetwork(done, fw, net, V29);
  addIptablerEndpoint(done, fw, net, '192.168.0.2', 'fd49:efd7:54aa::1', V29);
  addIptablerPorts(done, fw, net, bindings, V29);
  return { cleaned, done };
}

function goldens(dir: string): Map<string, string> {
  const full = path.join(goldenDir, dir);
  return new Map(
    readdirSync(full)
      .filter((f) => f.endsWith('.golden'))
      .map((f) => [f, readFileSync(path.join(full, f), 'utf8')]),
  );
}

describe('Docker 29 iptables rules reproduce moby’s iptabler goldens byte for byte', () => {
  const files = goldens('iptabler');
  const checked = new Set<string>();
  const mismatches: string[] = [];
  for (const c of allCases()) {
    const { cleaned, done } = iptablerRun(c);
    const compare = (name: string, actual: string) => {
      const expected = files.get(name);
      if (expected === undefined) {
        mismatches.push(`${name}: no such golden`);
        return;
      }
      checked.add(name);
      if (actual !== expected)
        mismatches.push(`${name}\n--- expected\n${expected}--- actual\n${actual}`);
    };
    const v4 = c.ipv4 ? withWsl2(c, resultName(c)) : 'no';
    const v6 = c.ipv6 ? resultName(c) : 'no';
    compare(`${v4}__iptables.golden`, dump(done, 'ipv4'));
    compare(`${v6}__ip6tables.golden`, dump(done, 'ipv6'));
    compare(
      `${c.ipv4 ? withWsl2(c, `cleaned,hairpin=${c.hairpin}`) : 'no'}__iptables.golden`,
      dump(cleaned, 'ipv4'),
    );
    compare(
      `${c.ipv6 ? `cleaned,hairpin=${c.hairpin}` : 'no'}__ip6tables.golden`,
      dump(cleaned, 'ipv6'),
    );
  }
  it('every golden file is one of the cases, and each case equals its golden', () => {
    expect(mismatches.slice(0, 3)).toEqual([]);
    expect([...files.keys()].filter((f) => !checked.has(f))).toEqual([]);
    expect(checked.size).toBe(284);
  });
});

function nftablerRun(c: Case): { cleaned: NftStates; done: NftStates } {
  const { fw, net, bindings } = configs(c);
  const cleaned = startNftabler(fw);
  const done = startNftabler(fw);
  addNftablerNetwork(done, fw, net);
  addNftablerEndpoint(done, fw, net, '192.168.0.2', 'fd49:efd7:54aa::1');
  addNftablerPorts(done, fw, net, bindings);
  return { cleaned, done };
}

describe('Docker 29 nftables rules reproduce moby’s nftabler goldens byte for byte', () => {
  const files = goldens('nftabler');
  const checked = new Set<string>();
  const mismatches: string[] = [];
  for (const c of allCases()) {
    const { cleaned, done } = nftablerRun(c);
    const compare = (name: string, state: NftStates['ip']) => {
      // A disabled family has no table (moby's test expects `No such file or directory`).
      if (state === null) return;
      const expected = files.get(name);
      if (expected === undefined) {
        mismatches.push(`${name}: no such golden`);
        return;
      }
      checked.add(name);
      const actual = renderNftTable(state);
      if (actual !== expected)
        mismatches.push(`${name}\n--- expected\n${expected}--- actual\n${actual}`);
    };
    compare(`${withWsl2(c, resultName(c))}__ip.golden`, done.ip);
    compare(`${resultName(c)}__ip6.golden`, done.ip6);
    compare(`${withWsl2(c, `cleaned,hairpin=${c.hairpin}`)}__ip.golden`, cleaned.ip);
    compare(`cleaned,hairpin=${c.hairpin}__ip6.golden`, cleaned.ip6);
    if (!c.ipv4 && done.ip !== null) mismatches.push('an IPv4 table without IPv4');
  }
  it('every golden file is one of the cases, and each case equals its golden', () => {
    expect(mismatches.slice(0, 3)).toEqual([]);
    expect([...files.keys()].filter((f) => !checked.has(f))).toEqual([]);
    expect(checked.size).toBe(282);
  });
});
