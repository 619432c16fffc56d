/**
 * The kernel tests of an operator's nftables tables loaded beside Docker 29.7.2's real ones: when
 * they run, and the capture scenario with the operator's tables added.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { listCaptureScenarios, type CaptureScenario } from '../lab/captures.ts';
import { labCapability, type Capability } from '../lab/netns.ts';

const capturesDir = path.resolve(import.meta.dirname, '../../../shared/captures');
const haveCaptures = existsSync(capturesDir);

/** What the lab needs, checked once (a suite's first test expects it to be ok). */
export const capability: Capability = haveCaptures
  ? labCapability()
  : { ok: false, reason: 'no captures' };

/** With the captures: where the lab can be built, and in CI always (a missing capability fails). */
export const suiteRuns = haveCaptures && (capability.ok || process.env['CI'] === 'true');

/** Docker 29.7.2's nftables capture, named `name`, with `tables` (nft text) loaded after its own. */
export function dockerNftablesWith(name: string, tables: string): CaptureScenario | undefined {
  const base = listCaptureScenarios(capturesDir).find(
    (c) => c.name === 'docker-29.7.2/s2a-nftables-portmap',
  );
  return base === undefined
    ? undefined
    : { ...base, name, nftRuleset: `${base.nftRuleset ?? ''}${tables}` };
}
