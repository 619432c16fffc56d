/**
 * PacketSet: the public face of a BDD over the header space. Plain-data constraints in, CIDR
 * lists, interface names and witness packets out.
 */
import { FALSE, TRUE, type Bdd } from './bdd.ts';
import { formatAddress, formatCidr, parseCidr } from './addr.ts';
import { PORT_PROTOCOLS, PROTO, STATES, type FieldName, type HeaderSpace } from './space.ts';
import type { HeaderName, PacketConstraint, PacketSet } from './types.ts';
import type { Family, PortRange } from '../model/ruleset.ts';
import type { IpProtocol, Packet } from '../model/trace.ts';

/** The header fields `projected` keeps, by their public names. */
const HEADER_FIELDS: Readonly<Record<HeaderName, FieldName>> = {
  source: 'src',
  destination: 'dst',
  sourcePort: 'sport',
  destinationPort: 'dport',
  originalDestination: 'odst',
  originalDestinationPort: 'odport',
  local: 'loc',
  originalLocal: 'oloc',
  translated: 'dnat',
  inInterface: 'iif',
  protocol: 'proto',
};

export function protocolNumber(p: IpProtocol): number {
  if (typeof p === 'number') return p;
  return PROTO[p];
}

export function protocolName(n: number, family: Family): IpProtocol {
  if (n === PROTO.tcp) return 'tcp';
  if (n === PROTO.udp) return 'udp';
  if (n === PROTO.sctp) return 'sctp';
  if (n === PROTO.icmp && family === 'ipv4') return 'icmp';
  if (n === PROTO.icmpv6 && family === 'ipv6') return 'icmpv6';
  return n;
}

/** A constraint as a set, with no defaults: absent fields are unconstrained. */
export function constraintSet(s: HeaderSpace, c: PacketConstraint): Bdd {
  const m = s.m;
  let r = TRUE;
  // united in one walk: one by one, each union rebuilt the growing set (a row's clients are
  // often every address but a few networks, a thousand prefixes)
  const union = (field: FieldName, list: readonly string[]): Bdd =>
    list.length === 1
      ? (s.cidr(field, list[0] ?? '') ?? FALSE)
      : m.orAll(list.map((t) => s.cidr(field, t) ?? FALSE));
  const cidrs = (field: FieldName, list: readonly string[] | undefined): void => {
    if (list !== undefined) r = m.and(r, union(field, list));
  };
  const ports = (field: FieldName, list: readonly PortRange[] | undefined): void => {
    if (list === undefined) return;
    let x = FALSE;
    for (const p of list) x = m.or(x, s.range(field, BigInt(p.from), BigInt(p.to)));
    r = m.and(r, m.and(x, s.anyOf('proto', PORT_PROTOCOLS.map(BigInt))));
  };
  cidrs('src', c.sources);
  if (c.exceptSources !== undefined) r = m.diff(r, union('src', c.exceptSources));
  cidrs('dst', c.destinations);
  cidrs('odst', c.originalDestinations);
  if (c.protocols !== undefined) {
    r = m.and(
      r,
      s.anyOf(
        'proto',
        c.protocols.map((p) => BigInt(protocolNumber(p))),
      ),
    );
  }
  ports('sport', c.sourcePorts);
  ports('dport', c.destinationPorts);
  ports('odport', c.originalDestinationPorts);
  const ifs = s.interfaces;
  if (c.inInterfaces !== undefined) {
    const values = c.inInterfaces.map((n) => BigInt(n === null ? ifs.none : ifs.classOf(n)));
    r = m.and(r, s.anyOf('iif', values));
  }
  if (c.outInterfaces !== undefined) {
    r = m.and(
      r,
      s.anyOf(
        'oif',
        c.outInterfaces.map((n) => BigInt(ifs.classOf(n))),
      ),
    );
  }
  if (c.states !== undefined) {
    r = m.and(
      r,
      s.anyOf(
        'state',
        c.states.map((st) => BigInt(STATES.indexOf(st))),
      ),
    );
  }
  if (c.mark !== undefined) r = m.and(r, s.eq('mark', BigInt(c.mark >>> 0)));
  if (c.dnat !== undefined)
    r = m.and(
      r,
      s.anyOf(
        'dnat',
        c.dnat.map((d) => (d ? 1n : 0n)),
      ),
    );
  if (c.localDestination !== undefined)
    r = m.and(
      r,
      s.anyOf(
        'loc',
        c.localDestination.map((d) => (d ? 1n : 0n)),
      ),
    );
  return r;
}

/** Addresses a witness's client is preferably not from (private, loopback, special). */
export const PRIVATE_V4 = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '127.0.0.0/8',
  '0.0.0.0/8',
  '169.254.0.0/16',
  '100.64.0.0/10',
  '224.0.0.0/3',
];
export const PRIVATE_V6 = [
  'fc00::/7',
  'fe80::/10',
  '::1/128',
  '::/128',
  'ff00::/8',
  '::ffff:0:0/96',
];

/** The set as seen from the client: destination = original destination. */
function asSent(s: HeaderSpace, packet: Packet): Bdd | null {
  const m = s.m;
  const src = s.cidr('src', packet.source);
  const dst = s.cidr('odst', packet.destination);
  if (src === null || dst === null || packet.family !== s.family) return null;
  const proto = protocolNumber(packet.protocol);
  const hasPorts = PORT_PROTOCOLS.includes(proto);
  const ifs = s.interfaces;
  let r = m.and(src, dst);
  r = m.and(r, s.eq('proto', BigInt(proto)));
  r = m.and(
    r,
    s.eq('iif', BigInt(packet.inInterface === null ? ifs.none : ifs.classOf(packet.inInterface))),
  );
  r = m.and(r, s.eq('state', BigInt(STATES.indexOf(packet.state))));
  if (packet.destinationIsHost !== undefined)
    r = m.and(r, s.eq('oloc', packet.destinationIsHost ? 1n : 0n));
  if (hasPorts) {
    r = m.and(r, s.eq('sport', BigInt(packet.sourcePort ?? 0)));
    r = m.and(r, s.eq('odport', BigInt(packet.destinationPort ?? 0)));
  }
  return r;
}

export class BddPacketSet implements PacketSet {
  readonly family: Family;
  private readonly s: HeaderSpace;
  private value: Bdd | (() => Bdd);
  private readonly nonEmpty: boolean;

  /**
   * `bdd` may be a function building the set when first needed (sets that callers rarely read,
   * e.g. what reaches each of thousands of rules); `nonEmpty` says it is known to be non-empty.
   */
  constructor(space: HeaderSpace, bdd: Bdd | (() => Bdd), nonEmpty = false) {
    this.s = space;
    this.family = space.family;
    this.value = bdd;
    this.nonEmpty = nonEmpty;
  }

  get bdd(): Bdd {
    if (typeof this.value === 'function') this.value = this.value();
    return this.value;
  }

  get isEmpty(): boolean {
    return !this.nonEmpty && this.bdd === FALSE;
  }

  private other(o: PacketSet | PacketConstraint): Bdd {
    return o instanceof BddPacketSet ? o.bdd : constraintSet(this.s, o as PacketConstraint);
  }

  meets(other: PacketSet): boolean {
    return this.s.m.intersects(this.bdd, this.other(other));
  }

  projected(fields: readonly HeaderName[]): PacketSet {
    const kept = this.s.cubeExcept(...fields.map((f) => HEADER_FIELDS[f]));
    return new BddPacketSet(this.s, this.s.m.and(this.s.universe, this.s.m.exists(this.bdd, kept)));
  }

  and(o: PacketSet | PacketConstraint): PacketSet {
    return new BddPacketSet(this.s, this.s.m.and(this.bdd, this.other(o)));
  }
  or(o: PacketSet | PacketConstraint): PacketSet {
    return new BddPacketSet(
      this.s,
      this.s.m.and(this.s.universe, this.s.m.or(this.bdd, this.other(o))),
    );
  }
  minus(o: PacketSet | PacketConstraint): PacketSet {
    return new BddPacketSet(this.s, this.s.m.diff(this.bdd, this.other(o)));
  }
  equals(o: PacketSet): boolean {
    return o instanceof BddPacketSet && o.bdd === this.bdd;
  }
  private picked: Uint8Array | null | undefined;

  /** One member's header bits (picked once: a set is asked about many times). */
  private member(): Uint8Array | null {
    if (this.picked === undefined) this.picked = this.s.m.pick(this.bdd);
    return this.picked;
  }

  includes(o: PacketSet): boolean {
    if (!(o instanceof BddPacketSet)) return false;
    const m = this.s.m;
    // Most sets asked about are not included: one member of `o` outside this set says so in a
    // walk down one path of each BDD, before the full difference is built.
    const member = o.member();
    if (member === null) return true;
    if (!m.evaluate(this.bdd, member)) return false;
    return m.subset(o.bdd, this.bdd);
  }
  contains(packet: Packet): boolean {
    const p = asSent(this.s, packet);
    return p !== null && this.s.m.intersects(this.bdd, p);
  }
  count(): bigint {
    return this.s.m.satCount(this.bdd);
  }

  witness(prefer?: PacketConstraint): Packet | null {
    const s = this.s;
    const m = s.m;
    if (this.bdd === FALSE) return null;
    const v4 = s.family === 'ipv4';
    let cand = this.bdd;
    const narrow = (x: Bdd): void => {
      const y = m.and(cand, x);
      if (y !== FALSE) cand = y;
    };
    if (prefer !== undefined) narrow(constraintSet(s, prefer));
    narrow(s.eq('state', 0n));
    narrow(s.cidr('src', v4 ? '203.0.113.0/24' : '2001:db8::/32') ?? TRUE);
    // a client is not the host itself
    narrow(m.not(s.localOn('src')));
    let priv = FALSE;
    for (const p of v4 ? PRIVATE_V4 : PRIVATE_V6) priv = m.or(priv, s.cidr('src', p) ?? FALSE);
    narrow(m.not(priv));
    narrow(s.eq('proto', BigInt(PROTO.tcp)));
    narrow(m.not(s.eq('iif', BigInt(s.interfaces.classOf('lo')))));
    narrow(s.range('sport', 32768n, 60999n));
    narrow(s.eq('mark', 0n));
    const srcPref = parseCidr(v4 ? '203.0.113.77' : '2001:db8:ffff::77', s.family)?.value ?? 0n;
    const bits = m.pick(cand, s.preference({ src: srcPref, sport: 40000n }));
    if (bits === null) return null;
    const v = s.decode(bits);
    const proto = Number(v.proto);
    const hasPorts = PORT_PROTOCOLS.includes(proto);
    const iif = Number(v.iif);
    // where the snapshot cannot place the destination, the witness says which it was picked as
    const placed = !m.evaluate(s.unknownOn('odst'), bits);
    return {
      family: s.family,
      protocol: protocolName(proto, s.family),
      source: formatAddress(v.src, s.family),
      sourcePort: hasPorts ? Number(v.sport) : null,
      destination: formatAddress(v.odst, s.family),
      destinationPort: hasPorts ? Number(v.odport) : null,
      inInterface: iif === s.interfaces.none ? null : s.interfaces.representative(iif),
      state: STATES[Number(v.state)] ?? 'NEW',
      mark: Number(v.mark),
      ...(placed ? {} : { destinationIsHost: v.oloc === 1n }),
    };
  }

  sources(): string[] {
    return this.s.prefixes(this.bdd, 'src').map((p) => formatCidr(p.value, p.length, this.family));
  }
  destinations(): string[] {
    return this.s.prefixes(this.bdd, 'dst').map((p) => formatCidr(p.value, p.length, this.family));
  }
  destinationPorts(): PortRange[] {
    const out: PortRange[] = [];
    for (const p of this.s.prefixes(this.bdd, 'dport', 1 << 16)) {
      const from = Number(p.value);
      const to = from + 2 ** (16 - p.length) - 1;
      const last = out.at(-1);
      if (last !== undefined && last.to + 1 === from) out[out.length - 1] = { from: last.from, to };
      else out.push({ from, to });
    }
    return out;
  }
  inInterfaces(): (string | null)[] {
    const ifs = this.s.interfaces;
    return this.s
      .values(this.bdd, 'iif')
      .map((i) => (i === ifs.none ? null : (ifs.names[i] ?? null)));
  }
  outInterfaces(): string[] {
    const ifs = this.s.interfaces;
    return this.s
      .values(this.bdd, 'oif')
      .filter((i) => i !== ifs.none)
      .map((i) => ifs.names[i] ?? '');
  }
}
