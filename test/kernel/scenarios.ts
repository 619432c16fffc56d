/**
 * The scenarios the kernel referee rebuilds: every capture of ../shared/captures, plus a small
 * generated kube-proxy + Docker host (test/support/generate-host.ts) laid out on the lab's external
 * interface — it adds what the captures lack: UDP and address-bound mappings, kube-proxy chains
 * with unmodelled `statistic` matches and MARKs, and DOCKER-USER rules written against host ports.
 */
import { generateHostFiles } from '../support/generate-host.ts';
import { listCaptureScenarios } from '../lab/captures.ts';
import { EXTERNAL, type ScenarioInput } from '../lab/topology.ts';

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

export function refereeScenarios(capturesDir: string): ScenarioInput[] {
  return [...listCaptureScenarios(capturesDir), generatedScenario()];
}
