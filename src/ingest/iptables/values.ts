/**
 * Values inside iptables options, normalised the way iptables-save prints them: addresses and
 * masks, ports and services, protocols, ICMP types, marks, numbers.
 *
 * Every parser throws `ValueError` with a user-facing message; the caller turns it into a
 * located diagnostic.
 */
import ipaddr from 'ipaddr.js';
import type { AddressMask, Family, PortRange } from '../../model/ruleset.ts';

export class ValueError extends Error {
  override readonly name = 'ValueError';
}

// ---------------------------------------------------------------------------------------------
// Numbers

/** Unsigned integer in decimal, hex (0x) or octal (leading 0), as strtoul(…, 0) reads it. */
export function parseUint(text: string, max: number, what: string): number {
  let value: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) value = parseInt(text.slice(2), 16);
  else if (/^0[0-7]+$/.test(text)) value = parseInt(text.slice(1), 8);
  else if (/^\d+$/.test(text)) value = parseInt(text, 10);
  else throw new ValueError(`invalid ${what} '${text}'`);
  if (!Number.isSafeInteger(value) || value > max) {
    throw new ValueError(`${what} '${text}' out of range (max ${max})`);
  }
  return value;
}

export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

const TOS_NAMES: Readonly<Record<string, number>> = {
  'minimize-delay': 0x10,
  'maximize-throughput': 0x08,
  'maximize-reliability': 0x04,
  'minimize-cost': 0x02,
  'normal-service': 0x00,
};

/** Two-digit hex as TOS and DSCP values are printed (`0x08`). */
export function hex2(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

/** A TOS value (name, `V` or `V/M`) as iptables prints it, `0xVV/0xMM`. */
export function normaliseTos(text: string): string {
  const named = TOS_NAMES[text.toLowerCase()];
  if (named !== undefined) return `${hex2(named)}/0x3f`;
  const { value, mask } = text.includes('/')
    ? parseValueMask(text, 'tos')
    : { value: parseUint(text, 255, 'tos'), mask: 0xff };
  return `${hex2(value)}/${hex2(mask)}`;
}

/** `V[/M]` as mark and connmark read it; mask defaults to 0xffffffff. */
export function parseValueMask(text: string, what: string): { value: number; mask: number } {
  const slash = text.indexOf('/');
  if (slash === -1) return { value: parseUint(text, 0xffffffff, what), mask: 0xffffffff };
  return {
    value: parseUint(text.slice(0, slash), 0xffffffff, what),
    mask: parseUint(text.slice(slash + 1), 0xffffffff, `${what} mask`),
  };
}

// ---------------------------------------------------------------------------------------------
// Addresses

function parseV4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return null;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

function v4Text(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

function v4PrefixLength(mask: number): number | null {
  const inverted = ~mask >>> 0;
  // A contiguous mask is ones followed by zeros: its complement plus one is a power of two.
  if ((inverted & (inverted + 1)) !== 0) return null;
  return Math.clz32(inverted);
}

/** True when the text looks like a host name rather than an address. */
export function looksLikeHostname(text: string): boolean {
  return (
    /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(
      text,
    ) && /[A-Za-z]/.test(text)
  );
}

function v6Bytes(text: string): number[] {
  return ipaddr.IPv6.parse(text).toByteArray();
}

function v6FromBytes(bytes: number[]): string {
  return ipaddr.fromByteArray(bytes).toString();
}

function v6PrefixLength(bytes: readonly number[]): number | null {
  let length = 0;
  let ended = false;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      const set = (byte >> bit) & 1;
      if (set === 1 && ended) return null;
      if (set === 1) length++;
      else ended = true;
    }
  }
  return length;
}

/**
 * `addr[/len|/mask]` → AddressMask with host bits cleared. Without a mask the address is a host
 * (/32 or /128).
 */
export function parseAddressMask(text: string, family: Family): AddressMask {
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const maskText = slash === -1 ? null : text.slice(slash + 1);
  if (family === 'ipv4') {
    const addr = parseV4(addrText);
    if (addr === null) throw new ValueError(`invalid IPv4 address '${addrText}'`);
    let mask = 0xffffffff;
    if (maskText !== null) {
      if (/^\d{1,2}$/.test(maskText)) {
        const len = Number(maskText);
        if (len > 32) throw new ValueError(`invalid mask length '/${maskText}'`);
        mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      } else {
        const dotted = parseV4(maskText);
        if (dotted === null) throw new ValueError(`invalid mask '/${maskText}'`);
        mask = dotted;
      }
    }
    const prefixLength = v4PrefixLength(mask);
    return {
      family,
      address: v4Text((addr & mask) >>> 0),
      mask: v4Text(mask),
      prefixLength,
    };
  }
  if (!ipaddr.IPv6.isValid(addrText)) throw new ValueError(`invalid IPv6 address '${addrText}'`);
  const bytes = v6Bytes(addrText);
  let maskBytes: number[] = new Array<number>(16).fill(255);
  if (maskText !== null) {
    if (/^\d{1,3}$/.test(maskText)) {
      const len = Number(maskText);
      if (len > 128) throw new ValueError(`invalid mask length '/${maskText}'`);
      maskBytes = maskBytes.map((_, i) => {
        const bits = Math.max(0, Math.min(8, len - i * 8));
        return (0xff00 >> bits) & 0xff;
      });
    } else if (ipaddr.IPv6.isValid(maskText)) {
      maskBytes = v6Bytes(maskText);
    } else {
      throw new ValueError(`invalid IPv6 mask '/${maskText}'`);
    }
  }
  const masked = bytes.map((b, i) => b & (maskBytes[i] ?? 0));
  return {
    family,
    address: v6FromBytes(masked),
    mask: v6FromBytes(maskBytes),
    prefixLength: v6PrefixLength(maskBytes),
  };
}

/** An address alone (no mask), canonical text; for ranges and NAT. */
export function parseAddress(text: string, family: Family): string {
  if (family === 'ipv4') {
    const v = parseV4(text);
    if (v === null) throw new ValueError(`invalid IPv4 address '${text}'`);
    return v4Text(v);
  }
  if (!ipaddr.IPv6.isValid(text)) throw new ValueError(`invalid IPv6 address '${text}'`);
  return ipaddr.IPv6.parse(text).toString();
}

// ---------------------------------------------------------------------------------------------
// Ports and services

const SERVICES: Readonly<Record<string, number>> = {
  tcpmux: 1,
  echo: 7,
  discard: 9,
  systat: 11,
  daytime: 13,
  netstat: 15,
  qotd: 17,
  chargen: 19,
  'ftp-data': 20,
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  time: 37,
  whois: 43,
  tacacs: 49,
  domain: 53,
  gopher: 70,
  finger: 79,
  http: 80,
  www: 80,
  kerberos: 88,
  'iso-tsap': 102,
  pop3: 110,
  sunrpc: 111,
  auth: 113,
  ident: 113,
  nntp: 119,
  ntp: 123,
  epmap: 135,
  'netbios-ns': 137,
  'netbios-dgm': 138,
  'netbios-ssn': 139,
  imap: 143,
  imap2: 143,
  snmp: 161,
  'snmp-trap': 162,
  xdmcp: 177,
  bgp: 179,
  irc: 194,
  smux: 199,
  imap3: 220,
  ldap: 389,
  https: 443,
  'microsoft-ds': 445,
  kpasswd: 464,
  submissions: 465,
  urd: 465,
  ssmtp: 465,
  isakmp: 500,
  exec: 512,
  biff: 512,
  login: 513,
  who: 513,
  shell: 514,
  syslog: 514,
  printer: 515,
  talk: 517,
  ntalk: 518,
  route: 520,
  gdomap: 538,
  uucp: 540,
  klogin: 543,
  kshell: 544,
  'dhcpv6-client': 546,
  'dhcpv6-server': 547,
  afpovertcp: 548,
  rtsp: 554,
  nntps: 563,
  submission: 587,
  ipp: 631,
  ldaps: 636,
  'domain-s': 853,
  rsync: 873,
  'ftps-data': 989,
  ftps: 990,
  telnets: 992,
  imaps: 993,
  pop3s: 995,
  socks: 1080,
  openvpn: 1194,
  'ms-sql-s': 1433,
  'ms-sql-m': 1434,
  ingreslock: 1524,
  l2f: 1701,
  radius: 1812,
  'radius-acct': 1813,
  nfs: 2049,
  cvspserver: 2401,
  mysql: 3306,
  svn: 3690,
  'ms-wbt-server': 3389,
  'ipsec-nat-t': 4500,
  sip: 5060,
  'sip-tls': 5061,
  'xmpp-client': 5222,
  'xmpp-server': 5269,
  postgresql: 5432,
  mdns: 5353,
  x11: 6000,
  ircd: 6667,
  'http-alt': 8080,
  webcache: 8080,
  tproxy: 8081,
  git: 9418,
  bootps: 67,
  bootpc: 68,
  tftp: 69,
  'zabbix-agent': 10050,
  'zabbix-trapper': 10051,
  memcache: 11211,
  redis: 6379,
  amanda: 10080,
  'kerberos-adm': 749,
  hkp: 11371,
  puppet: 8140,
};

/** A port number or a service name (as getservbyname on a Debian host knows it). */
export function parsePort(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > 65535) throw new ValueError(`port '${text}' out of range`);
    return n;
  }
  const known = SERVICES[text.toLowerCase()];
  if (known === undefined) throw new ValueError(`invalid port/service '${text}' specified`);
  return known;
}

/** `a`, `a:b`, `a:`, `:b`, `:` (separator `:`; iptables also accepts `-` in some places). */
export function parsePortRange(text: string, sep = ':'): PortRange {
  const i = text.indexOf(sep);
  if (i === -1) {
    const p = parsePort(text);
    return { from: p, to: p };
  }
  const a = text.slice(0, i);
  const b = text.slice(i + 1);
  const from = a === '' ? 0 : parsePort(a);
  const to = b === '' ? 65535 : parsePort(b);
  if (from > to) throw new ValueError(`invalid port range '${text}' (start after end)`);
  return { from, to };
}

/**
 * Generic `a`, `a:b`, `a:`, `:b` numeric range: an open start is 0, an open end `openEnd`
 * (the module's own upper bound, which is not always `max`). Order is not checked here.
 */
export function parseNumericRange(
  text: string,
  max: number,
  what: string,
  openEnd = max,
): { from: number; to: number } {
  const i = text.indexOf(':');
  if (i === -1) {
    const n = parseUint(text, max, what);
    return { from: n, to: n };
  }
  const a = text.slice(0, i);
  const b = text.slice(i + 1);
  return {
    from: a === '' ? 0 : parseUint(a, max, what),
    to: b === '' ? openEnd : parseUint(b, max, what),
  };
}

/** Generic `a[:b]` numeric range with open ends (spi, length, …), canonical `a` or `a:b`. */
export function normaliseNumericRange(text: string, max: number, what: string): string {
  const { from, to } = parseNumericRange(text, max, what);
  if (from > to) throw new ValueError(`invalid ${what} range '${text}'`);
  return from === to ? String(from) : `${from}:${to}`;
}

// ---------------------------------------------------------------------------------------------
// Protocols

/** iptables' built-in table (`xtables_chain_protos`), first name per number wins on save. */
const BUILTIN_PROTOS: readonly (readonly [string, number])[] = [
  ['tcp', 6],
  ['sctp', 132],
  ['udp', 17],
  ['udplite', 136],
  ['icmp', 1],
  ['ipv6-icmp', 58],
  ['icmpv6', 58],
  ['esp', 50],
  ['ah', 51],
  ['mobility-header', 135],
  ['ipv6-mh', 135],
  ['mh', 135],
  ['dccp', 33],
  ['ipcomp', 108],
  ['all', 0],
];

/** /etc/protocols of a Debian host (iptables ≤ 1.8.10 saves these names). */
const ETC_PROTOCOLS: readonly (readonly [string, number])[] = [
  ['igmp', 2],
  ['ggp', 3],
  ['ipencap', 4],
  ['st', 5],
  ['egp', 8],
  ['igp', 9],
  ['pup', 12],
  ['hmp', 20],
  ['xns-idp', 22],
  ['rdp', 27],
  ['iso-tp4', 29],
  ['dccp', 33],
  ['xtp', 36],
  ['ddp', 37],
  ['idpr-cmtp', 38],
  ['ipv6', 41],
  ['ipv6-route', 43],
  ['ipv6-frag', 44],
  ['idrp', 45],
  ['rsvp', 46],
  ['gre', 47],
  ['skip', 57],
  ['ipv6-nonxt', 59],
  ['ipv6-opts', 60],
  ['rspf', 73],
  ['vmtp', 81],
  ['eigrp', 88],
  ['ospf', 89],
  ['ax.25', 93],
  ['ipip', 94],
  ['etherip', 97],
  ['encap', 98],
  ['pim', 103],
  ['vrrp', 112],
  ['l2tp', 115],
  ['isis', 124],
  ['fc', 133],
  ['mpls-in-ip', 137],
  ['manet', 138],
  ['hip', 139],
  ['shim6', 140],
  ['wesp', 141],
  ['rohc', 142],
  ['ethernet', 143],
  ['ip', 0],
  ['icmp', 1],
  ['tcp', 6],
  ['udp', 17],
  ['esp', 50],
  ['ah', 51],
  ['sctp', 132],
  ['udplite', 136],
];

const PROTO_BY_NAME = new Map<string, number>();
const PROTO_NAME = new Map<number, string>();
for (const [name, n] of [...BUILTIN_PROTOS, ...ETC_PROTOCOLS]) {
  if (!PROTO_BY_NAME.has(name)) PROTO_BY_NAME.set(name, n);
  if (!PROTO_NAME.has(n)) PROTO_NAME.set(n, name);
}

/** Protocol name or number → number and the name iptables 1.8.9 saves. */
export function parseProtocol(text: string): { number: number; name: string } {
  const lower = text.toLowerCase();
  let n: number | undefined;
  if (/^\d+$/.test(lower)) {
    n = Number(lower);
    if (n > 255) throw new ValueError(`unknown protocol '${text}' specified`);
  } else {
    n = PROTO_BY_NAME.get(lower);
    if (n === undefined) throw new ValueError(`unknown protocol '${text}' specified`);
  }
  return { number: n, name: PROTO_NAME.get(n) ?? String(n) };
}

/** Protocol → number for `--ctproto`, `--vproto` (saved numerically). */
export function protocolNumber(text: string): number {
  return parseProtocol(text).number;
}

// ---------------------------------------------------------------------------------------------
// ICMP

type IcmpEntry = readonly [string, number, number | null];

const ICMP4: readonly IcmpEntry[] = [
  ['echo-reply', 0, null],
  ['pong', 0, null],
  ['destination-unreachable', 3, null],
  ['network-unreachable', 3, 0],
  ['host-unreachable', 3, 1],
  ['protocol-unreachable', 3, 2],
  ['port-unreachable', 3, 3],
  ['fragmentation-needed', 3, 4],
  ['source-route-failed', 3, 5],
  ['network-unknown', 3, 6],
  ['host-unknown', 3, 7],
  ['network-prohibited', 3, 9],
  ['host-prohibited', 3, 10],
  ['TOS-network-unreachable', 3, 11],
  ['TOS-host-unreachable', 3, 12],
  ['communication-prohibited', 3, 13],
  ['host-precedence-violation', 3, 14],
  ['precedence-cutoff', 3, 15],
  ['source-quench', 4, null],
  ['redirect', 5, null],
  ['network-redirect', 5, 0],
  ['host-redirect', 5, 1],
  ['TOS-network-redirect', 5, 2],
  ['TOS-host-redirect', 5, 3],
  ['echo-request', 8, null],
  ['ping', 8, null],
  ['router-advertisement', 9, null],
  ['router-solicitation', 10, null],
  ['time-exceeded', 11, null],
  ['ttl-exceeded', 11, null],
  ['ttl-zero-during-transit', 11, 0],
  ['ttl-zero-during-reassembly', 11, 1],
  ['parameter-problem', 12, null],
  ['ip-header-bad', 12, 0],
  ['required-option-missing', 12, 1],
  ['timestamp-request', 13, null],
  ['timestamp-reply', 14, null],
  ['address-mask-request', 17, null],
  ['address-mask-reply', 18, null],
];

const ICMP6: readonly IcmpEntry[] = [
  ['destination-unreachable', 1, null],
  ['no-route', 1, 0],
  ['communication-prohibited', 1, 1],
  ['beyond-scope', 1, 2],
  ['address-unreachable', 1, 3],
  ['port-unreachable', 1, 4],
  ['failed-policy', 1, 5],
  ['reject-route', 1, 6],
  ['packet-too-big', 2, null],
  ['time-exceeded', 3, null],
  ['ttl-exceeded', 3, null],
  ['ttl-zero-during-transit', 3, 0],
  ['ttl-zero-during-reassembly', 3, 1],
  ['parameter-problem', 4, null],
  ['bad-header', 4, 0],
  ['unknown-header-type', 4, 1],
  ['unknown-option', 4, 2],
  ['echo-request', 128, null],
  ['ping', 128, null],
  ['echo-reply', 129, null],
  ['pong', 129, null],
  ['mld-listener-query', 130, null],
  ['mld-listener-report', 131, null],
  ['mld-listener-done', 132, null],
  ['mld-listener-reduction', 132, null],
  ['router-solicitation', 133, null],
  ['router-advertisement', 134, null],
  ['neighbour-solicitation', 135, null],
  ['neighbor-solicitation', 135, null],
  ['neighbour-advertisement', 136, null],
  ['neighbor-advertisement', 136, null],
  ['redirect', 137, null],
];

/** `--icmp-type`: name, `T`, `T/C`, `any`; type null means any. */
export function parseIcmpType(
  text: string,
  family: Family,
): { icmpType: number | null; code: number | null; name?: string } {
  if (text === 'any') return { icmpType: null, code: null };
  const table = family === 'ipv4' ? ICMP4 : ICMP6;
  const entry = table.find(([name]) => name.toLowerCase() === text.toLowerCase());
  if (entry !== undefined) return { icmpType: entry[1], code: entry[2], name: entry[0] };
  const m = /^(\d+)(?:\/(\d+)(?::(\d+))?)?$/.exec(text);
  if (m === null) throw new ValueError(`invalid ICMP type '${text}'`);
  const type = Number(m[1]);
  if (type > 255) throw new ValueError(`invalid ICMP type '${text}'`);
  if (m[2] === undefined) return { icmpType: type, code: null };
  const from = Number(m[2]);
  const to = m[3] === undefined ? from : Number(m[3]);
  if (from > 255 || to > 255) throw new ValueError(`invalid ICMP code in '${text}'`);
  if (from === 0 && to === 255) {
    return type === 255 && family === 'ipv4'
      ? { icmpType: null, code: null }
      : { icmpType: type, code: null };
  }
  if (from !== to) throw new ValueError(`ICMP code ranges are not supported: '${text}'`);
  return { icmpType: type, code: from };
}

/** ICMPv6 / mobility-header etc. type names that are not ICMP (mh). */
const MH_TYPES: Readonly<Record<string, number>> = {
  'binding-refresh-request': 0,
  brr: 0,
  'home-test-init': 1,
  hoti: 1,
  'careof-test-init': 2,
  coti: 2,
  'home-test': 3,
  hot: 3,
  'careof-test': 4,
  cot: 4,
  'binding-update': 5,
  bu: 5,
  'binding-acknowledgement': 6,
  ba: 6,
  'binding-error': 7,
  be: 7,
};

export function parseMhType(text: string): number {
  const n = MH_TYPES[text.toLowerCase()];
  return n ?? parseUint(text, 255, 'mobility header type');
}

/** `--mh-type a[:b]` with names. */
export function normaliseMhRange(text: string): string {
  const i = text.indexOf(':');
  if (i === -1) return String(parseMhType(text));
  const a = text.slice(0, i);
  const b = text.slice(i + 1);
  const from = a === '' ? 0 : parseMhType(a);
  const to = b === '' ? 255 : parseMhType(b);
  return from === to ? String(from) : `${from}:${to}`;
}
