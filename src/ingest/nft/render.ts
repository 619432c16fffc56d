/**
 * nft's own syntax for the syntax tree: how a rule read from `nft -j` JSON is shown (as
 * `nft list ruleset` would print it), and the text of keys and of expressions kept whole.
 */
import type { NftExpr, NftStmt } from './ast.ts';

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Values that nft prints quoted: interface names and other free strings. */
const BARE = /^[A-Za-z0-9_.:/\-*]+$/;

export function renderExpr(e: NftExpr): string {
  switch (e.k) {
    case 'value':
      if (typeof e.value === 'string')
        return e.quoted || !BARE.test(e.value) ? quote(e.value) : e.value;
      if (typeof e.value === 'boolean') return e.value ? 'exists' : 'missing';
      return String(e.value);
    case 'prefix':
      return `${renderExpr(e.addr)}/${e.len}`;
    case 'range':
      return `${renderExpr(e.from)}-${renderExpr(e.to)}`;
    case 'set':
      return `{ ${e.items.map(renderExpr).join(', ')} }`;
    case 'ref':
      return `@${e.name}`;
    case 'concat':
      return e.items.map(renderExpr).join(' . ');
    case 'list':
      return e.items.map(renderExpr).join(',');
    case 'mapping':
      return `${renderExpr(e.key)} : ${renderExpr(e.data)}`;
    case 'elem':
      return renderExpr(e.value);
    case 'payload':
      return `${e.protocol} ${e.field}`;
    case 'exthdr': {
      const head = e.family === 'ipv4' ? `ip option ${e.header}` : e.header;
      if (e.field !== null) return `${head} ${e.field}`;
      return e.family === 'ipv4' ? head : `exthdr ${head}`;
    }
    case 'meta':
      return META_BARE.has(e.key) ? e.key : `meta ${e.key}`;
    case 'ct':
      return `ct${e.dir === null ? '' : ` ${e.dir}`} ${e.key}`;
    case 'fib':
      return `fib ${e.flags.join(' . ')} ${e.result}`;
    case 'binop': {
      const right =
        e.right.k === 'list'
          ? `(${e.right.items.map(renderExpr).join(' | ')})`
          : renderExpr(e.right);
      return `${renderExpr(e.left)} ${e.op} ${right}`;
    }
    case 'map':
      return `${renderExpr(e.key)} map ${renderExpr(e.data)}`;
    case 'verdict':
      return e.chain === null ? e.verdict : `${e.verdict} ${e.chain}`;
    case 'other':
      return e.text;
  }
}

/** Meta keys nft prints without `meta`. */
const META_BARE = new Set(['iifname', 'oifname', 'iif', 'oif', 'mark']);

function renderNat(s: Extract<NftStmt, { k: 'nat' }>): string {
  const words: string[] = [s.kind];
  if (s.family !== null && (s.kind === 'dnat' || s.kind === 'snat')) words.push(s.family);
  if (s.addr !== null || s.port !== null) {
    const addr = s.addr === null ? '' : renderExpr(s.addr);
    const port = s.port === null ? '' : `:${renderExpr(s.port)}`;
    const wrapped = addr.includes(':') && port !== '' ? `[${addr}]` : addr;
    words.push('to', `${wrapped}${port}`);
  }
  words.push(...s.flags);
  return words.join(' ');
}

/** Interface names are strings nft prints quoted (`iifname != "docker0"`). */
const NAME_KEYS = new Set(['iifname', 'oifname', 'iif', 'oif']);

function quoted(e: NftExpr): NftExpr {
  if (e.k === 'value' && typeof e.value === 'string') return { ...e, quoted: true };
  if (e.k === 'set') return { ...e, items: e.items.map(quoted) };
  if (e.k === 'elem') return { ...e, value: quoted(e.value) };
  return e;
}

export function renderStmt(s: NftStmt): string {
  switch (s.k) {
    case 'match': {
      if (s.left.k === 'other' && s.left.name === 'xt match') return s.left.text;
      const op = s.op === '==' || s.op === 'in' ? '' : ` ${s.op}`;
      const right = s.left.k === 'meta' && NAME_KEYS.has(s.left.key) ? quoted(s.right) : s.right;
      return `${renderExpr(s.left)}${op} ${renderExpr(right)}`;
    }
    case 'counter':
      return s.packets === null ? 'counter' : `counter packets ${s.packets} bytes ${s.bytes ?? 0n}`;
    case 'verdict':
      return s.chain === null ? s.verdict : `${s.verdict} ${s.chain}`;
    case 'reject':
      return s.with === '' ? 'reject' : `reject with ${s.with}`;
    case 'log': {
      const words = ['log'];
      if (s.prefix !== null) words.push('prefix', quote(s.prefix));
      if (s.level !== null) words.push('level', s.level);
      if (s.group !== null) words.push('group', String(s.group));
      return words.join(' ');
    }
    case 'stateful':
    case 'queue':
    case 'other':
      return s.text;
    case 'nat':
      return renderNat(s);
    case 'mangle':
      return `${renderExpr(s.key)} set ${renderExpr(s.value)}`;
    case 'notrack':
      return 'notrack';
    case 'vmap':
      return `${renderExpr(s.key)} vmap ${renderExpr(s.data)}`;
    case 'setop':
      return `${s.op} @${s.set}`;
  }
}

export function renderRule(stmts: readonly NftStmt[], comment: string | null): string {
  const text = stmts.map(renderStmt).join(' ');
  return comment === null ? text : `${text} comment ${quote(comment)}`;
}
