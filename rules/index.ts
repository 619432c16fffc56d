/**
 * The rule registry: every lint rule, alphabetical. Explicit on purpose: no filesystem globbing
 * at run time, and the meta test checks that files, docs, fixtures and this list agree.
 */
import type { RuleModule } from '../src/lint/rule.ts';
import daemonFirewallConfig from './daemon-firewall-config.ts';
import directContainerAccess from './direct-container-access.ts';
import dockerRuleDrift from './docker-rule-drift.ts';
import dockerUserIneffective from './docker-user-ineffective.ts';
import dockerUserPortMismatch from './docker-user-port-mismatch.ts';
import exposedPort from './exposed-port.ts';
import exposurePolicy from './exposure-policy.ts';
import hostNetworkConflict from './host-network-conflict.ts';
import inputRuleBypassed from './input-rule-bypassed.ts';
import ipv6NeighbourDiscovery from './ipv6-neighbour-discovery.ts';
import ipv6Unfiltered from './ipv6-unfiltered.ts';
import nftPortMismatch from './nft-port-mismatch.ts';
import redundantRule from './redundant-rule.ts';
import shadowedRule from './shadowed-rule.ts';
import unfilteredNetwork from './unfiltered-network.ts';

/** Every rule, keyed by its id: the id is written once, in the rule's meta (= its file name). */
export const RULES: Readonly<Record<string, RuleModule>> = Object.fromEntries(
  [
    daemonFirewallConfig,
    directContainerAccess,
    dockerRuleDrift,
    dockerUserIneffective,
    dockerUserPortMismatch,
    exposedPort,
    exposurePolicy,
    hostNetworkConflict,
    inputRuleBypassed,
    ipv6NeighbourDiscovery,
    ipv6Unfiltered,
    nftPortMismatch,
    redundantRule,
    shadowedRule,
    unfilteredNetwork,
  ].map((rule: RuleModule) => [rule.meta.id, rule]),
);
