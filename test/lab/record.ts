/**
 * Kernel observations as a plain JSON record, so the engine can be replayed against what the
 * kernel did on machines where namespaces cannot be built (no root).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Lab, Observation, ProbeResult } from './netns.ts';
import type { Probe } from './probes.ts';

export interface RecordedProbe extends Probe {
  readonly outcome: Observation;
  readonly identity: string | null;
  /** The UDP listener that heard the datagram (`ProbeResult.heard`); absent: none did. */
  readonly heard?: string;
}

export interface KernelRecord {
  readonly scenario: string;
  readonly brNetfilter: boolean;
  /** Interfaces of the lab's host namespace (the engine's context needs them). */
  readonly interfaces: readonly string[];
  readonly results: readonly RecordedProbe[];
}

export interface KernelRecordFile {
  readonly kernel: string;
  readonly iptables: string;
  /** nft's version (records made before the nftables referee do not have it). */
  readonly nft?: string;
  readonly scenarios: readonly KernelRecord[];
}

export function toRecord(
  scenario: string,
  lab: Lab,
  results: readonly ProbeResult[],
): KernelRecord {
  return {
    scenario,
    brNetfilter: lab.brNetfilter,
    interfaces: lab.hostInterfaces,
    results: results.map((r) => ({
      ...r.probe,
      outcome: r.outcome,
      identity: r.identity,
      ...(r.heard === undefined ? {} : { heard: r.heard }),
    })),
  };
}

/** One scenario per line group, one probe per line: small diffs when a verdict changes. */
export function writeRecords(
  file: string,
  scenarios: readonly KernelRecord[],
  meta: { kernel: string; iptables: string; nft: string },
): void {
  const lines = scenarios.map(
    (s) =>
      `  {"scenario": ${JSON.stringify(s.scenario)}, "brNetfilter": ${s.brNetfilter}, ` +
      `"interfaces": ${JSON.stringify(s.interfaces)}, "results": [\n` +
      s.results.map((r) => `    ${JSON.stringify(r)}`).join(',\n') +
      '\n  ]}',
  );
  writeFileSync(
    file,
    `{"kernel": ${JSON.stringify(meta.kernel)}, "iptables": ${JSON.stringify(meta.iptables)}, "nft": ${JSON.stringify(meta.nft)}, "scenarios": [\n${lines.join(',\n')}\n]}\n`,
  );
}

/** A recorded probe as the result the lab gave. */
export function recordedResult(probe: RecordedProbe): ProbeResult {
  return {
    probe,
    outcome: probe.outcome,
    identity: probe.identity,
    ...(probe.heard === undefined ? {} : { heard: probe.heard }),
  };
}

export function readRecords(file: string): KernelRecordFile {
  return JSON.parse(readFileSync(file, 'utf8')) as KernelRecordFile;
}
