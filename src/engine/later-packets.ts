/**
 * Whether a connection's later packets in its own direction (ESTABLISHED, ACK) may meet a fate
 * its first packet (NEW, SYN) did not, read off the rules alone. Only a rule that tells the two
 * apart can part their ways, and most that do cannot stop a later packet of a connection whose
 * first packet passed: an ACCEPT that takes every later packet its first packet would take
 * (Docker's `--ctstate RELATED,ESTABLISHED -j ACCEPT`), a DROP or REJECT that stops no later
 * packet its first packet passes (`--ctstate INVALID -j DROP`), a logging rule, a jump that only
 * first packets take to a chain that can only stop (kube-proxy's `--ctstate NEW -j
 * KUBE-PROXY-FIREWALL`). Where some other rule reads the state, the TCP flags, the connection's
 * status or direction, or a match of rates, payloads or sockets, the later packets are walked
 * (`ReachQuery.onward`): random seeds 248 and 267, `-t mangle -A PREROUTING -m conntrack
 * --ctstate RELATED,ESTABLISHED -j DROP`, let every handshake through and stopped the rest.
 * The NAT chains read later packets as their first (conntrack gives them its NAT), so their
 * rules part nothing.
 */
import type { Chain, Family, MatchOption, Rule, Ruleset, Target } from '../model/ruleset.ts';
import { allOptions, ruleActions, untracks } from '../model/ruleset.ts';
import { matchesOnlyUnmodelled } from './packet-model.ts';
import { dnatOnly, noStatusBit } from './match.ts';

/** Targets that change nothing a later rule reads: a later packet skipping one loses nothing. */
const NO_EFFECT: ReadonlySet<Target['kind']> = new Set(['LOG', 'NFLOG']);

/** Targets that only stop, or end the chain: a chain of nothing else can only stop. */
const STOPPING: ReadonlySet<Target['kind']> = new Set(['DROP', 'REJECT', 'RETURN', 'LOG', 'NFLOG']);

/** How a rule's conditions on the connection read a first packet and a later one. */
interface StateReading {
  /** It holds for a first packet where its other conditions do. */
  readonly first: boolean;
  /** It holds for a later packet where its other conditions do. */
  readonly later: boolean;
}

/**
 * The rule's state conditions, null where it has none or matches no modelled packet
 * (`matchesOnlyUnmodelled`), for a connection DNATed or not (`dnat`:
 * the DNAT pseudo-state reads the same for a first packet past the NAT chains and its later
 * ones, while before them the first packet has none: `beforeNat`); `'unknown'` where it reads
 * something that tells first from later packets otherwise (TCP flags, the SNAT state, status,
 * direction, a match the engine does not model, an nftables step).
 */
function stateReading(
  rule: Rule,
  family: Family,
  dnat: boolean,
  beforeNat: boolean,
): StateReading | 'unknown' | null {
  if (matchesOnlyUnmodelled(rule, family)) return null;
  if (rule.steps !== undefined && rule.steps.some((s) => s.kind === 'match')) return 'unknown';
  let first = true;
  let later = true;
  let reads = false;
  for (const o of allOptions(rule)) {
    const r = optionReading(o, dnat, beforeNat);
    if (r === null) continue;
    if (r === 'unknown') return 'unknown';
    reads = true;
    first &&= r.first;
    later &&= r.later;
  }
  return reads ? { first, later } : null;
}

function optionReading(
  o: MatchOption,
  dnat: boolean,
  beforeNat: boolean,
): StateReading | 'unknown' | null {
  switch (o.type) {
    case 'ct-status':
      // the DNAT bit alone reads as the DNAT pseudo-state; no bit never holds; the other bits
      // tell packets apart
      if (noStatusBit(o.statuses)) return { first: o.negated, later: o.negated };
      if (!dnatOnly(o.statuses)) return 'unknown';
      return { first: (dnat && !beforeNat) !== o.negated, later: dnat !== o.negated };
    case 'ct-state': {
      if (o.states.includes('SNAT')) return 'unknown';
      const nat = dnat && o.states.includes('DNAT');
      const first = ((nat && !beforeNat) || o.states.includes('NEW')) !== o.negated;
      const later = (nat || o.states.includes('ESTABLISHED')) !== o.negated;
      return { first, later };
    }
    case 'tcp-flags':
    case 'tcp-option':
    case 'length':
    case 'ct-dir':
    case 'ct-expire':
      return 'unknown';
    case 'stateful':
    case 'opaque':
      // rates, counts, payloads, sockets tell a connection's packets apart; a module of the
      // packet's addresses and routes does not
      return SAME_FOR_LATER.has(o.module) ? null : 'unknown';
    default:
      // the others the engine leaves undecided (sets, MAC, owner, TTL, …) read what a first
      // packet and its later ones share
      return null;
  }
}

/** Modules the engine does not model that read what a connection's packets all share. */
const SAME_FOR_LATER: ReadonlySet<string> = new Set(['rpfilter', 'realm', 'devgroup', 'cgroup']);

/** Whether the rules may treat a connection's later packets otherwise than its first one. */
export function laterPacketsMayDiffer(ruleset: Ruleset): boolean {
  for (const table of ruleset.tables) {
    // iptables' nat table: later packets take the first one's NAT (nftables nat chains too,
    // but a listing's regular chains do not say which hook they serve: read as any)
    if (table.nft === undefined && table.name === 'nat') continue;
    const chains = new Map<string, Chain>(table.chains.map((c) => [c.name, c]));
    const stopOnly = stopOnlyChains(chains);
    // chains that may run before the NAT chains (raw, mangle; any of an nftables listing),
    // where a first packet has no DNAT state yet and its later ones do
    const beforeNat = table.nft !== undefined || table.name === 'raw' || table.name === 'mangle';
    for (const chain of table.chains) {
      if (chain.base?.type === 'nat') continue;
      for (const rule of chain.rules)
        if (parts(rule, ruleset.family, stopOnly, beforeNat)) return true;
    }
  }
  return false;
}

/** Whether this rule may send a later packet elsewhere than its connection's first. */
function parts(
  rule: Rule,
  family: Family,
  stopOnly: ReadonlySet<string>,
  beforeNat: boolean,
): boolean {
  return (
    partsAs(rule, family, stopOnly, false, beforeNat) ||
    partsAs(rule, family, stopOnly, true, beforeNat)
  );
}

function partsAs(
  rule: Rule,
  family: Family,
  stopOnly: ReadonlySet<string>,
  dnat: boolean,
  beforeNat: boolean,
): boolean {
  const reading = stateReading(rule, family, dnat, beforeNat);
  if (reading === null) return false;
  const t = rule.target;
  if (t === null || NO_EFFECT.has(t.kind)) return rule.steps !== undefined;
  if (reading === 'unknown') return true;
  const { first, later } = reading;
  if (first === later) return false;
  if (rule.steps !== undefined) return true;
  switch (t.kind) {
    case 'ACCEPT':
      // taken by a first packet only: its later ones go on past it
      return first && !later;
    case 'DROP':
    case 'REJECT':
      // a later packet stopped where its first one went on
      return later && !first;
    case 'jump':
      // skipped by the later packets: harmless where the chain can only stop
      return !(first && !later && stopOnly.has(t.chain));
    default:
      return true;
  }
}

/** The chains of a table whose every rule only stops, returns or logs (through jumps too). */
function stopOnlyChains(chains: ReadonlyMap<string, Chain>): Set<string> {
  const known = new Map<string, boolean>();
  const visit = (name: string, depth: number): boolean => {
    const seen = known.get(name);
    if (seen !== undefined) return seen;
    const chain = chains.get(name);
    if (chain === undefined || depth > 64) return false;
    // a loop reads as not stop-only until shown otherwise
    known.set(name, false);
    const only = chain.rules.every((r) => {
      if (r.steps !== undefined) return false;
      const t = r.target;
      if (t === null || STOPPING.has(t.kind)) return true;
      return t.kind === 'jump' && visit(t.chain, depth + 1);
    });
    known.set(name, only);
    return only;
  };
  const out = new Set<string>();
  for (const name of chains.keys()) if (visit(name, 0)) out.add(name);
  return out;
}

/**
 * Whether a NOTRACK may take a connection's first packet and leave its later ones to conntrack:
 * where the table that holds it reads anything that tells the two apart (`--tcp-flags
 * FIN,SYN,RST,ACK SYN`, a state, a rate; through a jump too, so any rule of the table counts).
 * Conntrack then picks the client's ACK up as a new connection, which NAT may send elsewhere
 * than the untracked SYN went (random seeds 658 and 1362: a DNAT of the host's port sent the
 * ACK to a container, whose reset ended the connection the host's listener had answered).
 */
export function notrackMayTakeFirstOnly(ruleset: Ruleset): boolean {
  for (const table of ruleset.tables) {
    if (!table.chains.some((c) => c.rules.some((r) => ruleActions(r).some(untracks)))) continue;
    for (const chain of table.chains)
      for (const rule of chain.rules)
        if (stateReading(rule, ruleset.family, false, true) !== null) return true;
  }
  return false;
}
