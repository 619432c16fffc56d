/**
 * Host interfaces, routes and policy routing rules from `ip -j addr show`, `ip -j route show
 * table all` and `ip -j rule show`.
 */
import ipaddr from 'ipaddr.js';
import type { Diagnostic } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type {
  HostInterface,
  InterfaceAddress,
  PolicyAction,
  PolicyRule,
  Route,
} from '../model/host.ts';
import { deadEndType } from '../model/host.ts';
import type { Family } from '../model/ruleset.ts';
import type { FieldContext } from './fields.ts';
import { arrayField, asObject, kindWord, numberField, objectField, stringField } from './fields.ts';
import type { JsonObject, JsonValue } from './json.ts';
import { parseJson } from './json.ts';

function topArray(
  text: string,
  file: string,
  what: string,
): { items: readonly JsonValue[]; diagnostics: Diagnostic[] } {
  const parsed = parseJson(text, file);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const top = parsed.value ?? parsed.partial;
  if (top === null) return { items: [], diagnostics };
  if (top.kind !== 'array') {
    diagnostics.push(
      diagnostic(
        'wrong-type',
        'error',
        `${what} must be a JSON array, found ${kindWord(top)}`,
        top.location,
      ),
    );
    return { items: [], diagnostics };
  }
  return { items: top.items, diagnostics };
}

export function loadIpAddr(
  text: string,
  file: string,
): { interfaces: readonly HostInterface[]; diagnostics: readonly Diagnostic[] } {
  const { items, diagnostics } = topArray(text, file, 'the output of `ip -j addr show`');
  const ctx: FieldContext = { file, diagnostics };
  const interfaces: HostInterface[] = [];
  items.forEach((item, i) => {
    const path = `ip-addr[${i}]`;
    const obj = asObject(ctx, item, path);
    if (obj === null) return;
    const name = stringField(ctx, obj, 'ifname', path, 'required');
    if (name === null) return;
    const flags = (arrayField(ctx, obj, 'flags', path) ?? []).flatMap((f) =>
      f.kind === 'string' ? [f.value] : [],
    );
    const linkinfo = objectField(ctx, obj, 'linkinfo', path);
    const kind =
      (linkinfo === null ? null : stringField(ctx, linkinfo, 'info_kind', `${path}.linkinfo`)) ??
      stringField(ctx, obj, 'link_type', path);
    const addresses: InterfaceAddress[] = [];
    (arrayField(ctx, obj, 'addr_info', path) ?? []).forEach((a, j) => {
      const apath = `${path}.addr_info[${j}]`;
      const addr = asObject(ctx, a, apath);
      if (addr === null) return;
      const family = stringField(ctx, addr, 'family', apath);
      const local = stringField(ctx, addr, 'local', apath);
      const prefix = numberField(ctx, addr, 'prefixlen', apath);
      if ((family !== 'inet' && family !== 'inet6') || local === null || prefix === null) return;
      addresses.push({
        family: family === 'inet' ? 'ipv4' : 'ipv6',
        address: local,
        prefixLength: prefix,
        scope: stringField(ctx, addr, 'scope', apath),
      });
    });
    interfaces.push({
      name,
      index: numberField(ctx, obj, 'ifindex', path),
      up: flags.includes('UP'),
      addresses,
      kind,
    });
  });
  return { interfaces, diagnostics };
}

function familyOf(...addresses: (string | null)[]): Family | null {
  for (const a of addresses)
    if (a !== null && a !== 'default') return a.includes(':') ? 'ipv6' : 'ipv4';
  return null;
}

/**
 * Routes. The collector stores IPv4 and IPv6 routes (`ip -j -4 …` and `ip -j -6 …`) in one
 * array; the family of each entry is read from its addresses, or, where it names none, from
 * the router preference `ip` prints for IPv6 routes alone.
 */
export function loadIpRoute(
  text: string,
  file: string,
): { routes: readonly Route[]; diagnostics: readonly Diagnostic[] } {
  const { items, diagnostics } = topArray(text, file, 'the output of `ip -j route show table all`');
  const ctx: FieldContext = { file, diagnostics };
  const routes: Route[] = [];
  items.forEach((item, i) => {
    const path = `ip-route[${i}]`;
    const obj = asObject(ctx, item, path);
    if (obj === null) return;
    const dst = stringField(ctx, obj, 'dst', path, 'required');
    if (dst === null) return;
    const gateway = stringField(ctx, obj, 'gateway', path);
    const source = stringField(ctx, obj, 'prefsrc', path);
    const type = stringField(ctx, obj, 'type', path) ?? 'unicast';
    // a route that names no address (`default dev he-ipv6`, `blackhole default`): `ip -j` prints
    // a router preference for every IPv6 route and for no IPv4 one
    const family =
      familyOf(dst, gateway, source) ??
      (obj.entries.some((e) => e.key === 'pref') ? 'ipv6' : 'ipv4');
    const table = obj.entries.find((e) => e.key === 'table')?.value;
    const destination =
      dst === 'default' || dst.includes('/') ? dst : `${dst}/${family === 'ipv4' ? 32 : 128}`;
    // a multipath route names its interfaces in its next hops
    const nexthops = (arrayField(ctx, obj, 'nexthops', path) ?? []).flatMap((h, j) => {
      const hop = asObject(ctx, h, `${path}.nexthops[${j}]`);
      const dev = hop === null ? null : stringField(ctx, hop, 'dev', `${path}.nexthops[${j}]`);
      return dev === null ? [] : [dev];
    });
    routes.push({
      family,
      destination,
      device: stringField(ctx, obj, 'dev', path),
      ...(nexthops.length > 0 ? { nexthops } : {}),
      gateway,
      source,
      table:
        table === undefined
          ? 'main'
          : table.kind === 'number'
            ? tableName(String(table.value))
            : table.kind === 'string'
              ? tableName(table.value)
              : 'main',
      type,
    });
  });
  return { routes, diagnostics };
}

/** The kernel's reserved tables by name, as `ip` prints them unless rt_tables says otherwise. */
const RESERVED_TABLES: Readonly<Record<string, string>> = {
  '253': 'default',
  '254': 'main',
  '255': 'local',
};

/** A routing table's name, the reserved ones by name whichever way the input spells them. */
export function tableName(text: string): string {
  return RESERVED_TABLES[text] ?? text;
}

/** Keys of `ip -j rule show` that say how a rule is kept, not which packets it selects. */
const RULE_METADATA = new Set([
  'priority',
  'table',
  'action',
  'goto',
  'nop',
  'suppress_prefixlen',
  'suppress_ifgroup',
  'protocol',
  'iif_detached',
  'oif_detached',
  'flags',
  'src',
  'srclen',
  'dst',
  'dstlen',
  'not',
  'l3mdev',
  // realms
  'flow_from',
  'flow_to',
]);

/**
 * Policy routing rules of one family: `ip -j -4 rule show` (ip-rule.json) or `ip -j -6 rule
 * show` (ip6-rule.json), ordered by priority as the kernel walks them. A rule that cannot be
 * read is reported and stands as one that may do anything, first.
 */
export function loadIpRule(
  text: string,
  file: string,
  family: Family,
): { rules: readonly PolicyRule[] | undefined; diagnostics: readonly Diagnostic[] } {
  const { rules, listed, diagnostics } = text.trimStart().startsWith('[')
    ? readJsonRules(text, file, family)
    : readTextRules(text, file, family);
  if (listed === 0) {
    // the kernel always has its rules (local, main): none listed is no listing at all
    if (!diagnostics.some((d) => d.severity === 'error'))
      diagnostics.push(
        diagnostic(
          'partial-input',
          'warning',
          `${file} lists no rule, which no kernel has: policy routing is taken as not known`,
          { file, line: 1, column: 1 },
        ),
      );
    return { rules: undefined, diagnostics };
  }
  rules.sort((a, b) => a.priority - b.priority);
  // what could not be read may have been any rule, ahead of every other: whatever it could do
  // is only possible
  if (diagnostics.some((d) => d.severity === 'error'))
    rules.unshift({
      priority: 0,
      destination: null,
      selectors: ['(not read)'],
      action: { kind: 'other', text: 'a rule that could not be read' },
      text: `a rule of ${file} that could not be read`,
    });
  return { rules, diagnostics };
}

/** `ip -j rule show`, as the collectors write it. */
function readJsonRules(
  text: string,
  file: string,
  family: Family,
): { rules: PolicyRule[]; listed: number; diagnostics: Diagnostic[] } {
  const command = `ip -j ${family === 'ipv4' ? '-4' : '-6'} rule show`;
  const { items, diagnostics } = topArray(text, file, `the output of \`${command}\``);
  const ctx: FieldContext = { file, diagnostics };
  const rules: PolicyRule[] = [];
  items.forEach((item, i) => {
    const path = `ip-rule[${i}]`;
    const obj = asObject(ctx, item, path);
    const rule = obj === null ? null : readRule(ctx, obj, path, family);
    if (rule !== null) rules.push(rule);
  });
  return { rules, listed: items.length, diagnostics };
}

/** A prefix of the family (`all`: null), or undefined when it is none. */
function familyPrefix(address: string, length: number | null, family: Family): string | undefined {
  const cidr = `${address}/${length ?? (family === 'ipv4' ? 32 : 128)}`;
  try {
    const [parsed] = ipaddr.parseCIDR(cidr);
    if ((parsed.kind() === 'ipv4') === (family === 'ipv4')) return cidr;
  } catch {
    // not an address
  }
  return undefined;
}

/** The rule as `ip rule` prints it, from what was read. */
function ruleText(
  priority: number,
  from: string | null,
  to: string | null,
  selectors: readonly string[],
  action: PolicyAction,
): string {
  return [
    `${priority}:`,
    ...(selectors.includes('not') ? ['not'] : []),
    `from ${from ?? 'all'}`,
    ...(to === null ? [] : [`to ${to}`]),
    ...selectors.filter((w) => w !== 'not' && !w.startsWith('from ')),
    actionText(action),
  ].join(' ');
}

/** Words of `ip rule show`'s text that say how a rule is kept, each with the words it takes. */
const TEXT_METADATA: Readonly<Record<string, number>> = {
  proto: 1,
  protocol: 1,
  realms: 1,
  suppress_prefixlength: 1,
  suppress_ifgroup: 1,
  '[detached]': 0,
};

/** Selector words of `ip rule show`'s text, each with the words it takes. */
const TEXT_SELECTORS: Readonly<Record<string, number>> = {
  iif: 1,
  oif: 1,
  fwmark: 1,
  tos: 1,
  dsfield: 1,
  ipproto: 1,
  sport: 1,
  dport: 1,
  uidrange: 1,
  tun_id: 1,
  flowlabel: 1,
  l3mdev: 0,
};

/**
 * `ip rule show` as people paste it (`32765:\tnot from all fwmark 0xca6c lookup 51820`): each
 * line a rule. A word dockwall does not know is kept as a selector (the rule then selects some
 * packets, which makes what it does only possible) and said; a line it cannot read is an error.
 */
function readTextRules(
  text: string,
  file: string,
  family: Family,
): { rules: PolicyRule[]; listed: number; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const rules: PolicyRule[] = [];
  let listed = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    listed++;
    const at = { file, line: i + 1, column: raw.length - raw.trimStart().length + 1 };
    const bad = (why: string): void => {
      diagnostics.push(
        diagnostic('parse-error', 'error', `not a rule of \`ip rule show\`: ${why}`, at),
      );
    };
    const m = /^(\d+):\s+(.*)$/.exec(line);
    if (m === null) return bad('a rule starts with its priority and a colon');
    const priority = Number(m[1]);
    const words = (m[2] ?? '').split(/\s+/);
    const selectors: string[] = [];
    let from: string | null = null;
    let to: string | null = null;
    let action: PolicyAction | null = null;
    let suppressPrefixLength: number | null = null;
    let suppressIfgroup = false;
    for (let k = 0; k < words.length; k++) {
      const w = words[k] ?? '';
      const next = words[k + 1];
      const deadEnd = deadEndType(w);
      if (w === 'not') selectors.push('not');
      else if ((w === 'from' || w === 'to') && next !== undefined) {
        k++;
        if (next === 'all') continue;
        const [address = '', length] = next.split('/');
        const cidr = familyPrefix(address, length === undefined ? null : Number(length), family);
        if (cidr === undefined)
          return bad(`${w} ${next} is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} prefix`);
        if (w === 'from') {
          from = cidr;
          selectors.push(`from ${cidr}`);
        } else to = cidr;
      } else if ((w === 'lookup' || w === 'table') && next !== undefined) {
        k++;
        action =
          next === '[l3mdev-table]'
            ? { kind: 'other', text: 'lookup [l3mdev-table]' }
            : {
                kind: 'lookup',
                table: tableName(next),
                suppressPrefixLength: null,
                suppressIfgroup: false,
              };
        if (next === '[l3mdev-table]') selectors.push('l3mdev');
      } else if (w === 'goto' && next !== undefined && /^\d+$/.test(next)) {
        k++;
        action = { kind: 'goto', priority: Number(next) };
      } else if (w === 'nop') action = { kind: 'nop' };
      else if (deadEnd !== undefined) action = { kind: 'dead-end', type: deadEnd };
      else if (w === 'suppress_prefixlength' && next !== undefined && /^\d+$/.test(next)) {
        k++;
        suppressPrefixLength = Number(next);
      } else if (w === 'suppress_ifgroup' && next !== undefined) {
        k++;
        suppressIfgroup = true;
      } else if (w in TEXT_METADATA) k += TEXT_METADATA[w] ?? 0;
      else if (w in TEXT_SELECTORS) {
        const n = TEXT_SELECTORS[w] ?? 0;
        selectors.push([w, ...words.slice(k + 1, k + 1 + n)].join(' '));
        k += n;
      } else {
        // a selector of a newer `ip` perhaps: the rule selects some packets
        selectors.push(w);
        diagnostics.push(
          diagnostic(
            'unknown-option',
            'warning',
            `\`${w}\` is not a word of \`ip rule show\` dockwall knows: read as selecting some packets`,
            at,
          ),
        );
      }
    }
    if (action === null) return bad('it names no table and no action');
    if (action.kind === 'lookup') action = { ...action, suppressPrefixLength, suppressIfgroup };
    rules.push({
      priority,
      destination: to,
      selectors,
      action,
      text: ruleText(priority, from, to, selectors, action),
    });
  });
  return { rules, listed, diagnostics };
}

function readRule(
  ctx: FieldContext,
  obj: JsonObject,
  path: string,
  family: Family,
): PolicyRule | null {
  const priority = numberField(ctx, obj, 'priority', path, 'required');
  if (priority === null) return null;
  const has = (key: string): boolean => obj.entries.some((e) => e.key === key);
  const prefix = (key: 'src' | 'dst'): string | null | undefined => {
    const address = stringField(ctx, obj, key, path);
    if (address === null || address === 'all') return null;
    const length = numberField(ctx, obj, `${key}len`, path);
    const cidr = familyPrefix(address, length, family);
    if (cidr === undefined)
      ctx.diagnostics.push(
        diagnostic(
          'invalid-value',
          'error',
          `${path}.${key} is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} prefix: ${address}/${length ?? (family === 'ipv4' ? 32 : 128)}`,
          obj.location,
        ),
      );
    return cidr;
  };
  const from = prefix('src');
  const to = prefix('dst');
  if (from === undefined || to === undefined) return null;
  const selectors: string[] = [];
  if (has('not')) selectors.push('not');
  if (from !== null) selectors.push(`from ${from}`);
  for (const e of obj.entries) {
    if (RULE_METADATA.has(e.key)) continue;
    const v = e.value;
    const word = v.kind === 'string' || v.kind === 'number' ? `${e.key} ${String(v.value)}` : e.key;
    selectors.push(word);
  }
  if (has('l3mdev')) selectors.push('l3mdev');
  const action = readAction(ctx, obj, path);
  if (action === null) return null;
  return {
    priority,
    destination: to,
    selectors,
    action,
    text: ruleText(priority, from, to, selectors, action),
  };
}

function readAction(ctx: FieldContext, obj: JsonObject, path: string): PolicyAction | null {
  const has = (key: string): boolean => obj.entries.some((e) => e.key === key);
  const action = stringField(ctx, obj, 'action', path);
  const deadEnd = deadEndType(action);
  if (deadEnd !== undefined) return { kind: 'dead-end', type: deadEnd };
  if (action !== null) return { kind: 'other', text: action };
  if (has('goto')) {
    const target = numberField(ctx, obj, 'goto', path);
    return target === null ? null : { kind: 'goto', priority: target };
  }
  if (has('nop')) return { kind: 'nop' };
  if (has('l3mdev')) return { kind: 'other', text: 'lookup [l3mdev-table]' };
  const table = obj.entries.find((e) => e.key === 'table')?.value;
  if (table === undefined) {
    ctx.diagnostics.push(
      diagnostic('missing-field', 'error', `${path} has no table and no action`, obj.location),
    );
    return null;
  }
  if (table.kind !== 'string' && table.kind !== 'number') {
    ctx.diagnostics.push(
      diagnostic(
        'wrong-type',
        'error',
        `${path}.table must be a string or a number, found ${kindWord(table)}`,
        table.location,
      ),
    );
    return null;
  }
  return {
    kind: 'lookup',
    table: tableName(String(table.value)),
    suppressPrefixLength: numberField(ctx, obj, 'suppress_prefixlen', path),
    suppressIfgroup: has('suppress_ifgroup'),
  };
}

function actionText(action: PolicyAction): string {
  switch (action.kind) {
    case 'lookup':
      return `lookup ${action.table}${action.suppressPrefixLength === null ? '' : ` suppress_prefixlength ${action.suppressPrefixLength}`}${action.suppressIfgroup ? ' suppress_ifgroup' : ''}`;
    case 'dead-end':
      return action.type;
    case 'goto':
      return `goto ${action.priority}`;
    case 'nop':
      return 'nop';
    case 'other':
      return action.text;
  }
}
