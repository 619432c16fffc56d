/**
 * nftables' names for values: base chain priorities, ICMP types, conntrack states and statuses,
 * fib address types, packet types. Each parser returns null for a name it does not know; the
 * builder turns that into a located diagnostic.
 */
import type {
  AddressType,
  ConntrackState,
  ConntrackStatus,
  Family,
  TcpFlag,
} from '../../model/ruleset.ts';

/** Named priorities (nft(8) "PRIORITY"); the bridge family has its own table. */
const PRIORITIES: Readonly<Record<string, number>> = {
  raw: -300,
  mangle: -150,
  dstnat: -100,
  filter: 0,
  security: 50,
  srcnat: 100,
};
const BRIDGE_PRIORITIES: Readonly<Record<string, number>> = {
  dstnat: -300,
  filter: -200,
  out: 100,
  srcnat: 300,
};

/** `filter`, `dstnat + 10`, `raw - 1`, `-150` → a number; null when not a priority. */
export function parsePriority(text: string, family: string): number | null {
  const m = /^\s*(-?\d+|[a-z]+)\s*(?:([+-])\s*(\d+))?\s*$/.exec(text);
  if (m === null) return null;
  const base = m[1] ?? '';
  const named = (family === 'bridge' ? BRIDGE_PRIORITIES : PRIORITIES)[base];
  const value = /^-?\d+$/.test(base) ? Number(base) : named;
  if (value === undefined) return null;
  const offset = m[3] === undefined ? 0 : Number(m[3]) * (m[2] === '-' ? -1 : 1);
  return value + offset;
}

/** nft's ICMP type names (they differ from iptables' in places: `nd-neighbor-solicit`). */
const ICMP_TYPES: Readonly<Record<Family, Readonly<Record<string, number>>>> = {
  ipv4: {
    'echo-reply': 0,
    'destination-unreachable': 3,
    'source-quench': 4,
    redirect: 5,
    'echo-request': 8,
    'router-advertisement': 9,
    'router-solicitation': 10,
    'time-exceeded': 11,
    'parameter-problem': 12,
    'timestamp-request': 13,
    'timestamp-reply': 14,
    'info-request': 15,
    'info-reply': 16,
    'address-mask-request': 17,
    'address-mask-reply': 18,
  },
  ipv6: {
    'destination-unreachable': 1,
    'packet-too-big': 2,
    'time-exceeded': 3,
    'parameter-problem': 4,
    'echo-request': 128,
    'echo-reply': 129,
    'mld-listener-query': 130,
    'mld-listener-report': 131,
    'mld-listener-done': 132,
    'mld-listener-reduction': 132,
    'nd-router-solicit': 133,
    'nd-router-advert': 134,
    'nd-neighbor-solicit': 135,
    'nd-neighbor-advert': 136,
    'nd-redirect': 137,
    'router-renumbering': 138,
    'ind-neighbor-solicit': 141,
    'ind-neighbor-advert': 142,
    'mld2-listener-report': 143,
  },
};

export function icmpType(value: string | number, family: Family): number | null {
  if (typeof value === 'number') return value >= 0 && value <= 255 ? value : null;
  if (/^\d+$/.test(value)) return icmpType(Number(value), family);
  return ICMP_TYPES[family][value] ?? null;
}

const CT_STATES: Readonly<Record<string, ConntrackState>> = {
  new: 'NEW',
  established: 'ESTABLISHED',
  related: 'RELATED',
  invalid: 'INVALID',
  untracked: 'UNTRACKED',
};

export function ctState(value: string | number): ConntrackState | null {
  return typeof value === 'string' ? (CT_STATES[value] ?? null) : null;
}

const CT_STATUSES: Readonly<Record<string, ConntrackStatus>> = {
  expected: 'EXPECTED',
  'seen-reply': 'SEEN_REPLY',
  assured: 'ASSURED',
  confirmed: 'CONFIRMED',
  snat: 'SNAT',
  dnat: 'DNAT',
  dying: 'DYING',
};

export function ctStatus(value: string | number): ConntrackStatus | null {
  return typeof value === 'string' ? (CT_STATUSES[value] ?? null) : null;
}

const ADDRESS_TYPES: ReadonlySet<string> = new Set([
  'unspec',
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
  'xresolve',
]);

/** `fib … type local` → LOCAL, the same names as iptables' addrtype. */
export function addressType(value: string | number): AddressType | null {
  return typeof value === 'string' && ADDRESS_TYPES.has(value)
    ? (value.toUpperCase() as AddressType)
    : null;
}

const TCP_FLAGS: ReadonlySet<string> = new Set(['fin', 'syn', 'rst', 'psh', 'ack', 'urg']);

/** The six flags iptables' tcp match knows; nft's `ecn` and `cwr` are outside the model. */
export function tcpFlag(value: string | number): TcpFlag | null {
  return typeof value === 'string' && TCP_FLAGS.has(value)
    ? (value.toUpperCase() as TcpFlag)
    : null;
}

const PKTTYPES: Readonly<Record<string, 'unicast' | 'broadcast' | 'multicast' | 'otherhost'>> = {
  host: 'unicast',
  unicast: 'unicast',
  broadcast: 'broadcast',
  multicast: 'multicast',
  other: 'otherhost',
};

export function pktType(
  value: string | number,
): 'unicast' | 'broadcast' | 'multicast' | 'otherhost' | null {
  return typeof value === 'string' ? (PKTTYPES[value] ?? null) : null;
}

/** `meta nfproto ipv4`, `meta protocol ip6`: the IP family the value names, if any. */
export function familyOfProto(value: string | number): Family | 'other' {
  if (value === 'ipv4' || value === 'ip' || value === 2 || value === 0x0800) return 'ipv4';
  if (value === 'ipv6' || value === 'ip6' || value === 10 || value === 0x86dd) return 'ipv6';
  return 'other';
}
