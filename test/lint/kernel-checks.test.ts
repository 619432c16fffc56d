/**
 * Rules that repeat the kernel's own refusal of martian sources (CIS-style `-s 127.0.0.0/8 -j
 * DROP` after `-i lo -j ACCEPT`, `-s ::1 -j DROP`, a multicast source dropped on the uplink) are
 * reached by no packet, since routing drops those packets whatever the rules
 * (src/engine/routing.ts `martianSources`): shadowed-rule says so once per ruleset and does not
 * report them, while a rule the other rules leave nothing for is still reported, even where it
 * matches such packets too.
 */
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import shadowedRule from '../../rules/shadowed-rule.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { createLintEngine } from '../../src/lint/default-engine.ts';
import { DEFAULT_CONFIG, type ResolvedConfig } from '../../src/lint/config-types.ts';
import { runRules } from '../../src/lint/runner.ts';

/** The example host's file with `lines` put first in filter INPUT. */
function withInputRules(file: string, lines: readonly string[]): void {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf('*filter\n');
  const first = text.indexOf('\n-A ', start);
  writeFileSync(
    file,
    `${text.slice(0, first)}\n${lines.map((l) => `-A INPUT ${l}`).join('\n')}${text.slice(first)}`,
  );
}

/** A copy of the example host in a new directory, removed after the suite. */
function exampleHostCopy(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  cpSync('fixtures/example-host', dir, { recursive: true });
  return dir;
}

/** shadowed-rule alone, run on the snapshot in `dir`. */
async function shadowedRuleOn(dir: string): Promise<ReturnType<typeof runRules>> {
  const snapshot = await loadSnapshot({ directory: dir });
  const config: ResolvedConfig = {
    ...DEFAULT_CONFIG,
    rules: { 'shadowed-rule': { severity: null, options: {}, location: null } },
  };
  return runRules(
    snapshot,
    { 'shadowed-rule': shadowedRule },
    config,
    createLintEngine(snapshot).engine,
  );
}

describe('rules that repeat the kernel’s refusal of martian sources', () => {
  const dir = exampleHostCopy('dockwall-kernel-checks-');
  withInputRules(path.join(dir, 'iptables-save.txt'), [
    '-i lo -j ACCEPT',
    '-s 127.0.0.0/8 -j DROP',
    '-s 224.0.0.0/4 -i eth0 -j DROP',
    // the hosting guides' rule: route_localnet off, the kernel drops these before INPUT
    '! -i lo -d 127.0.0.0/8 -j REJECT',
    // every UDP port taken by two drops: the ACCEPT after them, which no one rule covers, is
    // unreached whatever the kernel does
    '-p udp -m udp --dport 0:1000 -j DROP',
    '-p udp -m udp --dport 1001:65535 -j DROP',
    '-p udp -j ACCEPT',
  ]);
  withInputRules(path.join(dir, 'ip6tables-save.txt'), [
    '-i lo -j ACCEPT',
    '-s ::1/128 -j DROP',
    // the kernel drops a loopback destination from outside before any chain
    '-d ::1/128 -j DROP',
  ]);

  it('are not reported, and are named once per ruleset; other unreached rules still are', async () => {
    const output = await shadowedRuleOn(dir);
    // the example host's own rules after those put first have findings of their own
    const inserted = { 'iptables-save.txt': 7, 'ip6tables-save.txt': 3 } as Record<string, number>;
    const found = output.findings
      .filter(
        (f) =>
          f.object.chain === 'INPUT' &&
          Number(f.object.rule) <= (inserted[path.basename(f.location.file)] ?? 0),
      )
      .map((f) => `${path.basename(f.location.file)} ${String(f.object.rule)} ${f.message}`);
    expect(found).toEqual([
      'iptables-save.txt 7 filter/INPUT rule 7 (ACCEPT) is reached by no packet: the rules before it (or the chains that lead here) leave nothing for it.',
    ]);
    const notes = output.diagnostics
      .filter((d) => d.code === 'rule-limited' && d.message.includes("kernel's own check"))
      .map((d) => `${d.location?.file ?? ''}:${d.location?.line ?? ''} ${d.message}`);
    expect(notes).toHaveLength(2);
    expect(notes.find((n) => n.includes('ip6tables-save.txt'))).toContain(
      'filter/INPUT rule 2 and filter/INPUT rule 3 are reached by no packet only because routing drops, whatever the rules, what they would see (a packet from outside with a loopback or multicast source, a loopback destination,',
    );
    expect(notes.find((n) => !n.includes('ip6tables-save.txt'))).toContain(
      'filter/INPUT rule 2, filter/INPUT rule 3 and filter/INPUT rule 4 are reached by no packet only because routing drops',
    );
  });
});

describe('rules that repeat reverse path filtering', () => {
  const dir = exampleHostCopy('dockwall-kernel-checks-rp-');
  // the bridge's prefix spoofed from the uplink, and a source routed by eth0 itself
  withInputRules(path.join(dir, 'iptables-save.txt'), [
    '-s 172.18.0.0/16 -i eth0 -j DROP',
    '-s 203.0.113.0/24 -i eth0 -p udp -j DROP',
  ]);
  const sysctl = path.join(dir, 'sysctl.txt');
  const run = async () => {
    const output = await shadowedRuleOn(dir);
    return {
      findings: output.findings
        .filter((f) => f.object.chain === 'INPUT' && Number(f.object.rule) <= 2)
        .map((f) => String(f.object.rule)),
      notes: output.diagnostics
        .filter((d) => d.code === 'rule-limited' && d.message.includes("kernel's own check"))
        .map((d) => d.message),
    };
  };

  it('off (as the snapshot says nothing): the anti-spoofing rule is reached', async () => {
    expect(await run()).toEqual({ findings: [], notes: [] });
  });

  it('strict: it is reached by no packet, and named as the kernel’s check, not reported', async () => {
    appendFileSync(sysctl, '\nnet.ipv4.conf.all.rp_filter = 1\n');
    const { findings, notes } = await run();
    expect(findings).toEqual([]);
    expect(notes).toEqual([
      expect.stringContaining(
        "filter/INPUT rule 1 is reached by no packet only because routing drops, whatever the rules, what it would see (a packet from outside with a loopback, multicast or limited-broadcast source, one of the host's own addresses, one reverse path filtering (rp_filter) drops or a loopback destination where route_localnet is off)",
      ),
    ]);
  });
});

describe('rules for broadcast and multicast datagrams', () => {
  const dir = exampleHostCopy('dockwall-kernel-checks-groups-');
  // ufw's own before.rules (mDNS, UPnP) and a broadcast rule: INPUT sees these datagrams
  // (test/kernel/groups-referee.test.ts)
  withInputRules(path.join(dir, 'iptables-save.txt'), [
    '-d 224.0.0.251/32 -p udp -m udp --dport 5353 -j ACCEPT',
    '-d 239.255.255.250/32 -p udp -m udp --dport 1900 -j ACCEPT',
    '-p udp -m addrtype --dst-type BROADCAST -j DROP',
  ]);

  it('are reached, and not reported', async () => {
    const output = await shadowedRuleOn(dir);
    const found = output.findings
      .filter((f) => f.object.chain === 'INPUT' && Number(f.object.rule) <= 3)
      .map((f) => f.message);
    expect(found).toEqual([]);
  });
});
