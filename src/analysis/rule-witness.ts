/**
 * A witness for a rule without the engine: one concrete packet its own matches accept, entering
 * at a hook that leads to its chain. Used where the engine's per-rule packet sets are too dear
 * (large rulesets) or absent; the engine's trace of the packet then confirms or drops it.
 */
import { addressBits, formatAddress, parseCidr, prefixMask } from '../engine/addr.ts';
import { HOOK_TABLES } from '../engine/hooks.ts';
import { externalInterfaces } from '../docker/interfaces.ts';
import type { DockerHost } from '../model/host.ts';
import type { AddressMask, Family, MatchOption, PortRange, Rule, Table } from '../model/ruleset.ts';
import { allOptions, findChain } from '../model/ruleset.ts';
import { reachableChains } from '../model/rule-queries.ts';
import type { Hook, IpProtocol, Packet } from '../model/trace.ts';
import { addressValue, prefixCovers } from './covers.ts';
import { hostAddressFor, remoteClient } from './packets.ts';

/** A packet the rule matches, proof that its matches contradict, or why neither was found. */
export type RuleWitness =
  | { readonly kind: 'packet'; readonly packet: Packet; readonly hook: Hook }
  | { readonly kind: 'contradictory'; readonly reason: string }
  | { readonly kind: 'unknown'; readonly reason: string };

/** What the witness needs from the host besides the rule. */
export interface WitnessHost {
  readonly family: Family;
  readonly host: DockerHost;
  /** Addresses routing delivers to the host itself (the engine's view). */
  readonly localAddresses: readonly string[];
}

/** Hooks tried for a witness: a packet arriving for the host first, then forwarded, then sent. */
const HOOKS: readonly Hook[] = ['INPUT', 'FORWARD', 'OUTPUT', 'PREROUTING', 'POSTROUTING'];
/** The same, arrival first: where a chain no built-in chain reaches would be hooked most often. */
const ARRIVAL_FIRST: readonly Hook[] = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

/** The built-in hook whose packets reach `chain` (itself, or by jumps), else the table's usual. */
export function witnessHook(table: Table, chain: string): Hook {
  if (table.nft !== undefined) return nftWitnessHook(table, chain);
  const own = HOOKS.find((h) => h === chain && HOOK_TABLES[h].includes(table.name));
  if (own !== undefined) return own;
  const from = HOOKS.find(
    (h) => findChain(table, h) !== undefined && reachableChains(table, h).has(chain),
  );
  return from ?? ARRIVAL_FIRST.find((h) => HOOK_TABLES[h].includes(table.name)) ?? 'INPUT';
}

/** nftables: the hook of a base chain that is `chain` or leads to it (arrival first). */
function nftWitnessHook(table: Table, chain: string): Hook {
  const hooks = new Set(
    table.chains.flatMap((c) =>
      c.base !== undefined && reachableChains(table, c.name).has(chain)
        ? [c.base.hook.toUpperCase()]
        : [],
    ),
  );
  return HOOKS.find((h) => hooks.has(h)) ?? 'INPUT';
}

function widthOf(family: Family): bigint {
  return family === 'ipv4' ? 32n : 128n;
}

function inMask(value: bigint, m: AddressMask): boolean {
  const mask = addressValue(m.mask, m.family);
  const base = addressValue(m.address, m.family);
  return mask !== null && base !== null && (value & mask) === base;
}

/**
 * Addresses inside a mask worth trying: the first host (often a gateway), the last but one
 * (rarely anyone's: Docker hands out container addresses from the bottom), the second.
 */
function addressesIn(m: AddressMask): bigint[] {
  const mask = addressValue(m.mask, m.family);
  const base = addressValue(m.address, m.family);
  if (mask === null || base === null) return [];
  const all = (1n << widthOf(m.family)) - 1n;
  const free = all & ~mask;
  return [base | (free & 1n), base | (free & (free - 1n)), base | (free & 2n), base];
}

function disjointPrefixes(a: AddressMask, b: AddressMask): boolean {
  return (
    a.prefixLength !== null && b.prefixLength !== null && !prefixCovers(a, b) && !prefixCovers(b, a)
  );
}

type Picked<T> = { ok: true; value: T } | { ok: false; contradictory: boolean; reason: string };

/** An address for `-s`/`-d` (and iprange, addrtype LOCAL) inside every positive condition. */
function pickAddress(
  options: readonly MatchOption[],
  field: 'src' | 'dst',
  preferred: readonly string[],
  w: WitnessHost,
  avoid: readonly string[] = [],
): Picked<string> {
  const pos: AddressMask[] = [];
  const neg: AddressMask[] = [];
  const checks: ((v: bigint, text: string) => boolean)[] = [];
  for (const o of options) {
    if (o.type === 'address' && o.field === field) (o.negated ? neg : pos).push(o.value);
    if (o.type === 'iprange' && o.field === field) {
      const from = addressValue(o.range.from, w.family);
      const to = addressValue(o.range.to, w.family);
      if (from === null || to === null) return { ok: false, contradictory: false, reason: '' };
      checks.push((v) => (v >= from && v <= to) !== o.negated);
    }
    if (o.type === 'addrtype' && o.field === field) {
      // Only LOCAL (and its absence) is known without the kernel's routing tables.
      if (o.types.some((t) => t !== 'LOCAL' && t !== 'UNICAST')) {
        return { ok: false, contradictory: false, reason: `addrtype ${o.types.join(',')}` };
      }
      const local = new Set(w.localAddresses.map((a) => addressValue(a, w.family)));
      const wantLocal = o.types.includes('LOCAL');
      checks.push((v) => (local.has(v) === wantLocal) !== o.negated);
    }
  }
  for (const [i, a] of pos.entries()) {
    for (const b of pos.slice(i + 1)) {
      if (disjointPrefixes(a, b)) {
        return {
          ok: false,
          contradictory: true,
          reason: `${field === 'src' ? '-s' : '-d'} ${a.address}/${a.prefixLength} and ${b.address}/${b.prefixLength} share no address`,
        };
      }
    }
    for (const n of neg) {
      if (n.prefixLength !== null && a.prefixLength !== null && prefixCovers(n, a)) {
        return {
          ok: false,
          contradictory: true,
          reason: `${field === 'src' ? '-s' : '-d'} ${a.address}/${a.prefixLength} lies inside its own negation ! ${n.address}/${n.prefixLength}`,
        };
      }
    }
  }
  const candidates =
    pos.length > 0
      ? pos.flatMap(addressesIn)
      : [
          ...preferred,
          ...w.localAddresses,
          ...(w.family === 'ipv4'
            ? ['203.0.113.77', '198.51.100.77', '192.0.2.77', '10.255.255.77']
            : ['2001:db8:ffff::77', '2001:db8:fffe::77', 'fd00:ffff::77']),
        ].flatMap((t) => {
          const v = addressValue(t, w.family);
          return v === null ? [] : [v];
        });
  // Addresses to avoid (the host's own, for a packet that must be forwarded) are tried last.
  const shunned = new Set(avoid.map((a) => addressValue(a, w.family)));
  const ordered = [
    ...candidates.filter((v) => !shunned.has(v)),
    ...candidates.filter((v) => shunned.has(v)),
  ];
  for (const v of ordered) {
    const text = formatAddress(v, w.family);
    if (
      pos.every((m) => inMask(v, m)) &&
      !neg.some((m) => inMask(v, m)) &&
      checks.every((c) => c(v, text))
    ) {
      return { ok: true, value: text };
    }
  }
  return { ok: false, contradictory: false, reason: `no ${field} address found` };
}

/** An interface name for `-i`/`-o` that every condition on it accepts. */
function pickInterface(
  options: readonly MatchOption[],
  field: 'in' | 'out',
  preferred: readonly string[],
): Picked<string | null> {
  const conds = options.flatMap((o) => (o.type === 'interface' && o.field === field ? [o] : []));
  const accepts = (name: string): boolean =>
    conds.every((c) => (c.wildcard ? name.startsWith(c.name) : name === c.name) !== c.negated);
  const pos = conds.filter((c) => !c.negated);
  if (pos.length === 0 && conds.length === 0) return { ok: true, value: null };
  const candidates = [
    ...pos.map((c) => (c.wildcard ? `${c.name}0` : c.name)),
    ...pos.map((c) => (c.wildcard ? `${c.name}witness` : c.name)),
    ...(pos.length === 0 ? [...preferred, 'eth0', 'ens3', 'wlan0'] : []),
  ];
  const found = candidates.find(accepts);
  if (found !== undefined) return { ok: true, value: found };
  const flag = field === 'in' ? '-i' : '-o';
  const exact = pos.filter((c) => !c.wildcard);
  // Two exact names, or an exact name its own negation or wildcard excludes: nothing matches.
  const reason =
    exact.length > 0
      ? `${flag} ${exact[0]?.name ?? ''} is excluded by its other ${flag} conditions`
      : `no ${flag} name found`;
  return { ok: false, contradictory: exact.length > 0, reason };
}

/** A port every condition of one field accepts; exact: a failure means none exists. */
function pickPort(
  pos: readonly (readonly PortRange[])[],
  neg: readonly (readonly PortRange[])[],
  preferred: number,
): number | null {
  const inAny = (p: number, rs: readonly PortRange[]): boolean =>
    rs.some((r) => p >= r.from && p <= r.to);
  // A non-empty result of intersections and differences of ranges holds the left end of one
  // of its intervals: a positive range's start, a negative range's end plus one, or 0.
  const candidates = [
    ...(pos.length === 0 ? [preferred] : []),
    ...pos.flatMap((rs) => rs.map((r) => r.from)),
    ...neg.flatMap((rs) => rs.map((r) => r.to + 1)),
    preferred,
    0,
  ];
  return (
    candidates.find(
      (p) => p <= 65535 && pos.every((rs) => inAny(p, rs)) && !neg.some((rs) => inAny(p, rs)),
    ) ?? null
  );
}

const PROTOCOL_NAMES = new Set(['tcp', 'udp', 'sctp', 'icmp', 'icmpv6']);
const PROTOCOL_ALIASES: Readonly<Record<string, string>> = {
  'ipv6-icmp': 'icmpv6',
  icmp6: 'icmpv6',
};
const PACKET_STATES = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'] as const;
/** Options whose every packet value the witness sets (or that always match). */
const MODELLED = new Set([
  'address',
  'interface',
  'protocol',
  'port',
  'ct-state',
  'mark',
  'iprange',
  'addrtype',
  'comment',
  'family',
]);

/**
 * A concrete packet the rule's own matches accept, entering at `hook`: values inside each
 * address prefix, port range, interface and state it names; host addresses for the hook's
 * path where it names none. Conditions a packet cannot carry (tcp flags, ICMP types, owners,
 * live state) leave no witness rather than a packet that might not match.
 */
export function ruleWitness(rule: Rule, hook: Hook, w: WitnessHost): RuleWitness {
  const options = allOptions(rule).filter(
    (o) => !(o.type === 'protocol' && !o.negated && o.number === 0),
  );
  const other = options.find((o) => !MODELLED.has(o.type));
  if (other !== undefined) {
    return { kind: 'unknown', reason: `a packet cannot carry its ${other.type} condition` };
  }
  // nftables `meta nfproto` (and the family an inet table's `ip saddr` implies): the witness is
  // of the family it is asked for, so a rule of the other one has none here.
  if (options.some((o) => o.type === 'family' && (o.family === w.family) === o.negated)) {
    return { kind: 'unknown', reason: 'it matches the other address family' };
  }
  const fail = (p: { contradictory: boolean; reason: string }): RuleWitness =>
    p.contradictory
      ? { kind: 'contradictory', reason: p.reason }
      : { kind: 'unknown', reason: p.reason };

  // Protocol: the positive one, else TCP (or UDP when TCP is excluded).
  const protos = options.flatMap((o) => (o.type === 'protocol' ? [o] : []));
  const posProto = protos.filter((o) => !o.negated);
  const first = posProto[0];
  if (posProto.some((o) => o.number !== first?.number)) {
    return { kind: 'contradictory', reason: `-p ${posProto.map((o) => o.name).join(' and -p ')}` };
  }
  const number = first?.number ?? [6, 17, 132].find((n) => !protos.some((o) => o.number === n));
  if (number === undefined) {
    return { kind: 'unknown', reason: 'it excludes TCP, UDP and SCTP' };
  }
  if (protos.some((o) => o.negated && o.number === number)) {
    return { kind: 'contradictory', reason: `-p ${first?.name ?? ''} is excluded by its negation` };
  }
  const name =
    first === undefined
      ? number === 6
        ? 'tcp'
        : number === 17
          ? 'udp'
          : 'sctp'
      : (PROTOCOL_ALIASES[first.name.toLowerCase()] ?? first.name.toLowerCase());
  const protocol: IpProtocol = PROTOCOL_NAMES.has(name) ? (name as IpProtocol) : number;
  const ported = protocol === 'tcp' || protocol === 'udp' || protocol === 'sctp';

  // Ports: multiport --ports (either) is met through the destination port alone.
  const ports = options.flatMap((o) => (o.type === 'port' ? [o] : []));
  if (ports.length > 0 && !ported) {
    return { kind: 'contradictory', reason: `port conditions on protocol ${String(protocol)}` };
  }
  const ranges = (field: 'src' | 'dst', negated: boolean): (readonly PortRange[])[] =>
    ports
      .filter(
        (o) =>
          o.negated === negated &&
          (o.field === field || (o.field === 'either' && (negated || field === 'dst'))),
      )
      .map((o) => o.ranges);
  const either = ports.some((o) => o.field === 'either');
  const dport = pickPort(ranges('dst', false), ranges('dst', true), 80);
  const sport = pickPort(ranges('src', false), ranges('src', true), 40000);
  if (dport === null || sport === null) {
    const reason = `its ${dport === null ? 'destination' : 'source'} port conditions share no port`;
    return either ? { kind: 'unknown', reason } : { kind: 'contradictory', reason };
  }

  // Conntrack state: NEW when allowed; SNAT/DNAT states are not a packet's to carry.
  const cts = options.flatMap((o) => (o.type === 'ct-state' ? [o] : []));
  const stateOk = (s: string): boolean =>
    cts.every((o) => o.states.some((x) => x === s) !== o.negated);
  const state = PACKET_STATES.find(stateOk);
  if (state === undefined) {
    const any = ['SNAT', 'DNAT'].some(stateOk);
    return any
      ? { kind: 'unknown', reason: 'it matches only the SNAT/DNAT conntrack states' }
      : { kind: 'contradictory', reason: 'its conntrack state conditions leave no state' };
  }

  // Marks: the value of the first positive packet mark, else 0.
  const marks = options.flatMap((o) => (o.type === 'mark' ? [o] : []));
  if (marks.some((o) => o.of === 'connection')) {
    return { kind: 'unknown', reason: 'a packet cannot carry its connmark condition' };
  }
  const markOk = (v: number): boolean =>
    marks.every((o) => ((v & o.mask) >>> 0 === (o.value & o.mask) >>> 0) !== o.negated);
  const mark = [0, ...marks.map((o) => o.value), 1].find(markOk);
  if (mark === undefined) {
    const pos = marks.filter((o) => !o.negated);
    const clash = pos.some((a) =>
      pos.some((b) => ((a.value ^ b.value) & a.mask & b.mask) >>> 0 !== 0),
    );
    return clash
      ? { kind: 'contradictory', reason: 'its --mark conditions require different bits' }
      : { kind: 'unknown', reason: 'no mark found' };
  }

  // Addresses and interfaces along the hook's path.
  const outgoing = hook === 'OUTPUT';
  const forwarded = hook === 'FORWARD' || hook === 'POSTROUTING';
  const external = externalInterfaces(w.host, w.family);
  const own = hostAddressFor(
    w.host,
    w.family,
    w.family === 'ipv4' ? '0.0.0.0' : '::',
    w.localAddresses,
  );
  const remote = remoteClient(w.family, w.host);
  if (outgoing && options.some((o) => o.type === 'interface' && o.field === 'in' && !o.negated)) {
    return { kind: 'unknown', reason: 'a packet the host sends has no input interface' };
  }
  const inIf = outgoing
    ? ({ ok: true, value: null } as const)
    : pickInterface(options, 'in', external);
  if (!inIf.ok) return fail(inIf);
  const outIf = pickInterface(options, 'out', external);
  if (!outIf.ok) return fail(outIf);
  // Routing picks the egress interface: aim at a network routed out of the wanted one.
  // Routing picks the egress interface: aim at a network routed out of the wanted one (a route
  // of the host, or the subnet of the Docker bridge of that name), past its gateway.
  const wantedOut = outIf.value;
  const routedVia =
    wantedOut === null
      ? []
      : [
          ...w.host.routes
            .filter((r) => r.family === w.family && r.device === wantedOut)
            .map((r) => r.destination),
          ...w.host.networks
            .filter((n) => n.bridgeName === wantedOut)
            .flatMap((n) => n.subnets.filter((x) => x.family === w.family).map((x) => x.cidr)),
        ].flatMap((cidr) => {
          const m = maskOf(cidr, w.family);
          return m === null
            ? []
            : addressesIn(m)
                .slice(1, 2)
                .map((v) => formatAddress(v, w.family));
        });
  const forwardTo = w.family === 'ipv4' ? '198.51.100.20' : '2001:db8:fffd::20';
  const dst = pickAddress(
    options,
    'dst',
    outgoing || forwarded ? [...routedVia, forwardTo, remote] : [own],
    w,
    forwarded ? w.localAddresses : [],
  );
  if (!dst.ok) return fail(dst);
  const src = pickAddress(options, 'src', outgoing ? [own] : [remote], w);
  if (!src.ok) return fail(src);
  return {
    kind: 'packet',
    hook,
    packet: {
      family: w.family,
      protocol,
      source: src.value,
      sourcePort: ported ? sport : null,
      destination: dst.value,
      destinationPort: ported ? dport : null,
      inInterface: outgoing ? null : (inIf.value ?? external[0] ?? 'eth0'),
      state,
      mark,
    },
  };
}

/** A CIDR as the mask a rule would write for it. */
function maskOf(cidr: string, family: Family): AddressMask | null {
  const c = parseCidr(cidr, family);
  if (c === null) return null;
  const width = addressBits(family);
  return {
    family,
    address: formatAddress(c.value, family),
    mask: formatAddress(prefixMask(c.length, width), family),
    prefixLength: c.length,
  };
}
