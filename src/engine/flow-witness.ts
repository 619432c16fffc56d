/**
 * A flow's witness picked from its rectangle with plain arithmetic, no set operation: a flow is
 * an exact product of header patterns (discover.ts), so every combination of one value per
 * field is a packet the host delivers as the flow says. Field by field, the value is the
 * preferred one where a pattern leaves the bits free (a documentation source address, an
 * ephemeral source port, the exposure's own address and port), else the pattern's own.
 *
 * A big host has tens of thousands of flows; building each flow's set to pick from it cost
 * more than discovering them.
 */
import { parseCidr, formatAddress, addressBits, prefixMask } from './addr.ts';
import type { Pattern, RawFlow } from './discover.ts';
import { patternsToRanges, patternsToValueRanges } from './discover.ts';
import { PORT_PROTOCOLS, STATES, type HeaderSpace, type Prefix } from './space.ts';
import { PRIVATE_V4, PRIVATE_V6, protocolName } from './sets.ts';
import type { PortRange } from '../model/ruleset.ts';
import type { Packet } from '../model/trace.ts';
import type { FlowWitnessPreference } from './types.ts';

/** The client's address when nothing else is asked: a documentation address. */
const CLIENT: Readonly<Record<'ipv4' | 'ipv6', string>> = {
  ipv4: '203.0.113.77',
  ipv6: '2001:db8:ffff::77',
};
const EPHEMERAL = { from: 32768, to: 60999 } as const;
const CLIENT_PORT = 40000n;

/** `want` moved into a pattern: its bits where the pattern leaves them free. */
function into(p: Pattern, want: bigint, width: number): bigint {
  const all = (1n << BigInt(width)) - 1n;
  return (want & (all ^ p.mask)) | (p.value & p.mask);
}

function within(v: bigint, list: readonly Prefix[], width: number): boolean {
  return list.some((c) => {
    const mask = prefixMask(c.length, width);
    return (v & mask) === (c.value & mask);
  });
}

/**
 * The first value, over the wishes in order, that some pattern holds and `ok` accepts: the wish
 * itself where a pattern holds it, else the wish moved into a pattern.
 */
function choose(
  patterns: readonly Pattern[],
  width: number,
  wishes: readonly bigint[],
  ok: (v: bigint) => boolean,
): bigint | null {
  for (const want of wishes) {
    if (ok(want) && patterns.some((p) => (want & p.mask) === p.value)) return want;
    for (const p of patterns) {
      const v = into(p, want, width);
      if (ok(v)) return v;
    }
  }
  return null;
}

/**
 * A value no pattern holds (the flow's sources are every value but the patterns'): the first
 * wish that is one and not unwanted, else the first such value at or after a wish, else the
 * first value at all. The patterns never hold every value (the flow is not empty).
 */
function outside(
  patterns: readonly Pattern[],
  width: number,
  wishes: readonly bigint[],
  unwanted: readonly Prefix[],
): bigint {
  const held = (v: bigint): boolean => patterns.some((p) => (v & p.mask) === p.value);
  const free = wishes.find((v) => !held(v) && !within(v, unwanted, width));
  if (free !== undefined) return free;
  // the patterns as sorted ranges: the first gap at or after a wish, or the first gap of all
  const ranges = patternsToValueRanges(patterns, width);
  const gapFrom = (start: bigint): bigint | null => {
    let v = start;
    for (const r of ranges) {
      if (r.to < v) continue;
      if (r.from > v) return v;
      v = r.to + 1n;
    }
    return v < 1n << BigInt(width) ? v : null;
  };
  for (const w of [...wishes, 0n]) {
    const v = gapFrom(w);
    if (v !== null) return v;
  }
  return 0n;
}

/** Prefixes by text, per family: every exposure's witness asks for the same few again. */
const parsed = { ipv4: new Map<string, Prefix | null>(), ipv6: new Map<string, Prefix | null>() };

function prefixes(texts: readonly string[], family: 'ipv4' | 'ipv6'): Prefix[] {
  const known = parsed[family];
  const out: Prefix[] = [];
  for (const t of texts) {
    let c = known.get(t);
    if (c === undefined) {
      c = parseCidr(t, family);
      // preferences come from the caller, not from input: still, the memo stays small
      if (known.size < 4096) known.set(t, c);
    }
    if (c !== null) out.push(c);
  }
  return out;
}

/** The client address and the private ranges, parsed once per family (not once per flow). */
const constants = {
  ipv4: { client: null as bigint | null, private: null as Prefix[] | null },
  ipv6: { client: null as bigint | null, private: null as Prefix[] | null },
};

function clientOf(family: 'ipv4' | 'ipv6'): bigint {
  const k = constants[family];
  k.client ??= parseCidr(CLIENT[family], family)?.value ?? 0n;
  return k.client;
}

function privateOf(family: 'ipv4' | 'ipv6'): Prefix[] {
  const k = constants[family];
  k.private ??= prefixes(family === 'ipv4' ? PRIVATE_V4 : PRIVATE_V6, family);
  return k.private;
}

/** The smallest port the patterns hold inside one of the range lists, tried in order. */
function port(patterns: readonly Pattern[], wanted: readonly (readonly PortRange[])[]): number {
  const held = patternsToRanges(patterns);
  for (const list of wanted)
    for (const h of held)
      for (const r of list) {
        const from = Math.max(h.from, r.from);
        if (from <= Math.min(h.to, r.to)) return from;
      }
  return held[0]?.from ?? 0;
}

/**
 * A packet of the flow as the client sends it (new, mark 0), or null for an empty flow.
 * `placed`: whether the snapshot can tell if an address is the host's (routing.ts `hostness`).
 */
export function flowWitness(
  s: HeaderSpace,
  f: RawFlow,
  placed: (address: bigint) => boolean,
  prefer: FlowWitnessPreference = {},
): Packet | null {
  const family = s.family;
  const width = addressBits(family);
  const proto = f.proto[0];
  const sent = f.odst ?? f.dst ?? [];
  const sentPorts = f.odport ?? f.dport;
  if (proto === undefined || (f.src.length === 0 && !f.srcExcept) || sent.length === 0) return null;
  const ifs = s.interfaces;
  const lo = ifs.classOf('lo');
  const iif = f.iif.find((i) => i !== lo && i !== ifs.none) ?? f.iif[0] ?? ifs.none;

  const client = clientOf(family);
  const preferred = prefixes(prefer.sources ?? [], family);
  const unwanted = [...s.hosts.local, ...privateOf(family)];
  const source = f.srcExcept
    ? outside(f.src, width, [client, ...preferred.map((c) => c.value)], unwanted)
    : (choose(f.src, width, [client, ...preferred.map((c) => c.value)], (v) =>
        within(v, preferred, width),
      ) ??
      choose(f.src, width, [client], (v) => !within(v, unwanted, width)) ??
      into(f.src[0] ?? { value: 0n, mask: 0n }, client, width));

  const wanted = prefixes(prefer.destinations ?? [], family);
  const destination =
    choose(
      sent,
      width,
      wanted.map((c) => c.value),
      (v) => within(v, wanted, width),
    ) ?? into(sent[0] ?? { value: 0n, mask: 0n }, 0n, width);

  const hasPorts = PORT_PROTOCOLS.includes(proto);
  const sport =
    choose(f.sport, 16, [CLIENT_PORT], (v) => v >= EPHEMERAL.from && v <= EPHEMERAL.to) ??
    into(f.sport[0] ?? { value: 0n, mask: 0n }, CLIENT_PORT, 16);

  // where the snapshot cannot place the destination, the witness says which it was picked as
  const oloc = f.oloc.includes(0) ? 0 : 1;
  return {
    family,
    protocol: protocolName(proto, family),
    source: formatAddress(source, family),
    sourcePort: hasPorts ? Number(sport) : null,
    destination: formatAddress(destination, family),
    destinationPort: hasPorts ? port(sentPorts, prefer.destinationPorts ?? []) : null,
    inInterface: iif === ifs.none ? null : ifs.representative(iif),
    state: STATES[0],
    mark: 0,
    ...(placed(destination) ? {} : { destinationIsHost: oloc === 1 }),
  };
}
