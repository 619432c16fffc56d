/**
 * One rule specification (the words after `-A CHAIN`) → core options, match modules and target,
 * as iptables-restore would read it: options belong to the core, to the target, or to a loaded
 * match; `-p tcp --dport 22` loads the protocol match implicitly; `-s a,b` expands to one rule
 * per address.
 */
import type {
  Counters,
  Diagnostic,
  Family,
  MatchModule,
  MatchOption,
  SourceLocation,
  Target,
} from '../../model/index.ts';
import type { DiagnosticCode } from '../../model/diagnostic.ts';
import { diagnostic } from '../../model/diagnostic.ts';
import type { ModuleSpec } from './matches.ts';
import { canonicalOption, IMPLICIT_MODULE, MODULES } from './matches.ts';
import type { RawTargetOption } from './targets.ts';
import { buildTarget, canonicalTargetOption, TARGET_ARITY } from './targets.ts';
import { looksLikeHostname, parseAddressMask, parseProtocol, ValueError } from './values.ts';
import type { DialectNote } from './dialect.ts';
import type { ArgWord } from './words.ts';

export interface RuleContext {
  readonly file: string;
  readonly family: Family;
  readonly diagnostics: Diagnostic[];
  /** Notes about old dialects, reported once per file by the caller. */
  readonly dialect: DialectNote;
  readonly chainExists: (name: string) => boolean;
}

export interface RuleSpec {
  readonly core: readonly MatchOption[];
  readonly matches: readonly MatchModule[];
  readonly target: Target | null;
  readonly counters: Counters | null;
}

const CORE: Readonly<Record<string, string>> = {
  '-s': '-s',
  '--source': '-s',
  '--src': '-s',
  '-d': '-d',
  '--destination': '-d',
  '--dst': '-d',
  '-i': '-i',
  '--in-interface': '-i',
  '-o': '-o',
  '--out-interface': '-o',
  '-p': '-p',
  '--protocol': '-p',
  '-f': '-f',
  '--fragment': '-f',
  '-j': '-j',
  '--jump': '-j',
  '-g': '-g',
  '--goto': '-g',
  '-m': '-m',
  '--match': '-m',
  '-c': '-c',
  '--set-counters': '-c',
  '-4': '-4',
  '--ipv4': '-4',
  '-6': '-6',
  '--ipv6': '-6',
};

const CORE_ARITY: Readonly<Record<string, number>> = {
  '-s': 1,
  '-d': 1,
  '-i': 1,
  '-o': 1,
  '-p': 1,
  '-f': 0,
  '-j': 1,
  '-g': 1,
  '-m': 1,
  '-c': 2,
  '-4': 0,
  '-6': 0,
};

/** Short options that take an argument and may have it glued on (`-ptcp`, `-s1.2.3.4`). */
const GLUED = new Set(['-s', '-d', '-i', '-o', '-p', '-j', '-g', '-m']);

const STANDARD_TARGETS = new Set(['ACCEPT', 'DROP', 'RETURN', 'QUEUE', 'NOTRACK']);

/** Targets iptables ships as extensions that dockwall keeps whole. */
const EXTENSION_TARGETS = new Set([
  'AUDIT',
  'CLASSIFY',
  'CLUSTERIP',
  'CONNSECMARK',
  'DNPT',
  'DSCP',
  'ECN',
  'HL',
  'HMARK',
  'IDLETIMER',
  'LED',
  'MIRROR',
  'NETMAP',
  'RATEEST',
  'SAME',
  'SECMARK',
  'SET',
  'SNPT',
  'SYNPROXY',
  'TCPOPTSTRIP',
  'TEE',
  'TOS',
  'TRACE',
  'TTL',
  'ULOG',
  'IPV4OPTSSTRIP',
  'CONNMARK',
  'FLOWOFFLOAD',
]);

export function loc(file: string, w: ArgWord): SourceLocation {
  return { file, line: w.line, column: w.column, endLine: w.line, endColumn: w.endColumn + 1 };
}

interface ModuleDraft {
  readonly name: string;
  readonly location: SourceLocation;
  readonly spec: ModuleSpec | undefined;
  readonly options: { key: string; option: MatchOption }[];
}

interface Split {
  readonly name: string;
  readonly inline: string | null;
}

function splitOption(value: string): Split {
  if (value.startsWith('--')) {
    const eq = value.indexOf('=');
    return eq === -1
      ? { name: value, inline: null }
      : { name: value.slice(0, eq), inline: value.slice(eq + 1) };
  }
  if (value.length > 2) {
    const short = value.slice(0, 2);
    if (GLUED.has(short)) return { name: short, inline: value.slice(2) };
  }
  return { name: value, inline: null };
}

type Owner =
  | { readonly kind: 'core'; readonly name: string; readonly arity: number }
  | { readonly kind: 'target'; readonly name: string; readonly arity: number }
  | {
      readonly kind: 'module';
      readonly module: ModuleDraft;
      readonly name: string;
      readonly arity: number;
    }
  | {
      readonly kind: 'implicit';
      readonly module: string;
      readonly name: string;
      readonly arity: number;
    };

// Maps rather than object lookups: keys are fresh substrings of the input, which a Map hashes
// without first trying to internalise them.
const CORE_OWNERS: ReadonlyMap<string, Owner> = new Map(
  Object.entries(CORE).map(([spelling, name]) => [
    spelling,
    { kind: 'core', name, arity: CORE_ARITY[name] ?? 1 } as const,
  ]),
);
const TARGET_ARITY_MAP: ReadonlyMap<string, Readonly<Record<string, number>>> = new Map(
  Object.entries(TARGET_ARITY),
);
const MODULE_MAP: ReadonlyMap<string, ModuleSpec> = new Map(Object.entries(MODULES));

/**
 * Parses the words of a rule specification. Returns one spec per expanded address pair, or
 * `null` when the line only applies to the other address family (`-6` in an IPv4 file).
 */
export function parseRuleSpec(words: readonly ArgWord[], ctx: RuleContext): RuleSpec[] | null {
  const { file, family } = ctx;
  const error = (w: ArgWord, message: string, code: DiagnosticCode = 'parse-error'): void => {
    ctx.diagnostics.push(diagnostic(code, 'error', message, loc(file, w)));
  };

  const sources: { option: MatchOption }[] = [];
  const destinations: { option: MatchOption }[] = [];
  let sourceSeen = false;
  let destSeen = false;
  let inIface: MatchOption | null = null;
  let outIface: MatchOption | null = null;
  let protocol: MatchOption | null = null;
  let protocolNumber: number | null = null;
  let fragment: MatchOption | null = null;
  let counters: Counters | null = null;
  const modules: ModuleDraft[] = [];
  let targetName: string | null = null;
  let targetWord: ArgWord | null = null;
  let isGoto = false;
  const targetOptions: RawTargetOption[] = [];
  let skipFamily = false;

  let negation: ArgWord | null = null;
  let i = 0;
  const n = words.length;

  const resolve = (name: string): Owner | null => {
    const core = CORE_OWNERS.get(name);
    if (core !== undefined) return core;
    if (targetName !== null) {
      const arity = TARGET_ARITY_MAP.get(targetName);
      const canonical = canonicalTargetOption(targetName, name);
      if (arity?.[canonical] !== undefined)
        return { kind: 'target', name: canonical, arity: arity[canonical] };
    }
    for (let m = modules.length - 1; m >= 0; m--) {
      const mod = modules[m] as ModuleDraft;
      if (mod.spec === undefined) continue;
      const canonical = canonicalOption(mod.spec, name);
      if (canonical !== null) {
        return {
          kind: 'module',
          module: mod,
          name: canonical,
          arity: mod.spec.options[canonical]?.arity ?? -1,
        };
      }
    }
    if (protocolNumber !== null) {
      const implicit = IMPLICIT_MODULE[protocolNumber];
      const spec = implicit === undefined ? undefined : MODULE_MAP.get(implicit);
      if (
        implicit !== undefined &&
        spec !== undefined &&
        !modules.some((m) => m.name === implicit)
      ) {
        const canonical = canonicalOption(spec, name);
        if (canonical !== null) {
          return {
            kind: 'implicit',
            module: implicit,
            name: canonical,
            arity: spec.options[canonical]?.arity ?? -1,
          };
        }
      }
    }
    if (targetName !== null && !TARGET_ARITY_MAP.has(targetName) && !ctx.chainExists(targetName)) {
      return { kind: 'target', name, arity: -1 };
    }
    const last = modules[modules.length - 1];
    if (last !== undefined && last.spec === undefined) {
      return { kind: 'module', module: last, name, arity: -1 };
    }
    return null;
  };

  while (i < n) {
    const w = words[i] as ArgWord;
    if (w.isBang) {
      if (negation !== null) error(w, "multiple '!' flags not allowed");
      negation = w;
      i++;
      continue;
    }
    if (!w.isOption) {
      error(w, `Bad argument '${w.value}'`);
      i++;
      continue;
    }
    const { name, inline } = splitOption(w.value);
    const owner = resolve(name);
    if (owner === null) {
      error(w, `unknown option '${name}'`, 'unknown-option');
      negation = null;
      i++;
      // Skip this option's arguments: they cannot be told apart from stray words.
      while (i < n && !(words[i] as ArgWord).isOption && !(words[i] as ArgWord).isBang) i++;
      continue;
    }
    i++;
    let negated = negation !== null;
    negation = null;
    const args: string[] = inline === null ? [] : [inline];
    const wantArgs = owner.arity;
    // Old dialect: `-s ! 10.0.0.0/8`, `--dport ! 22` (negation after an option that takes a value).
    if (
      wantArgs !== 0 &&
      args.length === 0 &&
      i + 1 < n &&
      (words[i] as ArgWord).isBang &&
      !(words[i + 1] as ArgWord).isOption &&
      !(words[i + 1] as ArgWord).isBang
    ) {
      if (negated) error(words[i] as ArgWord, "multiple '!' flags not allowed");
      negated = true;
      ctx.dialect('intrapositioned-negation', loc(file, words[i] as ArgWord));
      i++;
    }
    if (wantArgs === -1) {
      while (i < n && !(words[i] as ArgWord).isOption && !(words[i] as ArgWord).isBang) {
        args.push((words[i] as ArgWord).value);
        i++;
      }
    } else {
      while (args.length < wantArgs && i < n && !(words[i] as ArgWord).isBang) {
        const next = words[i] as ArgWord;
        // An unquoted word starting with '-' is the next option, not a value.
        if (next.isOption) break;
        args.push(next.value);
        i++;
      }
      if (
        owner.kind === 'core' &&
        owner.name === '-c' &&
        args.length === 1 &&
        (args[0] ?? '').includes(',')
      ) {
        const [p, b] = (args[0] ?? '').split(',');
        args.splice(0, 1, p ?? '', b ?? '');
      }
      if (args.length < wantArgs) {
        error(
          w,
          `option '${name}' requires ${wantArgs === 1 ? 'an argument' : `${wantArgs} arguments`}`,
        );
        continue;
      }
    }
    const location = loc(file, w);
    try {
      switch (owner.kind) {
        case 'core': {
          const value = args[0] ?? '';
          switch (owner.name) {
            case '-s':
            case '-d': {
              const list = owner.name === '-s' ? sources : destinations;
              if (owner.name === '-s' ? sourceSeen : destSeen) {
                throw new ValueError(`multiple ${owner.name} flags not allowed`);
              }
              if (owner.name === '-s') sourceSeen = true;
              else destSeen = true;
              const parts = value.split(',');
              if (parts.length > 1 && negated) {
                throw new ValueError(
                  '! not allowed with multiple source or destination IP addresses',
                );
              }
              if (parts.length > 1) ctx.dialect('comma-address-list', location);
              for (const part of parts) {
                list.push({
                  option: coreAddress(
                    part,
                    owner.name === '-s' ? 'src' : 'dst',
                    negated,
                    location,
                    ctx,
                  ),
                });
              }
              break;
            }
            case '-i':
            case '-o': {
              if (value.length > 15)
                throw new ValueError(
                  `interface name '${value}' must be shorter than 16 characters`,
                );
              const option: MatchOption = {
                type: 'interface',
                field: owner.name === '-i' ? 'in' : 'out',
                name: value.endsWith('+') ? value.slice(0, -1) : value,
                wildcard: value.endsWith('+'),
                negated,
                location,
              };
              // `-i +` matches every interface and is not saved.
              const keep = !(value === '+' && !negated);
              if (owner.name === '-i') inIface = keep ? option : null;
              else outIface = keep ? option : null;
              break;
            }
            case '-p': {
              const p = parseProtocol(value);
              protocolNumber = p.number;
              protocol =
                p.number === 0 && !negated
                  ? null
                  : { type: 'protocol', number: p.number, name: p.name, negated, location };
              break;
            }
            case '-f':
              if (family === 'ipv6')
                throw new ValueError('-f is not supported by ip6tables (use -m frag)');
              fragment = { type: 'fragment', negated, location };
              break;
            case '-m': {
              const moduleName = value.toLowerCase();
              const spec = MODULE_MAP.get(moduleName);
              if (spec === undefined) {
                ctx.diagnostics.push(
                  diagnostic(
                    'unsupported-match',
                    'warning',
                    `match module '${moduleName}' is not modelled; its options are kept as written and treated as possibly matching`,
                    location,
                  ),
                );
              }
              modules.push({ name: moduleName, location, spec, options: [] });
              break;
            }
            case '-j':
            case '-g':
              if (targetName !== null) throw new ValueError('multiple -j flags not allowed');
              targetName = value;
              targetWord = w;
              isGoto = owner.name === '-g';
              break;
            case '-c':
              counters = {
                packets: parseCounter(args[0] ?? ''),
                bytes: parseCounter(args[1] ?? ''),
              };
              break;
            case '-4':
            case '-6':
              if ((owner.name === '-4') !== (family === 'ipv4')) skipFamily = true;
              break;
          }
          break;
        }
        case 'target':
          targetOptions.push({ option: owner.name, args, location });
          break;
        case 'module':
        case 'implicit': {
          let mod: ModuleDraft;
          if (owner.kind === 'implicit') {
            mod = { name: owner.module, location, spec: MODULE_MAP.get(owner.module), options: [] };
            modules.push(mod);
          } else {
            mod = owner.module;
          }
          const spec = mod.spec;
          const optSpec = spec?.options[owner.name];
          if (spec === undefined || optSpec === undefined) {
            mod.options.push({
              key: owner.name,
              option: {
                type: 'opaque',
                module: mod.name,
                option: owner.name,
                args,
                negated,
                location,
              },
            });
          } else {
            const built = optSpec.build(args, {
              family,
              negated,
              location,
              module: mod.name,
              option: owner.name,
            });
            if (built !== null) {
              mod.options.push({
                key: built.type === 'stateful' ? built.option : owner.name,
                option: built,
              });
            }
          }
          break;
        }
      }
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      error(w, e.message, 'invalid-value');
    }
  }
  if (negation !== null) error(negation, "'!' is not followed by an option");
  if (skipFamily) return null;

  let target: Target | null = null;
  if (targetName !== null && targetWord !== null) {
    const tloc = loc(file, targetWord);
    try {
      target = makeTarget(targetName, targetOptions, isGoto, tloc, ctx);
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      error(targetWord, e.message, 'invalid-value');
    }
  }

  const matches: MatchModule[] = modules.map((m) => {
    let options = sortOptions(m);
    if (m.spec?.finalize !== undefined) {
      // Defaults a module adds take their place in the module's print order.
      const added = m.spec.finalize(options, family, m.location);
      options = sortOptions({
        ...m,
        options: added.map((o) => ({ key: o.type === 'stateful' ? o.option : '', option: o })),
      });
    }
    return { name: m.name, location: m.location, known: m.spec !== undefined, options };
  });

  const rest: MatchOption[] = [];
  if (inIface !== null) rest.push(inIface);
  if (outIface !== null) rest.push(outIface);
  if (protocol !== null) rest.push(protocol);
  if (fragment !== null) rest.push(fragment);

  const srcs = sources.length === 0 ? [null] : sources.map((s) => s.option);
  const dsts = destinations.length === 0 ? [null] : destinations.map((d) => d.option);
  const specs: RuleSpec[] = [];
  for (const s of srcs) {
    for (const d of dsts) {
      const core: MatchOption[] = [];
      if (s !== null && !isMatchAll(s)) core.push(s);
      if (d !== null && !isMatchAll(d)) core.push(d);
      core.push(...rest);
      specs.push({ core, matches, target, counters });
    }
  }
  return specs;
}

/** `-s 0.0.0.0/0` matches every address and is not saved (unless negated). */
function isMatchAll(o: MatchOption): boolean {
  return o.type === 'address' && !o.negated && o.value.prefixLength === 0;
}

function parseCounter(text: string): bigint {
  if (!/^\d+$/.test(text)) throw new ValueError(`invalid counter '${text}'`);
  return BigInt(text);
}

function coreAddress(
  text: string,
  field: 'src' | 'dst',
  negated: boolean,
  location: SourceLocation,
  ctx: RuleContext,
): MatchOption {
  const slash = text.indexOf('/');
  const host = slash === -1 ? text : text.slice(0, slash);
  if (host === 'localhost') {
    ctx.diagnostics.push(
      diagnostic(
        'hostname-address',
        'warning',
        `host name 'localhost' read as ${ctx.family === 'ipv4' ? '127.0.0.1' : '::1'}`,
        location,
      ),
    );
    const addr = ctx.family === 'ipv4' ? '127.0.0.1' : '::1';
    return {
      type: 'address',
      field,
      value: parseAddressMask(slash === -1 ? addr : addr + text.slice(slash), ctx.family),
      negated,
      location,
    };
  }
  if (looksLikeHostname(host)) {
    ctx.diagnostics.push(
      diagnostic(
        'hostname-address',
        'warning',
        `host name '${host}' is resolved by iptables at load time; dockwall cannot know its addresses and treats this match as unknown`,
        location,
        'use addresses in the dump (iptables-save prints them)',
      ),
    );
    return {
      type: 'opaque',
      module: '',
      option: field === 'src' ? '-s' : '-d',
      args: [text],
      negated,
      location,
    };
  }
  if (slash !== -1 && ctx.family === 'ipv4' && text.slice(slash + 1).includes('.')) {
    ctx.dialect('dotted-mask', location);
  }
  return { type: 'address', field, value: parseAddressMask(text, ctx.family), negated, location };
}

function sortOptions(m: ModuleDraft): MatchOption[] {
  const order = m.spec?.order;
  if (order === undefined || m.options.length < 2) return m.options.map((o) => o.option);
  const rank = (key: string): number => {
    const r = order.indexOf(key);
    return r === -1 ? order.length : r;
  };
  // Most rules are already in canonical order: avoid the sort's allocations then.
  let sorted = true;
  for (let i = 1; i < m.options.length && sorted; i++) {
    sorted =
      rank((m.options[i - 1] as { key: string }).key) <=
      rank((m.options[i] as { key: string }).key);
  }
  if (sorted) return m.options.map((o) => o.option);
  return m.options
    .map((o, index) => ({ ...o, index }))
    .sort((a, b) => rank(a.key) - rank(b.key) || a.index - b.index)
    .map((o) => o.option);
}

function makeTarget(
  name: string,
  options: readonly RawTargetOption[],
  isGoto: boolean,
  location: SourceLocation,
  ctx: RuleContext,
): Target {
  if (isGoto) {
    if (options.length > 0)
      throw new ValueError(`unknown option '${options[0]?.option ?? ''}' after -g`);
    return { kind: 'jump', chain: name, goto: true, location };
  }
  const typed = STANDARD_TARGETS.has(name) || TARGET_ARITY_MAP.has(name);
  const isChain = !typed && ctx.chainExists(name);
  if (!typed && !isChain && (EXTENSION_TARGETS.has(name) || options.length > 0)) {
    ctx.diagnostics.push(
      diagnostic(
        'unsupported-target',
        'warning',
        `target '${name}' is not modelled; it is kept as written and treated as a non-terminating action`,
        location,
      ),
    );
    return buildTarget(name, options, ctx.family, location, false);
  }
  // Not a known target and not (yet) a declared chain: a jump, checked when the table ends.
  return buildTarget(name, options, ctx.family, location, !typed);
}
