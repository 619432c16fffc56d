/**
 * `nft -j list ruleset` (libnftables-json, schema 1) into the nftables syntax tree. Objects come
 * flat (tables, then sets, chains and rules naming their table and chain); they are gathered
 * here. A malformed object is a located diagnostic and is skipped; the rest is still read.
 */
import type { Diagnostic, SourceLocation } from '../../model/diagnostic.ts';
import { diagnostic } from '../../model/diagnostic.ts';
import { echo } from '../../model/safe-text.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import { getEntry, parseJson } from '../json.ts';
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
import { renderExpr, renderRule } from './render.ts';

interface Ctx {
  readonly file: string;
  readonly diagnostics: Diagnostic[];
}

function bad(ctx: Ctx, message: string, at: SourceLocation): void {
  ctx.diagnostics.push(diagnostic('nft-json-invalid', 'error', message, at));
}

function str(o: JsonObject, key: string): string | null {
  const v = getEntry(o, key)?.value;
  return v?.kind === 'string' ? v.value : null;
}

function num(o: JsonObject, key: string): number | null {
  const v = getEntry(o, key)?.value;
  return v?.kind === 'number' ? v.value : null;
}

/** The one key of `{"name": value}`, the shape of every statement and most expressions. */
function single(v: JsonValue): { key: string; value: JsonValue } | null {
  if (v.kind !== 'object' || v.entries.length !== 1) return null;
  const e = v.entries[0];
  return e === undefined ? null : { key: e.key, value: e.value };
}

function strings(v: JsonValue | undefined): string[] {
  if (v === undefined) return [];
  if (v.kind === 'string') return [v.value];
  if (v.kind === 'array') return v.items.flatMap((i) => (i.kind === 'string' ? [i.value] : []));
  return [];
}

const VERDICTS = new Set(['accept', 'drop', 'continue', 'return', 'jump', 'goto']);
const BINOPS = new Set(['&', '|', '^', '<<', '>>']);

export function jsonExpr(v: JsonValue): NftExpr {
  const at = v.location;
  switch (v.kind) {
    case 'string':
      return v.value.startsWith('@')
        ? { k: 'ref', name: v.value.slice(1), at }
        : { k: 'value', value: v.value, quoted: false, at };
    case 'number':
      return { k: 'value', value: v.value, quoted: false, at };
    case 'boolean':
      return { k: 'value', value: v.value, quoted: false, at };
    case 'array':
      return { k: 'list', items: v.items.map(jsonExpr), at };
    case 'null':
      return { k: 'other', name: 'null', text: 'null', at };
    case 'object':
      break;
  }
  const one = single(v);
  if (one === null) return { k: 'other', name: 'object', text: compact(v), at };
  const { key, value } = one;
  const obj = value.kind === 'object' ? value : null;
  if (key === 'prefix' && obj !== null) {
    const addr = getEntry(obj, 'addr')?.value;
    const len = num(obj, 'len');
    if (addr !== undefined && len !== null) return { k: 'prefix', addr: jsonExpr(addr), len, at };
  }
  if (key === 'range' && value.kind === 'array' && value.items.length === 2) {
    const [from, to] = value.items as [JsonValue, JsonValue];
    return { k: 'range', from: jsonExpr(from), to: jsonExpr(to), at };
  }
  if (key === 'set') {
    if (value.kind === 'array') return { k: 'set', items: value.items.map(setItem), at };
    if (value.kind === 'string' && value.value.startsWith('@'))
      return { k: 'ref', name: value.value.slice(1), at };
    return { k: 'set', items: [setItem(value)], at };
  }
  if (key === 'concat' && value.kind === 'array') {
    return { k: 'concat', items: value.items.map(jsonExpr), at };
  }
  if (key === 'elem' && obj !== null) {
    const val = getEntry(obj, 'val')?.value;
    if (val !== undefined) return { k: 'elem', value: jsonExpr(val), at };
  }
  if (key === 'payload' && obj !== null) {
    const protocol = str(obj, 'protocol');
    const field = str(obj, 'field');
    if (protocol !== null && field !== null) return { k: 'payload', protocol, field, at };
    return { k: 'other', name: 'payload', text: `@${compact(value)}`, at };
  }
  if ((key === 'exthdr' || key === 'ip option') && obj !== null) {
    const header = str(obj, 'name');
    if (header !== null) {
      const family = key === 'exthdr' ? 'ipv6' : 'ipv4';
      return { k: 'exthdr', family, header, field: str(obj, 'field'), at };
    }
  }
  if (key === 'meta' && obj !== null) {
    const k = str(obj, 'key');
    if (k !== null) return { k: 'meta', key: k, at };
  }
  if (key === 'ct' && obj !== null) {
    const k = str(obj, 'key');
    const dir = str(obj, 'dir');
    const family = str(obj, 'family');
    if (k !== null) {
      return {
        k: 'ct',
        key: family !== null && !k.includes(' ') ? `${family} ${k}` : k,
        dir: dir === 'original' || dir === 'reply' ? dir : null,
        at,
      };
    }
  }
  if (key === 'fib' && obj !== null) {
    const result = str(obj, 'result');
    if (result !== null)
      return { k: 'fib', result, flags: strings(getEntry(obj, 'flags')?.value), at };
  }
  if (BINOPS.has(key) && value.kind === 'array' && value.items.length === 2) {
    const [left, right] = value.items as [JsonValue, JsonValue];
    return {
      k: 'binop',
      op: key as '&' | '|' | '^' | '<<' | '>>',
      left: jsonExpr(left),
      right: jsonExpr(right),
      at,
    };
  }
  if (key === 'map' && obj !== null) {
    const k = getEntry(obj, 'key')?.value;
    const data = getEntry(obj, 'data')?.value;
    if (k !== undefined && data !== undefined)
      return { k: 'map', key: jsonExpr(k), data: jsonExpr(data), at };
  }
  if (key === 'numgen' && obj !== null) {
    const offset = num(obj, 'offset');
    const tail = offset === null || offset === 0 ? '' : ` offset ${offset}`;
    return {
      k: 'other',
      name: 'numgen',
      text: `numgen ${str(obj, 'mode') ?? '?'} mod ${num(obj, 'mod') ?? '?'}${tail}`,
      at,
    };
  }
  if (VERDICTS.has(key)) {
    const target = obj === null ? null : str(obj, 'target');
    return { k: 'verdict', verdict: key, chain: target, at };
  }
  return { k: 'other', name: key, text: `${key} ${compact(value)}`, at };
}

/** A set or map element: `[key, data]` pairs in maps, plain values in sets. */
function setItem(v: JsonValue): NftExpr {
  if (v.kind === 'array' && v.items.length === 2) {
    const [key, data] = v.items as [JsonValue, JsonValue];
    return { k: 'mapping', key: jsonExpr(key), data: jsonExpr(data), at: v.location };
  }
  return jsonExpr(v);
}

/** `limit rate over 5/minute burst 3 packets`, as nft prints the JSON's limit. */
function limitText(o: JsonObject): string {
  const words = ['limit', 'rate'];
  if (getEntry(o, 'inv')?.value.kind === 'boolean' && num(o, 'rate') !== null) {
    const inv = getEntry(o, 'inv')?.value;
    if (inv?.kind === 'boolean' && inv.value) words.push('over');
  }
  const unit = str(o, 'rate_unit');
  const per = str(o, 'per') ?? 'second';
  words.push(
    `${num(o, 'rate') ?? '?'}${unit !== null && unit !== 'packets' ? ` ${unit}` : ''}/${per}`,
  );
  const burst = num(o, 'burst');
  if (burst !== null && burst !== 5) {
    const bunit = str(o, 'burst_unit');
    words.push('burst', String(burst), bunit ?? 'packets');
  }
  return words.join(' ');
}

/** A value kept whole, as compact JSON (for expressions not understood). */
function compact(v: JsonValue): string {
  switch (v.kind) {
    case 'object':
      return `{${v.entries.map((e) => `${JSON.stringify(e.key)}:${compact(e.value)}`).join(',')}}`;
    case 'array':
      return `[${v.items.map(compact).join(',')}]`;
    case 'string':
      return JSON.stringify(v.value);
    case 'null':
      return 'null';
    default:
      return String(v.value);
  }
}

const MATCH_OPS = new Set<string>(['==', '!=', '<', '>', '<=', '>=', 'in']);

/** A packet or byte count: a whole number from 0 up; anything else is said, and left unknown. */
function countOf(ctx: Ctx, o: JsonObject, key: string, at: SourceLocation): bigint | null {
  const n = num(o, key);
  if (n === null) return null;
  // a count past 2^53 is read as the nearest double nft's JSON holds; Infinity (1e999) is none
  if (Number.isInteger(n) && n >= 0) return BigInt(n);
  bad(ctx, `counter "${key}": ${String(n)} is not a count`, at);
  return null;
}

function jsonStmt(ctx: Ctx, v: JsonValue): NftStmt {
  const at = v.location;
  const one = single(v);
  if (one === null) return { k: 'other', name: 'object', text: compact(v), at };
  const { key, value } = one;
  const obj = value.kind === 'object' ? value : null;
  const text = (): string => `${key} ${compact(value)}`;
  switch (key) {
    case 'match': {
      const op = obj === null ? null : str(obj, 'op');
      const left = obj === null ? undefined : getEntry(obj, 'left')?.value;
      const right = obj === null ? undefined : getEntry(obj, 'right')?.value;
      if (op === null || !MATCH_OPS.has(op) || left === undefined || right === undefined) break;
      return {
        k: 'match',
        op: op as NftMatchOp,
        left: jsonExpr(left),
        right: jsonExpr(right),
        at,
      };
    }
    case 'counter':
      return {
        k: 'counter',
        packets: obj === null ? null : countOf(ctx, obj, 'packets', at),
        bytes: obj === null ? null : countOf(ctx, obj, 'bytes', at),
        at,
      };
    case 'accept':
    case 'drop':
    case 'continue':
    case 'return':
      return { k: 'verdict', verdict: key, chain: null, at };
    case 'jump':
    case 'goto': {
      const target = obj === null ? null : str(obj, 'target');
      if (target === null) break;
      return { k: 'verdict', verdict: key, chain: target, at };
    }
    case 'reject': {
      const type = obj === null ? null : str(obj, 'type');
      const expr = obj === null ? null : getEntry(obj, 'expr')?.value;
      const how = expr === undefined || expr === null ? '' : renderExpr(jsonExpr(expr));
      const withText =
        type === null
          ? how
          : type === 'tcp reset'
            ? 'tcp reset'
            : `${type}${how === '' ? '' : ` ${how}`}`;
      return { k: 'reject', with: withText, at };
    }
    case 'log': {
      const group = obj === null ? null : num(obj, 'group');
      return {
        k: 'log',
        prefix: obj === null ? null : str(obj, 'prefix'),
        level: obj === null ? null : str(obj, 'level'),
        group,
        at,
      };
    }
    case 'limit':
      return { k: 'stateful', name: key, text: obj === null ? text() : limitText(obj), at };
    case 'quota':
    case 'ct count':
    case 'meter':
    case 'connlimit':
      return { k: 'stateful', name: key, text: text(), at };
    case 'dnat':
    case 'snat':
    case 'masquerade':
    case 'redirect': {
      const addr = obj === null ? undefined : getEntry(obj, 'addr')?.value;
      const port = obj === null ? undefined : getEntry(obj, 'port')?.value;
      return {
        k: 'nat',
        kind: key,
        family: obj === null ? null : str(obj, 'family'),
        addr: addr === undefined ? null : jsonExpr(addr),
        port: port === undefined ? null : jsonExpr(port),
        flags: obj === null ? [] : strings(getEntry(obj, 'flags')?.value),
        at,
      };
    }
    case 'mangle': {
      const k = obj === null ? undefined : getEntry(obj, 'key')?.value;
      const val = obj === null ? undefined : getEntry(obj, 'value')?.value;
      if (k === undefined || val === undefined) break;
      return { k: 'mangle', key: jsonExpr(k), value: jsonExpr(val), at };
    }
    case 'notrack':
      return { k: 'notrack', at };
    case 'vmap': {
      const k = obj === null ? undefined : getEntry(obj, 'key')?.value;
      const data = obj === null ? undefined : getEntry(obj, 'data')?.value;
      if (k === undefined || data === undefined) break;
      return { k: 'vmap', key: jsonExpr(k), data: jsonExpr(data), at };
    }
    case 'set': {
      const op = obj === null ? null : str(obj, 'op');
      const set = obj === null ? null : str(obj, 'set');
      if (op === null || set === null) break;
      return { k: 'setop', op, set: set.replace(/^@/, ''), at };
    }
    case 'queue':
      return { k: 'queue', text: text(), at };
    case 'xt': {
      // iptables-nft's extensions, which nft cannot print: a match is a condition kept whole
      const type = obj === null ? null : str(obj, 'type');
      const name = obj === null ? null : str(obj, 'name');
      const whole = `xt ${type ?? '?'} ${name ?? '?'}`;
      if (type === 'match') {
        return {
          k: 'match',
          op: '==',
          left: { k: 'other', name: 'xt match', text: whole, at },
          right: { k: 'value', value: true, quoted: false, at },
          at,
        };
      }
      return { k: 'other', name: `xt ${type ?? '?'}`, text: whole, at };
    }
    default:
      break;
  }
  return { k: 'other', name: key, text: text(), at };
}

interface TableBuild {
  readonly ast: { at: SourceLocation; family: string; name: string; handle: number | null };
  readonly chains: Map<string, { ast: Omit<NftChainAst, 'rules'>; rules: NftRuleAst[] }>;
  readonly sets: NftSetAst[];
}

export function readNftJson(
  text: string,
  file: string,
): { ast: NftRulesetAst | null; diagnostics: Diagnostic[] } {
  const parsed = parseJson(text, file);
  const ctx: Ctx = { file, diagnostics: [...parsed.diagnostics] };
  const top = parsed.value ?? parsed.partial;
  if (top === null) return { ast: null, diagnostics: ctx.diagnostics };
  const list = top.kind === 'object' ? getEntry(top, 'nftables')?.value : undefined;
  if (list?.kind !== 'array') {
    ctx.diagnostics.push(
      diagnostic(
        'wrong-type',
        'error',
        'expected the {"nftables": [...]} object of `nft -j list ruleset`',
        top.location,
      ),
    );
    return { ast: null, diagnostics: ctx.diagnostics };
  }
  let version: string | null = null;
  const tables = new Map<string, TableBuild>();
  const tableOf = (o: JsonObject, what: string, at: SourceLocation): TableBuild | null => {
    const family = str(o, 'family');
    const name = str(o, 'table');
    if (family === null || name === null) {
      bad(ctx, `${what} without "family" and "table"`, at);
      return null;
    }
    const t = tables.get(`${family} ${name}`);
    if (t === undefined) {
      bad(
        ctx,
        `${what} names table ${echo(family)} ${echo(name)}, which the listing does not declare`,
        at,
      );
      return null;
    }
    return t;
  };

  for (const item of list.items) {
    const one = single(item);
    if (one === null || one.value.kind !== 'object') {
      bad(ctx, 'expected an object with one key (table, chain, rule, set, map, …)', item.location);
      continue;
    }
    const o = one.value;
    const at = item.location;
    switch (one.key) {
      case 'metainfo':
        version = str(o, 'version');
        break;
      case 'table': {
        const family = str(o, 'family');
        const name = str(o, 'name');
        if (family === null || name === null) {
          bad(ctx, 'table without "family" and "name"', at);
          break;
        }
        tables.set(`${family} ${name}`, {
          ast: { at, family, name, handle: num(o, 'handle') },
          chains: new Map(),
          sets: [],
        });
        break;
      }
      case 'chain': {
        const t = tableOf(o, 'chain', at);
        const name = str(o, 'name');
        if (t === null) break;
        if (name === null) {
          bad(ctx, 'chain without "name"', at);
          break;
        }
        const hook = str(o, 'hook');
        const type = str(o, 'type');
        const dev = getEntry(o, 'dev')?.value;
        const devices = dev === undefined ? null : strings(dev);
        t.chains.set(name, {
          ast: {
            at,
            name,
            handle: num(o, 'handle'),
            base:
              hook === null
                ? null
                : {
                    type: type ?? 'filter',
                    hook,
                    priority: num(o, 'prio'),
                    priorityText: String(num(o, 'prio') ?? '?'),
                    policy: str(o, 'policy'),
                    devices: hook === 'ingress' || hook === 'egress' ? devices : [],
                    at,
                  },
          },
          rules: [],
        });
        break;
      }
      case 'set':
      case 'map': {
        const t = tableOf(o, one.key, at);
        const name = str(o, 'name');
        if (t === null) break;
        if (name === null) {
          bad(ctx, `${one.key} without "name"`, at);
          break;
        }
        const type = getEntry(o, 'type')?.value;
        const typeText =
          type === undefined
            ? '?'
            : type.kind === 'array'
              ? strings(type).join(' . ')
              : type.kind === 'string'
                ? type.value
                : renderExpr(jsonExpr(type));
        const elem = getEntry(o, 'elem')?.value;
        t.sets.push({
          at,
          name,
          map: one.key === 'map',
          type: typeText,
          dataType: str(o, 'map'),
          flags: strings(getEntry(o, 'flags')?.value),
          elements:
            elem === undefined
              ? null
              : elem.kind === 'array'
                ? elem.items.map(setItem)
                : [setItem(elem)],
          hasTimeout: getEntry(o, 'timeout') !== undefined,
        });
        break;
      }
      case 'rule': {
        const t = tableOf(o, 'rule', at);
        const chain = str(o, 'chain');
        if (t === null) break;
        const c = chain === null ? undefined : t.chains.get(chain);
        if (c === undefined) {
          bad(ctx, `rule of chain ${echo(chain ?? '?')}, which the listing does not declare`, at);
          break;
        }
        const expr = getEntry(o, 'expr')?.value;
        if (expr?.kind !== 'array') {
          bad(ctx, 'rule without an "expr" array', at);
          break;
        }
        const stmts = expr.items.map((x) => jsonStmt(ctx, x));
        const comment = str(o, 'comment');
        c.rules.push({
          at,
          text: renderRule(stmts, comment),
          handle: num(o, 'handle'),
          comment,
          stmts,
        });
        break;
      }
      default:
        // flowtables, named counters, quotas, ct helpers…: objects rules may refer to, with no
        // verdict of their own
        break;
    }
  }
  const out: NftTableAst[] = [...tables.values()].map((t) => ({
    ...t.ast,
    sets: t.sets,
    chains: [...t.chains.values()].map((c) => ({ ...c.ast, rules: c.rules })),
  }));
  return { ast: { version, tables: out }, diagnostics: ctx.diagnostics };
}
