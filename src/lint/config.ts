/**
 * `.dockwall.yaml`: severity overrides and rule options, ignores (with a reason, optional
 * expiry), the fail-on threshold and the exposure policy. Every problem is a located diagnostic
 * (file, line, column, what is wrong); the CLI exits 2 on any error-severity config diagnostic.
 */
import { readFile } from 'node:fs/promises';
import ipaddr from 'ipaddr.js';
import type { Node, YAMLMap } from 'yaml';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { YAML_TOO_DEEP, yamlTooDeep } from '../ingest/yaml.ts';
import type { Diagnostic, Severity, SourceLocation } from '../model/diagnostic.ts';
import { diagnostic, fileLocation } from '../model/diagnostic.ts';
import { isProtocol } from '../model/host.ts';
import type { PortRange } from '../model/ruleset.ts';
import type { Policy, PolicyAllow, PolicyTarget } from '../model/exposure-policy.ts';
import type { FailOn, Ignore, ResolvedConfig, RuleSetting } from './config-types.ts';
import { validateOptions } from './options.ts';
import type { RuleModule } from './rule.ts';

export interface ConfigLoad {
  readonly config: ResolvedConfig;
  readonly diagnostics: readonly Diagnostic[];
}

const SEVERITIES: readonly string[] = ['error', 'warning', 'note'];
/** The rule the top-level `policy:` configures. */
export const POLICY_RULE = 'exposure-policy';

class Reader {
  readonly diagnostics: Diagnostic[] = [];
  readonly file: string;
  readonly lines: LineCounter;
  constructor(file: string, lines: LineCounter) {
    this.file = file;
    this.lines = lines;
  }

  at(node: Node | null | undefined): SourceLocation {
    const offset = node?.range?.[0];
    if (offset === undefined) return fileLocation(this.file);
    const pos = this.lines.linePos(offset);
    return { file: this.file, line: pos.line, column: pos.col };
  }

  error(node: Node | null | undefined, message: string): void {
    this.diagnostics.push(diagnostic('invalid-config', 'error', message, this.at(node)));
  }

  warn(node: Node | null | undefined, message: string): void {
    this.diagnostics.push(diagnostic('invalid-config', 'warning', message, this.at(node)));
  }

  /** Map entries as [key, value node, key node], reporting keys that are not plain strings. */
  entries(map: YAMLMap): [string, Node | null, Node | null][] {
    const out: [string, Node | null, Node | null][] = [];
    for (const pair of map.items) {
      const keyNode = pair.key as Node | null;
      if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
        this.error(keyNode, 'keys must be plain strings');
        continue;
      }
      out.push([keyNode.value, pair.value as Node | null, keyNode]);
    }
    return out;
  }

  string(node: Node | null, what: string): string | null {
    if (isScalar(node) && typeof node.value === 'string' && node.value.trim() !== '') {
      return node.value.trim();
    }
    if (isScalar(node) && node.value instanceof Date) return node.value.toISOString().slice(0, 10);
    this.error(node, `${what} must be a non-empty string`);
    return null;
  }
}

function scalarValue(node: Node | null): unknown {
  return isScalar(node) ? node.value : undefined;
}

/** Plain JS value of a node (for rule options). */
function toValue(node: Node | null): unknown {
  if (node === null) return null;
  if (isScalar(node)) return node.value;
  if (isSeq(node)) return (node.items as Node[]).map((n) => toValue(n));
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      out[String(scalarValue(pair.key as Node))] = toValue(pair.value as Node | null);
    }
    return out;
  }
  return undefined;
}

function readRules(
  r: Reader,
  node: Node | null,
  registry: Readonly<Record<string, RuleModule>>,
): Record<string, RuleSetting> {
  const out: Record<string, RuleSetting> = {};
  if (!isMap(node)) {
    r.error(node, "'rules' must be a map of rule id to a severity or { severity, options }");
    return out;
  }
  for (const [id, value, keyNode] of r.entries(node)) {
    const rule = registry[id];
    if (rule === undefined) {
      const known = Object.keys(registry).sort().join(', ');
      r.error(keyNode, `unknown rule '${id}' (known rules: ${known})`);
      continue;
    }
    let severity: Severity | 'off' | null = null;
    let options: Record<string, unknown> | null = null;
    const readSeverity = (n: Node | null): void => {
      const v = scalarValue(n);
      if (typeof v === 'string' && (SEVERITIES.includes(v) || v === 'off')) {
        severity = v as Severity | 'off';
      } else {
        r.error(n, `severity of '${id}' must be error, warning, note or off`);
      }
    };
    if (isScalar(value)) {
      readSeverity(value);
    } else if (isMap(value)) {
      for (const [key, v, k] of r.entries(value)) {
        if (key === 'severity') readSeverity(v);
        else if (key === 'options') {
          const raw = toValue(v);
          if (rule.meta.schema === null) {
            r.error(v, `rule '${id}' takes no options`);
          } else {
            const problems = validateOptions(rule.meta.schema, raw, `rules.${id}.options`);
            for (const p of problems) r.error(v, p);
            if (problems.length === 0) options = raw as Record<string, unknown>;
          }
        } else r.error(k, `unknown key '${key}' under rule '${id}' (expected severity, options)`);
      }
    } else {
      r.error(value, `rule '${id}' must be a severity or a map with severity and options`);
    }
    out[id] = { severity, options, location: r.at(keyNode) };
  }
  return out;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function readIgnores(
  r: Reader,
  node: Node | null,
  registry: Readonly<Record<string, RuleModule>>,
): Ignore[] {
  const out: Ignore[] = [];
  if (!isSeq(node)) {
    r.error(node, "'ignores' must be a list");
    return out;
  }
  for (const item of node.items as Node[]) {
    if (!isMap(item)) {
      r.error(item, 'each ignore must be a map with rule and reason');
      continue;
    }
    let rule: string | null = null;
    let reason: string | null = null;
    const extra: { container?: string; port?: number; chain?: string; expires?: string } = {};
    let ok = true;
    for (const [key, v, k] of r.entries(item)) {
      switch (key) {
        case 'rule':
          rule = r.string(v, 'rule');
          if (rule !== null && registry[rule] === undefined) {
            r.error(v, `unknown rule '${rule}'`);
            ok = false;
          }
          break;
        case 'reason':
          reason = r.string(v, 'reason');
          break;
        case 'container':
        case 'chain': {
          const s = r.string(v, key);
          if (s === null) ok = false;
          else extra[key] = s;
          break;
        }
        case 'port': {
          const p = scalarValue(v);
          if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 65535) extra.port = p;
          else {
            r.error(v, 'port must be an integer 0–65535');
            ok = false;
          }
          break;
        }
        case 'expires': {
          const s = r.string(v, 'expires');
          if (s !== null && DATE.test(s) && !Number.isNaN(Date.parse(s))) extra.expires = s;
          else {
            r.error(v, 'expires must be a date written YYYY-MM-DD');
            ok = false;
          }
          break;
        }
        default:
          r.error(
            k,
            `unknown key '${key}' in ignore (expected rule, reason, container, port, chain, expires)`,
          );
          ok = false;
      }
    }
    if (rule === null) r.error(item, 'an ignore must name the rule it silences');
    if (reason === null) {
      r.error(item, 'an ignore must carry a reason (why this finding is acceptable)');
    }
    if (rule !== null && reason !== null && ok) {
      out.push({ rule, reason, ...extra, location: r.at(item) });
    }
  }
  return out;
}

function parsePorts(value: unknown): PortRange | null {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535) {
    return { from: value, to: value };
  }
  if (typeof value === 'string') {
    const m = /^(\d{1,5})\s*[-:]\s*(\d{1,5})$/.exec(value.trim());
    if (m !== null) {
      const from = Number(m[1]);
      const to = Number(m[2]);
      if (from <= to && to <= 65535) return { from, to };
    }
    if (/^\d{1,5}$/.test(value.trim())) return parsePorts(Number(value));
  }
  return null;
}

function isCidrOrAddress(text: string): boolean {
  if (ipaddr.isValid(text)) return true;
  try {
    ipaddr.parseCIDR(text);
    return true;
  } catch {
    return false;
  }
}

function readTarget(r: Reader, node: Node | null): PolicyTarget | null {
  const v = scalarValue(node);
  if (typeof v === 'string') {
    if (v === 'host') return { kind: 'host' };
    if (v === 'container') return { kind: 'container' };
    if (v.startsWith('container:') && v.length > 'container:'.length) {
      return { kind: 'container', name: v.slice('container:'.length) };
    }
  }
  if (isMap(node)) {
    const entries = r.entries(node);
    const [first] = entries;
    if (entries.length === 1 && first !== undefined && first[0] === 'container') {
      const name = r.string(first[1], 'container');
      return name === null ? null : { kind: 'container', name };
    }
  }
  r.error(node, "'to' must be host, container, container:NAME or { container: NAME }");
  return null;
}

function describeAllow(a: Omit<PolicyAllow, 'description' | 'location'>): string {
  const proto = a.protocol ?? 'any';
  const ports =
    a.ports === null
      ? '*'
      : a.ports.from === a.ports.to
        ? `${a.ports.from}`
        : `${a.ports.from}-${a.ports.to}`;
  const from = [...a.fromCidrs, ...a.fromInterfaces];
  const to =
    a.to === null ? 'anything' : a.to.kind === 'host' ? 'host' : `container ${a.to.name ?? '*'}`;
  return `${proto}/${ports} from ${from.length === 0 ? 'anywhere' : from.join(', ')} to ${to}`;
}

function readPolicy(r: Reader, node: Node | null): Policy | null {
  if (!isMap(node)) {
    r.error(node, "'policy' must be a map with an 'allow' list");
    return null;
  }
  const allow: PolicyAllow[] = [];
  for (const [key, v, k] of r.entries(node)) {
    if (key !== 'allow') {
      r.error(k, `unknown key '${key}' in policy (expected allow)`);
      continue;
    }
    if (!isSeq(v)) {
      r.error(v, "'policy.allow' must be a list");
      continue;
    }
    for (const item of v.items as Node[]) {
      if (!isMap(item)) {
        r.error(item, 'each allowed exposure must be a map (protocol, port, from, to)');
        continue;
      }
      let protocol: PolicyAllow['protocol'] = null;
      let ports: PortRange | null = null;
      const fromCidrs: string[] = [];
      const fromInterfaces: string[] = [];
      let to: PolicyTarget | null = null;
      let ok = true;
      for (const [field, fv, fk] of r.entries(item)) {
        if (field === 'protocol') {
          const p = scalarValue(fv);
          if (typeof p === 'string' && isProtocol(p)) protocol = p;
          else {
            r.error(fv, 'protocol must be tcp, udp or sctp');
            ok = false;
          }
        } else if (field === 'port' || field === 'ports') {
          ports = parsePorts(scalarValue(fv));
          if (ports === null) {
            r.error(fv, 'port must be a number 0–65535 or a range like 8000-8010');
            ok = false;
          }
        } else if (field === 'from') {
          const list = isSeq(fv) ? (fv.items as Node[]) : [fv];
          for (const entry of list) {
            const s = r.string(entry, 'from entry');
            if (s === null) ok = false;
            else if (isCidrOrAddress(s)) fromCidrs.push(s);
            else if (/^[A-Za-z0-9_.@+-]{1,15}$/.test(s)) fromInterfaces.push(s);
            else {
              r.error(entry, `'${s}' is neither a CIDR nor an interface name`);
              ok = false;
            }
          }
        } else if (field === 'to') {
          to = readTarget(r, fv);
          if (to === null) ok = false;
        } else {
          r.error(
            fk,
            `unknown key '${field}' in allowed exposure (expected protocol, port, from, to)`,
          );
          ok = false;
        }
      }
      if (ok) {
        const base = { protocol, ports, fromCidrs, fromInterfaces, to };
        allow.push({ ...base, description: describeAllow(base), location: r.at(item) });
      }
    }
  }
  return { allow, location: r.at(node) };
}

/** Parses config text. Pure: the registry decides which rule ids and options are valid. */
export function parseConfig(
  text: string,
  file: string,
  registry: Readonly<Record<string, RuleModule>>,
): ConfigLoad {
  const deep = yamlTooDeep(text);
  if (deep !== null) {
    return {
      config: { file, rules: {}, ignores: [], failOn: null },
      diagnostics: [diagnostic('invalid-config', 'error', YAML_TOO_DEEP, { file, ...deep })],
    };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const r = new Reader(file, lines);
  for (const e of doc.errors) {
    const pos = e.linePos?.[0];
    r.diagnostics.push(
      diagnostic(
        'invalid-config',
        'error',
        `YAML: ${e.message.split('\n')[0] ?? e.message}`,
        pos === undefined ? fileLocation(file) : { file, line: pos.line, column: pos.col },
      ),
    );
  }
  let rules: Record<string, RuleSetting> = {};
  let ignores: Ignore[] = [];
  let policy: Policy | null = null;
  let failOn: FailOn | null = null;
  const root = doc.contents as Node | null;
  if (doc.errors.length === 0 && root !== null) {
    if (!isMap(root)) {
      r.error(root, 'the config must be a map (rules, ignores, policy, failOn)');
    } else {
      for (const [key, v, k] of r.entries(root)) {
        switch (key) {
          case 'rules':
            rules = readRules(r, v, registry);
            break;
          case 'ignores':
            ignores = readIgnores(r, v, registry);
            break;
          case 'policy':
            policy = readPolicy(r, v);
            break;
          case 'failOn':
          case 'fail-on': {
            const f = scalarValue(v);
            if (typeof f === 'string' && [...SEVERITIES, 'never'].includes(f)) failOn = f as FailOn;
            else r.error(v, 'failOn must be error, warning, note or never');
            break;
          }
          default:
            r.error(k, `unknown key '${key}' (expected rules, ignores, policy, failOn)`);
        }
      }
    }
  }
  if (policy !== null) {
    // the policy is the options of the rule that checks it
    if (registry[POLICY_RULE] === undefined) {
      r.diagnostics.push(
        diagnostic(
          'invalid-config',
          'error',
          `'policy' needs the rule '${POLICY_RULE}', which is not among the rules run`,
          policy.location,
        ),
      );
    } else {
      const setting = rules[POLICY_RULE];
      rules = {
        ...rules,
        [POLICY_RULE]: {
          severity: setting?.severity ?? null,
          options: { policy },
          location: setting?.location ?? policy.location,
        },
      };
    }
  }
  return { config: { file, rules, ignores, failOn }, diagnostics: r.diagnostics };
}

/** Reads and parses a config file; an unreadable file is an error diagnostic, never a throw. */
export async function loadConfig(
  path: string,
  registry: Readonly<Record<string, RuleModule>>,
): Promise<ConfigLoad> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      config: { file: path, rules: {}, ignores: [], failOn: null },
      diagnostics: [
        diagnostic('invalid-config', 'error', `cannot read config: ${reason}`, fileLocation(path)),
      ],
    };
  }
  return parseConfig(text, path, registry);
}
