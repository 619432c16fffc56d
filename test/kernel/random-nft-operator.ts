/**
 * Random operator tables over Docker 29's nftables backend, for the kernel referee
 * (`randomnft-N`): each seed adds an `ip` table (or an `inet` one, over the dual-stack capture)
 * of base chains on every hook, at priorities before and after Docker's own, with a regular chain
 * they jump or go to, a named set, and rules an operator might write in nft's words — addresses,
 * interface names and wildcards, ports and port sets, concatenations, conntrack state and status,
 * `fib` address types, marks set and tested, verdict maps, `continue`, rejects, DNAT, REDIRECT,
 * SNAT and masquerade. Values come from the capture's own addresses, bridges and ports so that
 * the rules bite on the referee's probes. The kernel runs them beside Docker's tables and the
 * engine must say what the kernel did, probe by probe.
 *
 * What nftables adds to iptables' semantics is what this checks: an accept ends only its own base
 * chain, chains of one hook run in priority order across tables, the first NAT chain that binds a
 * connection is the last one asked, and a statement before the verdict changes what later
 * matches see.
 *
 * Pure and deterministic per seed: the recorded verdicts replay the same rules. Nothing is drawn
 * that the engine leaves undecided on the probes (limits, numgen), and no two chains of a hook
 * share a priority (the kernel's order between them is its registration order).
 */
import ipaddr from 'ipaddr.js';
import { EXTERNAL, HOST_SERVICE_PORT, type ScenarioInput } from '../lab/topology.ts';
import {
  draw,
  IPV4,
  IPV6,
  seededScenarios,
  type Draw,
  type Vocabulary,
} from './random-operator.ts';

/**
 * The seeds CI runs (and fixtures/generated/kernel-verdicts.json records): 1–8, and from the
 * first exploration (1–100) 17 (nft's listing hides `reject with tcp reset`'s dependency on TCP)
 * and 84 (`ct status dnat` on a connection's later packets).
 */
export const DEFAULT_SEEDS_NFT: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 17, 84];

/** The seeds CI runs of the operator that names IPv6 addresses too (`NFT6`). */
export const DEFAULT_SEEDS_NFT6: readonly number[] = [1, 2, 3, 4, 5, 6];

/** One operator: its scenarios' prefix, the captures it writes over, and whether IPv6 too. */
export interface NftOperator {
  readonly prefix: string;
  readonly bases: readonly string[];
  /** An `inet` table whose rules name IPv6 addresses as well as IPv4 ones. */
  readonly ipv6: boolean;
}

export const NFT: NftOperator = {
  prefix: 'randomnft',
  bases: ['docker-29.7.2/s2a-nftables-portmap', 'docker-29.7.2/s3b-nftables-ipv6-dualstack'],
  ipv6: false,
};

/** Over the dual-stack capture, rules of both families (`randomnft6-N`). */
export const NFT6: NftOperator = {
  prefix: 'randomnft6',
  bases: ['docker-29.7.2/s3b-nftables-ipv6-dualstack'],
  ipv6: true,
};

type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

/** A base chain's place: its hook, type and the priorities it may take (none of Docker's). */
interface Place {
  readonly hook: Hook;
  readonly type: 'filter' | 'nat';
  readonly priorities: readonly string[];
}

// Docker 29 hooks raw (-300), dstnat (-100), filter (0) and srcnat (100)
const PLACES: readonly Place[] = [
  { hook: 'prerouting', type: 'filter', priorities: ['raw - 10', 'mangle', 'dstnat + 10'] },
  { hook: 'prerouting', type: 'nat', priorities: ['dstnat - 10', 'dstnat + 10'] },
  { hook: 'input', type: 'filter', priorities: ['filter - 5', 'filter + 5'] },
  { hook: 'forward', type: 'filter', priorities: ['filter - 1', 'filter + 10', 'mangle'] },
  { hook: 'forward', type: 'filter', priorities: ['filter - 1', 'filter + 10'] },
  { hook: 'output', type: 'filter', priorities: ['raw - 10', 'filter - 5', 'filter + 5'] },
  { hook: 'output', type: 'nat', priorities: ['-110', '-90'] },
  { hook: 'postrouting', type: 'nat', priorities: ['srcnat - 10', 'srcnat + 10'] },
  { hook: 'postrouting', type: 'filter', priorities: ['filter', 'srcnat + 20'] },
];

/** nft's negation of a comparison, drawn with probability `p`. */
const not = (d: Draw, p = 0.2): string => (d.chance(p) ? '!= ' : '');

const canIn = (h: Hook): boolean => h === 'prerouting' || h === 'input' || h === 'forward';
const canOut = (h: Hook): boolean => h === 'forward' || h === 'output' || h === 'postrouting';

/** The table's family and what its rules must say so that IPv6 neighbour discovery survives. */
interface TableKind {
  readonly family: 'ip' | 'inet';
  /**
   * An inet table sees IPv6 too: a stop of every protocol would stop neighbour discovery, which
   * the lab's hosts need to reach each other at all (see random-operator.ts `stopsNameProtocol`).
   */
  readonly stopsNameProtocol: boolean;
}

/** The host's interface names, quoted as nft writes them. */
function interfaceNames(v: Vocabulary): string[] {
  return [EXTERNAL.hostInterface, 'lo', ...v.bridges.map((b) => b.name)].map((n) => `"${n}"`);
}

/** An interface name or a wildcard of one (`"docker*"`). */
function interfaceName(d: Draw, v: Vocabulary): string {
  const names = v.bridges.map((b) => b.name);
  return d.pick([
    `"${EXTERNAL.hostInterface}"`,
    ...interfaceNames(v),
    ...names.map((n) => `"${n.slice(0, Math.max(2, n.length - 1))}*"`),
    '"ext*"',
  ]);
}

function portValue(d: Draw, v: Vocabulary): string {
  if (d.chance(0.7)) return String(d.pick(v.ports));
  if (d.chance(0.5)) {
    const ports = [...new Set([d.pick(v.ports), d.pick(v.ports), d.pick(v.ports)])];
    return `{ ${ports.join(', ')} }`;
  }
  return d.pick(['80-90', '8000-9000', '1-1024', '2000-3000', '81-8080']);
}

/** Whether two prefixes overlap (nft refuses an anonymous set whose intervals do). */
function overlap(a: string, b: string): boolean {
  const [x, xl] = ipaddr.parseCIDR(a.includes('/') ? a : `${a}/32`);
  const [y, yl] = ipaddr.parseCIDR(b.includes('/') ? b : `${b}/32`);
  return x.match(y, Math.min(xl, yl));
}

/** A comparison's value: one address or prefix, or an anonymous set of two apart. */
function addressValue(d: Draw, all: readonly string[]): string {
  const first = d.pick(all);
  if (d.chance(0.8)) return first;
  const second = d.pick(all);
  return overlap(first, second) ? first : `{ ${first}, ${second} }`;
}

/** Two different values, for a verdict map's keys. */
function twoOf(d: Draw, xs: readonly string[]): [string, string] {
  const first = d.pick(xs);
  const rest = xs.filter((x) => x !== first);
  return [first, rest.length === 0 ? first : d.pick(rest)];
}

const nft = (cidr: string): string => cidr.replace(/\/(32|128)$/, '');

/** The address family a rule's addresses are of, with what it names them by. */
interface Addresses {
  readonly keyword: 'ip' | 'ip6';
  readonly v: Vocabulary;
  readonly sources: readonly string[];
  readonly destinations: readonly string[];
  readonly host: string;
}

function addressesOf(family: 'ip' | 'ip6', v: Vocabulary): Addresses {
  const f = family === 'ip' ? IPV4 : IPV6;
  return {
    keyword: family,
    v,
    sources: f.sources(v).map(nft),
    destinations: f.destinations(v).map(nft),
    host: f.hostAddress,
  };
}

/**
 * The conditions of one rule, valid for its hook. `protocol`: the rule must name TCP or UDP;
 * `tcp`: its verdict names TCP itself (nft refuses a rule that names two protocols).
 */
function conditions(
  d: Draw,
  v: Vocabulary,
  a: Addresses,
  hook: Hook,
  protocol: boolean,
  tcp: boolean,
): string[] {
  const out: string[] = [];
  const ip = a.keyword;
  if (d.chance(0.3)) out.push(`${ip} saddr ${not(d)}${addressValue(d, a.sources)}`);
  if (d.chance(0.3)) out.push(`${ip} daddr ${not(d)}${addressValue(d, a.destinations)}`);
  if (canIn(hook) && d.chance(0.3)) out.push(`iifname ${not(d)}${interfaceName(d, v)}`);
  if (canOut(hook) && d.chance(0.25)) out.push(`oifname ${not(d)}${interfaceName(d, v)}`);
  const p = tcp ? 'tcp' : d.pick(['tcp', 'tcp', 'udp'] as const);
  if (!tcp && (protocol || d.chance(0.6))) {
    const kind = d.pick(['dport', 'dport', 'dport', 'sport', 'l4proto', 'syn', 'concat'] as const);
    if (kind === 'dport') out.push(`${p} dport ${not(d, 0.15)}${portValue(d, v)}`);
    else if (kind === 'sport') out.push(`${p} sport ${portValue(d, v)}`);
    else if (kind === 'syn' && p === 'tcp') out.push('tcp flags syn / fin,syn,rst,ack');
    else if (kind === 'concat') {
      const pairs = [0, 1].map(() => `${d.pick(a.v.containers).address} . ${d.pick(v.ports)}`);
      out.push(`${ip} daddr . ${p} dport { ${[...new Set(pairs)].join(', ')} }`);
    } else out.push(`meta l4proto ${p}`);
  }
  if (d.chance(0.15)) {
    out.push(
      d.pick([
        'ct state new',
        'ct state established,related',
        'ct status dnat',
        `ct original ${ip} daddr ${a.host}`,
        `meta l4proto ${p} ct original proto-dst ${d.pick(v.ports)}`,
      ]),
    );
  }
  if (d.chance(0.12)) out.push(`fib daddr type ${not(d)}local`);
  if (d.chance(0.1))
    out.push(d.pick(['meta mark 0x1', 'meta mark != 0x1', 'meta mark & 0x2 == 0x2']));
  if (ip === 'ip' && d.chance(0.1)) out.push('ip saddr @operators');
  return out;
}

/** Where a rule is written: its chain's place and priority, the table, what it may jump to. */
interface Spot {
  readonly place: Place;
  readonly priority: string;
  readonly kind: TableKind;
  /** The regular chain a rule here may jump or go to. */
  readonly regular: string | null;
  /** The rule is in the regular chain (it may return). */
  readonly inRegular: boolean;
  /** The IPv6 side's vocabulary (`randomnft6`): a rule's addresses may be of either family. */
  readonly six: Vocabulary | null;
}

/** A verdict (or statement) valid for the chain; `protocol`: the rule must name one. */
function verdict(
  d: Draw,
  a: Addresses,
  { place, priority, kind, regular, inRegular }: Spot,
): { text: string; protocol: boolean } {
  const v = a.v;
  const six = a.keyword === 'ip6';
  const container = (): string => d.pick(v.containers).address;
  const to = kind.family === 'inet' ? `${a.keyword} to` : 'to';
  const withPort = (address: string, port: number): string =>
    six ? `[${address}]:${port}` : `${address}:${port}`;
  const stop = (text: string) => ({ text, protocol: kind.stopsNameProtocol });
  if (place.type === 'nat') {
    if (place.hook === 'postrouting') {
      return d.pick([
        { text: 'masquerade', protocol: false },
        { text: `snat ${to} ${a.host}`, protocol: false },
        { text: 'accept', protocol: false },
        { text: 'return', protocol: false },
      ]);
    }
    return d.pick([
      { text: `dnat ${to} ${withPort(container(), d.pick([80, 81, 82]))}`, protocol: true },
      { text: `dnat ${to} ${container()}`, protocol: false },
      { text: `redirect to :${d.pick([HOST_SERVICE_PORT, 81])}`, protocol: true },
      { text: 'accept', protocol: false },
      { text: 'return', protocol: false },
    ]);
  }
  // NOTRACK before conntrack; reject where the kernel takes it (INPUT, FORWARD, OUTPUT)
  const notrack = priority === 'raw - 10';
  const reject = place.hook === 'input' || place.hook === 'forward' || place.hook === 'output';
  const options = [
    { text: 'accept', protocol: false },
    { text: 'accept', protocol: false },
    stop('drop'),
    stop('drop'),
    ...(reject ? [stop('reject'), { text: 'reject with tcp reset', protocol: false }] : []),
    { text: 'continue', protocol: false },
    { text: 'counter', protocol: false },
    { text: 'log prefix "op "', protocol: false },
    { text: `meta mark set ${d.pick(['0x1', '0x2'])}`, protocol: false },
    { text: 'meta mark set 0x1 accept', protocol: false },
    {
      text: `tcp dport vmap { ${twoOf(d, v.ports.map(String)).join(' : drop, ')} : accept }`,
      protocol: false,
    },
    ...(canOut(place.hook)
      ? [
          {
            text: `oifname vmap { ${twoOf(d, interfaceNames(v)).join(' : drop, ')} : accept }`,
            protocol: kind.stopsNameProtocol,
          },
        ]
      : []),
    ...(notrack ? [{ text: 'notrack', protocol: false }] : []),
    ...(inRegular ? [{ text: 'return', protocol: false }] : []),
    ...(regular === null
      ? []
      : [
          { text: `jump ${regular}`, protocol: false },
          { text: `goto ${regular}`, protocol: false },
        ]),
  ];
  return d.pick(options);
}

function rule(d: Draw, v: Vocabulary, spot: Spot): string {
  // with an IPv6 side, each rule's addresses are of one family (nft refuses both in one rule)
  const a =
    spot.six !== null && d.chance(0.5) ? addressesOf('ip6', spot.six) : addressesOf('ip', v);
  const t = verdict(d, a, spot);
  const tcp = t.text.includes('tcp ');
  const cs = conditions(d, v, a, spot.place.hook, t.protocol, tcp);
  return [
    ...cs,
    ...(tcp && !cs.some((c) => c.includes('tcp')) ? ['meta l4proto tcp'] : []),
    t.text,
  ].join(' ');
}

/** One chain's text: its head (for a base chain) and rules. */
function chainText(name: string, head: string | null, rules: readonly string[]): string {
  const body = [...(head === null ? [] : [head]), ...rules].map((l) => `\t\t${l}\n`).join('');
  return `\tchain ${name} {\n${body}\t}\n`;
}

/**
 * One random scenario: the base capture's nftables ruleset and an operator table of 1–3 base
 * chains (3–9 rules in all) and maybe a regular chain.
 */
export function randomNftScenario(
  base: ScenarioInput,
  seed: number,
  operator: NftOperator = NFT,
): ScenarioInput {
  const d = draw(seed);
  const v = IPV4.vocabulary(base);
  const six = operator.ipv6 ? IPV6.vocabulary(base) : null;
  const dualStack = base.name.includes('ipv6');
  const kind: TableKind =
    six !== null || (dualStack && d.chance(0.5))
      ? { family: 'inet', stopsNameProtocol: true }
      : { family: 'ip', stopsNameProtocol: false };
  const regular = d.chance(0.4) ? 'op' : null;
  const count = 1 + Math.floor(d.chance(0.5) ? 2 : 1);
  const used = new Set<string>();
  const chains: string[] = [];
  const regularRules: string[] = [];
  for (let i = 0; i < count; i++) {
    const place = d.pick(PLACES);
    const priority = d.pick(place.priorities);
    const key = `${place.hook}/${priority}`;
    if (used.has(key)) continue;
    used.add(key);
    const drop =
      place.type === 'filter' &&
      (place.hook === 'input' || place.hook === 'forward') &&
      d.chance(0.3);
    const head = [
      `type ${place.type} hook ${place.hook} priority ${priority}; policy ${drop ? 'drop' : 'accept'};`,
      ...(drop && kind.family === 'inet' ? ['meta l4proto ipv6-icmp accept'] : []),
      ...(drop && d.chance(0.8) ? ['ct state established,related accept'] : []),
      ...(drop && place.hook === 'input' && d.chance(0.8) ? ['iifname "lo" accept'] : []),
    ].join('\n\t\t');
    // one base chain calls the regular one: its rules are valid at that chain's hook
    const jump = place.type === 'filter' && regularRules.length === 0 ? regular : null;
    const body = Array.from({ length: d.pick([1, 2, 3, 4]) }, () =>
      rule(d, v, { place, priority, kind, regular: jump, inRegular: false, six }),
    );
    if (jump !== null) {
      const m = d.pick([1, 2, 3]);
      const spot = { place, priority, kind, regular: null, inRegular: true, six };
      for (let j = 0; j < m; j++) regularRules.push(rule(d, v, spot));
    }
    chains.push(chainText(`b${i}`, head, body));
  }
  const operators = [EXTERNAL.clientAddress, '10.0.0.0/8', ...v.containers.map((c) => c.address)];
  const set = `\tset operators {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { ${[
    ...new Set([d.pick(operators), d.pick(operators)]),
  ].join(', ')} }\n\t}\n`;
  const own = `table ${kind.family} operator {\n${set}${
    regularRules.length > 0 ? chainText('op', null, regularRules) : ''
  }${chains.join('')}}\n`;
  return {
    ...base,
    name: `${operator.prefix}-${seed}/${base.name}`,
    nftRuleset: [base.nftRuleset ?? '', own].join(''),
    expect: [],
  };
}

/** The random nftables scenarios for these seeds, each over one of the bases (by seed). */
export function randomNftScenarios(
  captures: readonly ScenarioInput[],
  seeds: readonly number[],
  operator: NftOperator = NFT,
): ScenarioInput[] {
  return seededScenarios(captures, operator.bases, seeds, (base, seed) =>
    randomNftScenario(base, seed, operator),
  );
}
