// Docker knowledge: layout eras, daemon defaults, what was published versus what the rules do.
export { describeAddress } from './address.ts';
export type { AddressDescription } from './address.ts';
export { isDockerChain, isDockerManagedChain } from './chains.ts';
export {
  ASSUMED_EXTERNAL_INTERFACE,
  buildHostContext,
  buildNetworkContext,
  externalInterface,
  silenceCause,
} from './context.ts';
export type { ContextFact, HostContext } from './context.ts';
export { checkDaemonAgainstHost } from './daemon-evidence.ts';
export { detectEra, erasForVersion } from './era.ts';
export type { EraInput } from './era.ts';
export { findRuleDrift, mapPublishedPorts } from './ports.ts';
export { interpretSnapshot } from './snapshot.ts';
export type { DriftRule, PortImplementation } from './ports.ts';
export { atLeast, daemonDefaults, parseDockerVersion } from './version.ts';
export type { DaemonDefaults, DockerVersion } from './version.ts';
