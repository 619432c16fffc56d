/**
 * The scenarios of shared/captures as lab inputs: each `<version>/<sN-name>.iptables-save` with
 * the inspect files of the same `sN-` id (s8 spreads its containers over several files).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { nativeTables } from './nft.ts';
import type { ScenarioInput } from './topology.ts';

export interface CaptureScenario extends ScenarioInput {
  readonly version: string;
  readonly id: string;
}

function readJsonArray(file: string): unknown[] {
  const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
  return Array.isArray(v) ? (v as unknown[]) : [];
}

export function listCaptureScenarios(capturesDir: string): CaptureScenario[] {
  if (!existsSync(capturesDir)) return [];
  const out: CaptureScenario[] = [];
  for (const version of readdirSync(capturesDir).sort()) {
    const dir = path.join(capturesDir, version);
    if (!version.startsWith('docker-')) continue;
    const files = readdirSync(dir).sort();
    for (const f of files) {
      if (!f.endsWith('.iptables-save')) continue;
      const base = f.slice(0, -'.iptables-save'.length);
      const id = base.split('-')[0] ?? base;
      const same = (suffix: string): string[] =>
        files.filter((g) => g.startsWith(`${id}-`) && g.endsWith(suffix));
      const containers = same('.container-inspect.json').flatMap((g) =>
        readJsonArray(path.join(dir, g)),
      );
      const networks = same('.network-inspect.json').flatMap((g) =>
        readJsonArray(path.join(dir, g)),
      );
      const v6 = path.join(dir, `${base}.ip6tables-save`);
      const nftFile = path.join(dir, `${base}.nft-ruleset`);
      const nft = existsSync(nftFile) ? nativeTables(readFileSync(nftFile, 'utf8')) : null;
      out.push({
        ...(existsSync(v6) ? { ip6tablesSave: readFileSync(v6, 'utf8') } : {}),
        ...(nft === null ? {} : { nftRuleset: nft }),
        version: version.replace(/^docker-/, ''),
        id,
        name: `${version}/${base}`,
        iptablesSave: readFileSync(path.join(dir, f), 'utf8'),
        containers,
        networks,
      });
    }
  }
  return out;
}
