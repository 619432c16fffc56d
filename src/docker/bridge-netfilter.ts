/**
 * Whether what a bridge passes between its ports reaches iptables. br_netfilter hands bridged
 * frames to iptables only while net.bridge.bridge-nf-call-iptables (-ip6tables for IPv6) is 1:
 * dockerd loads the module and turns the switch on, but a later `sysctl --system` may turn it
 * off, and where the module is not loaded the switch does not exist at all (the collector then
 * notes the key as not present). Measured by the kernel referee's bridge-nf-off scenario.
 */
import type { Family } from '../model/ruleset.ts';
import type { Snapshot } from '../model/snapshot.ts';

export interface BridgedBypass {
  /** The sysctl key that says so. */
  readonly key: string;
  /** What says so, in words (`sysctl.txt: … = 0`). */
  readonly evidence: string;
  /** The snapshot file that says so. */
  readonly file: 'sysctl' | 'manifest';
}

/** The evidence that bridged traffic of this family skips iptables; null: it passes them. */
export function bridgedSkipsIptables(snapshot: Snapshot, family: Family): BridgedBypass | null {
  const key = `net.bridge.bridge-nf-call-${family === 'ipv4' ? 'iptables' : 'ip6tables'}`;
  const sysctls = snapshot.host.sysctls;
  const value = family === 'ipv4' ? sysctls.bridgeNfCallIptables : sysctls.bridgeNfCallIp6tables;
  if (value === false) return { key, evidence: `sysctl.txt: ${key} = 0`, file: 'sysctl' };
  if (value === null && collectorFoundNo(snapshot, key))
    return {
      key,
      evidence: `manifest.json: ${key} not present (br_netfilter not loaded)`,
      file: 'manifest',
    };
  // on, or not known: taken to be on, as dockerd sets it
  return null;
}

/** Whether the collector's manifest says the key was not in /proc/sys (br_netfilter not loaded). */
function collectorFoundNo(snapshot: Snapshot, key: string): boolean {
  const missing = snapshot.manifest?.['missing'];
  if (!Array.isArray(missing)) return false;
  return missing.some(
    (m: unknown) =>
      typeof m === 'object' &&
      m !== null &&
      (m as Record<string, unknown>)['file'] === `sysctl.txt:${key}`,
  );
}
