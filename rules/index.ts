/**
 * The rule registry: every lint rule by id (= file name), alphabetical. Explicit on purpose: no
 * filesystem globbing at run time, and the meta test checks that files, docs, fixtures and this
 * list agree.
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
import ipv6Unfiltered from './ipv6-unfiltered.ts';
import nftPortMismatch from './nft-port-mismatch.ts';
import redundantRule from './redundant-rule.ts';
import shadowedRule from './shadowed-rule.ts';

export const RULES = {
  'daemon-firewall-config': daemonFirewallConfig,
  'direct-container-access': directContainerAccess,
  'docker-rule-drift': dockerRuleDrift,
  'docker-user-ineffective': dockerUserIneffective,
  'docker-user-port-mismatch': dockerUserPortMismatch,
  'exposed-port': exposedPort,
  'exposure-policy': exposurePolicy,
  'host-network-conflict': hostNetworkConflict,
  'input-rule-bypassed': inputRuleBypassed,
  'ipv6-unfiltered': ipv6Unfiltered,
  'nft-port-mismatch': nftPortMismatch,
  'redundant-rule': redundantRule,
  'shadowed-rule': shadowedRule,
} satisfies Record<string, RuleModule<string, object>>;

export type RuleId = keyof typeof RULES;
