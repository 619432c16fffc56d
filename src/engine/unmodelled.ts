/**
 * The match options the engine does not model (live state, other layers, packet contents): the
 * BDD encoder (match.ts) and the concrete interpreter (interpret.ts) both leave them undecided,
 * from this one list.
 */
import type { MatchOption } from '../model/ruleset.ts';

const UNMODELLED_TYPES = [
  'addrtype-limit-iface',
  'tcp-option',
  'ct-expire',
  'set',
  'mac-source',
  'physdev',
  'owner',
  'pkttype',
  'length',
  'ttl',
  'stateful',
  'opaque',
] as const;

export type UnmodelledOption = Extract<MatchOption, { type: (typeof UNMODELLED_TYPES)[number] }>;

const UNMODELLED: ReadonlySet<string> = new Set(UNMODELLED_TYPES);

/** True for an option whose outcome the engine cannot tell from the packet it models. */
export function isUnmodelled(o: MatchOption): o is UnmodelledOption {
  return UNMODELLED.has(o.type);
}
