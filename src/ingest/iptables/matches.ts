/**
 * Match modules (`-m name`): which options each takes, how many arguments, how they are typed
 * and normalised, and the fixed order in which iptables-save prints them.
 */
import type {
  AddressType,
  ConntrackState,
  ConntrackStatus,
  Family,
  MatchOption,
  SourceLocation,
  TcpFlag,
} from '../../model/index.ts';
import {
  hex2,
  normaliseMhRange,
  normaliseTos,
  normaliseNumericRange,
  parseAddress,
  parseAddressMask,
  parseIcmpType,
  parseNumericRange,
  parsePort,
  parsePortRange,
  parseUint,
  parseValueMask,
  protocolNumber,
  ValueError,
} from './values.ts';

export interface OptionContext {
  readonly family: Family;
  readonly negated: boolean;
  readonly location: SourceLocation;
  readonly module: string;
  readonly option: string;
}

/** A built option and the option name it sorts by. `null` = normalised away (matches all). */
export type Built = MatchOption | null;

export interface OptionSpec {
  /** Number of argument words; `-1` = every following word (unknown arity). */
  readonly arity: number;
  readonly build: (args: readonly string[], ctx: OptionContext) => Built;
}

export interface ModuleSpec {
  /** Typed or stateful (true) versus kept opaque with an `unsupported-match` warning (false). */
  readonly known: boolean;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Input spellings → canonical option name. */
  readonly aliases?: Readonly<Record<string, string>>;
  /** Canonical print order; options not listed keep input order after the listed ones. */
  readonly order?: readonly string[];
  /** Adds the defaults iptables-save always prints, or drops defaults it never prints. */
  readonly finalize?: (
    options: MatchOption[],
    family: Family,
    location: SourceLocation,
  ) => MatchOption[];
}

// ---------------------------------------------------------------------------------------------
// Builders

function base(ctx: OptionContext): { negated: boolean; location: SourceLocation } {
  return { negated: ctx.negated, location: ctx.location };
}

function arg0(args: readonly string[]): string {
  return args[0] ?? '';
}

/** A stateful option whose arguments are normalised by `norm` (identity by default). */
function st(
  arity: number,
  norm?: (args: readonly string[], ctx: OptionContext) => string[] | null,
  printedAs?: string,
): OptionSpec {
  return {
    arity,
    build: (args, ctx) => {
      const normalised = norm === undefined ? [...args] : norm(args, ctx);
      if (normalised === null) return null;
      const option = printedAs ?? ctx.option;
      return { type: 'stateful', module: ctx.module, option, args: normalised, ...base(ctx) };
    },
  };
}

const flag = st(0);
const one = st(1);

function portSpec(field: 'src' | 'dst', omitFull: boolean): OptionSpec {
  return {
    arity: 1,
    build: (args, ctx) => {
      const range = parsePortRange(arg0(args));
      // tcp/udp do not keep `--dport 0:65535` (it matches every port) unless negated.
      if (omitFull && range.from === 0 && range.to === 65535 && !ctx.negated) return null;
      return { type: 'port', field, ranges: [range], ...base(ctx) };
    },
  };
}

const TCP_FLAGS: readonly TcpFlag[] = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'];

function parseFlags(text: string): TcpFlag[] {
  if (text === 'ALL') return [...TCP_FLAGS];
  if (text === 'NONE') return [];
  const set = new Set<string>();
  for (const part of text.split(',')) {
    const upper = part.toUpperCase();
    if (upper === 'ALL') TCP_FLAGS.forEach((f) => set.add(f));
    else if (upper === 'NONE') continue;
    else if ((TCP_FLAGS as readonly string[]).includes(upper)) set.add(upper);
    else throw new ValueError(`unknown TCP flag '${part}'`);
  }
  return TCP_FLAGS.filter((f) => set.has(f));
}

const tcpFlags: OptionSpec = {
  arity: 2,
  build: (args, ctx) => ({
    type: 'tcp-flags',
    mask: parseFlags(arg0(args)),
    compare: parseFlags(args[1] ?? ''),
    ...base(ctx),
  }),
};

const syn: OptionSpec = {
  arity: 0,
  build: (_args, ctx) => ({
    type: 'tcp-flags',
    mask: ['FIN', 'SYN', 'RST', 'ACK'],
    compare: ['SYN'],
    ...base(ctx),
  }),
};

function multiportSpec(field: 'src' | 'dst' | 'either'): OptionSpec {
  return {
    arity: 1,
    build: (args, ctx) => {
      const parts = arg0(args).split(',');
      if (parts.length > 15) throw new ValueError('too many ports specified (max 15)');
      return { type: 'port', field, ranges: parts.map((p) => parsePortRange(p)), ...base(ctx) };
    },
  };
}

/**
 * A comma list of keywords (case-insensitive) as a set of upper-case names; callers print them
 * in the module's fixed order. An unknown word is a ValueError naming it.
 */
function keywordSet(text: string, allowed: readonly string[], what: string): Set<string> {
  const set = new Set<string>();
  for (const part of text.split(',')) {
    const upper = part.toUpperCase();
    if (!allowed.includes(upper)) throw new ValueError(`${what} '${part}'`);
    set.add(upper);
  }
  return set;
}

const CT_STATES: readonly ConntrackState[] = [
  'INVALID',
  'NEW',
  'RELATED',
  'ESTABLISHED',
  'UNTRACKED',
  'SNAT',
  'DNAT',
];

function ctStateSpec(via: 'state' | 'conntrack'): OptionSpec {
  return {
    arity: 1,
    build: (args, ctx) => {
      const set = keywordSet(arg0(args), CT_STATES, 'bad ctstate');
      return { type: 'ct-state', states: CT_STATES.filter((s) => set.has(s)), via, ...base(ctx) };
    },
  };
}

const CT_STATUSES: readonly ConntrackStatus[] = ['EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'];

const ctStatus: OptionSpec = {
  arity: 1,
  build: (args, ctx) => {
    const set = keywordSet(arg0(args), ['NONE', ...CT_STATUSES], 'bad ctstatus');
    const statuses = CT_STATUSES.filter((s) => set.has(s));
    return {
      type: 'ct-status',
      statuses: statuses.length === 0 ? ['NONE'] : statuses,
      ...base(ctx),
    };
  },
};

function ctAddress(field: 'origsrc' | 'origdst' | 'replsrc' | 'repldst'): OptionSpec {
  return {
    arity: 1,
    build: (args, ctx) => ({
      type: 'ct-address',
      field,
      value: parseAddressMask(arg0(args), ctx.family),
      ...base(ctx),
    }),
  };
}

function ctPort(field: 'origsrc' | 'origdst' | 'replsrc' | 'repldst'): OptionSpec {
  return {
    arity: 1,
    build: (args, ctx) => ({
      type: 'ct-port',
      field,
      range: parsePortRange(arg0(args)),
      ...base(ctx),
    }),
  };
}

const ADDR_TYPES: readonly AddressType[] = [
  'UNSPEC',
  'UNICAST',
  'LOCAL',
  'BROADCAST',
  'ANYCAST',
  'MULTICAST',
  'BLACKHOLE',
  'UNREACHABLE',
  'PROHIBIT',
  'THROW',
  'NAT',
  'XRESOLVE',
];

function addrtypeSpec(field: 'src' | 'dst'): OptionSpec {
  return {
    arity: 1,
    build: (args, ctx) => {
      const set = keywordSet(arg0(args), ADDR_TYPES, 'unknown address type');
      return { type: 'addrtype', field, types: ADDR_TYPES.filter((t) => set.has(t)), ...base(ctx) };
    },
  };
}

function iprangeSpec(field: 'src' | 'dst'): OptionSpec {
  return {
    arity: 1,
    build: (args, ctx) => {
      const text = arg0(args);
      // IPv6 addresses contain no '-', so the first '-' separates the ends.
      const dash = text.indexOf('-');
      const from = parseAddress(dash === -1 ? text : text.slice(0, dash), ctx.family);
      const to = dash === -1 ? from : parseAddress(text.slice(dash + 1), ctx.family);
      return { type: 'iprange', field, range: { family: ctx.family, from, to }, ...base(ctx) };
    },
  };
}

function setSpec(): OptionSpec {
  return {
    arity: 2,
    build: (args, ctx) => {
      const dirs = (args[1] ?? '').split(',').map((d) => {
        if (d !== 'src' && d !== 'dst')
          throw new ValueError(`set direction must be src or dst, got '${d}'`);
        return d;
      });
      return { type: 'set', name: arg0(args), dirs, flags: [], ...base(ctx) };
    },
  };
}

function markSpec(of: 'packet' | 'connection'): OptionSpec {
  return {
    arity: 1,
    build: (args, ctx) => ({
      type: 'mark',
      of,
      ...parseValueMask(arg0(args), 'mark'),
      ...base(ctx),
    }),
  };
}

const icmpSpec: OptionSpec = {
  arity: 1,
  build: (args, ctx) => ({
    type: 'icmp-type',
    family: ctx.module === 'icmp6' ? 'ipv6' : 'ipv4',
    ...parseIcmpType(arg0(args), ctx.module === 'icmp6' ? 'ipv6' : 'ipv4'),
    ...base(ctx),
  }),
};

function physdevSpec(option: 'in' | 'out' | 'is-in' | 'is-out' | 'is-bridged'): OptionSpec {
  const takesName = option === 'in' || option === 'out';
  return {
    arity: takesName ? 1 : 0,
    build: (args, ctx) =>
      takesName
        ? { type: 'physdev', option, name: arg0(args), ...base(ctx) }
        : { type: 'physdev', option, ...base(ctx) },
  };
}

const USERS: Readonly<Record<string, number>> = {
  root: 0,
  daemon: 1,
  bin: 2,
  sys: 3,
  nobody: 65534,
};
const GROUPS: Readonly<Record<string, number>> = {
  root: 0,
  daemon: 1,
  bin: 2,
  sys: 3,
  adm: 4,
  nogroup: 65534,
};

function ownerIdSpec(option: 'uid' | 'gid'): OptionSpec {
  const names = option === 'uid' ? USERS : GROUPS;
  const id = (t: string): number => {
    const known = names[t];
    if (known !== undefined) return known;
    if (!/^\d+$/.test(t))
      throw new ValueError(
        `unknown ${option === 'uid' ? 'user' : 'group'} '${t}' (names need the host's passwd)`,
      );
    return parseUint(t, 0xffffffff, option);
  };
  return {
    arity: 1,
    build: (args, ctx) => {
      const text = arg0(args);
      const dash = text.indexOf('-');
      const from = id(dash === -1 ? text : text.slice(0, dash));
      const to = dash === -1 ? from : id(text.slice(dash + 1));
      return { type: 'owner', option, from, to, ...base(ctx) };
    },
  };
}

function ownerFlag(option: 'socket-exists' | 'suppl-groups'): OptionSpec {
  return { arity: 0, build: (_a, ctx) => ({ type: 'owner', option, ...base(ctx) }) };
}

function ownerRev0(option: 'pid' | 'sid' | 'cmd'): OptionSpec {
  return {
    arity: 1,
    build: (args, ctx) =>
      option === 'cmd'
        ? { type: 'owner', option, name: arg0(args), ...base(ctx) }
        : {
            type: 'owner',
            option,
            from: parseUint(arg0(args), 0xffffffff, option),
            to: parseUint(arg0(args), 0xffffffff, option),
            ...base(ctx),
          },
  };
}

const PKT_TYPES: Readonly<Record<string, 'unicast' | 'broadcast' | 'multicast' | 'otherhost'>> = {
  unicast: 'unicast',
  host: 'unicast',
  broadcast: 'broadcast',
  bcast: 'broadcast',
  multicast: 'multicast',
  mcast: 'multicast',
  otherhost: 'otherhost',
};

const pktType: OptionSpec = {
  arity: 1,
  build: (args, ctx) => {
    const t = PKT_TYPES[arg0(args).toLowerCase()];
    if (t === undefined) throw new ValueError(`bad packet type '${arg0(args)}'`);
    return { type: 'pkttype', pktType: t, ...base(ctx) };
  },
};

const lengthSpec: OptionSpec = {
  arity: 1,
  build: (args, ctx) => {
    const { from, to } = parseNumericRange(arg0(args), 65535, 'length');
    return { type: 'length', from, to, ...base(ctx) };
  },
};

function ttlSpec(op: 'eq' | 'lt' | 'gt', family: Family): OptionSpec {
  return {
    arity: 1,
    build: (args, ctx) => ({
      type: 'ttl',
      family,
      op,
      value: parseUint(arg0(args), 255, 'ttl'),
      ...base(ctx),
    }),
  };
}

const macSpec: OptionSpec = {
  arity: 1,
  build: (args, ctx) => {
    const text = arg0(args).toLowerCase();
    if (!/^[0-9a-f]{1,2}(:[0-9a-f]{1,2}){5}$/.test(text))
      throw new ValueError(`bad mac address '${arg0(args)}'`);
    const address = text
      .split(':')
      .map((p) => p.padStart(2, '0'))
      .join(':');
    return { type: 'mac-source', address, ...base(ctx) };
  },
};

const commentSpec: OptionSpec = {
  arity: 1,
  build: (args, ctx) => {
    // iptables keeps at most 255 bytes of a comment.
    let text = arg0(args);
    if (Buffer.byteLength(text) > 255) text = Buffer.from(text).subarray(0, 255).toString();
    return { type: 'comment', text, ...base(ctx) };
  },
};

// ---------------------------------------------------------------------------------------------
// Normalisers for stateful modules

function range(max: number, what: string, omitFull = true) {
  return (args: readonly string[], ctx: OptionContext): string[] | null => {
    const text = normaliseNumericRange(arg0(args), max, what);
    if (omitFull && !ctx.negated && text === `0:${max}`) return null;
    return [text];
  };
}

const LIMIT_UNITS: readonly (readonly [string, number])[] = [
  ['day', 86400],
  ['hour', 3600],
  ['min', 60],
  ['sec', 1],
];

/**
 * `N/unit` → the text iptables prints back: the kernel keeps only a period (scale × seconds / N),
 * and `print_rate` picks the unit from that period, so `60/min` comes back as `1/sec`.
 */
function normaliseRate(text: string, scale = 10000): string {
  const m =
    /^(\d+)(?:\/(s|se|sec|seco|secon|second|m|mi|min|minu|minut|minute|h|ho|hou|hour|d|da|day))?$/i.exec(
      text,
    );
  if (m === null) throw new ValueError(`bad rate '${text}'`);
  const n = Number(m[1]);
  if (n === 0) throw new ValueError(`rate '${text}' must be positive`);
  const unit = (m[2] ?? 'sec').toLowerCase()[0];
  const seconds = unit === 'd' ? 86400 : unit === 'h' ? 3600 : unit === 'm' ? 60 : 1;
  if (n > scale * seconds) throw new ValueError(`rate '${text}' too fast`);
  const period = Math.floor((scale * seconds) / n);
  const mults = LIMIT_UNITS.map(([name, secs]) => [name, secs * scale] as const);
  let i = 1;
  for (; i < mults.length; i++) {
    const mult = (mults[i] as readonly [string, number])[1];
    if (period > mult || Math.floor(mult / period) < mult % period) break;
  }
  const [name, mult] = mults[i - 1] as readonly [string, number];
  return `${Math.floor(mult / period)}/${name}`;
}

function normaliseHashRate(text: string): string {
  const bytes = /^(\d+)(b|kb|mb)\/s$/i.exec(text);
  if (bytes !== null) return `${bytes[1]}${(bytes[2] ?? 'b').toLowerCase()}/s`;
  return normaliseRate(text, 1000000);
}

function clockTime(text: string): string {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (m === null) throw new ValueError(`invalid time '${text}'`);
  return `${(m[1] ?? '').padStart(2, '0')}:${m[2] ?? '00'}:${m[3] ?? '00'}`;
}

const DSCP_CLASSES: Readonly<Record<string, number>> = {
  CS0: 0,
  CS1: 8,
  CS2: 16,
  CS3: 24,
  CS4: 32,
  CS5: 40,
  CS6: 48,
  CS7: 56,
  BE: 0,
  AF11: 10,
  AF12: 12,
  AF13: 14,
  AF21: 18,
  AF22: 20,
  AF23: 22,
  AF31: 26,
  AF32: 28,
  AF33: 30,
  AF41: 34,
  AF42: 36,
  AF43: 38,
  EF: 46,
};

export function dscpClass(text: string): number {
  const n = DSCP_CLASSES[text.toUpperCase()];
  if (n === undefined) throw new ValueError(`unknown DSCP class '${text}'`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// The modules

const tcpLike = (
  extra: Record<string, OptionSpec>,
  extraOrder: string[],
  omitFull = true,
): ModuleSpec => ({
  known: true,
  options: { '--sport': portSpec('src', omitFull), '--dport': portSpec('dst', omitFull), ...extra },
  aliases: { '--source-port': '--sport', '--destination-port': '--dport' },
  order: ['--sport', '--dport', ...extraOrder],
});

function recentFinalize(
  options: MatchOption[],
  family: Family,
  location: SourceLocation,
): MatchOption[] {
  const has = (o: string): boolean => options.some((x) => x.type === 'stateful' && x.option === o);
  const add = (option: string, args: string[]): void => {
    options.push({ type: 'stateful', module: 'recent', option, args, negated: false, location });
  };
  if (!has('--name')) add('--name', ['DEFAULT']);
  if (!has('--mask'))
    add('--mask', [
      family === 'ipv4' ? '255.255.255.255' : 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    ]);
  if (!has('--rdest') && !has('--rsource')) add('--rsource', []);
  return options;
}

function connlimitFinalize(
  options: MatchOption[],
  family: Family,
  location: SourceLocation,
): MatchOption[] {
  const has = (o: string): boolean => options.some((x) => x.type === 'stateful' && x.option === o);
  const add = (option: string, args: string[]): void => {
    options.push({ type: 'stateful', module: 'connlimit', option, args, negated: false, location });
  };
  if (!has('--connlimit-mask')) add('--connlimit-mask', [family === 'ipv4' ? '32' : '128']);
  if (!has('--connlimit-daddr') && !has('--connlimit-saddr')) add('--connlimit-saddr', []);
  return options;
}

function dropStateful(options: MatchOption[], option: string, value: string): MatchOption[] {
  return options.filter(
    (o) => !(o.type === 'stateful' && o.option === option && o.args[0] === value && !o.negated),
  );
}

/** tc-style rates (`5kbit`, `1mbps`) → bits per second as rateest prints them. */
function normaliseBitRate(text: string): string {
  const m = /^(\d+)(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)?$/i.exec(text);
  if (m === null) return text;
  const factor: Readonly<Record<string, number>> = {
    bit: 1,
    kbit: 1000,
    mbit: 1e6,
    gbit: 1e9,
    bps: 8,
    kbps: 8000,
    mbps: 8e6,
    gbps: 8e9,
  };
  return `${Number(m[1]) * (factor[(m[2] ?? 'bit').toLowerCase()] ?? 1)}bit`;
}

/**
 * u32 keeps only numbers and operators: iptables prints every number as `0x…` (lower case),
 * drops blanks, and prints a one-value range `a:a` as `a`.
 */
function normaliseU32(text: string): string {
  const hexed = text
    .replace(/\s+/g, '')
    .replace(
      /0[xX][0-9a-fA-F]+|\d+/g,
      (n) =>
        `0x${(n.startsWith('0x') || n.startsWith('0X') ? parseInt(n.slice(2), 16) : Number(n)).toString(16)}`,
    );
  return hexed.replace(/(0x[0-9a-f]+):(0x[0-9a-f]+)/g, (whole, a: string, b: string) =>
    a === b ? a : whole,
  );
}

/** policy prints each element (between `--next`) in a fixed order: tunnel-dst before tunnel-src. */
function policyOrder(options: MatchOption[]): MatchOption[] {
  const rank: Readonly<Record<string, number>> = {
    '--reqid': 0,
    '--spi': 1,
    '--proto': 2,
    '--mode': 3,
    '--tunnel-dst': 4,
    '--tunnel-src': 5,
  };
  const out: MatchOption[] = [];
  let element: MatchOption[] = [];
  const key = (o: MatchOption): number => (o.type === 'stateful' ? (rank[o.option] ?? -1) : -1);
  const flush = (): void => {
    const sorted = element
      .map((o, i) => ({ o, i }))
      .sort((a, b) => key(a.o) - key(b.o) || a.i - b.i);
    out.push(...sorted.map((x) => x.o));
    element = [];
  };
  for (const o of options) {
    if (o.type === 'stateful' && o.option === '--next') {
      flush();
      out.push(o);
    } else element.push(o);
  }
  flush();
  return out;
}

export const MODULES: Readonly<Record<string, ModuleSpec>> = {
  cluster: {
    known: true,
    options: {
      '--cluster-local-node': st(
        1,
        (a) => [`0x${(2 ** (parseUint(arg0(a), 32, 'node') - 1)).toString(16).padStart(8, '0')}`],
        '--cluster-local-nodemask',
      ),
      '--cluster-local-nodemask': one,
      '--cluster-total-nodes': one,
      '--cluster-hash-seed': one,
    },
    order: ['--cluster-local-nodemask', '--cluster-total-nodes', '--cluster-hash-seed'],
  },
  rateest: {
    known: true,
    options: {
      '--rateest': one,
      '--rateest1': one,
      '--rateest2': one,
      '--rateest-delta': flag,
      '--rateest-lt': flag,
      '--rateest-gt': flag,
      '--rateest-eq': flag,
      // The rate value is optional (`--rateest-bps --rateest2 RE2` compares two estimators).
      '--rateest-bps': st(-1, (a) => a.map(normaliseBitRate)),
      '--rateest-pps': st(-1),
      '--rateest-bps1': st(-1, (a) => a.map(normaliseBitRate)),
      '--rateest-pps1': st(-1),
      '--rateest-bps2': st(-1, (a) => a.map(normaliseBitRate)),
      '--rateest-pps2': st(-1),
    },
  },
  tcp: tcpLike(
    {
      '--tcp-flags': tcpFlags,
      '--syn': syn,
      '--tcp-option': {
        arity: 1,
        build: (a, c) => ({
          type: 'tcp-option',
          number: parseUint(arg0(a), 255, 'tcp option'),
          ...base(c),
        }),
      },
    },
    ['--tcp-option', '--tcp-flags'],
  ),
  udp: tcpLike({}, []),
  udplite: tcpLike({}, []),
  sctp: tcpLike({ '--chunk-types': st(2) }, ['--chunk-types']),
  dccp: tcpLike(
    { '--dccp-types': one, '--dccp-option': one },
    ['--dccp-types', '--dccp-option'],
    false,
  ),
  multiport: {
    known: true,
    options: {
      '--sports': multiportSpec('src'),
      '--dports': multiportSpec('dst'),
      '--ports': multiportSpec('either'),
    },
    aliases: {
      '--source-ports': '--sports',
      '--sport': '--sports',
      '--destination-ports': '--dports',
      '--dport': '--dports',
      '--port': '--ports',
    },
  },
  conntrack: {
    known: true,
    options: {
      '--ctstate': ctStateSpec('conntrack'),
      '--ctproto': {
        arity: 1,
        build: (a, c) => ({ type: 'ct-proto', number: protocolNumber(arg0(a)), ...base(c) }),
      },
      '--ctorigsrc': ctAddress('origsrc'),
      '--ctorigdst': ctAddress('origdst'),
      '--ctreplsrc': ctAddress('replsrc'),
      '--ctrepldst': ctAddress('repldst'),
      '--ctorigsrcport': ctPort('origsrc'),
      '--ctorigdstport': ctPort('origdst'),
      '--ctreplsrcport': ctPort('replsrc'),
      '--ctrepldstport': ctPort('repldst'),
      '--ctstatus': ctStatus,
      '--ctexpire': {
        arity: 1,
        build: (a, c) => {
          const [from, to] = normaliseNumericRange(arg0(a), 0xffffffff, 'expire')
            .split(':')
            .map(Number);
          return { type: 'ct-expire', from: from ?? 0, to: to ?? from ?? 0, ...base(c) };
        },
      },
      '--ctdir': {
        arity: 1,
        build: (a, c) => {
          const dir = arg0(a).toUpperCase();
          if (dir !== 'ORIGINAL' && dir !== 'REPLY') throw new ValueError(`bad ctdir '${arg0(a)}'`);
          return { type: 'ct-dir', dir, ...base(c) };
        },
      },
    },
    order: [
      '--ctstate',
      '--ctproto',
      '--ctorigsrc',
      '--ctorigdst',
      '--ctreplsrc',
      '--ctrepldst',
      '--ctorigsrcport',
      '--ctorigdstport',
      '--ctreplsrcport',
      '--ctrepldstport',
      '--ctstatus',
      '--ctexpire',
      '--ctdir',
    ],
  },
  state: { known: true, options: { '--state': ctStateSpec('state') } },
  addrtype: {
    known: true,
    options: {
      '--src-type': addrtypeSpec('src'),
      '--dst-type': addrtypeSpec('dst'),
      '--limit-iface-in': {
        arity: 0,
        build: (_a, c) => ({ type: 'addrtype-limit-iface', dir: 'in', ...base(c) }),
      },
      '--limit-iface-out': {
        arity: 0,
        build: (_a, c) => ({ type: 'addrtype-limit-iface', dir: 'out', ...base(c) }),
      },
    },
    order: ['--src-type', '--dst-type', '--limit-iface-in', '--limit-iface-out'],
  },
  iprange: {
    known: true,
    options: { '--src-range': iprangeSpec('src'), '--dst-range': iprangeSpec('dst') },
    order: ['--src-range', '--dst-range'],
  },
  set: {
    known: true,
    options: {
      '--match-set': setSpec(),
      '--return-nomatch': flag,
      '--update-counters': flag,
      '--update-subcounters': flag,
      '--packets-eq': one,
      '--packets-lt': one,
      '--packets-gt': one,
      '--bytes-eq': one,
      '--bytes-lt': one,
      '--bytes-gt': one,
    },
    aliases: { '--set': '--match-set' },
  },
  comment: { known: true, options: { '--comment': commentSpec } },
  mark: { known: true, options: { '--mark': markSpec('packet') } },
  connmark: { known: true, options: { '--mark': markSpec('connection') } },
  icmp: { known: true, options: { '--icmp-type': icmpSpec } },
  icmp6: { known: true, options: { '--icmpv6-type': icmpSpec } },
  mac: { known: true, options: { '--mac-source': macSpec } },
  physdev: {
    known: true,
    options: {
      '--physdev-in': physdevSpec('in'),
      '--physdev-out': physdevSpec('out'),
      '--physdev-is-in': physdevSpec('is-in'),
      '--physdev-is-out': physdevSpec('is-out'),
      '--physdev-is-bridged': physdevSpec('is-bridged'),
    },
    order: [
      '--physdev-is-in',
      '--physdev-in',
      '--physdev-is-out',
      '--physdev-out',
      '--physdev-is-bridged',
    ],
  },
  owner: {
    known: true,
    options: {
      '--uid-owner': ownerIdSpec('uid'),
      '--gid-owner': ownerIdSpec('gid'),
      '--socket-exists': ownerFlag('socket-exists'),
      '--suppl-groups': ownerFlag('suppl-groups'),
      '--pid-owner': ownerRev0('pid'),
      '--sid-owner': ownerRev0('sid'),
      '--cmd-owner': ownerRev0('cmd'),
    },
    order: [
      '--socket-exists',
      '--uid-owner',
      '--gid-owner',
      '--suppl-groups',
      '--pid-owner',
      '--sid-owner',
      '--cmd-owner',
    ],
  },
  pkttype: { known: true, options: { '--pkt-type': pktType } },
  length: { known: true, options: { '--length': lengthSpec } },
  ttl: {
    known: true,
    options: {
      '--ttl-eq': ttlSpec('eq', 'ipv4'),
      '--ttl-lt': ttlSpec('lt', 'ipv4'),
      '--ttl-gt': ttlSpec('gt', 'ipv4'),
    },
  },
  hl: {
    known: true,
    options: {
      '--hl-eq': ttlSpec('eq', 'ipv6'),
      '--hl-lt': ttlSpec('lt', 'ipv6'),
      '--hl-gt': ttlSpec('gt', 'ipv6'),
    },
  },
  // ----- stateful: typed by name with normalised arguments
  limit: {
    known: true,
    options: {
      '--limit': st(1, (a) => [normaliseRate(arg0(a))]),
      '--limit-burst': st(1, (a) => [String(parseUint(arg0(a), 10000, 'burst'))]),
    },
    order: ['--limit', '--limit-burst'],
    finalize: (o) => dropStateful(o, '--limit-burst', '5'),
  },
  hashlimit: {
    known: true,
    options: {
      '--hashlimit-upto': st(1, (a) => [normaliseHashRate(arg0(a))]),
      '--hashlimit-above': st(1, (a) => [normaliseHashRate(arg0(a))]),
      '--hashlimit': st(1, (a) => [normaliseRate(arg0(a))]),
      '--hashlimit-burst': one,
      '--hashlimit-mode': one,
      '--hashlimit-name': one,
      '--hashlimit-htable-size': one,
      '--hashlimit-htable-max': one,
      '--hashlimit-htable-gcinterval': one,
      '--hashlimit-htable-expire': one,
      '--hashlimit-srcmask': one,
      '--hashlimit-dstmask': one,
      '--hashlimit-rate-match': flag,
      '--hashlimit-rate-interval': one,
    },
    order: [
      '--hashlimit',
      '--hashlimit-upto',
      '--hashlimit-above',
      '--hashlimit-burst',
      '--hashlimit-mode',
      '--hashlimit-name',
      '--hashlimit-htable-size',
      '--hashlimit-htable-max',
      '--hashlimit-htable-gcinterval',
      '--hashlimit-htable-expire',
      '--hashlimit-srcmask',
      '--hashlimit-dstmask',
      '--hashlimit-rate-match',
      '--hashlimit-rate-interval',
    ],
    finalize: (o, _f, location) => {
      const rate = o.find(
        (x) =>
          x.type === 'stateful' &&
          (x.option === '--hashlimit-upto' || x.option === '--hashlimit-above'),
      );
      const packets = rate?.type === 'stateful' && !/b\/s$/.test(rate.args[0] ?? '');
      const hasBurst = o.some((x) => x.type === 'stateful' && x.option === '--hashlimit-burst');
      if (packets && !hasBurst) {
        o.push({
          type: 'stateful',
          module: 'hashlimit',
          option: '--hashlimit-burst',
          args: ['5'],
          negated: false,
          location,
        });
      }
      return o;
    },
  },
  // its flags make one reverse path test (the engine's `rpfilter`, reverse-path.ts)
  rpfilter: {
    known: true,
    options: { '--loose': flag, '--validmark': flag, '--accept-local': flag, '--invert': flag },
    order: ['--loose', '--validmark', '--accept-local', '--invert'],
    finalize: (o, _family, location) => {
      // a negated flag (`! --invert`, which iptables refuses) leaves the match undecided
      if (o.some((x) => x.negated)) return o;
      const has = (name: string): boolean =>
        o.some((x) => x.type === 'stateful' && x.option === name);
      return [
        {
          type: 'rpfilter',
          loose: has('--loose'),
          mark: has('--validmark'),
          acceptLocal: has('--accept-local'),
          negated: has('--invert'),
          location,
        },
      ];
    },
  },
  recent: {
    known: true,
    options: {
      '--set': flag,
      '--rcheck': flag,
      '--update': flag,
      '--remove': flag,
      '--seconds': one,
      '--reap': flag,
      '--hitcount': one,
      '--rttl': flag,
      '--name': one,
      '--mask': st(1, (a, c) => [parseAddress(arg0(a), c.family)]),
      '--rsource': flag,
      '--rdest': flag,
    },
    order: [
      '--set',
      '--rcheck',
      '--update',
      '--remove',
      '--seconds',
      '--reap',
      '--hitcount',
      '--rttl',
      '--name',
      '--mask',
      '--rsource',
      '--rdest',
    ],
    finalize: recentFinalize,
  },
  statistic: {
    known: true,
    options: {
      '--mode': one,
      '--probability': st(1, (a) => {
        const p = Number(arg0(a));
        if (!Number.isFinite(p) || p < 0 || p > 1)
          throw new ValueError(`bad probability '${arg0(a)}'`);
        // The kernel keeps p × 2^31; iptables prints it back with 11 decimals.
        const stored = Math.round(p * 0x80000000);
        return [(stored / 0x80000000).toFixed(11)];
      }),
      '--every': st(1, (a) => [String(parseUint(arg0(a), 0xffffffff, 'every'))]),
      '--packet': one,
    },
    order: ['--mode', '--probability', '--every', '--packet'],
  },
  string: {
    known: true,
    options: {
      '--string': one,
      '--hex-string': one,
      '--algo': one,
      '--from': one,
      '--to': one,
      '--icase': flag,
    },
    order: ['--string', '--hex-string', '--algo', '--from', '--to', '--icase'],
    finalize: (o) => dropStateful(dropStateful(o, '--from', '0'), '--to', '65535'),
  },
  u32: { known: true, options: { '--u32': st(1, (a) => [normaliseU32(arg0(a))]) } },
  bpf: { known: true, options: { '--bytecode': one, '--object-pinned': one } },
  socket: {
    known: true,
    options: { '--transparent': flag, '--nowildcard': flag, '--restore-skmark': flag },
    order: ['--transparent', '--nowildcard', '--restore-skmark'],
  },
  time: {
    known: true,
    options: {
      '--timestart': st(1, (a) => [clockTime(arg0(a))]),
      '--timestop': st(1, (a) => [clockTime(arg0(a))]),
      '--monthdays': one,
      '--weekdays': one,
      '--datestart': one,
      '--datestop': one,
      '--kerneltz': flag,
      '--localtz': flag,
      '--utc': flag,
      '--contiguous': flag,
    },
    // iptables ≤ 1.3 spelled the weekday list `--days`.
    aliases: { '--days': '--weekdays' },
    order: [
      '--timestart',
      '--timestop',
      '--monthdays',
      '--weekdays',
      '--datestart',
      '--datestop',
      '--kerneltz',
      '--contiguous',
    ],
    finalize: (o) =>
      o.filter(
        (x) => !(x.type === 'stateful' && (x.option === '--utc' || x.option === '--localtz')),
      ),
  },
  connlimit: {
    known: true,
    options: {
      '--connlimit-upto': one,
      '--connlimit-above': one,
      '--connlimit-mask': one,
      '--connlimit-saddr': flag,
      '--connlimit-daddr': flag,
    },
    order: [
      '--connlimit-upto',
      '--connlimit-above',
      '--connlimit-mask',
      '--connlimit-saddr',
      '--connlimit-daddr',
    ],
    finalize: connlimitFinalize,
  },
  connbytes: {
    known: true,
    options: {
      '--connbytes': st(1, (a) => {
        const text = arg0(a);
        const i = text.indexOf(':');
        if (i === -1) return [String(parseUint(text, Number.MAX_SAFE_INTEGER, 'connbytes'))];
        const from =
          i === 0 ? 0 : parseUint(text.slice(0, i), Number.MAX_SAFE_INTEGER, 'connbytes');
        const to =
          i === text.length - 1
            ? null
            : parseUint(text.slice(i + 1), Number.MAX_SAFE_INTEGER, 'connbytes');
        return [to === null ? String(from) : `${from}:${to}`];
      }),
      '--connbytes-mode': one,
      '--connbytes-dir': one,
    },
    order: ['--connbytes', '--connbytes-mode', '--connbytes-dir'],
  },
  helper: { known: true, options: { '--helper': one } },
  dscp: {
    known: true,
    options: {
      '--dscp': st(1, (a) => [hex2(parseUint(arg0(a), 63, 'dscp'))]),
      '--dscp-class': st(1, (a) => [hex2(dscpClass(arg0(a)))], '--dscp'),
    },
  },
  tos: { known: true, options: { '--tos': st(1, (a) => [normaliseTos(arg0(a))]) } },
  esp: { known: true, options: { '--espspi': st(1, range(0xffffffff, 'spi')) } },
  ah: {
    known: true,
    options: { '--ahspi': st(1, range(0xffffffff, 'spi')), '--ahlen': one, '--ahres': flag },
  },
  ipcomp: {
    known: true,
    options: { '--ipcompspi': st(1, range(0xffffffff, 'spi')), '--compres': flag },
  },
  frag: {
    known: true,
    options: {
      '--fragid': st(1, range(0xffffffff, 'id')),
      '--fraglen': one,
      '--fragres': flag,
      '--fragfirst': flag,
      '--fragmore': flag,
      '--fraglast': flag,
    },
    order: ['--fragid', '--fraglen', '--fragres', '--fragfirst', '--fragmore', '--fraglast'],
  },
  rt: {
    known: true,
    options: {
      '--rt-type': one,
      '--rt-segsleft': st(1, range(0xffffffff, 'segsleft')),
      '--rt-len': one,
      '--rt-0-res': flag,
      '--rt-0-addrs': one,
      '--rt-0-not-strict': flag,
    },
    order: [
      '--rt-type',
      '--rt-segsleft',
      '--rt-len',
      '--rt-0-res',
      '--rt-0-addrs',
      '--rt-0-not-strict',
    ],
  },
  mh: {
    known: true,
    options: {
      '--mh-type': st(1, (a, c) => {
        const t = normaliseMhRange(arg0(a));
        return !c.negated && t === '0:255' ? null : [t];
      }),
    },
  },
  tcpmss: { known: true, options: { '--mss': st(1, range(65535, 'mss', false)) } },
  quota: { known: true, options: { '--quota': one } },
  policy: {
    known: true,
    options: {
      '--dir': one,
      '--pol': one,
      '--strict': flag,
      '--reqid': one,
      '--spi': one,
      '--proto': one,
      '--mode': one,
      '--tunnel-src': one,
      '--tunnel-dst': one,
      '--next': flag,
    },
    finalize: policyOrder,
  },
  ipvs: {
    known: true,
    options: {
      '--ipvs': flag,
      '--vproto': st(1, (a) => [String(protocolNumber(arg0(a)))]),
      '--vaddr': st(1, (a, c) => {
        // ipvs prints the address as given (host bits kept) and omits a host mask.
        const text = arg0(a);
        const slash = text.indexOf('/');
        const addr = parseAddress(slash === -1 ? text : text.slice(0, slash), c.family);
        const v = parseAddressMask(text, c.family);
        const full = c.family === 'ipv4' ? 32 : 128;
        return [v.prefixLength === full ? addr : `${addr}/${v.prefixLength ?? v.mask}`];
      }),
      '--vport': st(1, (a) => [String(parsePort(arg0(a)))]),
      '--vdir': one,
      '--vmethod': one,
      '--vportctl': st(1, (a) => [String(parsePort(arg0(a)))]),
    },
    order: ['--ipvs', '--vproto', '--vaddr', '--vport', '--vdir', '--vmethod', '--vportctl'],
  },
};

/** Option name → canonical name for a module (aliases and unique prefixes are not guessed). */
export function canonicalOption(spec: ModuleSpec, option: string): string | null {
  if (spec.options[option] !== undefined) return option;
  const alias = spec.aliases?.[option];
  return alias ?? null;
}

/** Protocols that load a match of the same name implicitly (`-p tcp --dport 22`). */
export const IMPLICIT_MODULE: Readonly<Record<number, string>> = {
  6: 'tcp',
  17: 'udp',
  136: 'udplite',
  132: 'sctp',
  33: 'dccp',
  1: 'icmp',
  58: 'icmp6',
  50: 'esp',
  51: 'ah',
  135: 'mh',
};
