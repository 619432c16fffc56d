/**
 * The scenarios the kernel referee rebuilds: every capture of ../shared/captures, plus a small
 * generated kube-proxy + Docker host (test/support/generate-host.ts) laid out on the lab's external
 * interface — it adds what the captures lack: UDP and address-bound mappings, kube-proxy chains
 * with unmodelled `statistic` matches and MARKs, and DOCKER-USER rules written against host ports
 * — and the nftables semantics of fixtures/nft/semantics: an operator's tables (and iptables-nft
 * rules) beside Docker 29's nftables tables.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateHostFiles } from '../support/generate-host.ts';
import { listCaptureScenarios } from '../lab/captures.ts';
import { EXTERNAL, type ClientExpectation, type ScenarioInput } from '../lab/topology.ts';

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

export function refereeScenarios(capturesDir: string): ScenarioInput[] {
  const captures = listCaptureScenarios(capturesDir);
  return [...captures, generatedScenario(), ...nftSemanticsScenarios(captures)];
}
