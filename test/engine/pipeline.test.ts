/**
 * The hook pipeline on nftables hosts: which base chains see a packet and in what order, and the
 * verdicts that follow on Docker 29's nftables ruleset (the 29.7.2 s2a capture's own listing)
 * with an operator's table beside it — the situations the kernel referee also runs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/index.ts';
import { hookPipeline } from '../../src/engine/pipeline.ts';
import type { NetworkContext } from '../../src/engine/context.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import { parseNft } from '../../src/ingest/nft/index.ts';
import { combineRulesets } from '../../src/model/firewall.ts';
import type { Family, Ruleset } from '../../src/model/ruleset.ts';
import type { Hook, Packet } from '../../src/model/trace.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const fixtures = path.join(repo, 'fixtures/nft');

function firewall(nft: string, iptables: string | null, family: Family = 'ipv4'): Ruleset {
  const n = parseNft(nft, 'nft-ruleset.txt');
  expect(n.diagnostics.filter((d) => d.severity !== 'note')).toEqual([]);
  const ipt =
    iptables === null
      ? null
      : parseIptables(iptables, { file: 'iptables-save.txt', family }).ruleset;
  const rs = combineRulesets(ipt, n.ruleset, family);
  if (rs === null) throw new Error('no ruleset');
  return rs;
}

describe('the hook pipeline', () => {
  it('orders iptables tables and nft base chains by priority, ingress first and egress last', () => {
    const rs = firewall(
      readFileSync(path.join(fixtures, 'constructs.nft'), 'utf8'),
      '*raw\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:FORWARD DROP [0:0]\nCOMMIT\n*mangle\n:FORWARD ACCEPT [0:0]\nCOMMIT\n',
    );
    const { pipeline, notes } = hookPipeline(rs);
    const show = (h: keyof typeof pipeline) =>
      pipeline[h].map(
        (e) => `${e.tableId}/${e.chain.name}@${e.stage === 'hook' ? e.priority : e.stage}`,
      );
    expect(show('PREROUTING')).toEqual([
      'netdev ing/in@ingress',
      'inet op/pre@-301',
      'raw/PREROUTING@-300',
      'mangle/PREROUTING@-150',
      'nat/PREROUTING@-100',
      'inet op/natpre@-90',
    ]);
    expect(show('FORWARD')).toEqual([
      'mangle/FORWARD@-150',
      'inet op/forward_op@-10',
      'filter/FORWARD@0',
    ]);
    expect(show('POSTROUTING')).toEqual([
      'mangle/POSTROUTING@-150',
      'nat/POSTROUTING@100',
      'inet op/post@100',
    ]);
    // the two srcnat chains share priority 100: the order is said to be assumed
    expect(notes.map((d) => d.code)).toEqual(['hook-priority-tie']);
    // bridge tables see bridged frames, not the IP hooks
    expect(
      Object.values(pipeline)
        .flat()
        .some((e) => e.tableId === 'bridge br'),
    ).toBe(false);
  });

  it('gives the IPv6 engine the ip6 and inet tables, the IPv4 one the ip and inet tables', () => {
    const text =
      'table ip a {\n}\ntable ip6 b {\n}\ntable inet c {\n}\ntable netdev d {\n}\ntable bridge e {\n}\n';
    const ids = (f: Family) =>
      firewall(text, null, f).tables.map((t) => `${t.nft?.family} ${t.name}`);
    expect(ids('ipv4')).toEqual(['ip a', 'inet c', 'netdev d']);
    expect(ids('ipv6')).toEqual(['ip6 b', 'inet c', 'netdev d']);
  });
});

describe('base chains that pass every packet', () => {
  /** passesEvery of each base chain at a hook, by table and chain. */
  const passing = (text: string, nft: string | null = null, hook: Hook = 'POSTROUTING') => {
    const ipt = parseIptables(text, { file: 'iptables-save.txt', family: 'ipv4' }).ruleset;
    const rs =
      nft === null ? ipt : combineRulesets(ipt, parseNft(nft, 'nft-ruleset.txt').ruleset, 'ipv4');
    if (rs === null) throw new Error('no ruleset');
    return Object.fromEntries(
      hookPipeline(rs).pipeline[hook].map((e) => [`${e.tableId}/${e.chain.name}`, e.passesEvery]),
    );
  };
  const nat = (policy: string, ...rules: string[]) =>
    `*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ${policy} [0:0]\n:A - [0:0]\n:B - [0:0]\n${rules.join('\n')}\nCOMMIT\n`;

  it("Docker's source NAT passes every packet: masqueraded or not, it goes on", () => {
    const docker = [
      '-A POSTROUTING -o bridge1 -m addrtype --src-type LOCAL -j MASQUERADE',
      '-A POSTROUTING -s 192.0.2.0/24 ! -o bridge1 -j MASQUERADE',
      '-A POSTROUTING -j A',
      '-A A -s 10.0.0.0/8 -j RETURN',
      '-A A -j SNAT --to-source 203.0.113.1',
      '-A A -j LOG',
      '-A A -j B',
      '-A B -j ACCEPT',
    ];
    expect(passing(nat('ACCEPT', ...docker))).toEqual({ 'nat/POSTROUTING': true });
    expect(passing(nat('DROP', ...docker))).toEqual({ 'nat/POSTROUTING': false });
  });

  it('not a chain that reaches a drop, a mark, a missing chain or a loop', () => {
    const cases = [
      ['-A POSTROUTING -j A', '-A A -p udp -j DROP'],
      ['-A POSTROUTING -j A', '-A A -j MARK --set-xmark 0x4000/0x0'],
      ['-A POSTROUTING -j C'],
      ['-A POSTROUTING -j A', '-A A -j B', '-A B -j A'],
    ];
    for (const rules of cases)
      expect(passing(nat('ACCEPT', ...rules)), rules.join(' ')).toEqual({
        'nat/POSTROUTING': false,
      });
    expect(
      passing(
        nat('ACCEPT', '-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.2'),
        null,
        'PREROUTING',
      ),
    ).toEqual({ 'nat/PREROUTING': false });
  });

  it('a NAT chain with a later NAT chain after it does not: whether it bound the packet decides', () => {
    const later =
      'table ip op {\n\tchain post {\n\t\ttype nat hook postrouting priority 110; policy accept;\n\t\tmasquerade\n\t}\n}\n';
    expect(passing(nat('ACCEPT', '-A POSTROUTING -j MASQUERADE'), later)).toEqual({
      'nat/POSTROUTING': false,
      'ip op/post': true,
    });
  });
});

// The lab host of the 29.7.2 captures: ext0 203.0.113.1/24, docker0 172.17.0.1/16, bridge1.
const lab: NetworkContext = {
  family: 'ipv4',
  interfaces: ['lo', 'ext0', 'docker0', 'bridge1'],
  localAddresses: ['127.0.0.1', '203.0.113.1', '172.17.0.1', '192.0.2.1'],
  routes: [
    { destination: '203.0.113.0/24', device: 'ext0' },
    { destination: '172.17.0.0/16', device: 'docker0' },
    { destination: '192.0.2.0/24', device: 'bridge1' },
  ],
};

const docker = readFileSync(
  path.resolve(repo, '../shared/captures/docker-29.7.2/s2a-nftables-portmap.nft-ruleset'),
  'utf8',
);

function probe(rs: Ruleset, destination: string, port: number, source = '203.0.113.2') {
  const packet: Packet = {
    family: 'ipv4',
    protocol: 'tcp',
    source,
    sourcePort: 40000,
    destination,
    destinationPort: port,
    inInterface: 'ext0',
    state: 'NEW',
    mark: 0,
  };
  const trace = createEngine(rs, lab).trace(packet);
  const last = trace.steps.at(-1);
  return {
    verdict: trace.verdict,
    certainty: trace.certainty,
    by: last === undefined ? '' : `${last.table}/${last.chain}#${last.rule ?? 'policy'}`,
    to: trace.delivery === null ? null : `${trace.delivery.address}:${trace.delivery.port ?? ''}`,
  };
}

describe("Docker 29's nftables ruleset with an operator's table beside it", () => {
  it('alone: published ports reach their containers, direct access is dropped in raw', () => {
    const rs = firewall(docker, null);
    expect(probe(rs, '203.0.113.1', 8080)).toMatchObject({
      verdict: 'accepted',
      to: '172.17.0.2:80',
    });
    expect(probe(rs, '203.0.113.1', 8081)).toMatchObject({
      verdict: 'accepted',
      to: '192.0.2.2:80',
    });
    expect(probe(rs, '172.17.0.2', 80)).toMatchObject({
      verdict: 'dropped',
      by: 'ip docker-bridges/raw-PREROUTING#1',
    });
  });

  it("an operator's forward chain before Docker's matching the host port does not see it (DNAT came first)", () => {
    const op =
      'table inet op {\n\tchain fwd {\n\t\ttype filter hook forward priority filter - 1; policy accept;\n\t\ttcp dport 8080 drop\n\t}\n}\n';
    const rs = firewall(docker + op, null);
    expect(probe(rs, '203.0.113.1', 8080)).toMatchObject({
      verdict: 'accepted',
      to: '172.17.0.2:80',
    });
  });

  it('matching the original port with ct original proto-dst does', () => {
    const op =
      'table inet op {\n\tchain fwd {\n\t\ttype filter hook forward priority filter - 1; policy accept;\n\t\tmeta l4proto tcp ct original proto-dst 8080 drop\n\t}\n}\n';
    const rs = firewall(docker + op, null);
    expect(probe(rs, '203.0.113.1', 8080)).toMatchObject({
      verdict: 'dropped',
      by: 'inet op/fwd#1',
      certainty: 'certain',
    });
    expect(probe(rs, '203.0.113.1', 8081)).toMatchObject({ verdict: 'accepted' });
  });

  it("an operator's accept before Docker's chain ends only the operator's chain: Docker still drops", () => {
    const op =
      'table inet op {\n\tchain pre {\n\t\ttype filter hook prerouting priority raw - 10; policy accept;\n\t\tip daddr 172.17.0.2 accept\n\t}\n}\n';
    const rs = firewall(docker + op, null);
    const t = createEngine(rs, lab).trace({
      family: 'ipv4',
      protocol: 'tcp',
      source: '203.0.113.2',
      sourcePort: 40000,
      destination: '172.17.0.2',
      destinationPort: 80,
      inInterface: 'ext0',
      state: 'NEW',
      mark: 0,
    });
    expect(t.verdict).toBe('dropped');
    expect(t.steps.map((s) => `${s.table}/${s.chain}#${s.rule ?? 'policy'} ${s.action}`)).toEqual([
      'inet op/pre#1 ACCEPT',
      'ip docker-bridges/raw-PREROUTING#1 DROP',
    ]);
  });

  it("a drop in an operator's chain after Docker's is final even though Docker accepted", () => {
    const op =
      'table inet op {\n\tchain fwd {\n\t\ttype filter hook forward priority filter + 10; policy accept;\n\t\tip daddr 192.0.2.2 drop\n\t}\n}\n';
    const rs = firewall(docker + op, null);
    expect(probe(rs, '203.0.113.1', 8081)).toMatchObject({
      verdict: 'dropped',
      by: 'inet op/fwd#1',
    });
    expect(probe(rs, '203.0.113.1', 8080)).toMatchObject({ verdict: 'accepted' });
  });

  it("iptables-nft's FORWARD policy drop (ufw's routed default) drops what Docker's nftables accepted", () => {
    const ufw = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';
    const rs = firewall(docker, ufw);
    expect(probe(rs, '203.0.113.1', 8080)).toMatchObject({
      verdict: 'dropped',
      by: 'filter/FORWARD#policy',
    });
  });

  it('a set of allowed sources and a verdict map in the operator table', () => {
    const op =
      'table inet op {\n\tset trusted {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 198.51.100.0/24 }\n\t}\n' +
      '\tchain fwd {\n\t\ttype filter hook forward priority filter - 1; policy accept;\n' +
      '\t\tct state established,related accept\n\t\tip saddr @trusted accept\n\t\toifname vmap { "docker0" : drop, "bridge1" : continue }\n\t}\n}\n';
    const rs = firewall(docker + op, null);
    expect(probe(rs, '203.0.113.1', 8080)).toMatchObject({
      verdict: 'dropped',
      by: 'inet op/fwd#3',
    });
    expect(probe(rs, '203.0.113.1', 8080, '198.51.100.7')).toMatchObject({ verdict: 'accepted' });
    expect(probe(rs, '203.0.113.1', 8081)).toMatchObject({
      verdict: 'accepted',
      to: '192.0.2.2:80',
    });
  });

  it('two NAT chains on prerouting: the first binding wins, the later chain does not re-NAT', () => {
    const op =
      'table ip op {\n\tchain pre {\n\t\ttype nat hook prerouting priority dstnat - 10; policy accept;\n\t\ttcp dport 8080 dnat to 192.0.2.2:80\n\t}\n}\n';
    const rs = firewall(docker + op, null);
    expect(probe(rs, '203.0.113.1', 8080)).toMatchObject({
      verdict: 'accepted',
      to: '192.0.2.2:80',
    });
  });

  it('a netdev ingress drop on the external device stops everything arriving there first', () => {
    const op =
      'table netdev op {\n\tchain in {\n\t\ttype filter hook ingress device "ext0" priority 0; policy accept;\n\t\tip saddr 203.0.113.2 drop\n\t}\n}\n';
    const rs = firewall(docker + op, null);
    expect(probe(rs, '203.0.113.1', 8080)).toMatchObject({
      verdict: 'dropped',
      by: 'netdev op/in#1',
    });
    expect(probe(rs, '203.0.113.1', 8080, '203.0.113.9')).toMatchObject({ verdict: 'accepted' });
  });
});
