/**
 * The scenarios the kernel referee rebuilds: every capture of ../shared/captures, plus a small
 * generated kube-proxy + Docker host (test/support/generate-host.ts) laid out on the lab's external
 * interface — it adds what the captures lack: UDP and address-bound mappings, kube-proxy chains
 * with unmodelled `statistic` matches and MARKs, and DOCKER-USER rules written against host ports
 * — the nftables semantics of fixtures/nft/semantics: an operator's tables (and iptables-nft
 * rules) beside Docker 29's nftables tables — and operator rules over a Docker 28.5 capture (a
 * DNAT that keeps the client's port; DNATs to 127.0.0.1 with route_localnet off and on) — and
 * Docker 20.10's icc=false capture with bridge-nf-call-iptables turned off — and Docker 28.5's
 * IPv6 capture under rules that stop neighbour discovery.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateHostFiles } from '../support/generate-host.ts';
import { UFW6_CHAINS, ufw6Rules } from '../support/ufw6.ts';
import { listCaptureScenarios } from '../lab/captures.ts';
import {
  DEFAULT_SEEDS_NFT,
  DEFAULT_SEEDS_NFT6,
  NFT6,
  randomNftScenarios,
} from './random-nft-operator.ts';
import {
  DEFAULT_SEEDS,
  DEFAULT_SEEDS6,
  DEFAULT_SEEDS_ND,
  DEFAULT_SEEDS_WIDE,
  IPV4_WIDE,
  IPV6,
  IPV6_ND,
  layRules,
  randomOperatorScenarios,
} from './random-operator.ts';
import {
  EXTERNAL,
  HOST_SERVICE_PORT,
  type ClientExpectation,
  type ScenarioInput,
} from '../lab/topology.ts';

export const GENERATED_SCENARIO = 'generated/kube-docker-small';

export function generatedScenario(): ScenarioInput {
  const g = generateHostFiles({
    // 60 services: two of them (0 and 53) have no endpoints, one UDP and one TCP REJECT.
    services: 60,
    endpointsPerService: 2,
    containers: 14,
    networks: 3,
    seed: 5,
    externalInterface: EXTERNAL.hostInterface,
    externalAddress: EXTERNAL.hostAddress,
  });
  const json = (name: string): unknown[] => JSON.parse(g.files[name] ?? '[]') as unknown[];
  return {
    name: GENERATED_SCENARIO,
    iptablesSave: g.files['iptables-save.txt'] ?? '',
    containers: json('containers.json'),
    networks: json('networks.json'),
  };
}

const semanticsDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../fixtures/nft/semantics',
);

/** Which capture each semantics fixture is laid over (the rest: the IPv4 nftables capture). */
const BASE: Readonly<Record<string, string>> = {
  'inet-dualstack': 'docker-29.7.2/s3b-nftables-ipv6-dualstack',
  'extension-headers': 'docker-29.7.2/s3b-nftables-ipv6-dualstack',
  'reverse-path-dualstack': 'docker-29.7.2/s3b-nftables-ipv6-dualstack',
};

/**
 * fixtures/nft/semantics: each `NAME.nft` (and `NAME.iptables`) laid over a Docker 29.7.2
 * nftables capture — its containers, networks and docker-bridges tables, the operator's
 * additions beside them.
 */
export function nftSemanticsScenarios(captures: readonly ScenarioInput[]): ScenarioInput[] {
  if (!existsSync(semanticsDir)) return [];
  const names = [
    ...new Set(
      readdirSync(semanticsDir)
        .filter((f) => f.endsWith('.nft') || f.endsWith('.iptables'))
        .map((f) => f.replace(/\.(nft|iptables)$/, '')),
    ),
  ].sort();
  const read = (f: string): string | null => {
    const p = path.join(semanticsDir, f);
    return existsSync(p) ? readFileSync(p, 'utf8') : null;
  };
  return names.flatMap((name) => {
    const base = captures.find(
      (c) => c.name === (BASE[name] ?? 'docker-29.7.2/s2a-nftables-portmap'),
    );
    if (base === undefined) return [];
    const own = read(`${name}.nft`);
    const iptables = read(`${name}.iptables`);
    return [
      {
        ...base,
        name: `nft-semantics/${name}`,
        iptablesSave: iptables ?? base.iptablesSave,
        nftRuleset: [base.nftRuleset ?? '', own ?? ''].join(''),
        expect: expectations(`${own ?? ''}${iptables ?? ''}`),
      },
    ];
  });
}

/** `# expect: client 8080/tcp web0:80/tcp; client6 8080/tcp none` lines of a fixture. */
function expectations(text: string): ClientExpectation[] {
  const out: ClientExpectation[] = [];
  for (const line of text.split('\n')) {
    const m = /^#\s*expect:\s*(.*)$/.exec(line.trim());
    if (m === null) continue;
    for (const part of (m[1] ?? '').split(';')) {
      const e = /^(client6?)\s+(\d+)\/(tcp|udp)\s+(\S+)$/.exec(part.trim());
      if (e === null) throw new Error(`unreadable expectation '${part}'`);
      out.push({
        family: e[1] === 'client6' ? 'ipv6' : 'ipv4',
        port: Number(e[2]),
        protocol: e[3] === 'udp' ? 'udp' : 'tcp',
        identity: e[4] === 'none' ? null : (e[4] ?? null),
      });
    }
  }
  return out;
}

/**
 * Operator rules before every other rule of their table, in iptables-save text: restore appends
 * a table's rules in the order it reads them, so these come first in their chains.
 */
function prependRules(save: string, table: string, rules: readonly string[]): string {
  const lines = save.split('\n');
  const start = lines.indexOf(`*${table}`);
  if (start < 0) throw new Error(`no *${table} table to add rules to`);
  let at = start + 1;
  while (lines[at]?.startsWith(':') === true) at++;
  lines.splice(at, 0, ...rules);
  return lines.join('\n');
}

/** Docker 28.5's capture the operator-rule scenarios below are laid over, and its container. */
const OPERATOR_BASE = 'docker-28.5.2/s3-usernet-portmap';
const OPERATOR_CONTAINER = { name: 'c1', address: '192.0.2.2' };

const client = (
  port: number,
  protocol: 'tcp' | 'udp',
  identity: string | null,
): ClientExpectation => ({ family: 'ipv4', port, protocol, identity });

/**
 * Operator rules over Docker 28.5's s3 capture (its container c1 publishes 8080 → 80), each
 * scenario with what the client must see:
 *
 * - `dnat-keeps-port`: a DNAT that keeps the client's port (`--to-destination ADDR`, no port)
 *   over 3,920 ports, to the container, let through by DOCKER-USER. Discovery says such a NAT's
 *   packets with the port said once (src/engine/discover.ts, kept fields) where every port would
 *   otherwise be its own flow. The host's 81 lands on the container's 81; 2222 (the lab's host
 *   service) on the container's 2222, where nothing listens.
 * - `dnat-to-loopback`: the host service's port DNATed to 127.0.0.1. The kernel routes a loopback
 *   destination that arrived on another interface only where route_localnet is on: off (the
 *   default), the client gets nothing; on for the external interface, it reaches the service.
 */
export function operatorScenarios(captures: readonly ScenarioInput[]): ScenarioInput[] {
  const base = captures.find((c) => c.name === OPERATOR_BASE);
  if (base === undefined) return [];
  const { name, address } = OPERATOR_CONTAINER;
  if (!base.iptablesSave.includes(`--to-destination ${address}:80`))
    throw new Error(`${OPERATOR_BASE} no longer publishes ${address}:80`);
  const host = `${EXTERNAL.hostAddress}/32`;
  const scenario = (
    id: string,
    rules: { nat?: string[]; filter?: string[] },
    expect: ClientExpectation[],
    extra: Partial<ScenarioInput> = {},
  ): ScenarioInput => {
    let save = base.iptablesSave;
    if (rules.nat !== undefined) save = prependRules(save, 'nat', rules.nat);
    if (rules.filter !== undefined) save = prependRules(save, 'filter', rules.filter);
    return { ...base, ...extra, name: `${id}/docker-28.5.2-s3`, iptablesSave: save, expect };
  };
  const keep = '81:4000';
  const toLoopback = [
    `-A PREROUTING -d ${host} -p tcp -m tcp --dport ${HOST_SERVICE_PORT} -j DNAT --to-destination 127.0.0.1`,
  ];
  const published = client(8080, 'tcp', `${name}:80/tcp`);
  return [
    scenario(
      'dnat-keeps-port',
      {
        nat: [
          `-A PREROUTING -d ${host} -p tcp -m tcp --dport ${keep} -j DNAT --to-destination ${address}`,
        ],
        filter: [`-A DOCKER-USER -d ${address}/32 -p tcp -m tcp --dport ${keep} -j ACCEPT`],
      },
      [
        client(81, 'tcp', `${name}:81/tcp`),
        client(HOST_SERVICE_PORT, 'tcp', null),
        client(81, 'udp', null),
        published,
      ],
    ),
    scenario('dnat-to-loopback', { nat: toLoopback }, [
      client(HOST_SERVICE_PORT, 'tcp', null),
      client(HOST_SERVICE_PORT, 'udp', 'host'),
      published,
    ]),
    scenario(
      'dnat-to-loopback-localnet',
      { nat: toLoopback },
      [client(HOST_SERVICE_PORT, 'tcp', 'host'), published],
      { routeLocalnet: [EXTERNAL.hostInterface] },
    ),
  ];
}

/** Docker 28.5's IPv6 capture the neighbour discovery scenarios are laid over. */
const NEIGHBOUR_BASE = 'docker-28.5.2/s7-usernet-ipv6-ip6tables';

/**
 * `nd-input-drop`: ip6tables' INPUT made DROP, letting in loopback, established connections and
 * the lab's host service, and no ICMPv6 — the hardening that forgets neighbour discovery. The
 * host answers no neighbour solicitation, so the client never learns its link address and every
 * IPv6 connection times out, though each rule the probe meets accepts it; IPv4 (ARP is not IP)
 * is untouched. The engine cannot know that no neighbour entry is held: possible, never certain.
 * `nd-output-bridge`: OUTPUT drops ICMPv6 out of the container's bridge, so the host never
 * resolves its container: the published IPv6 port times out, the host's own service answers.
 * `nd-ufw`: ufw's IPv6 chains (test/support/ufw6.ts), which pass neighbour discovery: both
 * connect, and the engine, deciding the routing header and hop limit matches, says so certainly.
 */
export function neighbourScenarios(captures: readonly ScenarioInput[]): ScenarioInput[] {
  const base = captures.find((c) => c.name === NEIGHBOUR_BASE);
  const original = base?.ip6tablesSave;
  if (base === undefined || original === undefined) return [];
  const filter = original.indexOf('*filter');
  if (filter < 0 || original.indexOf(':INPUT ACCEPT', filter) < 0)
    throw new Error(`${NEIGHBOUR_BASE} no longer has filter INPUT ACCEPT`);
  const filterRules = (
    head: readonly string[],
    policies: [string, string][] = [],
    chains: readonly string[] = [],
  ): string => layRules(original, 'filter', head, [], chains, new Map(policies));
  const ipv6 = (port: number, identity: string | null): ClientExpectation => ({
    family: 'ipv6',
    port,
    protocol: 'tcp',
    identity,
  });
  return [
    {
      ...base,
      name: 'nd-input-drop/docker-28.5.2-s7',
      ip6tablesSave: filterRules(
        [
          '-A INPUT -i lo -j ACCEPT',
          '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
          `-A INPUT -p tcp -m tcp --dport ${HOST_SERVICE_PORT} -j ACCEPT`,
        ],
        [['INPUT', 'DROP']],
      ),
      expect: [ipv6(HOST_SERVICE_PORT, null), ipv6(8080, null)],
    },
    {
      ...base,
      name: 'nd-output-bridge/docker-28.5.2-s7',
      ip6tablesSave: filterRules(['-A OUTPUT -o bridge6 -p ipv6-icmp -j DROP']),
      expect: [ipv6(HOST_SERVICE_PORT, 'host'), ipv6(8080, null)],
    },
    {
      ...base,
      name: 'nd-ufw/docker-28.5.2-s7',
      ip6tablesSave: filterRules(ufw6Rules(HOST_SERVICE_PORT), [['INPUT', 'DROP']], UFW6_CHAINS),
      expect: [ipv6(HOST_SERVICE_PORT, 'host'), ipv6(8080, 'c6:80/tcp')],
    },
  ];
}

/** The capture whose default bridge runs with icc off and a legacy link (two bridged probes). */
const ICC_OFF_BASE = 'docker-20.10.24/s9-default-bridge-icc-false-link';

/**
 * `bridge-nf-off`: Docker 20.10's icc=false capture with net.bridge.bridge-nf-call-iptables
 * turned off after dockerd set it on (a `sysctl --system` that resets it does this): what the
 * bridge passes between two containers skips iptables, so icc's DROP and the link's ACCEPTs
 * decide nothing, and both containers reach each other. The collected sysctl.txt says so.
 */
export function bridgeNfOffScenarios(captures: readonly ScenarioInput[]): ScenarioInput[] {
  const base = captures.find((c) => c.name === ICC_OFF_BASE);
  if (base === undefined) return [];
  return [{ ...base, name: 'bridge-nf-off/docker-20.10.24-s9', bridgeNfCall: false }];
}

/**
 * Every scenario, with random operator rules for these seeds, IPv4 and IPv6 (the recorded ones
 * by default).
 */
export function refereeScenarios(
  capturesDir: string,
  randomSeeds: readonly number[] = DEFAULT_SEEDS,
  random6Seeds: readonly number[] = DEFAULT_SEEDS6,
  randomNdSeeds: readonly number[] = DEFAULT_SEEDS_ND,
  randomNftSeeds: readonly number[] = DEFAULT_SEEDS_NFT,
  randomNft6Seeds: readonly number[] = DEFAULT_SEEDS_NFT6,
  randomWideSeeds: readonly number[] = DEFAULT_SEEDS_WIDE,
): ScenarioInput[] {
  const captures = listCaptureScenarios(capturesDir);
  return [
    ...captures,
    generatedScenario(),
    ...nftSemanticsScenarios(captures),
    ...operatorScenarios(captures),
    ...bridgeNfOffScenarios(captures),
    ...neighbourScenarios(captures),
    ...randomOperatorScenarios(captures, randomSeeds),
    ...randomOperatorScenarios(captures, random6Seeds, IPV6),
    ...randomOperatorScenarios(captures, randomNdSeeds, IPV6_ND),
    ...randomNftScenarios(captures, randomNftSeeds),
    ...randomNftScenarios(captures, randomNft6Seeds, NFT6),
    ...randomOperatorScenarios(captures, randomWideSeeds, IPV4_WIDE),
  ];
}
