/** What the rules Docker writes say about a host whose other files are missing. */
import { describe, expect, it } from 'vitest';
import { ruleEvidence } from '../../src/docker/rule-evidence.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';

const evidenceOf = (text: string) =>
  ruleEvidence(parseIptables(text, { file: 'iptables-save.txt', family: 'ipv4' }).ruleset);

const FILTER = `*filter
:FORWARD DROP [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
-A DOCKER -d 192.0.2.2/32 ! -i br1 -o br1 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 ! -s 198.51.100.0/24 -o br2 -j DROP
-A DOCKER-ISOLATION-STAGE-1 ! -d 198.51.100.0/24 -i br2 -j DROP
COMMIT
`;
const natTo = (to: string) => `*nat
:PREROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A DOCKER ! -i br1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination ${to}
COMMIT
`;

/** A table with one built-in chain and one rule in it. */
const oneRule = (table: string, chain: string, rule: string) =>
  `*${table}\n:${chain} ACCEPT [0:0]\n${rule}\nCOMMIT\n`;

describe('ruleEvidence', () => {
  it('takes a port Docker opens with no DNAT to the container as published in routed mode', () => {
    const ports = evidenceOf(FILTER).routedPorts;
    expect(ports.map((p) => [p.address, p.protocol, p.port, p.bridge])).toEqual([
      ['192.0.2.2', 'tcp', 80, 'br1'],
    ]);
    expect(ports[0]?.location.line).toBe(5);
  });
  it('does not when a host port is mapped to the container (the port may be bound to one address)', () => {
    expect(evidenceOf(FILTER + natTo('192.0.2.2:80')).routedPorts).toEqual([]);
    // a DNAT to another container leaves this one routed
    expect(evidenceOf(FILTER + natTo('192.0.2.9:80')).routedPorts).toHaveLength(1);
  });
  it('ties an internal network’s subnet to its bridge from the isolation drops', () => {
    expect(
      evidenceOf(FILTER)
        .subnets.filter((s) => s.bridge === 'br2')
        .map((s) => [s.address, s.location.line]),
    ).toEqual([
      ['198.51.100.0/24', 6],
      ['198.51.100.0/24', 7],
    ]);
  });
  it('reads a container behind its bridge from Docker’s raw drop, and only from that shape', () => {
    const raw = (rule: string) => oneRule('raw', 'PREROUTING', rule);
    expect(
      evidenceOf(raw('-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP')).containers.map((c) => [
        c.address,
        c.bridge,
      ]),
    ).toEqual([['172.17.0.2', 'docker0']]);
    // an operator's drop with more to it says nothing of where the address is
    expect(
      evidenceOf(raw('-A PREROUTING -d 203.0.113.1/32 ! -i lo -p tcp -m tcp --sport 8080 -j DROP'))
        .containers,
    ).toEqual([]);
  });
  it('ties a subnet to its bridge from Docker’s MASQUERADE, and only from that shape', () => {
    const nat = (rule: string) => oneRule('nat', 'POSTROUTING', rule);
    expect(
      evidenceOf(nat('-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE')).subnets.map(
        (s) => [s.address, s.bridge],
      ),
    ).toEqual([['172.17.0.0/16', 'docker0']]);
    // random seed 691: an operator's SNAT of more than a subnet makes ext0 no Docker bridge
    expect(
      evidenceOf(
        nat(
          '-A POSTROUTING -s 203.0.113.1/32 -d 203.0.113.1/32 ! -o ext0 -p tcp -m multiport --dports 80 -j SNAT --to-source 203.0.113.1',
        ),
      ).subnets,
    ).toEqual([]);
  });
  it('takes the MASQUERADE shape as Docker’s only where its filter rules name the interface', () => {
    const masquerades = oneRule(
      'nat',
      'POSTROUTING',
      '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n-A POSTROUTING -s 203.0.113.2/32 ! -o ext0 -j MASQUERADE',
    );
    const filter = `*filter
:FORWARD DROP [0:0]
:DOCKER-FORWARD - [0:0]
-A FORWARD -j DOCKER-FORWARD
-A DOCKER-FORWARD -i docker0 -j ACCEPT
COMMIT
`;
    // random seed 5174: Docker writes filter rules for each bridge; none names ext0
    expect(evidenceOf(filter + masquerades).subnets.map((s) => s.bridge)).toEqual(['docker0']);
    // random seed 8553: the operator's own filter rules naming ext0 are not Docker's
    const operator = filter.replace(
      'COMMIT',
      ':OPERATOR - [0:0]\n-A FORWARD -d 10.0.0.0/8 -i ext0 -j OPERATOR\n-A OPERATOR ! -s 203.0.113.2/32 -i ext0 -j ACCEPT\n-A DOCKER-USER -o ext0 -j RETURN\nCOMMIT',
    );
    expect(evidenceOf(operator + masquerades).subnets.map((s) => s.bridge)).toEqual(['docker0']);
    // Docker 20.10's jumps from FORWARD name its bridges
    const forward = filter.replace(
      'COMMIT',
      ':DOCKER - [0:0]\n-A FORWARD -o ext0 -j DOCKER\nCOMMIT',
    );
    expect(evidenceOf(forward + masquerades).subnets.map((s) => s.bridge)).toEqual([
      'docker0',
      'ext0',
    ]);
    // a nat table alone cannot tell them apart
    expect(evidenceOf(masquerades).subnets.map((s) => s.bridge)).toEqual(['docker0', 'ext0']);
  });
  it('lists Docker’s port mappings, on every address or bound to one', () => {
    const nat = `*nat
:PREROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A DOCKER ! -i br1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:80
-A DOCKER -d 127.0.0.1/32 ! -i br1 -p udp -m udp --dport 53 -j DNAT --to-destination 192.0.2.3
COMMIT
`;
    expect(
      evidenceOf(nat).mappings.map((m) => [
        m.protocol,
        m.hostPort,
        m.address,
        m.containerPort,
        m.hostAddress,
        m.bridge,
      ]),
    ).toEqual([
      ['tcp', 8080, '192.0.2.2', 80, null, 'br1'],
      // no port in the target: the container port is the host port
      ['udp', 53, '192.0.2.3', 53, '127.0.0.1', 'br1'],
    ]);
  });
});
