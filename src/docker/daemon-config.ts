/**
 * Docker's daemon configuration as the version has it: the defaults when daemon.json says nothing,
 * and the combinations of settings that version refuses.
 */
import type { Diagnostic, SourceLocation } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type { DaemonConfig, DaemonFile, Setting } from '../model/host.ts';
import type { DockerVersion } from './version.ts';
import { daemonDefaults } from './version.ts';

/** The effective configuration when there is no daemon.json: every value Docker's default. */
export function defaultDaemonConfig(version: DockerVersion | null): DaemonConfig {
  const d = daemonDefaults(version);
  const def = <T>(value: T): Setting<T> => ({ value, source: 'default' });
  return {
    iptables: def(d.iptables),
    ip6tables: def(d.ip6tables),
    ipForward: def(d.ipForward),
    ipForwardNoDrop: def(d.ipForwardNoDrop),
    ipMasq: def(d.ipMasq),
    icc: def(d.icc),
    ip: def(d.ip),
    userlandProxy: def(d.userlandProxy),
    ipv6: def(d.ipv6),
    bip: def(null),
    bip6: def(null),
    fixedCidr: def(null),
    fixedCidrV6: def(null),
    bridge: def(d.bridge),
    allowDirectRouting: def(d.allowDirectRouting),
    bridgeAcceptFwmark: def(null),
    firewallBackend: def(d.firewallBackend),
    experimental: def(d.experimental),
    liveRestore: def(d.liveRestore),
    hosts: def([]),
    defaultAddressPools: def(d.defaultAddressPools),
    defaultNetworkOpts: def({}),
    otherKeys: [],
  };
}

/**
 * The effective configuration: what daemon.json sets (null: no file was read), Docker's defaults
 * for the version for the rest.
 */
export function daemonConfigOf(
  version: DockerVersion | null,
  file: DaemonFile | null,
): DaemonConfig {
  const base = defaultDaemonConfig(version);
  return file === null ? base : { ...base, ...file.settings, otherKeys: file.otherKeys };
}

/** Combinations dockerd rejects or ignores, said where the key is. */
export function daemonConfigProblems(
  config: DaemonConfig,
  version: DockerVersion | null,
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const at = (s: Setting<unknown>): SourceLocation | undefined => s.location;
  const ip6 = config.ip6tables;
  if (
    ip6.source === 'file' &&
    ip6.value &&
    version !== null &&
    version.major < 27 &&
    !config.experimental.value
  ) {
    const location = at(ip6);
    if (location !== undefined) {
      diagnostics.push(
        diagnostic(
          'daemon-option-ignored',
          'warning',
          `"ip6tables": true needs "experimental": true on Docker ${version.text}; dockerd refuses this configuration`,
          location,
        ),
      );
    }
  }
  return diagnostics;
}
