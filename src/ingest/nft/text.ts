/**
 * `nft list ruleset` text into the nftables syntax tree. The chevrotain grammar
 * (grammar/nft) gives lines and `{ … }` groups with positions; this reader gives them meaning:
 * tables, chains (their `type … hook … priority …; policy …;` line), sets and maps with their
 * elements, and each rule's statements, read left to right as nft prints them. A line that cannot
 * be read is a located diagnostic; the rest of the file is still read.
 */
import type { IToken } from 'chevrotain';
import type { CstNode } from 'chevrotain';
import { nftLexer, parseNftTokens } from '../../../grammar/nft/index.ts';
import type { Diagnostic, SourceLocation } from '../../model/diagnostic.ts';
import { diagnostic } from '../../model/diagnostic.ts';
import { echo } from '../../model/safe-text.ts';
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

// ---------------------------------------------------------------------------------------------
// Lines and groups from the CST

interface Tok {
  readonly kind: 'word' | 'string' | 'comma' | 'lparen' | 'rparen' | 'sep';
  /** The text: a word as written, a string without its quotes. */
  readonly text: string;
  readonly at: SourceLocation;
  readonly start: number;
  readonly end: number;
}

interface Group {
  readonly kind: 'group';
  readonly items: readonly Node[];
  readonly at: SourceLocation;
  readonly start: number;
  readonly end: number;
}

type Node = Tok | Group;

function unquote(raw: string): string {
  const body = raw.endsWith('"') && raw.length > 1 ? raw.slice(1, -1) : raw.slice(1);
  return body.replace(/\\(.)/g, '$1');
}

function located(file: string, t: IToken): SourceLocation {
  return {
    file,
    line: t.startLine ?? 1,
    column: t.startColumn ?? 1,
    endLine: t.endLine ?? t.startLine ?? 1,
    endColumn: (t.endColumn ?? t.startColumn ?? 1) + 1,
  };
}

function tokOf(file: string, t: IToken): Tok {
  const name = t.tokenType.name;
  const kind =
    name === 'NftString'
      ? 'string'
      : name === 'NftComma'
        ? 'comma'
        : name === 'NftLParen'
          ? 'lparen'
          : name === 'NftRParen'
            ? 'rparen'
            : name === 'NftNewline' || name === 'NftSemicolon'
              ? 'sep'
              : 'word';
  return {
    kind,
    text:
      kind === 'string'
        ? unquote(t.image)
        : kind === 'sep'
          ? name === 'NftSemicolon'
            ? ';'
            : '\n'
          : t.image,
    at: located(file, t),
    start: t.startOffset,
    end: t.endOffset ?? t.startOffset,
  };
}

function children(node: CstNode, name: string): (CstNode | IToken)[] {
  return node.children[name] ?? [];
}

function isToken(x: CstNode | IToken): x is IToken {
  return 'image' in x;
}

/** A CST item or group → Node; tokens sorted back into source order. */
function nodeOf(file: string, item: CstNode): Node {
  const group = children(item, 'group')[0];
  if (group !== undefined && !isToken(group)) {
    const parts: { offset: number; node: Node }[] = [];
    for (const key of Object.keys(group.children)) {
      for (const x of children(group, key)) {
        if (isToken(x)) {
          if (key === 'NftLBrace' || key === 'NftRBrace') continue;
          parts.push({ offset: x.startOffset, node: tokOf(file, x) });
        } else {
          const n = nodeOf(file, x);
          parts.push({ offset: n.start, node: n });
        }
      }
    }
    parts.sort((a, b) => a.offset - b.offset);
    const open = children(group, 'NftLBrace')[0];
    const close = children(group, 'NftRBrace')[0];
    const start = open !== undefined && isToken(open) ? open.startOffset : 0;
    const end = close !== undefined && isToken(close) ? (close.endOffset ?? start) : start;
    return {
      kind: 'group',
      items: parts.map((p) => p.node),
      at: open !== undefined && isToken(open) ? located(file, open) : { file, line: 1, column: 1 },
      start,
      end,
    };
  }
  const tok = children(item, 'NftItem')[0];
  if (tok !== undefined && isToken(tok)) return tokOf(file, tok);
  return { kind: 'word', text: '', at: { file, line: 1, column: 1 }, start: 0, end: 0 };
}

/** Split a group's items into lines at its separators (a chain's or a set's body). */
function linesOf(items: readonly Node[]): Node[][] {
  const out: Node[][] = [];
  let cur: Node[] = [];
  for (const n of items) {
    if (n.kind === 'sep') {
      if (cur.length > 0) out.push(cur);
      cur = [];
    } else cur.push(n);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading one rule

class SyntaxError extends Error {
  readonly at: SourceLocation;
  constructor(message: string, at: SourceLocation) {
    super(message);
    this.at = at;
  }
}

const VERDICT_WORDS = new Set(['accept', 'drop', 'continue', 'return']);
const OPS: Readonly<Record<string, NftMatchOp>> = {
  '==': '==',
  eq: '==',
  '!=': '!=',
  ne: '!=',
  '<': '<',
  lt: '<',
  '>': '>',
  gt: '>',
  '<=': '<=',
  le: '<=',
  '>=': '>=',
  ge: '>=',
};
const BINOPS: Readonly<Record<string, '&' | '|' | '^' | '<<' | '>>'>> = {
  '&': '&',
  and: '&',
  '|': '|',
  or: '|',
  '^': '^',
  xor: '^',
  '<<': '<<',
  lshift: '<<',
  '>>': '>>',
  rshift: '>>',
};
const PAYLOAD_PROTOCOLS = new Set([
  'ip',
  'ip6',
  'tcp',
  'udp',
  'udplite',
  'sctp',
  'dccp',
  'th',
  'icmp',
  'icmpv6',
  'igmp',
  'ether',
  'vlan',
  'arp',
  'ah',
  'esp',
  'comp',
  'gre',
  'geneve',
  'vxlan',
]);
/**
 * IPv6 extension headers nft names as expressions (`rt type`, `frag frag-off`), with their
 * fields (`rt0 addr[1]` indexes its field). Another word after the name is not one of these.
 */
const EXTENSION_HEADER_FIELDS: Readonly<Record<string, ReadonlySet<string>>> = {
  hbh: new Set(['nexthdr', 'hdrlength']),
  rt: new Set(['nexthdr', 'hdrlength', 'type', 'seg-left']),
  rt0: new Set(['reserved', 'addr']),
  rt2: new Set(['reserved', 'addr']),
  srh: new Set(['last-entry', 'flags', 'tag', 'sid']),
  frag: new Set(['nexthdr', 'reserved', 'frag-off', 'reserved2', 'more-fragments', 'id']),
  dst: new Set(['nexthdr', 'hdrlength']),
  mh: new Set(['nexthdr', 'hdrlength', 'type', 'reserved', 'checksum']),
};

/** Fields of an IPv4 option (`ip option lsrr type`); without one, `ip option rr` tests presence. */
const IP_OPTION_FIELDS: ReadonlySet<string> = new Set(['type', 'length', 'value', 'ptr', 'addr']);

/** Meta keys nft accepts without `meta`. */
const BARE_META = new Set([
  'iifname',
  'oifname',
  'iif',
  'oif',
  'mark',
  'iiftype',
  'oiftype',
  'skuid',
  'skgid',
  'nftrace',
  'rtclassid',
  'ibrname',
  'obrname',
  'pkttype',
  'cpu',
  'iifgroup',
  'oifgroup',
  'cgroup',
  'ipsec',
]);
const NAT_FLAGS = new Set(['random', 'fully-random', 'persistent', 'netmap', 'prefix']);
/** Words of statements whose arguments are free-form (limit rates, quotas). */
const RATE_WORD =
  /^(?:rate|over|until|used|burst|inv|\d+(?:\/\w+)?|[kmg]?bytes(?:\/\w+)?|packets|second|minute|hour|day|week)$/;

function valueOfWord(text: string, at: SourceLocation): NftExpr {
  if (/^0x[0-9a-f]+$/i.test(text))
    return { k: 'value', value: parseInt(text.slice(2), 16), quoted: false, at };
  if (/^\d+$/.test(text)) return { k: 'value', value: Number(text), quoted: false, at };
  const numRange = /^(\d+|0x[0-9a-f]+)-(\d+|0x[0-9a-f]+)$/i.exec(text);
  if (numRange !== null) {
    return {
      k: 'range',
      from: valueOfWord(numRange[1] ?? '', at),
      to: valueOfWord(numRange[2] ?? '', at),
      at,
    };
  }
  const addrRange = /^([0-9a-f.:]+)-([0-9a-f.:]+)$/i.exec(text);
  if (addrRange !== null && (text.includes('.') || text.includes(':'))) {
    return {
      k: 'range',
      from: { k: 'value', value: addrRange[1] ?? '', quoted: false, at },
      to: { k: 'value', value: addrRange[2] ?? '', quoted: false, at },
      at,
    };
  }
  const prefix = /^([0-9a-f.:]+)\/(\d+)$/i.exec(text);
  if (prefix !== null) {
    return {
      k: 'prefix',
      addr: { k: 'value', value: prefix[1] ?? '', quoted: false, at },
      len: Number(prefix[2]),
      at,
    };
  }
  return { k: 'value', value: text, quoted: false, at };
}

class RuleReader {
  private i = 0;
  readonly items: readonly Node[];
  /** Values open around the one being read (with those of the readers this one is inside). */
  private depth: number;

  constructor(items: readonly Node[], depth = 0) {
    this.items = items;
    this.depth = depth;
  }

  atEnd(): boolean {
    return this.i >= this.items.length;
  }

  peek(k = 0): Node | undefined {
    return this.items[this.i + k];
  }

  word(k = 0): string | null {
    const n = this.peek(k);
    return n !== undefined && n.kind === 'word' ? n.text : null;
  }

  here(): SourceLocation {
    return (
      (this.peek() ?? this.items[this.items.length - 1])?.at ?? { file: '', line: 1, column: 1 }
    );
  }

  next(): Node {
    const n = this.peek();
    if (n === undefined) throw new SyntaxError('unexpected end of the rule', this.here());
    this.i++;
    return n;
  }

  expectWord(what: string): Tok {
    const n = this.next();
    if (n.kind !== 'word' && n.kind !== 'string') throw new SyntaxError(`expected ${what}`, n.at);
    return n;
  }

  /** A counter value: digits only (BigInt would throw on anything else). */
  expectCount(what: string): bigint {
    const t = this.expectWord(what);
    if (!/^\d+$/.test(t.text))
      throw new SyntaxError(`expected ${what}, found '${echo(t.text)}'`, t.at);
    return BigInt(t.text);
  }

  /** Statements read so far, and where the one being read starts (for error recovery). */
  readonly done: NftStmt[] = [];
  stmtStart = 0;
  comment: string | null = null;

  /** The whole rule: statements and a trailing `comment "…"`. */
  rule(): { stmts: NftStmt[]; comment: string | null } {
    while (!this.atEnd()) {
      this.stmtStart = this.i;
      if (this.word() === 'comment' && this.peek(1)?.kind === 'string') {
        this.i++;
        this.comment = (this.next() as Tok).text;
        continue;
      }
      this.done.push(this.statement());
    }
    return { stmts: this.done, comment: this.comment };
  }

  /** Consumes tokens while `keep` holds; their text joined (for statements kept whole). */
  private take(first: string, keep: (n: Node) => boolean): string {
    const words = [first];
    while (!this.atEnd() && keep(this.peek() as Node)) words.push(textOf(this.next()));
    return words.join(' ');
  }

  statement(): NftStmt {
    const at = this.here();
    const w = this.word();
    switch (w) {
      case 'counter': {
        this.i++;
        if (this.word() === 'packets' && this.word(2) === 'bytes') {
          this.i++;
          const packets = this.expectCount('a packet count');
          this.i++;
          const bytes = this.expectCount('a byte count');
          return { k: 'counter', packets, bytes, at };
        }
        if (this.word() === 'name') {
          this.i++;
          this.next();
        }
        return { k: 'counter', packets: null, bytes: null, at };
      }
      case 'accept':
      case 'drop':
      case 'continue':
      case 'return':
        this.i++;
        return { k: 'verdict', verdict: w, chain: null, at };
      case 'jump':
      case 'goto': {
        this.i++;
        return { k: 'verdict', verdict: w, chain: this.expectWord('a chain name').text, at };
      }
      case 'queue': {
        this.i++;
        const text = this.take(
          'queue',
          (n) =>
            n.kind === 'comma' ||
            (n.kind === 'word' && !VERDICT_WORDS.has(n.text) && n.text !== 'comment'),
        );
        return { k: 'queue', text, at };
      }
      case 'reject': {
        this.i++;
        if (this.word() !== 'with') return { k: 'reject', with: '', at };
        this.i++;
        const parts: string[] = [];
        const kind = this.expectWord('a reject type').text;
        parts.push(kind);
        if (kind === 'tcp') parts.push(this.expectWord('reset').text);
        else {
          if (this.word() === 'type') this.i++;
          parts.push(this.expectWord('an ICMP type').text);
        }
        return { k: 'reject', with: parts.join(' '), at };
      }
      case 'log': {
        this.i++;
        let prefix: string | null = null;
        let level: string | null = null;
        let group: number | null = null;
        for (;;) {
          const o = this.word();
          if (o === 'prefix') {
            this.i++;
            prefix = (this.next() as Tok).text;
          } else if (o === 'level') {
            this.i++;
            level = this.expectWord('a log level').text;
          } else if (o === 'group') {
            this.i++;
            group = Number(this.expectWord('a group').text);
          } else if (o === 'snaplen' || o === 'queue-threshold') {
            this.i += 2;
          } else if (o === 'flags') {
            this.i++;
            this.take(
              '',
              (n) =>
                n.kind === 'comma' ||
                (n.kind === 'word' && /^(tcp|ip|skuid|ether|all|sequence|options)$/.test(n.text)),
            );
          } else break;
        }
        return { k: 'log', prefix, level, group, at };
      }
      case 'limit':
      case 'quota': {
        this.i++;
        const text = this.take(w, (n) => n.kind === 'word' && RATE_WORD.test(n.text));
        return { k: 'stateful', name: w, text, at };
      }
      case 'notrack':
        this.i++;
        return { k: 'notrack', at };
      case 'dnat':
      case 'snat':
      case 'masquerade':
      case 'redirect':
        this.i++;
        return this.nat(w, at);
      case 'xt': {
        this.i++;
        const type = this.expectWord('match or target').text;
        const name = this.expectWord('a name').text;
        const whole = `xt ${type} ${name}`;
        if (type === 'match') {
          return {
            k: 'match',
            op: '==',
            left: { k: 'other', name: 'xt match', text: whole, at },
            right: { k: 'value', value: true, quoted: false, at },
            at,
          };
        }
        return { k: 'other', name: `xt ${type}`, text: whole, at };
      }
      case 'add':
      case 'update':
      case 'delete': {
        if (!this.word(1)?.startsWith('@')) break;
        this.i++;
        const set = (this.next() as Tok).text.slice(1);
        if (this.peek()?.kind === 'group') this.i++;
        return { k: 'setop', op: w, set, at };
      }
      case 'meter': {
        this.i++;
        const name = this.expectWord('a meter name').text;
        if (this.word() === 'size') this.i += 2;
        if (this.peek()?.kind === 'group') this.i++;
        return { k: 'stateful', name: 'meter', text: `meter ${name}`, at };
      }
      case 'flow':
      case 'tproxy':
      case 'fwd':
      case 'dup':
      case 'synproxy':
      case 'tcp-mss':
      case 'secmark': {
        if (w === 'flow' || !PAYLOAD_PROTOCOLS.has(w)) {
          this.i++;
          const text = this.take(
            w,
            (n) =>
              n.kind !== 'group' &&
              !(n.kind === 'word' && (VERDICT_WORDS.has(n.text) || n.text === 'comment')),
          );
          return { k: 'other', name: w, text, at };
        }
        break;
      }
      default:
        break;
    }
    if (w === 'ct' && this.word(1) === 'count') {
      this.i += 2;
      const text = this.take('ct count', (n) => n.kind === 'word' && /^(over|\d+)$/.test(n.text));
      return { k: 'stateful', name: 'ct count', text, at };
    }
    const left = this.expr();
    const after = this.word();
    if (after === 'set') {
      this.i++;
      return { k: 'mangle', key: left, value: this.rhs(), at };
    }
    if (after === 'vmap') {
      this.i++;
      return { k: 'vmap', key: left, data: this.rhs(), at };
    }
    let op: NftMatchOp | null = after === null ? null : (OPS[after] ?? null);
    if (op !== null) this.i++;
    if (this.atEnd())
      throw new SyntaxError(`${echo(textOfExpr(left))} needs a value to compare with`, at);
    let right = this.rhs();
    if (this.word() === '/') {
      // `tcp flags syn / fin,syn,rst,ack`: value / mask
      this.i++;
      const mask = this.rhs();
      return {
        k: 'match',
        op: op ?? '==',
        left: { k: 'binop', op: '&', left, right: mask, at },
        right,
        at,
      };
    }
    if (op === null) {
      const key = textOfExpr(left);
      op = key === 'tcp flags' || key === 'ct status' || key === 'ct state' ? 'in' : '==';
    }
    if (right.k === 'list' && right.items.length === 1 && right.items[0] !== undefined)
      right = right.items[0];
    return { k: 'match', op, left, right, at };
  }

  private nat(kind: 'dnat' | 'snat' | 'masquerade' | 'redirect', at: SourceLocation): NftStmt {
    let family: string | null = null;
    if (
      (kind === 'dnat' || kind === 'snat') &&
      (this.word() === 'ip' || this.word() === 'ip6') &&
      this.word(1) === 'to'
    ) {
      family = this.word();
      this.i++;
    }
    let addr: NftExpr | null = null;
    let port: NftExpr | null = null;
    if (this.word() === 'to') {
      this.i++;
      const w = this.word();
      const selector =
        w !== null &&
        (PAYLOAD_PROTOCOLS.has(w) ||
          w === 'meta' ||
          w === 'ct' ||
          BARE_META.has(w) ||
          w === 'numgen' ||
          w === 'jhash' ||
          w === 'symhash');
      if (selector) {
        const key = this.expr();
        if (this.word() !== 'map')
          throw new SyntaxError(`expected 'map' after ${echo(textOfExpr(key))}`, this.here());
        this.i++;
        addr = { k: 'map', key, data: this.rhs(), at };
      } else {
        const tok = this.expectWord('an address');
        const split = splitHostPort(tok.text);
        if (split.host !== '') addr = valueOfWord(split.host, tok.at);
        if (split.port !== '') port = valueOfWord(split.port, tok.at);
      }
    }
    const flags: string[] = [];
    while (this.word() !== null && NAT_FLAGS.has(this.word() ?? '')) {
      flags.push(this.word() ?? '');
      this.i++;
      if (this.peek()?.kind === 'comma') this.i++;
    }
    return { k: 'nat', kind, family, addr, port, flags, at };
  }

  /** A selector, concatenations (`ip daddr . tcp dport`) and a bit operation (`mark & 0xff`). */
  expr(): NftExpr {
    const at = this.here();
    let e = this.primary();
    if (this.word() === '.') {
      const items = [e];
      while (this.word() === '.') {
        this.i++;
        items.push(this.primary());
      }
      e = { k: 'concat', items, at };
    }
    const op = this.word();
    if (op !== null && BINOPS[op] !== undefined) {
      this.i++;
      e = { k: 'binop', op: BINOPS[op], left: e, right: this.value(), at };
    }
    return e;
  }

  primary(): NftExpr {
    const n = this.next();
    const at = n.at;
    if (n.kind !== 'word')
      throw new SyntaxError(`expected an expression, found ${echo(textOf(n))}`, at);
    const w = n.text;
    if (w === 'exthdr') {
      const header = this.expectWord('an extension header').text;
      return { k: 'exthdr', family: 'ipv6', header, field: null, at };
    }
    const extField = EXTENSION_HEADER_FIELDS[w];
    const next = this.word();
    if (extField !== undefined && next !== null && extField.has(next.replace(/\[\d+\]$/, ''))) {
      this.i++;
      return { k: 'exthdr', family: 'ipv6', header: w, field: next, at };
    }
    if (w === 'ip' && next === 'option') {
      this.i++;
      const header = this.expectWord('an IP option').text;
      const field = this.word();
      if (field === null || !IP_OPTION_FIELDS.has(field))
        return { k: 'exthdr', family: 'ipv4', header, field: null, at };
      this.i++;
      return { k: 'exthdr', family: 'ipv4', header, field, at };
    }
    if (PAYLOAD_PROTOCOLS.has(w)) {
      const field = this.expectWord(`a field of ${w}`).text;
      if (w === 'tcp' && field === 'option') {
        const text = this.take(
          `tcp option`,
          (x) =>
            x.kind === 'word' &&
            /^[a-z0-9-]+$/.test(x.text) &&
            !(x.text in OPS) &&
            !VERDICT_WORDS.has(x.text) &&
            x.text !== 'set',
        );
        return { k: 'other', name: 'tcp option', text, at };
      }
      return { k: 'payload', protocol: w, field, at };
    }
    if (w === 'meta') return { k: 'meta', key: this.expectWord('a meta key').text, at };
    if (BARE_META.has(w)) return { k: 'meta', key: w, at };
    if (w === 'ct') {
      let dir: 'original' | 'reply' | null = null;
      const d = this.word();
      if (d === 'original' || d === 'reply') {
        dir = d;
        this.i++;
      }
      let key = this.expectWord('a conntrack key').text;
      if (key === 'ip' || key === 'ip6') key = `${key} ${this.expectWord('saddr or daddr').text}`;
      return { k: 'ct', key, dir, at };
    }
    if (w === 'fib') {
      const flags: string[] = [this.expectWord('fib flags').text];
      while (this.word() === '.') {
        this.i++;
        flags.push(this.expectWord('a fib flag').text);
      }
      return { k: 'fib', result: this.expectWord('a fib result').text, flags, at };
    }
    if (w === 'numgen' || w === 'jhash' || w === 'symhash') {
      const words = [w];
      if (w === 'jhash') words.push(textOfExpr(this.expr()));
      while (this.word() !== null && /^(mod|offset|seed|random|inc)$/.test(this.word() ?? '')) {
        const x = this.word() ?? '';
        this.i++;
        words.push(x);
        if (x === 'mod' || x === 'offset' || x === 'seed')
          words.push(this.expectWord('a number').text);
      }
      return { k: 'other', name: w, text: words.join(' '), at };
    }
    if (w === 'rt' || w === 'socket' || w === 'osf' || w === 'ipsec') {
      const words = [w];
      while (
        this.word() !== null &&
        /^(ip|ip6|in|out|ttl|loose|skip|level|spnum|\d+|classid|nexthop|mtu|tcpmss|transparent|mark|wildcard|cgroupv2|name|version|reqid|spi|saddr|daddr)$/.test(
          this.word() ?? '',
        )
      ) {
        words.push(this.word() ?? '');
        this.i++;
      }
      return { k: 'other', name: w, text: words.join(' '), at };
    }
    if (w.startsWith('@') && w.includes(','))
      return { k: 'other', name: 'raw payload', text: w, at };
    throw new SyntaxError(`'${echo(w)}' does not start a statement or expression nft knows`, at);
  }

  /** The right-hand side of a match, a map's data, or a `set` value. */
  rhs(): NftExpr {
    const at = this.here();
    const first = this.concatValue();
    if (this.peek()?.kind !== 'comma') return first;
    const items = [first];
    while (this.peek()?.kind === 'comma') {
      this.i++;
      items.push(this.concatValue());
    }
    return { k: 'list', items, at };
  }

  private concatValue(): NftExpr {
    const at = this.here();
    const first = this.value();
    if (this.word() !== '.') return first;
    const items = [first];
    while (this.word() === '.') {
      this.i++;
      items.push(this.value());
    }
    return { k: 'concat', items, at };
  }

  /**
   * One value; it may hold others (`( … )`, `a | b`, `{ … }`), read by recursion, so the nesting
   * is bounded: a `((((…` or `1 | 1 | …` bomb is a syntax error of its rule, not a stack overflow
   * that loses the whole file.
   */
  value(): NftExpr {
    const at = this.here();
    if (this.depth >= MAX_NFT_DEPTH)
      throw new SyntaxError(`values nested deeper than ${MAX_NFT_DEPTH} levels`, at);
    this.depth++;
    try {
      return this.nestedValue();
    } finally {
      this.depth--;
    }
  }

  private nestedValue(): NftExpr {
    const n = this.next();
    const at = n.at;
    if (n.kind === 'group') return this.setOf(n);
    if (n.kind === 'string') return { k: 'value', value: n.text, quoted: true, at };
    if (n.kind === 'lparen') {
      const items: NftExpr[] = [];
      while (!this.atEnd() && this.peek()?.kind !== 'rparen') {
        if (this.word() === '|') {
          this.i++;
          continue;
        }
        items.push(this.value());
      }
      if (this.peek()?.kind === 'rparen') this.i++;
      return { k: 'list', items, at };
    }
    if (n.kind !== 'word') throw new SyntaxError(`expected a value, found ${echo(textOf(n))}`, at);
    if (n.text.startsWith('@') && !n.text.includes(','))
      return { k: 'ref', name: n.text.slice(1), at };
    // a selector as a value: `meta mark set ct mark`, `ct mark set meta mark | 0x4`
    if (n.text === 'meta' || n.text === 'ct') {
      this.i--;
      return this.expr();
    }
    if (n.text === 'jump' || n.text === 'goto')
      return { k: 'verdict', verdict: n.text, chain: this.expectWord('a chain name').text, at };
    if (VERDICT_WORDS.has(n.text)) return { k: 'verdict', verdict: n.text, chain: null, at };
    const v = valueOfWord(n.text, at);
    const op = this.word();
    if (op !== null && (op === '|' || op === '&' || op === '^') && v.k === 'value') {
      this.i++;
      return { k: 'binop', op: BINOPS[op] ?? '|', left: v, right: this.value(), at };
    }
    return v;
  }

  /** `{ a, b . c, d : verdict, … }` → a set (of mappings when the elements have ` : `). */
  private setOf(g: Group): NftExpr {
    const inner = new RuleReader(
      g.items.filter((x) => x.kind !== 'sep'),
      this.depth,
    );
    const items: NftExpr[] = [];
    while (!inner.atEnd()) {
      if (inner.peek()?.kind === 'comma') {
        inner.i++;
        continue;
      }
      const at = inner.here();
      let key = inner.concatValue();
      // element attributes: `timeout 30s`, `expires 10s`, `comment "…"`, `counter …`
      for (;;) {
        const a = inner.word();
        if (a === 'timeout' || a === 'expires') inner.i += 2;
        else if (a === 'comment') inner.i += 2;
        else if (a === 'counter') {
          inner.i++;
          if (inner.word() === 'packets') inner.i += 4;
        } else break;
      }
      if (inner.word() === ':') {
        inner.i++;
        const data = inner.concatValue();
        key = { k: 'mapping', key, data, at };
      }
      items.push(key);
    }
    return { k: 'set', items, at: g.at };
  }
}

function textOf(n: Node): string {
  if (n.kind === 'group') return '{ … }';
  if (n.kind === 'string') return `"${n.text}"`;
  return n.text;
}

function textOfExpr(e: NftExpr): string {
  switch (e.k) {
    case 'payload':
      return `${e.protocol} ${e.field}`;
    case 'meta':
      return e.key;
    case 'ct':
      return `ct ${e.key}`;
    default:
      return e.k;
  }
}

/** `1.2.3.4:80`, `[fd00::1]:80`, `:8080`, `1.2.3.4`, `fd00::1` → host and port text. */
function splitHostPort(text: string): { host: string; port: string } {
  const bracket = /^\[([^\]]+)\](?::(.+))?$/.exec(text);
  if (bracket !== null) return { host: bracket[1] ?? '', port: bracket[2] ?? '' };
  if (text.startsWith(':')) return { host: '', port: text.slice(1) };
  const colons = (text.match(/:/g) ?? []).length;
  if (colons === 1) {
    const [host = '', port = ''] = text.split(':');
    return { host, port };
  }
  return { host: text, port: '' };
}

// ---------------------------------------------------------------------------------------------
// Blocks

interface Ctx {
  readonly file: string;
  readonly source: string;
  readonly diagnostics: Diagnostic[];
  /** `# handle N` comments by line. */
  readonly handles: ReadonlyMap<number, number>;
}

function parseError(ctx: Ctx, message: string, at: SourceLocation): void {
  ctx.diagnostics.push(diagnostic('parse-error', 'error', message, at));
}

function lineText(ctx: Ctx, line: readonly Node[]): string {
  const first = line[0];
  const last = line[line.length - 1];
  if (first === undefined || last === undefined) return '';
  return ctx.source
    .slice(first.start, last.end + 1)
    .replace(/\s+/g, ' ')
    .trim();
}

function wordAt(line: readonly Node[], i: number): string | null {
  const n = line[i];
  return n !== undefined && (n.kind === 'word' || n.kind === 'string') ? n.text : null;
}

function readRule(ctx: Ctx, line: readonly Node[]): NftRuleAst | null {
  const first = line[0];
  if (first === undefined) return null;
  const reader = new RuleReader(line);
  try {
    const { stmts, comment } = reader.rule();
    const last = line[line.length - 1];
    const handle = ctx.handles.get(last?.at.endLine ?? last?.at.line ?? 0);
    return {
      at: first.at,
      text: lineText(ctx, line),
      handle: handle ?? null,
      comment,
      stmts,
    };
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    // the rule is kept: what was read, then its unreadable rest as one statement the engine
    // cannot decide
    parseError(ctx, `${err.message}; the rest of the rule is kept unread`, err.at);
    const rest = line.slice(reader.stmtStart);
    const stmts: NftStmt[] = [
      ...reader.done,
      { k: 'other', name: 'unreadable', text: lineText(ctx, rest), at: rest[0]?.at ?? err.at },
    ];
    return {
      at: first.at,
      text: lineText(ctx, line),
      handle: null,
      comment: reader.comment,
      stmts,
    };
  }
}

function readChain(ctx: Ctx, name: string, at: SourceLocation, body: Group): NftChainAst {
  const rules: NftRuleAst[] = [];
  let base: NftChainAst['base'] = null;
  let policy: string | null = null;
  for (const line of linesOf(body.items)) {
    const w = wordAt(line, 0);
    const lat = line[0]?.at ?? at;
    if (w === 'type' && wordAt(line, 2) === 'hook') {
      const type = wordAt(line, 1) ?? 'filter';
      const hook = wordAt(line, 3) ?? '';
      let i = 4;
      let devices: string[] | null = hook === 'ingress' || hook === 'egress' ? null : [];
      if (wordAt(line, i) === 'device') {
        devices = [wordAt(line, i + 1) ?? ''];
        i += 2;
      } else if (wordAt(line, i) === 'devices') {
        i += wordAt(line, i + 1) === '=' ? 2 : 1;
        const g = line[i];
        if (g?.kind === 'group')
          devices = g.items
            .filter((x) => x.kind === 'word' || x.kind === 'string')
            .map((x) => (x as Tok).text);
        i += 1;
      }
      if (wordAt(line, i) !== 'priority') {
        parseError(ctx, 'a base chain needs `priority`', lat);
        continue;
      }
      const prio = line
        .slice(i + 1)
        .map(textOf)
        .join(' ');
      base = { type, hook, priority: null, priorityText: prio, policy: null, devices, at: lat };
    } else if (w === 'policy') {
      policy = wordAt(line, 1);
    } else if (w === 'comment' && line.length === 2) {
      continue;
    } else {
      const rule = readRule(ctx, line);
      if (rule !== null) rules.push(rule);
    }
  }
  if (base !== null) base = { ...base, policy };
  else if (policy !== null)
    parseError(ctx, `chain ${echo(name)} has a policy but no \`type … hook …\``, at);
  return { at, name, handle: null, base, rules };
}

function readSet(ctx: Ctx, name: string, map: boolean, at: SourceLocation, body: Group): NftSetAst {
  let type = '?';
  let dataType: string | null = null;
  let flags: string[] = [];
  let elements: NftExpr[] | null = null;
  let hasTimeout = false;
  for (const line of linesOf(body.items)) {
    const w = wordAt(line, 0);
    if (w === 'type' || w === 'typeof') {
      const words = line.slice(1).map(textOf);
      const colon = words.indexOf(':');
      type = (colon === -1 ? words : words.slice(0, colon)).join(' ');
      if (colon !== -1) dataType = words.slice(colon + 1).join(' ');
    } else if (w === 'flags') {
      flags = line
        .slice(1)
        .filter((n) => n.kind === 'word')
        .map((n) => (n as Tok).text);
    } else if (w === 'timeout') {
      hasTimeout = true;
    } else if (w === 'elements') {
      const g = line.find((n) => n.kind === 'group');
      if (g === undefined || g.kind !== 'group') {
        parseError(ctx, 'elements need `= { … }`', line[0]?.at ?? at);
        continue;
      }
      try {
        const set = new RuleReader([g]).value();
        elements = set.k === 'set' ? [...set.items] : [];
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        parseError(ctx, `${err.message} in the elements of ${echo(name)}`, err.at);
        elements = null;
      }
    }
  }
  return { at, name, map, type, dataType, flags, elements, hasTimeout };
}

function readTable(ctx: Ctx, line: readonly Node[]): NftTableAst | null {
  const body = line[line.length - 1];
  const at = line[0]?.at ?? { file: ctx.file, line: 1, column: 1 };
  if (body?.kind !== 'group') {
    parseError(ctx, 'expected `table FAMILY NAME { … }`', at);
    return null;
  }
  const words = line.slice(1, -1).map(textOf);
  const family = words.length >= 2 ? (words[0] ?? 'ip') : 'ip';
  const name = wordAt(line, words.length >= 2 ? 2 : 1) ?? '';
  const chains: NftChainAst[] = [];
  const sets: NftSetAst[] = [];
  for (const l of linesOf(body.items)) {
    const w = wordAt(l, 0);
    const g = l[l.length - 1];
    const lat = l[0]?.at ?? at;
    if ((w === 'chain' || w === 'set' || w === 'map') && l.length === 3 && g?.kind === 'group') {
      const n = wordAt(l, 1) ?? '';
      if (w === 'chain') chains.push(readChain(ctx, n, lat, g));
      else sets.push(readSet(ctx, n, w === 'map', lat, g));
    } else if (w === 'flags' || w === 'comment' || g?.kind === 'group') {
      // table flags, comments and other objects (flowtables, counters, quotas, ct helpers)
      continue;
    } else {
      parseError(ctx, `not a table item: ${echo(lineText(ctx, l))}`, lat);
    }
  }
  return { at, family, name, handle: null, chains, sets };
}

/**
 * Deepest `{ … }` nesting read. A ruleset nests table, chain and a set or map in a rule — a few
 * levels; the block parser recurses once per level, so a `{{{…` bomb stops here (the tokens
 * before it are still read) instead of exhausting the stack.
 */
export const MAX_NFT_DEPTH = 64;

function withinDepth(tokens: IToken[], file: string, diagnostics: Diagnostic[]): IToken[] {
  let depth = 0;
  for (const [i, t] of tokens.entries()) {
    if (t.image === '{') depth += 1;
    else if (t.image === '}') depth -= 1;
    if (depth > MAX_NFT_DEPTH) {
      diagnostics.push(
        diagnostic(
          'parse-error',
          'error',
          `blocks nested deeper than ${MAX_NFT_DEPTH} levels; dockwall reads no further`,
          { file, line: t.startLine ?? 1, column: t.startColumn ?? 1 },
        ),
      );
      return tokens.slice(0, i);
    }
  }
  return tokens;
}

export function readNftText(
  text: string,
  file: string,
): { ast: NftRulesetAst; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const lexed = nftLexer().tokenize(text);
  for (const e of lexed.errors) {
    diagnostics.push(
      diagnostic('parse-error', 'error', `unexpected character '${echo(text.charAt(e.offset))}'`, {
        file,
        line: e.line ?? 1,
        column: e.column ?? 1,
      }),
    );
  }
  const handles = new Map<number, number>();
  for (const c of lexed.groups['comments'] ?? []) {
    const m = /^#\s*handle\s+(\d+)/.exec(c.image);
    if (m !== null) handles.set(c.startLine ?? 0, Number(m[1]));
  }
  const parsed = parseNftTokens(withinDepth(lexed.tokens, file, diagnostics));
  for (const e of parsed.errors) {
    const t = e.token;
    const eof = t.tokenType.name === 'EOF';
    diagnostics.push(
      diagnostic(
        'parse-error',
        'error',
        eof
          ? 'the file ends inside a `{ … }` block (a `}` is missing)'
          : `unexpected '${echo(t.image)}'`,
        eof
          ? { file, line: text.split('\n').length, column: 1 }
          : { file, line: t.startLine ?? 1, column: t.startColumn ?? 1 },
      ),
    );
  }
  const ctx: Ctx = { file, source: text, diagnostics, handles };
  // top level: file → lines
  const top: Node[] = [];
  for (const key of Object.keys(parsed.cst.children)) {
    for (const x of children(parsed.cst, key)) {
      if (isToken(x)) {
        if (key === 'NftRBrace') parseError(ctx, "a '}' closes no block", located(file, x));
        else top.push(tokOf(file, x));
      } else {
        for (const item of children(x, 'item')) if (!isToken(item)) top.push(nodeOf(file, item));
      }
    }
  }
  top.sort((a, b) => a.start - b.start);
  const tables: NftTableAst[] = [];
  for (const line of linesOf(top)) {
    const w = wordAt(line, 0);
    if (w === 'table') {
      const t = readTable(ctx, line);
      if (t !== null) tables.push(t);
    } else if (w === 'flush' || w === 'delete' || w === 'destroy') {
      // `flush ruleset` heads /etc/nftables.conf; it removes nothing the listing shows
      continue;
    } else {
      parseError(
        ctx,
        w === 'define' || w === 'include'
          ? `\`${w}\` is nft script syntax, not a listing; give the output of \`nft list ruleset\``
          : `expected \`table FAMILY NAME { … }\`, found ${echo(lineText(ctx, line))}`,
        line[0]?.at ?? { file, line: 1, column: 1 },
      );
    }
  }
  return { ast: { version: null, tables }, diagnostics };
}
