/**
 * The engine as the referee tests drive it: parse a scenario's iptables-save text (and the
 * native nftables tables the lab loads beside it), build the engine for the lab host's context,
 * and trace single packets.
 */
import { buildEngines } from '../../src/analysis/engines.ts';
import { computeExposures } from '../../src/analysis/exposures.ts';
import { createEngine } from '../../src/engine/index.ts';
import type { NetworkContext } from '../../src/engine/context.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import { parseNft } from '../../src/ingest/nft/index.ts';
import { combineRulesets } from '../../src/model/firewall.ts';
import { buildNetworkContext } from '../../src/docker/context.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { firewallOf } from '../../src/model/snapshot.ts';
import type { Exposure } from '../../src/model/audit.ts';
import type { Family } from '../../src/model/ruleset.ts';
import type { Packet, Trace } from '../../src/model/trace.ts';

export interface LinkedEngine {
  readonly trace: (p: Packet) => Trace;
  /** Parser and engine diagnostics, as `code: message`. */
  readonly diagnostics: readonly string[];
}

export function linkEngine(
  iptablesSave: string,
  file: string,
  context: NetworkContext,
  nftRuleset: string | null = null,
): LinkedEngine {
  const parsed = parseIptables(iptablesSave, { file, family: context.family });
  const nft = nftRuleset === null ? null : parseNft(nftRuleset, `${file}.nft-ruleset`);
  const ruleset =
    combineRulesets(parsed.ruleset, nft?.ruleset ?? null, context.family) ?? parsed.ruleset;
  const engine = createEngine(ruleset, context);
  const diagnostics = [
    ...parsed.diagnostics,
    ...(nft?.diagnostics ?? []),
    ...engine.diagnostics,
  ].map((d) => `${d.code}: ${d.message}`);
  return { trace: (p) => engine.trace(p), diagnostics };
}

/** The engine as users get it: a snapshot directory through loadSnapshot and buildNetworkContext. */
export async function linkSnapshot(directory: string): Promise<LinkedEngine> {
  const snapshot = await loadSnapshot({ directory });
  const ipv4 = firewallOf(snapshot, 'ipv4');
  const ipv6 = firewallOf(snapshot, 'ipv6');
  if (ipv4 === null) throw new Error(`${directory}: no IPv4 ruleset read`);
  const v4 = createEngine(ipv4, buildNetworkContext(snapshot, 'ipv4'));
  const v6 = ipv6 === null ? null : createEngine(ipv6, buildNetworkContext(snapshot, 'ipv6'));
  const diagnostics = [...snapshot.diagnostics, ...v4.diagnostics, ...(v6?.diagnostics ?? [])].map(
    (d) => `${d.code}: ${d.message}`,
  );
  return {
    trace: (p) => {
      if (p.family === 'ipv6' && v6 === null)
        throw new Error('no ip6tables-save.txt was collected');
      return (p.family === 'ipv6' && v6 !== null ? v6 : v4).trace(p);
    },
    diagnostics,
  };
}

/** One engine per family, chosen by the packet. */
export function byFamily(v4: LinkedEngine, v6: LinkedEngine | null): LinkedEngine {
  return {
    trace: (p) => {
      if (p.family === 'ipv6' && v6 === null) throw new Error('no IPv6 engine for this scenario');
      return (p.family === 'ipv6' && v6 !== null ? v6 : v4).trace(p);
    },
    diagnostics: [...v4.diagnostics, ...(v6?.diagnostics ?? [])],
  };
}

/** The exposure table users get from a snapshot directory, and each engine's interface classes. */
export async function snapshotExposures(directory: string): Promise<{
  readonly exposures: readonly Exposure[];
  readonly classes: Partial<Record<Family, readonly string[]>>;
}> {
  const snapshot = await loadSnapshot({ directory });
  const engines = buildEngines(snapshot);
  // the rows are judged, not their traces (which cost a trace per row)
  const { exposures } = computeExposures(snapshot, engines, { traceLimit: 0 });
  return {
    exposures,
    classes: Object.fromEntries(engines.families.map((f) => [f.family, f.engine.interfaceClasses])),
  };
}
