/**
 * The nftables syntax tree (from JSON or text) into the model: tables with their family, base
 * chains with type, hook and priority, rules as typed match options, statements in order and a
 * verdict. Expressions mean the same as their iptables counterparts where they can
 * (`ip daddr` → address, `tcp dport` → protocol + port, `ct original proto-dst` → ct-port,
 * `fib daddr type local` → addrtype); set lookups and verdict maps get their own kinds. Anything
 * not understood is kept whole as `opaque` / `extension` with an `unsupported-nft-*` diagnostic,
 * so the engine treats it as "possibly" — never dropped, never guessed.
 */
import type {
  Diagnostic,
  DiagnosticCode,
  SourceLocation,
  Severity,
} from '../../model/diagnostic.ts';
import { diagnostic } from '../../model/diagnostic.ts';
import { echo } from '../../model/safe-text.ts';
import type {
  AddressType,
  BaseChain,
  Chain,
  ConntrackState,
  ConntrackStatus,
  Counters,
  Family,
  MatchModule,
  MatchOption,
  NatRange,
  NftFamily,
  NftHook,
  NftRuleset,
  NftSet,
  PortRange,
  Rule,
  RuleStep,
  Table,
  Target,
  TcpFlag,
  VmapEntry,
} from '../../model/ruleset.ts';
import { tableId } from '../../model/ruleset.ts';
import {
  parseAddress,
  parseAddressMask,
  parsePort,
  parseProtocol,
  ValueError,
} from '../iptables/values.ts';
import type {
  NftChainAst,
  NftExpr,
  NftMatchOp,
  NftRuleAst,
  NftRulesetAst,
  NftSetAst,
  NftStmt,
  NftTableAst,
} from './ast.ts';
import { renderExpr, renderStmt } from './render.ts';
import {
  addressType,
  ctState,
  ctStatus,
  familyOfProto,
  icmpType,
  parsePriority,
  pktType,
  tcpFlag,
} from './values.ts';

const FAMILIES: ReadonlySet<string> = new Set(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);
const HOOKS: ReadonlySet<string> = new Set([
  'ingress',
  'prerouting',
  'input',
  'forward',
  'output',
  'postrouting',
  'egress',
]);
const IPTABLES_TABLES: ReadonlySet<string> = new Set([
  'filter',
  'nat',
  'mangle',
  'raw',
  'security',
]);

interface TableCtx {
  readonly family: NftFamily;
  readonly id: string;
  readonly sets: ReadonlyMap<string, NftSetAst>;
  readonly dynamic: ReadonlySet<string>;
  readonly diagnostics: Diagnostic[];
  /**
   * iptables-nft's tables: what nft cannot print of them (xt extensions) is counted, not
   * reported one by one; iptables-save is the listing to read them from.
   */
  readonly compat: { unsupported: number } | null;
}

function say(
  t: TableCtx,
  code: DiagnosticCode,
  severity: Severity,
  message: string,
  at: SourceLocation,
): void {
  if (t.compat !== null && code.startsWith('unsupported-')) t.compat.unsupported += 1;
  else t.diagnostics.push(diagnostic(code, severity, message, at));
}

/** The IP family a table's own payload matches are in (null: both, decided per expression). */
function tableFamily(f: NftFamily): Family | null {
  return f === 'ip' ? 'ipv4' : f === 'ip6' ? 'ipv6' : null;
}

// ---------------------------------------------------------------------------------------------
// Selectors: what the left side of a match reads

type CtField = 'origsrc' | 'origdst' | 'replsrc' | 'repldst';

type Sel =
  | { readonly kind: 'addr'; readonly field: 'src' | 'dst'; readonly family: Family }
  | {
      readonly kind: 'port';
      readonly field: 'src' | 'dst';
      readonly proto: { number: number; name: string } | null;
    }
  | { readonly kind: 'proto'; readonly family: Family | null }
  | { readonly kind: 'iface'; readonly field: 'in' | 'out' }
  | { readonly kind: 'ctstate' }
  | { readonly kind: 'ctstatus' }
  | { readonly kind: 'ctdir' }
  | { readonly kind: 'ctaddr'; readonly field: CtField; readonly family: Family | null }
  | { readonly kind: 'ctport'; readonly field: CtField }
  | { readonly kind: 'ctproto' }
  | { readonly kind: 'mark'; readonly of: 'packet' | 'connection'; readonly mask: number }
  | { readonly kind: 'rpf'; readonly loose: boolean; readonly mark: boolean }
  | {
      readonly kind: 'fibtype';
      readonly field: 'src' | 'dst';
      readonly limit: 'in' | 'out' | null;
    }
  | { readonly kind: 'nfproto' }
  | { readonly kind: 'icmp'; readonly family: Family }
  | { readonly kind: 'tcpflags'; readonly mask: readonly TcpFlag[] | null }
  | { readonly kind: 'pkttype' }
  | { readonly kind: 'ttl'; readonly family: Family }
  | { readonly kind: 'length' }
  | { readonly kind: 'owner'; readonly option: 'uid' | 'gid' }
  | { readonly kind: 'mac' }
  /**
   * An extension header's or IP option's field (`rt type`; `test`: `exthdr rt exists`), named
   * as the `ext-header` option names it.
   */
  | {
      readonly kind: 'exthdr';
      readonly family: Family;
      readonly header: string;
      readonly test: boolean;
    }
  /** IPv4's fragment field (`ip frag-off`) under a mask (`& 0x1fff`). */
  | { readonly kind: 'fragoff'; readonly mask: number }
  /** Decided at run time by state dockwall cannot see (numgen, time, sockets, routes…). */
  | { readonly kind: 'stateful'; readonly text: string }
  /** Not understood: kept whole, diagnosed. */
  | { readonly kind: 'unknown'; readonly text: string };

const PORT_PROTOS: Readonly<Record<string, number>> = {
  tcp: 6,
  udp: 17,
  dccp: 33,
  sctp: 132,
  udplite: 136,
};

const STATEFUL_META = new Set([
  'time',
  'hour',
  'day',
  'cpu',
  'random',
  'cgroup',
  'skuid-owner',
  'priority',
  'rtclassid',
  'secpath',
  'ibrname',
  'obrname',
  'iifgroup',
  'oifgroup',
  'iiftype',
  'oiftype',
  'iifkind',
  'oifkind',
  'sdif',
  'sdifname',
  'broute',
  'secmark',
  'ipsec',
]);

const STATEFUL_EXPRS = new Set([
  'numgen',
  'jhash',
  'symhash',
  'rt',
  'socket',
  'osf',
  'ipsec',
  'tunnel',
  'hash',
]);

/** A port match of a selector: `th`'s (no protocol named) reads those bytes of any protocol. */
function portOption(
  sel: Extract<Sel, { kind: 'port' }>,
  ranges: readonly PortRange[],
): { type: 'port'; field: 'src' | 'dst'; ranges: readonly PortRange[]; anyProtocol?: true } {
  const o = { type: 'port' as const, field: sel.field, ranges };
  return sel.proto === null ? { ...o, anyProtocol: true } : o;
}

function selectorOf(e: NftExpr, t: TableCtx): Sel {
  const own = tableFamily(t.family);
  const text = renderExpr(e);
  switch (e.k) {
    case 'payload': {
      const p = e.protocol;
      const f = e.field;
      if (p === 'ip' || p === 'ip6') {
        const family: Family = p === 'ip' ? 'ipv4' : 'ipv6';
        if (f === 'saddr' || f === 'daddr')
          return { kind: 'addr', field: f === 'saddr' ? 'src' : 'dst', family };
        if ((p === 'ip' && f === 'protocol') || (p === 'ip6' && f === 'nexthdr'))
          return { kind: 'proto', family };
        if ((p === 'ip' && f === 'ttl') || (p === 'ip6' && f === 'hoplimit'))
          return { kind: 'ttl', family };
        if (f === 'length') return { kind: 'length' };
        if (p === 'ip' && f === 'frag-off') return { kind: 'fragoff', mask: 0xffff };
        break;
      }
      const pn = PORT_PROTOS[p];
      if ((pn !== undefined || p === 'th') && (f === 'sport' || f === 'dport')) {
        return {
          kind: 'port',
          field: f === 'sport' ? 'src' : 'dst',
          proto: pn === undefined ? null : { number: pn, name: p },
        };
      }
      if (p === 'tcp' && f === 'flags') return { kind: 'tcpflags', mask: null };
      if ((p === 'icmp' || p === 'icmpv6') && f === 'type')
        return { kind: 'icmp', family: p === 'icmp' ? 'ipv4' : 'ipv6' };
      if (p === 'ether' && f === 'saddr') return { kind: 'mac' };
      if (p === 'ether' && f === 'type') return { kind: 'nfproto' };
      break;
    }
    case 'meta': {
      const k = e.key;
      if (k === 'iifname' || k === 'iif') return { kind: 'iface', field: 'in' };
      if (k === 'oifname' || k === 'oif') return { kind: 'iface', field: 'out' };
      if (k === 'l4proto') return { kind: 'proto', family: null };
      if (k === 'nfproto' || k === 'protocol') return { kind: 'nfproto' };
      if (k === 'mark') return { kind: 'mark', of: 'packet', mask: 0xffffffff };
      if (k === 'pkttype') return { kind: 'pkttype' };
      if (k === 'length') return { kind: 'length' };
      if (k === 'skuid' || k === 'skgid')
        return { kind: 'owner', option: k === 'skuid' ? 'uid' : 'gid' };
      if (STATEFUL_META.has(k)) return { kind: 'stateful', text };
      break;
    }
    case 'ct': {
      const words = e.key.split(' ');
      const last = words[words.length - 1] ?? '';
      const fam = words.length > 1 ? (words[0] === 'ip6' ? 'ipv6' : 'ipv4') : own;
      if (e.key === 'state') return { kind: 'ctstate' };
      if (e.key === 'status') return { kind: 'ctstatus' };
      if (e.key === 'direction') return { kind: 'ctdir' };
      if (e.key === 'mark') return { kind: 'mark', of: 'connection', mask: 0xffffffff };
      const dir = e.dir ?? 'original';
      if (last === 'saddr' || last === 'daddr') {
        const field: CtField =
          dir === 'original'
            ? last === 'saddr'
              ? 'origsrc'
              : 'origdst'
            : last === 'saddr'
              ? 'replsrc'
              : 'repldst';
        return { kind: 'ctaddr', field, family: fam };
      }
      if (last === 'proto-src' || last === 'proto-dst') {
        const field: CtField =
          dir === 'original'
            ? last === 'proto-src'
              ? 'origsrc'
              : 'origdst'
            : last === 'proto-src'
              ? 'replsrc'
              : 'repldst';
        return { kind: 'ctport', field };
      }
      if (last === 'protocol') return { kind: 'ctproto' };
      if (last === 'l3proto') return { kind: 'nfproto' };
      return { kind: 'stateful', text };
    }
    case 'fib': {
      // the route back to the source: `fib saddr . iif oif missing` (reverse-path.ts)
      if (
        (e.result === 'oif' || e.result === 'oifname') &&
        e.flags.includes('saddr') &&
        !e.flags.includes('daddr') &&
        !e.flags.includes('oif')
      )
        return { kind: 'rpf', loose: !e.flags.includes('iif'), mark: e.flags.includes('mark') };
      const field = e.flags.includes('saddr') ? 'src' : e.flags.includes('daddr') ? 'dst' : null;
      if (e.result === 'type' && field !== null) {
        const limit = e.flags.includes('iif') ? 'in' : e.flags.includes('oif') ? 'out' : null;
        return { kind: 'fibtype', field, limit };
      }
      return { kind: 'stateful', text };
    }
    case 'exthdr':
      return {
        kind: 'exthdr',
        family: e.family,
        header: e.family === 'ipv4' ? `ip option ${e.header}` : e.header,
        test: e.field === null,
      };
    case 'binop': {
      if (e.op === '&') {
        const inner = selectorOf(e.left, t);
        if (inner.kind === 'fragoff' && e.right.k === 'value' && typeof e.right.value === 'number')
          return { kind: 'fragoff', mask: inner.mask & e.right.value };
        if (inner.kind === 'mark' && e.right.k === 'value' && typeof e.right.value === 'number')
          return { ...inner, mask: e.right.value >>> 0 };
        if (inner.kind === 'tcpflags') {
          const flags = flagList(e.right).map(tcpFlag);
          if (flags.every((f): f is TcpFlag => f !== null))
            return { kind: 'tcpflags', mask: flags };
        }
      }
      break;
    }
    case 'other':
      if (STATEFUL_EXPRS.has(e.name)) return { kind: 'stateful', text };
      break;
    default:
      break;
  }
  return { kind: 'unknown', text };
}

/** The values of a flag expression: `syn`, `fin,syn`, `(fin | syn)`, `{ fin, syn }`. */
function flagList(e: NftExpr): (string | number)[] {
  if (e.k === 'value' && typeof e.value === 'number') return flagBits(e.value);
  if (e.k === 'value' && typeof e.value !== 'boolean') return [e.value];
  if (e.k === 'list' || e.k === 'set') return e.items.flatMap(flagList);
  if (e.k === 'binop' && e.op === '|') return [...flagList(e.left), ...flagList(e.right)];
  if (e.k === 'elem') return flagList(e.value);
  return [];
}

/** TCP's flag bits, lowest first, as nft names them. */
const FLAG_BITS = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg'];

/**
 * A flags value nft lists as a number (1.0.6 prints `tcp flags == syn,ack` as `== 0x12`): its
 * flags by name; ECE and CWR (0x40, 0x80), which the model does not know, stay a number.
 */
function flagBits(value: number): (string | number)[] {
  if (!Number.isInteger(value) || value < 0 || value >= 1 << FLAG_BITS.length) return [value];
  return FLAG_BITS.filter((_, bit) => ((value >> bit) & 1) === 1);
}

/** Options every packet a selector reads must satisfy (nft's implicit dependencies). */
function depsOf(sel: Sel, t: TableCtx, at: SourceLocation): MatchOption[] {
  const own = tableFamily(t.family);
  const family = (f: Family): MatchOption[] =>
    own === null ? [{ type: 'family', family: f, negated: false, location: at }] : [];
  switch (sel.kind) {
    case 'addr':
    case 'ttl':
    case 'exthdr':
      return family(sel.family);
    case 'fragoff':
      return family('ipv4');
    case 'proto':
    case 'ctaddr':
      return sel.family === null ? [] : family(sel.family);
    case 'port':
      return sel.proto === null
        ? []
        : [
            {
              type: 'protocol',
              number: sel.proto.number,
              name: sel.proto.name,
              negated: false,
              location: at,
            },
          ];
    case 'icmp':
      return [
        ...family(sel.family),
        {
          type: 'protocol',
          number: sel.family === 'ipv4' ? 1 : 58,
          name: sel.family === 'ipv4' ? 'icmp' : 'ipv6-icmp',
          negated: false,
          location: at,
        },
      ];
    case 'tcpflags':
      return [{ type: 'protocol', number: 6, name: 'tcp', negated: false, location: at }];
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Values: one right-hand value under a selector → one option (null: not a value of it)

function unwrap(e: NftExpr): NftExpr {
  return e.k === 'elem' ? unwrap(e.value) : e;
}

function scalar(e: NftExpr): string | number | null {
  const v = unwrap(e);
  if (v.k !== 'value' || typeof v.value === 'boolean') return null;
  return v.value;
}

function addrFamily(sel: { family: Family | null }, text: string): Family {
  return sel.family ?? (text.includes(':') ? 'ipv6' : 'ipv4');
}

function portOf(e: NftExpr): PortRange | null {
  const v = unwrap(e);
  if (v.k === 'range') {
    const a = portOf(v.from);
    const b = portOf(v.to);
    return a === null || b === null || a.from > b.to ? null : { from: a.from, to: b.to };
  }
  const s = scalar(v);
  if (s === null) return null;
  let p: number;
  try {
    p = typeof s === 'number' ? s : parsePort(s);
  } catch (err) {
    // not a port nor a service name: the caller says so where the value is
    if (err instanceof ValueError) return null;
    throw err;
  }
  return Number.isInteger(p) && p >= 0 && p <= 65535 ? { from: p, to: p } : null;
}

function numberOf(e: NftExpr): number | null {
  const s = scalar(e);
  if (typeof s === 'number') return s;
  if (typeof s === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(s)) return Number(s);
  return null;
}

/** One value (or range / prefix) under one selector, as options that all hold. */
function valueOptions(sel: Sel, e: NftExpr, at: SourceLocation): MatchOption[] | null {
  const base = { negated: false, location: at } as const;
  const v = unwrap(e);
  try {
    switch (sel.kind) {
      case 'addr':
      case 'ctaddr': {
        if (v.k === 'range') {
          const from = scalar(v.from);
          const to = scalar(v.to);
          if (typeof from !== 'string' || typeof to !== 'string') return null;
          const family = addrFamily(sel, from);
          const range = { family, from: parseAddress(from, family), to: parseAddress(to, family) };
          if (sel.kind === 'addr') return [{ ...base, type: 'iprange', field: sel.field, range }];
          return null;
        }
        const text =
          v.k === 'prefix' ? `${String(scalar(v.addr))}/${v.len}` : String(scalar(v) ?? '');
        if (text === '' || text.startsWith('null')) return null;
        const value = parseAddressMask(text, addrFamily(sel, text));
        return sel.kind === 'addr'
          ? [{ ...base, type: 'address', field: sel.field, value }]
          : [{ ...base, type: 'ct-address', field: sel.field, value }];
      }
      case 'port': {
        const r = portOf(v);
        return r === null ? null : [{ ...base, ...portOption(sel, [r]) }];
      }
      case 'ctport': {
        const r = portOf(v);
        return r === null ? null : [{ ...base, type: 'ct-port', field: sel.field, range: r }];
      }
      case 'proto':
      case 'ctproto': {
        const s = scalar(v);
        if (s === null) return null;
        const p = parseProtocol(String(s) === 'icmpv6' ? 'ipv6-icmp' : String(s));
        return sel.kind === 'proto'
          ? [{ ...base, type: 'protocol', number: p.number, name: p.name }]
          : [{ ...base, type: 'ct-proto', number: p.number }];
      }
      case 'iface': {
        const s = scalar(v);
        if (typeof s !== 'string') return null;
        const wildcard = s.endsWith('*') && !s.endsWith('\\*');
        const name = (wildcard ? s.slice(0, -1) : s).replace(/\\\*/g, '*');
        return [{ ...base, type: 'interface', field: sel.field, name, wildcard }];
      }
      case 'ctstate': {
        const states = flagList(v).map(ctState);
        if (states.length === 0 || states.includes(null)) return null;
        return [
          { ...base, type: 'ct-state', states: states as ConntrackState[], via: 'conntrack' },
        ];
      }
      case 'ctstatus': {
        const statuses = flagList(v).map(ctStatus);
        if (statuses.length === 0 || statuses.includes(null)) return null;
        return [{ ...base, type: 'ct-status', statuses: statuses as ConntrackStatus[] }];
      }
      case 'ctdir': {
        const s = scalar(v);
        if (s !== 'original' && s !== 'reply') return null;
        return [{ ...base, type: 'ct-dir', dir: s === 'original' ? 'ORIGINAL' : 'REPLY' }];
      }
      case 'mark': {
        const n = numberOf(v);
        if (n === null || n < 0 || n > 0xffffffff) return null;
        return [{ ...base, type: 'mark', of: sel.of, value: n & sel.mask, mask: sel.mask }];
      }
      case 'fibtype': {
        const types = flagList(v).map(addressType);
        if (types.length === 0 || types.includes(null)) return null;
        const out: MatchOption[] = [
          { ...base, type: 'addrtype', field: sel.field, types: types as AddressType[], fib: true },
        ];
        if (sel.limit !== null) out.push({ ...base, type: 'addrtype-limit-iface', dir: sel.limit });
        return out;
      }
      case 'nfproto': {
        const s = scalar(v);
        if (s === null) return null;
        const f = familyOfProto(s);
        // a non-IP protocol (arp, vlan…): no IP packet has it
        return f === 'other'
          ? [{ ...base, type: 'member', key: 'meta protocol', set: null, elements: [] }]
          : [{ ...base, type: 'family', family: f }];
      }
      case 'icmp': {
        const s = scalar(v);
        if (s === null) return null;
        const n = icmpType(s, sel.family);
        if (n === null) return null;
        return [
          {
            ...base,
            type: 'icmp-type',
            family: sel.family,
            icmpType: n,
            code: null,
            ...(typeof s === 'string' ? { name: s } : {}),
          },
        ];
      }
      case 'pkttype': {
        const s = scalar(v);
        const p = s === null ? null : pktType(s);
        return p === null ? null : [{ ...base, type: 'pkttype', pktType: p }];
      }
      case 'ttl': {
        const n = numberOf(v);
        return n === null
          ? null
          : [{ ...base, type: 'ttl', family: sel.family, op: 'eq', value: n }];
      }
      case 'length': {
        const r = v.k === 'range' ? [numberOf(v.from), numberOf(v.to)] : [numberOf(v), numberOf(v)];
        const [from, to] = r;
        return from === null || to === null || from === undefined || to === undefined
          ? null
          : [{ ...base, type: 'length', from, to }];
      }
      case 'owner': {
        const n = numberOf(v);
        return n === null
          ? [{ ...base, type: 'owner', option: sel.option, name: String(scalar(v)) }]
          : [{ ...base, type: 'owner', option: sel.option, from: n, to: n }];
      }
      case 'mac': {
        const s = scalar(v);
        return typeof s === 'string'
          ? [{ ...base, type: 'mac-source', address: s.toUpperCase() }]
          : null;
      }
      case 'tcpflags': {
        const flags = flagList(v).map(tcpFlag);
        if (flags.includes(null)) return null;
        const mask = sel.mask ?? (['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'] as TcpFlag[]);
        return [{ ...base, type: 'tcp-flags', mask, compare: flags as TcpFlag[] }];
      }
      case 'exthdr':
      case 'fragoff':
      case 'rpf':
      case 'stateful':
      case 'unknown':
        return null;
    }
  } catch (err) {
    if (err instanceof ValueError) return null;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Rules

interface RuleCtx {
  readonly t: TableCtx;
  readonly rule: NftRuleAst;
}

function invalid(c: RuleCtx, what: string, at: SourceLocation): void {
  say(c.t, 'nft-invalid-value', 'error', what, at);
}

/** An expression kept whole: the engine reads it as "possibly matches". */
function opaque(c: RuleCtx, text: string, at: SourceLocation, diagnose: boolean): MatchOption {
  if (diagnose) {
    say(
      c.t,
      'unsupported-nft-expression',
      'warning',
      `nftables expression not modelled: ${echo(text)}; rules that depend on it are only possible`,
      at,
    );
  }
  return { type: 'opaque', module: 'nft', option: text, args: [], negated: false, location: at };
}

/** A set's elements as options under the key's selectors; null when unknown. */
function setElements(
  c: RuleCtx,
  sels: readonly Sel[],
  items: readonly NftExpr[],
): MatchOption[][] | null {
  const out: MatchOption[][] = [];
  for (const item of items) {
    const el = elementOptions(c, sels, item);
    if (el === null) return null;
    out.push(el);
  }
  return out;
}

/** One element (a value, or a concatenation matching the key's) → options; null if unreadable. */
function elementOptions(c: RuleCtx, sels: readonly Sel[], item: NftExpr): MatchOption[] | null {
  const v = unwrap(item);
  const parts = sels.length === 1 ? [v] : v.k === 'concat' ? v.items : null;
  if (parts === null || parts.length !== sels.length) {
    invalid(c, `set element ${echo(renderExpr(v))} does not fit the key`, v.at);
    return null;
  }
  const out: MatchOption[] = [];
  for (let i = 0; i < sels.length; i++) {
    const sel = sels[i] as Sel;
    const part = parts[i] as NftExpr;
    const o = valueOptions(sel, part, part.at);
    if (o === null) {
      invalid(c, `${echo(renderExpr(part))} is not a valid value here`, part.at);
      return null;
    }
    out.push(...o);
  }
  return out;
}

/** The elements of a named set or map (null: contents not known, with a diagnostic if missing). */
function namedSet(c: RuleCtx, name: string, at: SourceLocation): NftSetAst | null {
  const s = c.t.sets.get(name);
  if (s === undefined) {
    say(
      c.t,
      'nft-unknown-set',
      'error',
      `set @${echo(name)} is not declared in table ${echo(c.t.id)}`,
      at,
    );
    return null;
  }
  return s;
}

function knownElements(c: RuleCtx, s: NftSetAst): readonly NftExpr[] | null {
  return c.t.dynamic.has(s.name) ? null : (s.elements ?? []);
}

function keySelectors(left: NftExpr, t: TableCtx): Sel[] {
  return left.k === 'concat' ? left.items.map((i) => selectorOf(i, t)) : [selectorOf(left, t)];
}

/** One match statement → the options it stands for (dependencies first). */
function matchOptions(
  c: RuleCtx,
  s: Extract<NftStmt, { k: 'match' }>,
): { options: MatchOption[]; known: boolean } {
  const sels = keySelectors(s.left, c.t);
  const at = s.at;
  const keyText = renderExpr(s.left);
  const negated = s.op === '!=';
  const deps = sels.flatMap((sel) => depsOf(sel, c.t, at));
  const neg = (o: MatchOption): MatchOption => (negated ? { ...o, negated: !o.negated } : o);
  /** Options that hold together, negated as a whole (`fib daddr . iif type != local`). */
  const negAll = (os: MatchOption[]): MatchOption[] =>
    !negated || os.length === 0
      ? os
      : os.length === 1 && os[0] !== undefined
        ? [neg(os[0])]
        : [
            {
              type: 'member',
              key: keyText,
              set: null,
              elements: [os],
              negated: true,
              location: at,
            },
          ];
  const header = headerOptions(sels, s.op, unwrap(s.right), at);
  if (header !== null) return { options: [...deps, header], known: true };
  const rpf = reversePathOption(sels, s.op, unwrap(s.right), at);
  if (rpf !== null) return { options: [...deps, rpf], known: true };
  // a route lookup compared otherwise (`oifname "eth0"`) depends on routes as a whole
  const stateful = sels.find((x) => x.kind === 'stateful' || x.kind === 'rpf');
  if (stateful !== undefined) {
    return {
      options: [
        ...deps,
        {
          type: 'stateful',
          module: 'nft',
          option: keyText,
          args: [s.op, renderExpr(s.right)],
          negated: false,
          location: at,
        },
      ],
      known: true,
    };
  }
  const whole = renderStmt(s);
  if (sels.some((x) => x.kind === 'unknown' || x.kind === 'exthdr' || x.kind === 'fragoff')) {
    return { options: [...deps, opaque(c, whole, at, true)], known: false };
  }
  const sel = sels[0] as Sel;
  const right = unwrap(s.right);

  // comparisons: numeric ranges
  if (s.op === '<' || s.op === '>' || s.op === '<=' || s.op === '>=') {
    const n = numberOf(right);
    if (sels.length === 1 && n !== null) {
      const lo = s.op === '>' ? n + 1 : s.op === '>=' ? n : 0;
      const hi = s.op === '<' ? n - 1 : s.op === '<=' ? n : sel.kind === 'length' ? 65535 : 65535;
      if (sel.kind === 'port' && lo <= hi)
        return {
          options: [
            ...deps,
            {
              ...portOption(sel, [{ from: lo, to: Math.min(hi, 65535) }]),
              negated: false,
              location: at,
            },
          ],
          known: true,
        };
      if (sel.kind === 'ttl') {
        const op = s.op === '<' || s.op === '<=' ? 'lt' : 'gt';
        const value = s.op === '<=' ? n + 1 : s.op === '>=' ? n - 1 : n;
        return {
          options: [
            ...deps,
            { type: 'ttl', family: sel.family, op, value, negated: false, location: at },
          ],
          known: true,
        };
      }
      if (sel.kind === 'length' && lo <= hi)
        return {
          options: [...deps, { type: 'length', from: lo, to: hi, negated: false, location: at }],
          known: true,
        };
    }
    return { options: [...deps, opaque(c, whole, at, true)], known: false };
  }

  // flag-like selectors take lists and sets as one option (any of)
  if (
    sels.length === 1 &&
    (sel.kind === 'ctstate' || sel.kind === 'ctstatus' || sel.kind === 'fibtype')
  ) {
    const o =
      right.k === 'ref'
        ? null
        : valueOptions(sel, right.k === 'set' ? { ...right, k: 'list' } : right, at);
    if (o !== null) return { options: [...deps, ...negAll(o)], known: true };
  }
  if (sels.length === 1 && sel.kind === 'tcpflags') {
    // `tcp flags syn` (op in): the flag is set; `tcp flags syn / fin,syn` reads as a masked ==
    const flags = flagList(right).map(tcpFlag);
    if (!flags.includes(null) && flags.length > 0) {
      const list = flags as TcpFlag[];
      if (s.op === 'in' && sel.mask === null) {
        const each = list.map((f): MatchOption[] => [
          { type: 'tcp-flags', mask: [f], compare: [f], negated: false, location: at },
        ]);
        const one = each.length === 1 ? each[0]?.[0] : undefined;
        return {
          options: [
            ...deps,
            one ?? {
              type: 'member',
              key: keyText,
              set: null,
              elements: each,
              negated: false,
              location: at,
            },
          ],
          known: true,
        };
      }
      const o = valueOptions(
        sel,
        {
          k: 'list',
          items: list.map((f) => ({ k: 'value', value: f.toLowerCase(), quoted: false, at })),
          at,
        },
        at,
      );
      if (o !== null) return { options: [...deps, ...negAll(o)], known: true };
    }
    return { options: [...deps, opaque(c, whole, at, true)], known: false };
  }
  // port sets fold into one port option
  if (sels.length === 1 && sel.kind === 'port' && right.k === 'set') {
    const ranges = right.items.map(portOf);
    if (ranges.every((r): r is PortRange => r !== null))
      return {
        options: [...deps, neg({ ...portOption(sel, ranges), negated: false, location: at })],
        known: true,
      };
  }

  // set lookups
  if (right.k === 'ref' || right.k === 'set') {
    let elements: MatchOption[][] | null;
    let name: string | null = null;
    if (right.k === 'ref') {
      name = right.name;
      const set = namedSet(c, right.name, right.at);
      const items = set === null ? null : knownElements(c, set);
      elements = items === null ? null : setElements(c, sels, items);
    } else {
      elements = setElements(c, sels, right.items);
      if (elements === null)
        return { options: [...deps, opaque(c, whole, at, false)], known: false };
    }
    return {
      options: [
        ...deps,
        { type: 'member', key: keyText, set: name, elements, negated, location: at },
      ],
      known: true,
    };
  }

  const el = elementOptions(c, sels, right);
  if (el === null) return { options: [...deps, opaque(c, whole, at, false)], known: false };
  if (el.length === 1 && el[0] !== undefined)
    return { options: [...deps, neg(el[0])], known: true };
  return {
    options: [
      ...deps,
      { type: 'member', key: keyText, set: null, elements: [el], negated, location: at },
    ],
    known: true,
  };
}

/**
 * A match on headers the modelled packets never carry, decided (docs/engine.md "Packet model"):
 * a field of an absent header fails whatever it is compared with (the kernel ends the rule), an
 * existence test is false, and a whole packet's fragment field is 0 but for DF, which is not
 * known. Null where the match is not one of these, or not decided.
 */
function headerOptions(
  sels: readonly Sel[],
  op: NftMatchOp,
  right: NftExpr,
  at: SourceLocation,
): MatchOption | null {
  const option = (name: string, holdsWithIt: boolean): MatchOption => ({
    type: 'ext-header',
    header: name,
    negated: !holdsWithIt,
    location: at,
  });
  for (const sel of sels) if (sel.kind === 'exthdr' && !sel.test) return option(sel.header, true);
  const sel = sels.length === 1 ? sels[0] : undefined;
  if (op !== '==' && op !== '!=') return null;
  if (sel?.kind === 'exthdr') {
    const present = existence(right, 1);
    return present === null ? null : option(sel.header, present !== (op === '!='));
  }
  if (sel?.kind === 'fragoff') {
    const n = numberOf(right);
    if (n === null) return null;
    // a whole packet: no offset, no more-fragments bit, the reserved bit clear; DF either way
    const values = (sel.mask & 0x4000) === 0 ? [0] : [0, 0x4000];
    const holds = values.map((v) => (v === n) === (op === '=='));
    if (holds.every((h) => h)) return option('fragment', false);
    if (holds.every((h) => !h)) return option('fragment', true);
  }
  return null;
}

/**
 * `exists` or `missing` as nft lists them (JSON: true, false), and the number that means the
 * same for the expression (`present`: an extension header's 1; every lookup's 0 is missing).
 */
function existence(right: NftExpr, present: number | null): boolean | null {
  const value = right.k === 'value' ? right.value : null;
  if (value === true || value === 'exists' || (present !== null && value === present)) return true;
  if (value === false || value === 'missing' || value === 0) return false;
  return null;
}

/** `fib saddr . iif oif exists` or `missing` (an interface index of 0); null otherwise. */
function reversePathOption(
  sels: readonly Sel[],
  op: NftMatchOp,
  right: NftExpr,
  at: SourceLocation,
): MatchOption | null {
  const sel = sels.length === 1 ? sels[0] : undefined;
  if (sel?.kind !== 'rpf' || (op !== '==' && op !== '!=')) return null;
  const found = existence(right, null);
  if (found === null) return null;
  return {
    type: 'rpfilter',
    loose: sel.loose,
    mark: sel.mark,
    acceptLocal: false,
    negated: found === (op === '!='),
    location: at,
  };
}

function verdictTarget(
  c: RuleCtx,
  verdict: string,
  chain: string | null,
  at: SourceLocation,
): Target | null {
  switch (verdict) {
    case 'accept':
      return { kind: 'ACCEPT', location: at };
    case 'drop':
      return { kind: 'DROP', location: at };
    case 'return':
      return { kind: 'RETURN', location: at };
    case 'continue':
      return { kind: 'CONTINUE', location: at };
    case 'queue':
      return { kind: 'NFQUEUE', options: [], location: at };
    case 'jump':
    case 'goto':
      if (chain !== null) return { kind: 'jump', chain, goto: verdict === 'goto', location: at };
      break;
    default:
      break;
  }
  say(c.t, 'nft-invalid-value', 'error', `not a verdict: ${echo(verdict)}`, at);
  return null;
}

const LOG_LEVELS: Readonly<Record<string, number>> = {
  emerg: 0,
  alert: 1,
  crit: 2,
  err: 3,
  warn: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

/** A NAT address (and port) value → a NAT range; null when unreadable. */
function natRange(
  c: RuleCtx,
  addr: NftExpr | null,
  port: NftExpr | null,
  family: Family | null,
  at: SourceLocation,
): NatRange | null {
  let addresses: NatRange['addresses'] = null;
  let ports: PortRange | null = null;
  try {
    if (addr !== null) {
      const a = unwrap(addr);
      if (a.k === 'concat' && a.items.length === 2 && port === null)
        return natRange(c, a.items[0] ?? null, a.items[1] ?? null, family, at);
      if (a.k === 'range') {
        const from = String(scalar(a.from));
        const f = family ?? (from.includes(':') ? 'ipv6' : 'ipv4');
        addresses = {
          family: f,
          from: parseAddress(from, f),
          to: parseAddress(String(scalar(a.to)), f),
        };
      } else {
        const text = a.k === 'prefix' ? `${String(scalar(a.addr))}/${a.len}` : String(scalar(a));
        const f = family ?? (text.includes(':') ? 'ipv6' : 'ipv4');
        const m = parseAddressMask(text, f);
        addresses = { family: f, from: m.address, to: lastOf(m.address, m.prefixLength ?? 0, f) };
      }
    }
    if (port !== null) {
      ports = portOf(port);
      if (ports === null) throw new ValueError(`invalid port ${renderExpr(port)}`);
    }
  } catch (err) {
    if (!(err instanceof ValueError)) throw err;
    invalid(c, `NAT to ${addr === null ? '' : echo(renderExpr(addr))}: ${err.message}`, at);
    return null;
  }
  return { addresses, ports };
}

/** The last address of a prefix (a NAT to a prefix is a range over it). */
function lastOf(address: string, length: number, family: Family): string {
  const bits = family === 'ipv4' ? 32 : 128;
  if (length >= bits) return address;
  if (family === 'ipv4') {
    const n = address.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    const last = n + 2 ** (32 - length) - 1;
    return [24, 16, 8, 0].map((s) => Math.floor(last / 2 ** s) % 256).join('.');
  }
  let v = 0n;
  const full = parseAddress(address, 'ipv6');
  for (const group of expand6(full)) v = (v << 16n) | BigInt(parseInt(group, 16));
  v |= (1n << BigInt(128 - length)) - 1n;
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return parseAddress(groups.join(':'), 'ipv6');
}

function expand6(text: string): string[] {
  const [head = '', tail = ''] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  if (!text.includes('::')) return h;
  return [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
}

function natFamily(c: RuleCtx, s: Extract<NftStmt, { k: 'nat' }>): Family | null {
  if (s.family === 'ip') return 'ipv4';
  if (s.family === 'ip6') return 'ipv6';
  return tableFamily(c.t.family);
}

function natTarget(s: Extract<NftStmt, { k: 'nat' }>, to: NatRange[]): Target {
  const at = s.at;
  switch (s.kind) {
    case 'dnat':
      return { kind: 'DNAT', to, flags: s.flags, location: at };
    case 'snat':
      return { kind: 'SNAT', to, flags: s.flags, location: at };
    case 'masquerade':
      return { kind: 'MASQUERADE', ports: to[0]?.ports ?? null, flags: s.flags, location: at };
    case 'redirect':
      return { kind: 'REDIRECT', ports: to[0]?.ports ?? null, flags: s.flags, location: at };
  }
}

/** A statement that is not a match → its target; null when it does nothing to the packet. */
function statementTarget(c: RuleCtx, s: NftStmt, deps: MatchOption[]): Target | null {
  const at = s.at;
  switch (s.k) {
    case 'verdict':
      return verdictTarget(c, s.verdict, s.chain, at);
    case 'reject':
      // nft gives a reject dependencies its listing does not show: TCP for `with tcp reset`, the
      // family for an ICMP type in tables of both (`with icmpv6 …` holds for IPv6 only)
      if (s.with === 'tcp reset')
        deps.push({ type: 'protocol', number: 6, name: 'tcp', negated: false, location: at });
      else if (tableFamily(c.t.family) === null && /^icmp(v6)? /.test(s.with)) {
        const family = s.with.startsWith('icmpv6 ') ? 'ipv6' : 'ipv4';
        deps.push({ type: 'family', family, negated: false, location: at });
      }
      return { kind: 'REJECT', rejectWith: s.with, location: at };
    case 'log':
      return {
        kind: 'LOG',
        prefix: s.prefix,
        level: s.level === null ? null : (LOG_LEVELS[s.level] ?? null),
        flags: [],
        location: at,
      };
    case 'queue':
      return { kind: 'NFQUEUE', options: [{ option: s.text, args: [] }], location: at };
    case 'notrack':
      return { kind: 'NOTRACK', location: at };
    case 'nat': {
      const family = natFamily(c, s);
      if (s.family !== null && tableFamily(c.t.family) === null && family !== null)
        deps.push({ type: 'family', family, negated: false, location: at });
      const addr = s.addr === null ? null : unwrap(s.addr);
      if (addr !== null && addr.k === 'map') {
        // `dnat to tcp dport map @ports`: a lookup, one NAT target per element
        return vmapTarget(c, addr.key, addr.data, at, deps, (data) => {
          const r = natRange(c, data, s.port, family, data.at);
          return r === null ? null : natTarget(s, [r]);
        });
      }
      const r = natRange(c, addr, s.port, family, at);
      return natTarget(s, r === null ? [] : [r]);
    }
    case 'mangle': {
      const key = s.key;
      const value = unwrap(s.value);
      if (key.k === 'meta' && key.key === 'mark') {
        const set = markAssign(value);
        if (set !== null)
          return {
            kind: 'MARK',
            value: set.value,
            mask: set.mask,
            form: renderStmt(s),
            location: at,
          };
        if (value.k === 'ct' && value.key === 'mark')
          return {
            kind: 'CONNMARK',
            options: [{ option: 'restore-mark', args: [] }],
            location: at,
          };
      }
      if (key.k === 'ct' && key.key === 'mark') {
        const option = value.k === 'meta' && value.key === 'mark' ? 'save-mark' : 'set-mark';
        return { kind: 'CONNMARK', options: [{ option, args: [renderExpr(value)] }], location: at };
      }
      if (HARMLESS_MANGLE.has(renderExpr(key))) {
        return { kind: 'extension', name: renderStmt(s), options: [], location: at };
      }
      break;
    }
    case 'vmap':
      return vmapTarget(c, s.key, s.data, at, deps, (data) => {
        const d = unwrap(data);
        return d.k === 'verdict' ? verdictTarget(c, d.verdict, d.chain, d.at) : null;
      });
    case 'other':
      break;
    case 'setop':
    case 'counter':
    case 'match':
    case 'stateful':
      return null;
  }
  say(
    c.t,
    'unsupported-nft-statement',
    'warning',
    `nftables statement not modelled: ${echo(renderStmt(s))}; it is kept and treated as letting the packet continue`,
    at,
  );
  return { kind: 'extension', name: renderStmt(s), options: [], location: at };
}

/** Statements that change nothing the engine models (the packet's priority, DSCP, tracing…). */
const HARMLESS_MANGLE = new Set([
  'meta priority',
  'meta nftrace',
  'ip dscp',
  'ip6 dscp',
  'ct helper',
  'ct label',
  'meta secmark',
]);

/** `meta mark set V`, `… set meta mark | V`, `& M`, `^ V` → xmark (value, mask). */
function markAssign(v: NftExpr): { value: number; mask: number } | null {
  const n = numberOf(v);
  if (n !== null) return { value: n >>> 0, mask: 0xffffffff };
  if (v.k !== 'binop' || v.left.k !== 'meta' || v.left.key !== 'mark') return null;
  const k = numberOf(v.right);
  if (k === null) return null;
  if (v.op === '|') return { value: k >>> 0, mask: k >>> 0 };
  if (v.op === '&') return { value: 0, mask: ~k >>> 0 };
  if (v.op === '^') return { value: k >>> 0, mask: 0 };
  return null;
}

function vmapTarget(
  c: RuleCtx,
  key: NftExpr,
  data: NftExpr,
  at: SourceLocation,
  deps: MatchOption[],
  verdictOf: (data: NftExpr) => Target | null,
): Target {
  const sels = keySelectors(key, c.t);
  const keyText = renderExpr(key);
  deps.push(...sels.flatMap((s) => depsOf(s, c.t, at)));
  let items: readonly NftExpr[] | null;
  let map: string | null = null;
  const d = unwrap(data);
  if (d.k === 'ref') {
    map = d.name;
    const set = namedSet(c, d.name, d.at);
    items = set === null ? null : knownElements(c, set);
  } else if (d.k === 'set') {
    items = d.items;
  } else {
    invalid(c, `map data ${echo(renderExpr(d))} is not a map`, d.at);
    items = null;
  }
  if (items === null) return { kind: 'vmap', key: keyText, map, entries: null, location: at };
  const stateful = sels.some((s) => s.kind === 'stateful' || s.kind === 'unknown');
  if (sels.some((s) => s.kind === 'unknown')) opaque(c, keyText, at, true);
  const entries: VmapEntry[] = [];
  for (const item of items) {
    const m = unwrap(item);
    if (m.k !== 'mapping') {
      invalid(c, `map element ${echo(renderExpr(m))} has no ' : ' data`, m.at);
      continue;
    }
    const verdict = verdictOf(m.data);
    if (verdict === null) continue;
    const when: MatchOption[] | null = stateful
      ? [
          {
            type: 'stateful',
            module: 'nft',
            option: keyText,
            args: ['==', renderExpr(m.key)],
            negated: false,
            location: m.at,
          },
        ]
      : elementOptions(c, sels, m.key);
    if (when === null) return { kind: 'vmap', key: keyText, map, entries: null, location: at };
    entries.push({ when, verdict });
  }
  return { kind: 'vmap', key: keyText, map, entries, location: at };
}

/** Statements that end a rule's walk for the packet (a verdict, NAT, reject, queue). */
function ends(target: Target): boolean {
  return (
    target.kind !== 'LOG' &&
    target.kind !== 'MARK' &&
    target.kind !== 'CONNMARK' &&
    target.kind !== 'NOTRACK' &&
    target.kind !== 'extension'
  );
}

/** Statements that change what later matches of the same rule see. */
function changesPacket(target: Target): boolean {
  return target.kind === 'MARK' || target.kind === 'CONNMARK' || target.kind === 'NOTRACK';
}

function buildRule(t: TableCtx, chain: string, ast: NftRuleAst, index: number): Rule {
  const c: RuleCtx = { t, rule: ast };
  const matches: MatchModule[] = [];
  const steps: RuleStep[] = [];
  let counters: Counters | null = null;
  let target: Target | null = null;
  let changed = false;
  const deps: MatchOption[] = [];
  for (const s of ast.stmts) {
    if (target !== null && ends(target)) {
      say(
        t,
        'nft-invalid-value',
        'warning',
        `statement after the verdict is never reached: ${echo(renderStmt(s))}`,
        s.at,
      );
      break;
    }
    if (s.k === 'counter') {
      if (s.packets !== null) counters = { packets: s.packets, bytes: s.bytes ?? 0n };
      continue;
    }
    if (s.k === 'match' || s.k === 'stateful') {
      const m =
        s.k === 'match'
          ? matchOptions(c, s)
          : {
              options: [
                {
                  type: 'stateful',
                  module: 'nft',
                  option: s.name,
                  args: [s.text],
                  negated: false,
                  location: s.at,
                } as MatchOption,
              ],
              known: true,
            };
      const module: MatchModule = {
        name: s.k === 'match' ? renderExpr(s.left) : s.name,
        location: s.at,
        known: m.known,
        options: m.options,
      };
      if (target !== null) {
        steps.push({ kind: 'statement', target });
        target = null;
      }
      if (changed || steps.length > 0) steps.push({ kind: 'match', module });
      else matches.push(module);
      continue;
    }
    const next = statementTarget(c, s, deps);
    if (next === null) continue;
    if (target !== null) steps.push({ kind: 'statement', target });
    target = next;
    if (changesPacket(next)) changed = true;
  }
  if (deps.length > 0) {
    matches.unshift({ name: 'dependency', location: ast.at, known: true, options: deps });
  }
  // a rule without a verdict whose last step is a statement: that statement is its target
  const last = steps[steps.length - 1];
  if (target === null && last?.kind === 'statement') {
    steps.pop();
    target = last.target;
  }
  return {
    table: t.id,
    chain,
    index,
    location: ast.at,
    text: ast.text,
    counters,
    core: [],
    matches,
    target,
    dialect: 'nft',
    ...(ast.handle === null ? {} : { handle: ast.handle }),
    ...(steps.length > 0 ? { steps } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Tables and chains

const BUILTIN_OF_HOOK: Readonly<Record<string, string>> = {
  prerouting: 'PREROUTING',
  input: 'INPUT',
  forward: 'FORWARD',
  output: 'OUTPUT',
  postrouting: 'POSTROUTING',
};

/** iptables-nft's table: its name, built-in chain names on their hooks, or xt expressions. */
function isIptablesNft(ast: NftTableAst): boolean {
  if (
    ast.chains.some((c) =>
      c.rules.some((r) => r.stmts.some((s) => s.k === 'other' && s.name.startsWith('xt '))),
    )
  )
    return true;
  if (!IPTABLES_TABLES.has(ast.name) || (ast.family !== 'ip' && ast.family !== 'ip6')) return false;
  const bases = ast.chains.filter((c) => c.base !== null);
  return (
    bases.length > 0 &&
    bases.every((c) => c.base !== null && BUILTIN_OF_HOOK[c.base.hook] === c.name)
  );
}

function buildChain(t: TableCtx, ast: NftChainAst): Chain {
  let base: BaseChain | undefined;
  let policy: 'ACCEPT' | 'DROP' | null = null;
  if (ast.base !== null) {
    const b = ast.base;
    const type = b.type === 'nat' || b.type === 'route' ? b.type : 'filter';
    if (b.type !== type)
      say(
        t,
        'nft-invalid-value',
        'error',
        `unknown chain type ${echo(b.type)}; read as filter`,
        b.at,
      );
    const hook = HOOKS.has(b.hook) ? (b.hook as NftHook) : null;
    const priority = b.priority ?? parsePriority(b.priorityText, t.family);
    if (hook === null) say(t, 'nft-invalid-value', 'error', `unknown hook ${echo(b.hook)}`, b.at);
    if (priority === null)
      say(t, 'nft-invalid-value', 'error', `unknown priority ${echo(b.priorityText)}`, b.at);
    if (b.devices === null && (hook === 'ingress' || hook === 'egress')) {
      say(
        t,
        'nft-device-unknown',
        'warning',
        `${echo(t.id)}/${echo(ast.name)} hooks ${b.hook} but the listing does not say on which device (nft -j omits it); the chain is taken to possibly see packets of every interface`,
        b.at,
      );
    }
    if (hook !== null && priority !== null) base = { type, hook, priority, devices: b.devices };
    policy = b.policy === 'drop' ? 'DROP' : 'ACCEPT';
  }
  return {
    name: ast.name,
    builtin: base !== undefined,
    policy,
    counters: null,
    location: ast.at,
    rules: ast.rules.map((r, i) => buildRule(t, ast.name, r, i + 1)),
    ...(base === undefined ? {} : { base }),
  };
}

function buildTable(ast: NftTableAst, diagnostics: Diagnostic[]): Table | null {
  if (!FAMILIES.has(ast.family)) {
    diagnostics.push(
      diagnostic('nft-invalid-value', 'error', `unknown table family ${echo(ast.family)}`, ast.at),
    );
    return null;
  }
  const family = ast.family as NftFamily;
  const dynamic = new Set<string>();
  for (const s of ast.sets) {
    if (s.hasTimeout || s.flags.includes('dynamic') || s.flags.includes('timeout'))
      dynamic.add(s.name);
  }
  for (const c of ast.chains)
    for (const r of c.rules) for (const s of r.stmts) if (s.k === 'setop') dynamic.add(s.set);
  const iptablesNft = isIptablesNft(ast);
  const t: TableCtx = {
    family,
    id: `${family} ${ast.name}`,
    sets: new Map(ast.sets.map((s) => [s.name, s])),
    dynamic,
    diagnostics,
    compat: iptablesNft ? { unsupported: 0 } : null,
  };
  const sets: NftSet[] = ast.sets.map((s) => ({
    name: s.name,
    type: s.dataType === null ? s.type : `${s.type} : ${s.dataType}`,
    map: s.map,
    flags: s.flags,
    elements: s.elements?.length ?? 0,
    dynamic: dynamic.has(s.name),
    location: s.at,
  }));
  const table: Table = {
    name: ast.name,
    location: ast.at,
    chains: ast.chains.map((c) => buildChain(t, c)),
    nft: { family, handle: ast.handle, iptablesNft, sets },
  };
  if (t.compat !== null && t.compat.unsupported > 0) {
    diagnostics.push(
      diagnostic(
        'nft-iptables-table',
        'note',
        `table ${echo(t.id)} is iptables-nft's; ${t.compat.unsupported} of its expressions are iptables extensions nft cannot print (read them from iptables-save)`,
        ast.at,
      ),
    );
  }
  return table;
}

export function buildNftRuleset(
  ast: NftRulesetAst,
  file: string,
  kind: NftRuleset['kind'],
  diagnostics: Diagnostic[],
): NftRuleset {
  const tables: Table[] = [];
  // ids seen, not a scan of the tables kept: a listing of 30,000 tables was quadratic here
  const seen = new Set<string>();
  for (const t of ast.tables) {
    const built = buildTable(t, diagnostics);
    if (built === null) continue;
    if (seen.has(tableId(built))) {
      diagnostics.push(
        diagnostic(
          'duplicate-table',
          'error',
          `table ${echo(tableId(built))} listed twice; the first is kept`,
          t.at,
        ),
      );
      continue;
    }
    seen.add(tableId(built));
    tables.push(built);
  }
  return { file, kind, version: ast.version, tables };
}
