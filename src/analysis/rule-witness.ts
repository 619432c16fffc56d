/**
 * A witness for a rule, from the engine's packet sets: one new connection (of any state) that
 * the rule's own conditions certainly select, as it meets a hook that leads to the rule's chain
 * (routing applied: a packet for the host at INPUT, a routed one at FORWARD, one the host sends
 * at OUTPUT). No NAT or earlier rule is applied, so the witness is what the rule would take if it
 * were reached; the engine's trace then shows what really takes it.
 */
import { formatAddress, parseCidr } from '../engine/addr.ts';
import { entryHooks } from '../engine/entry.ts';
import type { Engine, PacketConstraint, PacketSet } from '../engine/types.ts';
import { tableId, type Family, type Ruleset, type Table } from '../model/ruleset.ts';
import type { Hook, Packet } from '../model/trace.ts';

/** A packet the rule matches, proof that its matches contradict, or why neither was found. */
export type RuleWitness =
  | { readonly kind: 'packet'; readonly packet: Packet; readonly hook: Hook }
  | { readonly kind: 'contradictory' }
  | { readonly kind: 'unknown'; readonly reason: string };

/** Hooks tried: a packet arriving for the host first, then forwarded, then sent. */
const HOOKS: readonly Hook[] = ['INPUT', 'FORWARD', 'OUTPUT', 'PREROUTING', 'POSTROUTING'];

const entries = new WeakMap<Ruleset, ReturnType<typeof entryHooks>>();

/** The hooks through which `chain` can be entered (the engine's reading of the jumps). */
function hooksOf(ruleset: Ruleset, table: Table, chain: string): readonly Hook[] {
  let e = entries.get(ruleset);
  if (e === undefined) {
    e = entryHooks(ruleset);
    entries.set(ruleset, e);
  }
  const own = e.get(table)?.get(chain) ?? new Set<Hook>();
  // a chain nothing leads to: the packet it would take if a jump led there from any hook
  return own.size === 0 ? HOOKS : HOOKS.filter((h) => own.has(h));
}

/** What a witness should rather be, where the rule leaves it open. */
export interface WitnessPreference {
  /** Interface names the host has (a class of unnamed interfaces is shown as one of them). */
  readonly inInterfaces?: readonly string[];
  /** The host's own address, the destination of a packet for the host. */
  readonly hostAddress?: string;
  /** An address elsewhere, the destination of a packet the host forwards or sends. */
  readonly remoteAddress?: string;
}

/** The smallest prefix holding every address of the list of CIDRs (first and last suffice). */
function spanOf(
  cidrs: readonly string[],
  family: Family,
): { value: bigint; length: number } | null {
  const first = parseCidr(cidrs[0] ?? '', family);
  const last = parseCidr(cidrs[cidrs.length - 1] ?? '', family);
  if (first === null || last === null) return null;
  const width = family === 'ipv4' ? 32 : 128;
  const end = last.value | ((1n << BigInt(width - last.length)) - 1n);
  let length = Math.min(first.length, last.length);
  while (length > 0 && first.value >> BigInt(width - length) !== end >> BigInt(width - length)) {
    length -= 1;
  }
  const mask = length === 0 ? 0n : ((1n << BigInt(length)) - 1n) << BigInt(width - length);
  return { value: first.value & mask, length };
}

/**
 * A readable member of `set` near `packet`: a named interface over a class representative, the
 * host's or a remote address as fits the hook, a remote destination for what the host sends or
 * forwards, and never the network address of the prefix the rule names but its first host or,
 * when that is not in the set (a gateway, which is the host's), its last but one.
 */
function polish(set: PacketSet, packet: Packet, hook: Hook, prefer: WitnessPreference): Packet {
  let out = packet;
  const take = (candidates: readonly Packet[]): boolean => {
    const found = candidates.find((q) => set.contains(q));
    if (found !== undefined) out = found;
    return found !== undefined;
  };
  const named = prefer.inInterfaces ?? [];
  if (out.inInterface !== null && !named.includes(out.inInterface)) {
    take(named.map((inInterface) => ({ ...out, inInterface })));
  }
  // port 0 is no service's: a web port where the rule allows one
  if (out.destinationPort === 0) {
    take([80, 443, 8080].map((destinationPort) => ({ ...out, destinationPort })));
  }
  const forHost = hook === 'INPUT' || hook === 'PREROUTING';
  if (!forHost && out.destinationIsHost === true) take([{ ...out, destinationIsHost: false }]);
  const preferred = (
    forHost
      ? [prefer.hostAddress, prefer.remoteAddress]
      : [prefer.remoteAddress, prefer.hostAddress]
  ).filter((a): a is string => a !== undefined);
  if (take(preferred.map((destination) => ({ ...out, destination })))) return out;
  const width = out.family === 'ipv4' ? 32 : 128;
  const span = spanOf(set.destinations(), out.family);
  if (span === null || span.length === 0 || span.length >= width - 1) return out;
  if (formatAddress(span.value, out.family) !== out.destination) return out;
  const last = span.value | ((1n << BigInt(width - span.length)) - 1n);
  take(
    [span.value + 1n, last - 1n, span.value + 2n].map((v) => ({
      ...out,
      destination: formatAddress(v, out.family),
    })),
  );
  return out;
}

/**
 * `prefer` steers the choice where the rule leaves it open; it never excludes the only packets
 * there are.
 */
export function ruleWitness(
  engine: Engine,
  ruleset: Ruleset,
  table: Table,
  chain: string,
  index: number,
  prefer: WitnessPreference = {},
): RuleWitness {
  const match = engine.ruleMatch(tableId(table), chain, index);
  if (match === null) return { kind: 'unknown', reason: 'the engine does not know the rule' };
  if (match.possible.isEmpty) return { kind: 'contradictory' };
  if (match.certain.isEmpty) {
    return { kind: 'unknown', reason: 'a packet cannot carry every condition it tests' };
  }
  for (const hook of hooksOf(ruleset, table, chain)) {
    const set = engine.entering(hook).and(match.certain);
    const narrow: PacketConstraint =
      prefer.inInterfaces === undefined ? {} : { inInterfaces: prefer.inInterfaces };
    const packet = set.witness(narrow);
    if (packet !== null) return { kind: 'packet', packet: polish(set, packet, hook, prefer), hook };
  }
  return { kind: 'unknown', reason: 'no packet entering where its chain is reached matches it' };
}
