/**
 * What a finding about an exposure is about, for ignores, baselines and fingerprints: stable
 * across runs (no line numbers, no witness), the same for every rule that reports on it.
 */
import type { Exposure, FindingObject } from '../model/audit.ts';
import type { SourceLocation } from '../model/diagnostic.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { portCount, portsText, singlePort } from './exposure-text.ts';

/** Opened ports up to this many read as services; wider ranges are the host firewall's stance. */
export const FEW_PORTS = 16;

/**
 * Whether an exposure reaches something: a container, an address behind the host, a host
 * service that listens (or a port or few opened explicitly, listener unknown). Host ports the
 * firewall lets in with nothing known behind them are the exposure table's, not a finding's.
 */
export function reachesService(e: Exposure): boolean {
  if (e.target.kind !== 'host') return true;
  if (e.target.listening === true) return true;
  return e.target.listening === null && portCount(e.target.ports) <= FEW_PORTS;
}

export function exposureObject(e: Exposure): FindingObject {
  const port = singlePort(e.ports);
  return {
    ...(e.target.kind === 'container' && e.target.name !== null
      ? { container: e.target.name }
      : {}),
    ...(port === null ? {} : { port }),
    protocol: e.protocol,
    address: e.anyHostAddress
      ? e.family === 'ipv4'
        ? '0.0.0.0'
        : '::'
      : `${e.destinations.join(',')}${port === null ? ` ports ${portsText(e.ports)}` : ''}`,
  };
}

/** The DNAT or ACCEPT step of an exposure's trace locates a finding about it; else its ruleset. */
export function exposureLocation(
  e: Exposure,
  snapshot: Pick<Snapshot, 'ipv4' | 'ipv6' | 'nft'>,
): SourceLocation {
  const located = e.trace.filter((s) => s.file !== null && s.line !== null);
  const step =
    located.find((s) => s.action.startsWith('DNAT')) ??
    located.find((s) => s.rule !== null && s.action.startsWith('ACCEPT')) ??
    located[located.length - 1];
  if (step !== undefined && step.file !== null && step.line !== null)
    return { file: step.file, line: step.line, column: 1 };
  const file =
    (e.family === 'ipv4' ? snapshot.ipv4?.file : snapshot.ipv6?.file) ??
    snapshot.ipv4?.file ??
    snapshot.ipv6?.file ??
    snapshot.nft?.file ??
    'snapshot';
  return { file, line: 1, column: 1 };
}
