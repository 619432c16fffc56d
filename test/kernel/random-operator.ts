/**
 * Random operator rules over Docker's real captures, for the kernel referee: each seed lays a
 * handful of rules an operator might write (filters on addresses, interfaces, ports, conntrack
 * state and address types; DNATs, REDIRECTs, marks, NOTRACK, custom chains, an INPUT policy)
 * into the chains a packet meets before and after Docker's, with values drawn from the capture's
 * own addresses, bridges and ports so that they bite on the referee's probes. The kernel runs
 * them and the engine must say what the kernel did — the referee compares every probe, the
 * cut-down snapshots and the exposure tables as for any scenario.
 *
 * Pure and deterministic per seed: the recorded verdicts replay the same rules.
 */
import { prng } from '../support/prng.ts';
import {
  deriveTopology,
  EXTERNAL,
  HOST_SERVICE_PORT,
  type ScenarioInput,
} from '../lab/topology.ts';
import { EXTERNAL6, inSubnet6 } from '../lab/ipv6.ts';

/**
 * The seeds CI runs (and fixtures/generated/kernel-verdicts.json records). Their first run found
 * that the engine walked only a connection's first packet (seeds 2–4, 6, 8, 9, 11, 19, 21, 22:
 * replies stopped by a rule, REJECT notices, NOTRACKed replies of a DNAT, replies to a
 * masqueraded packet) and skipped PREROUTING for the host's own packets over loopback (13). From
 * an exploration of 25–70: 54 (an untracked packet's reply, a new connection that NAT rewrites,
 * and clients told apart by their ports) and 39 (a network's row naming its bridge). From
 * 71–130: 121 (a state match in the raw table, before conntrack), 119 and 126 (a reset through
 * OUTPUT, or past it from a bridge), 77, 95 and 129 (replies stopped by the host's port or
 * address, in a row of many), 113 (a REJECT's ICMP error comes from the host's address). From
 * 131–170: 164 (a masqueraded reply, addressed to an address the snapshot does not give), 105
 * and 159 (OUTPUT's chains see the interface of the first route, before a NAT reroutes), 85 (an
 * untracked handshake is answered INVALID and its later packets NEW; over loopback the host's
 * packet keeps its connection), 102 and 144 (on the rules alone, a reply leaves the way its
 * connection came), 165 (in the raw table a conntrack match finds no connection). From 171–530:
 * 205 (the lab: an operator's DNAT of an address the host lacks), 231 (an operator's raw drop is
 * no evidence of where an address lies), 248 and 267 (a connection's later packets stopped by a
 * rule on ESTABLISHED), 293 (a REDIRECT that changes no tuple sets no DNAT status), 299 (a
 * masqueraded reply is addressed to the host), 343 (a reply carries its connection's DNAT
 * state), 355 (a closed port answers with the host's port unreachable), 465 and 487 (a reset out
 * of a bridge port is not translated back), 552 (an untracked SYN's later packets are a new
 * connection NAT sends elsewhere), 649 (later packets carry their connection's DNAT state before
 * NAT). From 531–660: 658 (the exposure table's row to a listener whose clients' ACKs NAT sent
 * elsewhere is not certain). From 661–790: 714 (the host's own reply is un-SNATed at OUTPUT's
 * NAT priority), 691 (an operator's SNAT is no evidence of a Docker bridge), 790 (on the rules
 * alone, a stop is a guess where the destination's other reading rests on one). From 791–1000:
 * 802 (a reply's DNAT is undone at the source NAT's priority), 803 (a notice's conntrack matches
 * read its connection), 810 (a MASQUERADE to the address a packet has rewrites nothing), 851 (a
 * row is certain only where no reply of it may be stopped), 884 (over loopback, INPUT sees the
 * source a SNAT gave). From 1001–1250: 1017 (with the SYN alone untracked, the server's later
 * packets are replies; a reset of the client's later packets resets its connection), 1109 and
 * 1210 (a REJECT with a reset of the client's later packets). From 1251–1450: 1362 (as 658),
 * 1413 (a datagram's untracked reply, masqueraded to the address it has). From 1451–1650: 1451
 * (an ICMP error for the client's ACK fails its connect over veths). From 1851–2000: 1926 (the
 * lab: an operator's DROP in DOCKER-USER names no bridge's subnet). From 2001–2200: 2055 (a
 * SNATed client's replies meet the rules before NAT addressed to the SNAT's address). From
 * 2201–2600, with the old 684 and 1224: 2202 and 2405 (a packet DNATed back to its sender over a
 * bridge port is bridged back to that port and lost before FORWARD). From 2601–2800: 2644 (a UDP
 * server bound to every address answers a SNATed loopback client from the host's pick), 2770
 * (MASQUERADE out of lo gives the first address of global scope). From 2801–3200: 3103 and 3181
 * (REDIRECT gives the first address of the packet's interface). From 3201–4000: 3215 (the host
 * does not send a loopback source out of another interface than lo), 3294 (an untracked packet
 * has no connection in the later tables either), 3322 (on the rules alone, both readings of an
 * unplaced address compare the connection's later packets), 3387 (an untracked reply's SNAT is
 * not undone), 3421 (an untracked packet's answer starts a connection of its own; a closed
 * port's notice for it is INVALID; 3740, its case on the rules and addresses), 3737 (a stop
 * before NAT meets SNATed replies at the host's address), 3905 (the SYN sent again after a
 * rejected answer is ESTABLISHED). From 4001–4200: 4176 (a UDP answer from where the client
 * sent is a new connection NAT may rewrite).
 * From 4201–4400: 4224 (the refusal by a SYN sent again races the prober's timeout), 4340 and
 * 4343 (a row's later packets checked on every ingress it lists). From 4401–4600: 4436 (an ICMP
 * error comes from its packet's address, NAT's undone after OUTPUT), 4519 (a row's entries of one
 * ingress keep their own reply fates). From 4601–5200: 5174 (an operator's masquerade of
 * Docker's shape names no bridge that no filter rule names). From 5201–6000: 5848 (the lab: a
 * REDIRECT that loops the host's UDP answers back to it is no probe's datagram heard). From
 * 6001–7000: 6813 (a NOTRACK of a row's replies keeps conntrack from undoing its SNAT). From
 * 7001–7200: 7038 (a row's clients on each ingress are checked with that ingress's flows).
 * From 7201–7600: 7464 (the lab: nat OUTPUT's DNAT of a datagram from 127.0.0.1 to a container
 * makes its send fail with EINVAL). From 7601–7800: 7647 (later packets conntrack picks up as
 * new connections carry ACK, not SYN). From 7801–8600: 8553 (only Docker's filter rules vouch
 * for a masquerade shape naming a bridge). From 8801–9000: 8811 (an untracked SYN's later
 * packets, picked up as a new connection, may be SNATed and reset). From 10001–10060: 10002 (a
 * NOTRACK of replies addressed to the host keeps conntrack from undoing a client's SNAT). From
 * 11101–11300: 11210 (on the rules alone, a reply untracked before NAT rests on the address
 * MASQUERADE gave it).
 */
export const DEFAULT_SEEDS: readonly number[] = [
  ...Array.from({ length: 24 }, (_, i) => i + 1),
  39,
  54,
  77,
  85,
  95,
  102,
  105,
  113,
  119,
  121,
  126,
  129,
  144,
  159,
  164,
  165,
  205,
  231,
  248,
  267,
  293,
  299,
  343,
  355,
  465,
  487,
  552,
  649,
  658,
  684,
  691,
  714,
  790,
  802,
  803,
  810,
  851,
  884,
  1017,
  1109,
  1210,
  1224,
  1362,
  1413,
  1451,
  1926,
  2055,
  2202,
  2405,
  2644,
  2770,
  3103,
  3181,
  3215,
  3294,
  3322,
  3387,
  3421,
  3737,
  3740,
  3905,
  4176,
  4224,
  4340,
  4343,
  4436,
  4519,
  5174,
  5848,
  6813,
  7038,
  7464,
  7647,
  8553,
  8811,
  10002,
  11210,
];

/**
 * The IPv6 seeds CI runs (random6-N: ip6tables rules over the IPv6 captures, whose stops name a
 * protocol so that neighbour discovery passes): 1–6, and from the first exploration (1–400)
 * those that found something. 33, 38, 53, 91 and 149: IPv6's addrtype UNICAST is the address's
 * kind, the host's own included, and its types must all hold (33 also: an untracked datagram is
 * answered from the address the socket picks). 10, 17 and 23 (the lab): an ICMPv6 error for a
 * SYN that gets back while connect() holds the socket is dropped, and only the SYN sent again is
 * refused. 41 (the lab): an operator's DNAT of a port Docker maps is one listener. 61 (the lab):
 * a container's ICMP error for a datagram to a closed port is not its reply. 135 (the lab): an
 * operator's SNAT of `fe80::/10` names no bridge. From 401–1000: 933 (MASQUERADE toward a
 * global address takes the interface's one global address, never a link-local one).
 */
export const DEFAULT_SEEDS6: readonly number[] = [
  ...Array.from({ length: 6 }, (_, i) => i + 1),
  10,
  17,
  23,
  33,
  38,
  41,
  53,
  61,
  91,
  135,
  149,
  933,
];

/**
 * The neighbour discovery seeds CI runs (random6nd-N, `IPV6_ND`: IPv6 rules that may stop
 * neighbour discovery): 1–8, and from the first explorations (1–500) those that found something.
 * 20: a rejected packet's notice goes back by the interface whose neighbour discovery is
 * stopped. 230: the host's solicitation is not routed again after nat OUTPUT (it goes to a
 * multicast group no route names). 299: a stop after a MARK stops the packets as they were sent.
 * From 501–700: 519 found the lab's context without the host's link-local addresses (OUTPUT
 * dropped ICMPv6 from them); it is not run here, as a recorded replay does not know the
 * addresses a run's kernel gave.
 */
export const DEFAULT_SEEDS_ND: readonly number[] = [
  ...Array.from({ length: 8 }, (_, i) => i + 1),
  20,
  230,
  299,
];

/**
 * The wide vocabulary's seeds CI runs (randomw-N, `IPV4_WIDE`): 1–6, and from the first
 * exploration (1–300) those that found something. 19 and 189: a datagram rejected with a soft
 * ICMP error is not heard. 35 and 54: a DNAT to a port range keeps a port inside it. 72 and
 * 125: possible answers resting on `-m recent` and on a connection mark some rule sets, which
 * the kernel decided the other way.
 */
export const DEFAULT_SEEDS_WIDE: readonly number[] = [
  ...Array.from({ length: 6 }, (_, i) => i + 1),
  19,
  35,
  54,
  72,
  125,
  189,
];

/**
 * The seeds to run: `DWK_RANDOM_SEEDS` (IPv4), `DWK_RANDOMW_SEEDS` (IPv4, the wide vocabulary), `DWK_RANDOM6_SEEDS` (IPv6) or
 * `DWK_RANDOMND_SEEDS` (IPv6, neighbour discovery at stake), `DWK_RANDOMNFT_SEEDS` and
 * `DWK_RANDOMNFT6_SEEDS` (random-nft-operator.ts) as `A-B,C,…` or
 * `none` (an exploration run; the recorded verdicts then no longer cover every scenario), else
 * the default ones.
 */
export function randomSeeds(
  text: string | undefined,
  defaults: readonly number[] = DEFAULT_SEEDS,
): readonly number[] {
  if (text === undefined || text.trim() === '') return defaults;
  if (text.trim() === 'none') return [];
  return text.split(',').flatMap((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (m === null) throw new Error(`unreadable seeds '${text}' (A-B, A,B,C or none)`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    return Array.from({ length: Math.max(0, hi - lo + 1) }, (_, i) => lo + i);
  });
}

type Table = 'filter' | 'nat' | 'raw' | 'mangle';

/** Where a rule goes, and which hook's packets it sees (what `-i` / `-o` it may name). */
interface Place {
  readonly table: Table;
  readonly chain: string;
  readonly hook: 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';
}

const PLACES: readonly Place[] = [
  { table: 'filter', chain: 'INPUT', hook: 'INPUT' },
  { table: 'filter', chain: 'FORWARD', hook: 'FORWARD' },
  { table: 'filter', chain: 'DOCKER-USER', hook: 'FORWARD' },
  { table: 'filter', chain: 'DOCKER-USER', hook: 'FORWARD' },
  { table: 'filter', chain: 'OUTPUT', hook: 'OUTPUT' },
  { table: 'nat', chain: 'PREROUTING', hook: 'PREROUTING' },
  { table: 'nat', chain: 'PREROUTING', hook: 'PREROUTING' },
  { table: 'nat', chain: 'OUTPUT', hook: 'OUTPUT' },
  { table: 'nat', chain: 'POSTROUTING', hook: 'POSTROUTING' },
  { table: 'raw', chain: 'PREROUTING', hook: 'PREROUTING' },
  { table: 'mangle', chain: 'PREROUTING', hook: 'PREROUTING' },
  { table: 'mangle', chain: 'FORWARD', hook: 'FORWARD' },
];

export interface Draw {
  readonly chance: (p: number) => boolean;
  readonly pick: <T>(xs: readonly T[]) => T;
}

export function draw(seed: number): Draw {
  const next = prng(seed);
  return {
    chance: (p) => next() < p,
    pick: <T>(xs: readonly T[]): T => {
      const x = xs[Math.floor(next() * xs.length)];
      if (x === undefined) throw new Error('pick from an empty list');
      return x;
    },
  };
}

/** What the rules may name: the capture's own addresses, bridges and ports. */
export interface Vocabulary {
  readonly containers: readonly { readonly address: string; readonly bridge: string }[];
  readonly bridges: readonly { readonly name: string; readonly subnet: string }[];
  readonly ports: readonly number[];
}

/** The ports every family's rules draw from: the lab's own and the capture's published ones. */
function portsOf(published: readonly { hostPort: number; containerPort: number }[]): number[] {
  return [
    ...new Set([
      80,
      81,
      HOST_SERVICE_PORT,
      ...published.map((p) => p.hostPort),
      ...published.map((p) => p.containerPort),
    ]),
  ];
}

/** How one address family's operator writes rules: which captures, addresses and texts. */
interface Family {
  /** The scenario's name starts with it: `random-7/…`, `random6-7/…`. */
  readonly prefix: string;
  /** Captures the rules are laid over, picked by seed. */
  readonly bases: readonly string[];
  /** The save text the rules go into. */
  readonly save: 'iptablesSave' | 'ip6tablesSave';
  readonly vocabulary: (base: ScenarioInput) => Vocabulary;
  readonly sources: (v: Vocabulary) => string[];
  readonly destinations: (v: Vocabulary) => string[];
  readonly hostAddress: string;
  readonly sourceRange: string;
  /** A DNAT's `--to-destination`, with a port or not. */
  readonly natTo: (address: string, port: number | null) => string;
  /**
   * Whether a filter's stop names a protocol. An IPv6 rule that drops every protocol drops
   * neighbour discovery too, which no dump shows and the engine does not model: the lab's hosts
   * would lose each other, not the probes the rule means.
   */
  readonly stopsNameProtocol: boolean;
  /** Rules that come first with an INPUT policy of DROP, whatever else is drawn. */
  readonly dropPolicyFirst: (d: Draw) => readonly string[];
  /**
   * Whether rules may also be about neighbour discovery: ICMPv6 types, the hop limit, the
   * routing header (`random6nd`, drawn only there, so the other families' seeds draw as before).
   */
  readonly neighbourRules: boolean;
  /**
   * Whether rules may also use what real dumps use past the common vocabulary (`IPV4_WIDE`:
   * conntrack status, direction and tuple matches, TCP flags, fragments, address types, reverse
   * path filtering, unmodelled matches, NAT ranges, connection marks), drawn only there, so the
   * other families' seeds draw as before.
   */
  readonly wideRules: boolean;
}

export const IPV4: Family = {
  prefix: 'random',
  // the three iptables eras, each with two bridges
  bases: [
    'docker-20.10.24/s3-usernet-portmap',
    'docker-28.5.2/s3-usernet-portmap',
    'docker-29.7.2/s1a-iptables-portmap',
  ],
  save: 'iptablesSave',
  vocabulary: (base) => {
    const t = deriveTopology(base);
    return {
      containers: t.containers.map((c) => ({ address: c.address, bridge: c.bridge })),
      bridges: t.bridges.map((b) => ({ name: b.name, subnet: b.subnet })),
      ports: portsOf(t.published),
    };
  },
  sources: (v) => [
    `${EXTERNAL.clientAddress}/32`,
    '203.0.113.0/24',
    '10.0.0.0/8',
    `${EXTERNAL.hostAddress}/32`,
    ...v.containers.map((c) => `${c.address}/32`),
    ...v.bridges.map((b) => b.subnet),
  ],
  destinations: (v) => [
    `${EXTERNAL.hostAddress}/32`,
    '203.0.113.0/24',
    '127.0.0.1/32',
    '10.0.0.0/8',
    ...v.containers.map((c) => `${c.address}/32`),
    ...v.bridges.map((b) => b.subnet),
  ],
  hostAddress: EXTERNAL.hostAddress,
  sourceRange: '203.0.113.1-203.0.113.9',
  natTo: (address, port) => (port === null ? address : `${address}:${port}`),
  stopsNameProtocol: false,
  dropPolicyFirst: () => [],
  neighbourRules: false,
  wideRules: false,
};

/**
 * IPv4 with the wide vocabulary (randomw-N, `Family.wideRules`): the constructs of real dumps
 * the engine decides (or says it cannot), each against the kernel.
 */
export const IPV4_WIDE: Family = { ...IPV4, prefix: 'randomw', wideRules: true };

export const IPV6: Family = {
  prefix: 'random6',
  // the captures whose ip6tables rules Docker wrote, each with a container on an IPv6 bridge
  bases: [
    'docker-20.10.24/s7-default-bridge-ipv6-ip6tables',
    'docker-26.1.5/s3-usernet-portmap-ipv6',
    'docker-28.5.2/s7-usernet-ipv6-ip6tables',
  ],
  save: 'ip6tablesSave',
  vocabulary: (base) => {
    const t = deriveTopology(base);
    if (t.v6 === null) throw new Error(`${base.name} has no IPv6 side to write rules for`);
    const bridges = t.v6.bridges.map((b) => ({ name: b.name, subnet: b.subnet }));
    return {
      containers: t.v6.containers.map((c) => ({
        address: c.address,
        bridge: bridges.find((b) => inSubnet6(c.address, b.subnet))?.name ?? '',
      })),
      bridges,
      ports: portsOf([...t.published, ...t.v6.published]),
    };
  },
  sources: (v) => [
    `${EXTERNAL6.clientAddress}/128`,
    '2001:db8:ffff::/64',
    'fe80::/10',
    `${EXTERNAL6.hostAddress}/128`,
    ...v.containers.map((c) => `${c.address}/128`),
    ...v.bridges.map((b) => b.subnet),
  ],
  destinations: (v) => [
    `${EXTERNAL6.hostAddress}/128`,
    '2001:db8:ffff::/64',
    '::1/128',
    'fd00::/8',
    ...v.containers.map((c) => `${c.address}/128`),
    ...v.bridges.map((b) => b.subnet),
  ],
  hostAddress: EXTERNAL6.hostAddress,
  sourceRange: '2001:db8:ffff::1-2001:db8:ffff::9',
  natTo: (address, port) => (port === null ? address : `[${address}]:${port}`),
  stopsNameProtocol: true,
  dropPolicyFirst: () => ['-A INPUT -p ipv6-icmp -j ACCEPT'],
  neighbourRules: false,
  wideRules: false,
};

/**
 * IPv6 with neighbour discovery at stake (random6nd-N): stops of every protocol, ICMPv6 type,
 * hop limit and routing header matches, and an INPUT DROP policy that lets ICMPv6 in whole, only
 * neighbour discovery (with its hop limit, as ufw does), or none of it. Where the rules stop
 * neighbour discovery the lab's hosts lose each other and every probe that way times out; the
 * engine must then say possible, never certain.
 */
export const IPV6_ND: Family = {
  ...IPV6,
  prefix: 'random6nd',
  stopsNameProtocol: false,
  dropPolicyFirst: (d) =>
    d.pick([
      ['-A INPUT -p ipv6-icmp -j ACCEPT'],
      [
        '-A INPUT -m rt --rt-type 0 -j DROP',
        '-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 135 -m hl --hl-eq 255 -j ACCEPT',
        '-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 136 -m hl --hl-eq 255 -j ACCEPT',
      ],
      ['-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT'],
      [],
    ]),
  neighbourRules: true,
};

/** A match of neighbour discovery's ICMPv6, its hop limit or a routing header (`IPV6_ND`). */
function neighbourMatch(d: Draw): string[] {
  const type = d.pick(['135', '136', 'neighbour-advertisement', '128', '133']);
  return d.pick([
    ['-p ipv6-icmp'],
    ['-p ipv6-icmp', `-m icmp6 ${neg(d)}--icmpv6-type ${type}`],
    ['-p ipv6-icmp', `-m icmp6 --icmpv6-type ${type}`, `-m hl --hl-${d.pick(['eq', 'lt'])} 255`],
    ['-m rt --rt-type 0'],
    ['-m frag'],
  ]);
}

export const neg = (d: Draw, p = 0.2): string => (d.chance(p) ? '! ' : '');

function interfaces(v: Vocabulary): string[] {
  const names = v.bridges.map((b) => b.name);
  return [
    EXTERNAL.hostInterface,
    EXTERNAL.hostInterface,
    'lo',
    ...names,
    ...names.map((n) => `${n.slice(0, Math.max(2, n.length - 1))}+`),
    'ext+',
  ];
}

function portText(d: Draw, v: Vocabulary): string {
  if (d.chance(0.75)) return String(d.pick(v.ports));
  return d.pick(['80:90', '8000:9000', '1:1024', '2000:3000', '81:8080']);
}

/** The matches of one rule, valid for its hook; `protocol` is set when the target needs one. */
function matches(d: Draw, f: Family, v: Vocabulary, place: Place, needProtocol: boolean): string[] {
  const out: string[] = [];
  const canIn = place.hook !== 'OUTPUT' && place.hook !== 'POSTROUTING';
  const canOut = place.hook !== 'PREROUTING' && place.hook !== 'INPUT';
  if (d.chance(0.35)) out.push(`${neg(d)}-s ${d.pick(f.sources(v))}`);
  if (d.chance(0.35)) out.push(`${neg(d)}-d ${d.pick(f.destinations(v))}`);
  if (canIn && d.chance(0.35)) out.push(`${neg(d)}-i ${d.pick(interfaces(v))}`);
  if (canOut && d.chance(0.3)) out.push(`${neg(d)}-o ${d.pick(interfaces(v))}`);
  if (f.neighbourRules && !needProtocol && d.chance(0.35)) out.push(...neighbourMatch(d));
  else if (needProtocol || d.chance(0.6)) {
    const protocol = d.pick(['tcp', 'tcp', 'udp'] as const);
    out.push(`-p ${protocol}`);
    const kind = d.pick(['dport', 'dport', 'dport', 'sport', 'multiport', 'none', 'syn'] as const);
    if (kind === 'dport') out.push(`-m ${protocol} ${neg(d, 0.15)}--dport ${portText(d, v)}`);
    else if (kind === 'sport') out.push(`-m ${protocol} --sport ${portText(d, v)}`);
    else if (kind === 'multiport') {
      const ports = [d.pick(v.ports), d.pick(v.ports), d.pick(v.ports)];
      out.push(`-m multiport --dports ${[...new Set(ports)].join(',')}`);
    } else if (kind === 'syn' && protocol === 'tcp') out.push('-m tcp --syn');
  }
  if (d.chance(0.15)) {
    out.push(
      d.pick([
        '-m conntrack --ctstate NEW',
        '-m conntrack --ctstate RELATED,ESTABLISHED',
        '-m conntrack --ctstate DNAT',
        '-m state --state NEW',
        `-m conntrack --ctorigdst ${f.hostAddress}`,
        `-m conntrack --ctproto tcp --ctorigdstport ${d.pick(v.ports)}`,
      ]),
    );
  }
  if (d.chance(0.12)) out.push(`-m addrtype ${neg(d)}--dst-type ${d.pick(['LOCAL', 'UNICAST'])}`);
  if (d.chance(0.08)) out.push('-m addrtype --src-type LOCAL');
  if (d.chance(0.08)) {
    const c = d.pick(v.containers).address;
    out.push(
      d.chance(0.5)
        ? `-m iprange --src-range ${f.sourceRange}`
        : `-m iprange --dst-range ${c}-${c}`,
    );
  }
  if (d.chance(0.1)) out.push(`-m mark ${neg(d)}--mark ${d.pick(['0x1', '0x2', '0x1/0x1'])}`);
  if (d.chance(0.08)) out.push('-m comment --comment "operator rule"');
  if (f.wideRules && d.chance(0.6)) out.push(...wideMatch(d, f, v, place, out));
  return out;
}

/** One match of the wide vocabulary (`Family.wideRules`), valid at the place and with `out`. */
function wideMatch(
  d: Draw,
  f: Family,
  v: Vocabulary,
  place: Place,
  out: readonly string[],
): string[] {
  const protocol = out.find((m) => m.startsWith('-p '))?.slice(3) ?? null;
  // a TCP match needs `-p tcp`: added where the rule names no protocol, none where another
  const tcp = (m: string): string[] =>
    protocol === 'tcp' ? [`-m tcp ${m}`] : protocol === null ? [`-p tcp -m tcp ${m}`] : [];
  const ported = (m: string): string[] =>
    protocol === null ? [`-p ${d.pick(['tcp', 'udp'])} ${m}`] : [m];
  const address = (): string => d.pick([...f.sources(v), ...f.destinations(v)]);
  const canIn = place.hook !== 'OUTPUT' && place.hook !== 'POSTROUTING';
  const canOut = place.hook !== 'PREROUTING' && place.hook !== 'INPUT';
  const kind = d.pick([
    'flags',
    'status',
    'direction',
    'state',
    'tuple',
    'tuple-port',
    'fragment',
    'addrtype',
    'rpfilter',
    'multiport',
    'unmodelled',
    'connmark',
    'icmp',
  ] as const);
  switch (kind) {
    case 'flags':
      return d.chance(0.25)
        ? tcp('! --syn')
        : tcp(
            `${neg(d)}--tcp-flags ${d.pick(['SYN,ACK SYN', 'ALL SYN', 'SYN,RST SYN', 'FIN,SYN,RST,ACK ACK', 'SYN,ACK SYN,ACK', 'ALL NONE', 'SYN SYN'])}`,
          );
    case 'status':
      return [
        `-m conntrack ${neg(d, 0.3)}--ctstatus ${d.pick(['NONE', 'CONFIRMED', 'SEEN_REPLY', 'ASSURED', 'EXPECTED', 'SEEN_REPLY,ASSURED'])}`,
      ];
    case 'direction':
      return [`-m conntrack --ctdir ${d.pick(['ORIGINAL', 'REPLY'])}`];
    case 'state':
      return d.chance(0.2)
        ? [`-m state ${neg(d)}--state ${d.pick(['INVALID', 'ESTABLISHED', 'RELATED,ESTABLISHED'])}`]
        : [
            `-m conntrack ${neg(d)}--ctstate ${d.pick(['INVALID', 'UNTRACKED', 'SNAT', 'ESTABLISHED', 'RELATED', 'NEW,ESTABLISHED', 'DNAT,SNAT'])}`,
          ];
    case 'tuple':
      return [
        `-m conntrack ${neg(d)}--${d.pick(['ctorigsrc', 'ctorigdst', 'ctreplsrc', 'ctrepldst'])} ${address()}`,
      ];
    case 'tuple-port':
      return [
        `-m conntrack --ctproto ${d.pick(['tcp', 'udp'])} ${neg(d)}--${d.pick(['ctorigsrcport', 'ctorigdstport', 'ctreplsrcport', 'ctrepldstport'])} ${portText(d, v)}`,
      ];
    case 'fragment':
      return [`${neg(d, 0.5)}-f`];
    case 'addrtype': {
      const limit =
        canIn && d.chance(0.3)
          ? ' --limit-iface-in'
          : canOut && d.chance(0.3)
            ? ' --limit-iface-out'
            : '';
      const type = d.pick([
        'UNICAST',
        'BROADCAST',
        'MULTICAST',
        'LOCAL',
        'UNREACHABLE',
        'LOCAL,UNICAST',
      ]);
      return [`-m addrtype ${neg(d)}--${d.pick(['src', 'dst'])}-type ${type}${limit}`];
    }
    case 'rpfilter':
      // the kernel takes it in raw and mangle PREROUTING only
      if (place.hook !== 'PREROUTING' || place.table === 'nat') return [];
      return [
        `-m rpfilter${d.pick(['', ' --loose', ' --invert', ' --loose --invert', ' --validmark', ' --accept-local'])}`,
      ];
    case 'multiport': {
      const ports = [...new Set([d.pick(v.ports), d.pick(v.ports), d.pick(v.ports)])].join(',');
      if (protocol !== null && protocol !== 'tcp' && protocol !== 'udp') return [];
      return ported(`-m multiport ${neg(d)}--${d.pick(['sports', 'ports', 'dports'])} ${ports}`);
    }
    case 'unmodelled':
      return [
        d.pick([
          '-m length --length 0:100',
          '-m ttl --ttl-gt 10',
          '-m pkttype --pkt-type unicast',
          '-m limit --limit 5/s',
          '-m tos --tos 0x10',
          '-m recent --name op --rcheck',
        ]),
      ];
    case 'connmark':
      return [`-m connmark ${neg(d)}--mark ${d.pick(['0x1', '0x0', '0x1/0x1'])}`];
    case 'icmp':
      // the closed UDP ports' notices walk the chains too
      if (protocol !== null) return [];
      return [
        `-p icmp -m icmp ${neg(d)}--icmp-type ${d.pick(['echo-request', 'destination-unreachable', 'port-unreachable', '3'])}`,
      ];
  }
}

/** A target of the wide vocabulary valid at the place (`Family.wideRules`). */
function wideTarget(d: Draw, f: Family, v: Vocabulary, place: Place): Target {
  const container = (): string => d.pick(v.containers).address;
  const plain = (text: string): Target => ({ text, needProtocol: false });
  if (place.table === 'nat') {
    if (place.chain === 'POSTROUTING')
      return plain(
        d.pick([
          '-p tcp -j MASQUERADE --to-ports 40000-40100',
          '-j MASQUERADE --random',
          `-p udp -j SNAT --to-source ${f.hostAddress}:40000-40100`,
          '-j SNAT --to-source 203.0.113.77',
          '-j RETURN',
        ]),
      );
    return plain(
      d.pick([
        `-p tcp -j DNAT --to-destination ${container()}:80-82`,
        '-j REDIRECT',
        '-p tcp -j REDIRECT --to-ports 80-81',
        `-j DNAT --to-destination ${f.hostAddress}`,
      ]),
    );
  }
  if (place.table === 'raw')
    return plain(
      d.pick([
        '-j NOTRACK',
        '-j CT --notrack',
        '-j CONNMARK --set-mark 0x1',
        '-j MARK --set-mark 0x1',
      ]),
    );
  if (place.table === 'mangle')
    return plain(
      d.pick([
        '-j CONNMARK --set-mark 0x1',
        '-j CONNMARK --restore-mark',
        '-j CONNMARK --save-mark',
        '-j MARK --or-mark 0x2',
        '-j MARK --and-mark 0x0',
        '-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1200',
        '-j TOS --set-tos 0x10',
      ]),
    );
  return plain(
    d.pick([
      '-j REJECT --reject-with icmp-host-prohibited',
      '-j REJECT --reject-with icmp-admin-prohibited',
      '-j REJECT --reject-with icmp-net-unreachable',
      '-j CONNMARK --set-mark 0x1',
      '-j MARK --set-mark 0x2',
      '-j RETURN',
    ]),
  );
}

/** A rule's target, and whether it needs the rule to name a protocol. */
interface Target {
  readonly text: string;
  readonly needProtocol: boolean;
}

/** A target valid for the place; null when the place takes none of the drawn kind. */
function target(d: Draw, f: Family, v: Vocabulary, place: Place, custom: string | null): Target {
  if (f.wideRules && d.chance(0.35)) return wideTarget(d, f, v, place);
  const container = (): string => d.pick(v.containers).address;
  // a stop of every protocol, or of one where the family's needs it (see `stopsNameProtocol`)
  const stop = (text: string) => ({ text, needProtocol: f.stopsNameProtocol });
  if (place.table === 'nat') {
    if (place.chain === 'POSTROUTING') {
      return d.pick([
        { text: '-j MASQUERADE', needProtocol: false },
        { text: `-j SNAT --to-source ${f.hostAddress}`, needProtocol: false },
        { text: '-j ACCEPT', needProtocol: false },
        { text: '-j RETURN', needProtocol: false },
      ]);
    }
    return d.pick([
      {
        text: `-j DNAT --to-destination ${f.natTo(container(), d.pick([80, 81, 82]))}`,
        needProtocol: true,
      },
      { text: `-j DNAT --to-destination ${f.natTo(container(), null)}`, needProtocol: false },
      { text: `-j REDIRECT --to-ports ${d.pick([HOST_SERVICE_PORT, 81])}`, needProtocol: true },
      { text: '-j ACCEPT', needProtocol: false },
      { text: '-j RETURN', needProtocol: false },
    ]);
  }
  if (place.table === 'raw') {
    return d.pick([
      stop('-j DROP'),
      { text: '-j ACCEPT', needProtocol: false },
      { text: '-j CT --notrack', needProtocol: false },
      { text: '-j MARK --set-mark 0x1', needProtocol: false },
    ]);
  }
  if (place.table === 'mangle') {
    return d.pick([
      { text: `-j MARK --set-mark ${d.pick(['0x1', '0x2'])}`, needProtocol: false },
      { text: '-j MARK --set-xmark 0x1/0x1', needProtocol: false },
      stop('-j DROP'),
      { text: '-j ACCEPT', needProtocol: false },
    ]);
  }
  const options = [
    { text: '-j ACCEPT', needProtocol: false },
    { text: '-j ACCEPT', needProtocol: false },
    stop('-j DROP'),
    stop('-j DROP'),
    stop('-j REJECT'),
    { text: '-p tcp -j REJECT --reject-with tcp-reset', needProtocol: false },
    { text: '-j LOG --log-prefix "op "', needProtocol: false },
    ...(place.chain === 'DOCKER-USER' ? [{ text: '-j RETURN', needProtocol: false }] : []),
    ...(custom === null ? [] : [{ text: `-j ${custom}`, needProtocol: false }]),
  ];
  return d.pick(options);
}

/** One rule's text, `-A CHAIN …`, with matches valid at its place. */
function rule(
  d: Draw,
  f: Family,
  v: Vocabulary,
  place: Place,
  chain: string,
  custom: string | null,
): string {
  const t = target(d, f, v, place, custom);
  let ms = matches(d, f, v, place, t.needProtocol);
  if (t.text.startsWith('-p '))
    ms = ms.filter((m) => !m.startsWith('-p ') && !/^-m (tcp|udp|multiport|icmp6|hl) /.test(m));
  return ['-A', chain, ...ms, t.text].join(' ');
}

/** An iptables-save text with a table block added when the capture has none. */
function withTable(save: string, table: Table): string {
  if (save.split('\n').includes(`*${table}`)) return save;
  const chains =
    table === 'raw'
      ? ['PREROUTING', 'OUTPUT']
      : ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];
  return `${save.trimEnd()}\n*${table}\n${chains.map((c) => `:${c} ACCEPT [0:0]`).join('\n')}\nCOMMIT\n`;
}

/**
 * Rules into a table's text: `head` ones before the table's first rule (restore appends in the
 * order it reads, so they come first in their chains), `tail` ones just before its COMMIT, new
 * chains declared with the others, policies replaced.
 */
export function layRules(
  save: string,
  table: Table,
  head: readonly string[],
  tail: readonly string[],
  chains: readonly string[],
  policies: ReadonlyMap<string, string>,
): string {
  const lines = withTable(save, table).split('\n');
  const start = lines.indexOf(`*${table}`);
  let at = start + 1;
  while (lines[at]?.startsWith(':') === true) {
    const m = /^:(\S+) (\S+)/.exec(lines[at] ?? '');
    const policy = m === null ? undefined : policies.get(m[1] ?? '');
    if (m !== null && policy !== undefined && m[2] !== '-') lines[at] = `:${m[1]} ${policy} [0:0]`;
    at++;
  }
  lines.splice(at, 0, ...chains.map((c) => `:${c} - [0:0]`), ...head);
  let commit = at + chains.length + head.length;
  while (commit < lines.length && lines[commit] !== 'COMMIT') commit++;
  lines.splice(commit, 0, ...tail);
  return lines.join('\n');
}

/** Whether a table of the save text declares the chain. */
function declares(save: string, table: Table, chain: string): boolean {
  const lines = save.split('\n');
  for (let i = lines.indexOf(`*${table}`) + 1; i > 0 && i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === 'COMMIT') return false;
    if (line.startsWith(`:${chain} `)) return true;
  }
  return false;
}

/**
 * One random scenario: the base capture with 3–9 operator rules of the family laid into its
 * save text (DOCKER-USER's into FORWARD where Docker made none).
 */
export function randomOperatorScenario(
  base: ScenarioInput,
  seed: number,
  f: Family = IPV4,
): ScenarioInput {
  const d = draw(seed);
  const v = f.vocabulary(base);
  const original = base[f.save] ?? '';
  const user = declares(original, 'filter', 'DOCKER-USER');
  const where = (p: Place): Place =>
    p.chain === 'DOCKER-USER' && !user ? { ...p, chain: 'FORWARD' } : p;
  const byTable = new Map<Table, { head: string[]; tail: string[]; chains: string[] }>();
  const of = (t: Table) => {
    let x = byTable.get(t);
    if (x === undefined) {
      x = { head: [], tail: [], chains: [] };
      byTable.set(t, x);
    }
    return x;
  };
  const policies = new Map<string, string>();
  // A custom chain, jumped to from one filter place, with rules valid at that place's hook.
  const customPlace = where(d.pick(PLACES.filter((p) => p.table === 'filter')));
  const custom = d.chance(0.4) ? 'OPERATOR' : null;
  if (custom !== null) {
    const t = of('filter');
    t.chains.push(custom);
    const n = 1 + Math.floor(d.chance(0.5) ? 2 : 1);
    for (let i = 0; i < n; i++) t.tail.push(rule(d, f, v, customPlace, custom, null));
  }
  const count = 3 + Math.floor(d.chance(0.5) ? 6 : 3);
  for (let i = 0; i < count; i++) {
    const place = where(d.pick(PLACES));
    const jump =
      custom !== null && place.table === 'filter' && place.hook === customPlace.hook
        ? custom
        : null;
    const text = rule(d, f, v, place, place.chain, jump);
    const t = of(place.table);
    if (d.chance(0.7)) t.head.push(text);
    else t.tail.push(text);
  }
  if (d.chance(0.3)) {
    policies.set('INPUT', 'DROP');
    const t = of('filter');
    if (d.chance(0.8)) t.head.unshift('-A INPUT -i lo -j ACCEPT');
    if (d.chance(0.8))
      t.head.unshift('-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
    t.head.unshift(...f.dropPolicyFirst(d));
  }
  let save = original;
  for (const [table, x] of byTable) {
    save = layRules(
      save,
      table,
      x.head,
      x.tail,
      x.chains,
      table === 'filter' ? policies : new Map(),
    );
  }
  return { ...base, name: `${f.prefix}-${seed}/${base.name}`, [f.save]: save, expect: [] };
}

/**
 * One scenario per seed, each made over one of the named captures (picked by seed); none where
 * the captures are absent.
 */
export function seededScenarios(
  captures: readonly ScenarioInput[],
  baseNames: readonly string[],
  seeds: readonly number[],
  make: (base: ScenarioInput, seed: number) => ScenarioInput,
): ScenarioInput[] {
  const bases = baseNames.flatMap((name) => captures.filter((c) => c.name === name));
  if (bases.length === 0) return [];
  return seeds.map((seed) => make(bases[seed % bases.length] as ScenarioInput, seed));
}

/** The random scenarios of a family for these seeds, each over one of its bases (by seed). */
export function randomOperatorScenarios(
  captures: readonly ScenarioInput[],
  seeds: readonly number[],
  f: Family = IPV4,
): ScenarioInput[] {
  return seededScenarios(captures, f.bases, seeds, (base, seed) =>
    randomOperatorScenario(base, seed, f),
  );
}
