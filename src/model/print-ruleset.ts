/**
 * The canonical printer: a Ruleset or one Rule back to iptables-save text, exactly as iptables
 * 1.8.9 prints it (core options in `-s -d -i -o -p -f` order, matches in rule order with each
 * module's options in its fixed order, then the target). Pure; depends only on the model.
 */
import type {
  AddressMask,
  Chain,
  MatchModule,
  MatchOption,
  NatRange,
  PortRange,
  Rule,
  Ruleset,
  Target,
  TargetOption,
} from './ruleset.ts';

/** `xtables_save_string`: bare when `[A-Za-z0-9_-]+`, else quoted with `"`, `\` and `'` escaped. */
export function saveString(value: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(value)) return value;
  return `"${value.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

/** Always quoted, escaping `"` and `\` (string, u32, bpf print their patterns this way). */
function alwaysQuoted(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Raw words that would not survive re-reading (blanks, quotes, empty) get quoted. */
function rawWord(value: string): string {
  return value === '' || /[\s"]/.test(value) ? saveString(value) : value;
}

const ALWAYS_QUOTED = new Set([
  'string --string',
  'string --hex-string',
  'u32 --u32',
  'bpf --bytecode',
  'cgroup --path',
  'connlabel --label',
]);
const SAVE_STRING = new Set(['helper --helper']);

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function ports(range: PortRange, sep = ':'): string {
  return range.from === range.to ? String(range.from) : `${range.from}${sep}${range.to}`;
}

function addressMask(value: AddressMask): string {
  return `${value.address}/${value.prefixLength ?? value.mask}`;
}

/** Addresses in conntrack print without a host mask (`/32`, `/128` suppressed). */
function addressNoHostMask(value: AddressMask): string {
  const full = value.family === 'ipv4' ? 32 : 128;
  return value.prefixLength === full ? value.address : addressMask(value);
}

function neg(o: { readonly negated: boolean }): string {
  return o.negated ? ' !' : '';
}

function printCore(o: MatchOption): string {
  switch (o.type) {
    case 'address':
      return `${neg(o)} -${o.field === 'src' ? 's' : 'd'} ${addressMask(o.value)}`;
    case 'interface':
      return `${neg(o)} -${o.field === 'in' ? 'i' : 'o'} ${o.name}${o.wildcard ? '+' : ''}`;
    case 'protocol':
      return `${neg(o)} -p ${o.name}`;
    case 'fragment':
      return `${neg(o)} -f`;
    case 'opaque':
      return `${neg(o)} ${o.option}${o.args.map((a) => ` ${rawWord(a)}`).join('')}`;
    default:
      return printOption('', o);
  }
}

const CT_FIELD: Readonly<Record<string, string>> = {
  origsrc: '--ctorigsrc',
  origdst: '--ctorigdst',
  replsrc: '--ctreplsrc',
  repldst: '--ctrepldst',
};

/** One option of module `module` in save syntax, with its leading blank. */
function printOption(module: string, o: MatchOption): string {
  const n = neg(o);
  switch (o.type) {
    case 'port': {
      if (module === 'multiport') {
        const name = o.field === 'src' ? '--sports' : o.field === 'dst' ? '--dports' : '--ports';
        return `${n} ${name} ${o.ranges.map((r) => ports(r)).join(',')}`;
      }
      const range = o.ranges[0] ?? { from: 0, to: 65535 };
      return `${n} --${o.field === 'src' ? 'sport' : 'dport'} ${ports(range)}`;
    }
    case 'tcp-flags': {
      const list = (f: readonly string[]): string => (f.length === 0 ? 'NONE' : f.join(','));
      return `${n} --tcp-flags ${list(o.mask)} ${list(o.compare)}`;
    }
    case 'tcp-option':
      return `${n} --tcp-option ${o.number}`;
    case 'ct-state':
      return `${n} --${o.via === 'state' ? 'state' : 'ctstate'} ${o.states.join(',')}`;
    case 'ct-status':
      return `${n} --ctstatus ${o.statuses.join(',')}`;
    case 'ct-proto':
      return `${n} --ctproto ${o.number}`;
    case 'ct-address':
      return `${n} ${CT_FIELD[o.field] ?? ''} ${addressNoHostMask(o.value)}`;
    case 'ct-port':
      return `${n} ${CT_FIELD[o.field] ?? ''}port ${ports(o.range)}`;
    case 'ct-dir':
      return `${n} --ctdir ${o.dir}`;
    case 'ct-expire':
      return `${n} --ctexpire ${o.from === o.to ? o.from : `${o.from}:${o.to}`}`;
    case 'addrtype':
      return `${n} --${o.field}-type ${o.types.join(',')}`;
    case 'addrtype-limit-iface':
      return `${n} --limit-iface-${o.dir}`;
    case 'iprange':
      return `${n} --${o.field}-range ${o.range.from}-${o.range.to}`;
    case 'set':
      return `${n} --match-set ${o.name} ${o.dirs.join(',')}${o.flags.map((f) => ` ${f}`).join('')}`;
    case 'comment':
      return `${n} --comment ${saveString(o.text)}`;
    case 'mark':
      return `${n} --mark ${hex(o.value)}${o.mask === 0xffffffff ? '' : `/${hex(o.mask)}`}`;
    case 'icmp-type': {
      const name = o.family === 'ipv4' ? '--icmp-type' : '--icmpv6-type';
      const value =
        o.icmpType === null ? 'any' : o.code === null ? `${o.icmpType}` : `${o.icmpType}/${o.code}`;
      return `${n} ${name} ${value}`;
    }
    case 'mac-source':
      return `${n} --mac-source ${o.address}`;
    case 'physdev':
      return `${n} --physdev-${o.option}${o.name === undefined ? '' : ` ${o.name}`}`;
    case 'owner': {
      if (o.option === 'socket-exists' || o.option === 'suppl-groups') return `${n} --${o.option}`;
      if (o.option === 'cmd') return `${n} --cmd-owner ${o.name ?? ''}`;
      const from = o.from ?? 0;
      const to = o.to ?? from;
      return `${n} --${o.option}-owner ${from === to ? from : `${from}-${to}`}`;
    }
    case 'pkttype':
      return `${n} --pkt-type ${o.pktType}`;
    case 'length':
      return `${n} --length ${o.from === o.to ? o.from : `${o.from}:${o.to}`}`;
    case 'ttl':
      return `${n} --${o.family === 'ipv4' ? 'ttl' : 'hl'}-${o.op} ${o.value}`;
    case 'stateful':
    case 'opaque': {
      const key = `${o.module} ${o.option}`;
      const fmt = ALWAYS_QUOTED.has(key)
        ? alwaysQuoted
        : SAVE_STRING.has(key)
          ? saveString
          : rawWord;
      return `${n} ${o.option}${o.args.map((a) => ` ${fmt(a)}`).join('')}`;
    }
    // nftables-only conditions have no iptables syntax; shown in nft's words
    case 'family':
      return `${n} --nfproto ${o.family}`;
    case 'ext-header':
      return `${n} --nft-header ${saveString(o.header)}`;
    case 'rpfilter': {
      // its flags, with iptables' own negation, in iptables-save's order
      const flags: [boolean, string][] = [
        [o.loose, '--loose'],
        [o.mark, '--validmark'],
        [o.acceptLocal, '--accept-local'],
        [o.negated, '--invert'],
      ];
      return flags.map(([on, name]) => (on ? ` ${name}` : '')).join('');
    }
    case 'member':
      return `${n} --nft-set ${saveString(o.set === null ? o.key : `${o.key} @${o.set}`)}`;
    case 'address':
    case 'interface':
    case 'protocol':
    case 'fragment':
      return printCore(o);
  }
}

function printModule(m: MatchModule): string {
  return ` -m ${m.name}${m.options.map((o) => printOption(m.name, o)).join('')}`;
}

function natRange(r: NatRange): string {
  const family = r.addresses?.family ?? 'ipv4';
  let addr = '';
  if (r.addresses !== null) {
    addr =
      r.addresses.from === r.addresses.to
        ? r.addresses.from
        : `${r.addresses.from}-${r.addresses.to}`;
  }
  if (r.ports === null) return addr;
  const p = `${ports(r.ports, '-')}${r.portBase === undefined ? '' : `/${r.portBase}`}`;
  if (family === 'ipv6' && addr !== '') return `[${addr}]:${p}`;
  return `${addr}:${p}`;
}

/** Target options whose values iptables always prints in quotes. */
const TARGET_ALWAYS_QUOTED: ReadonlySet<string> = new Set(['--led-trigger-id']);

function targetOptions(options: readonly TargetOption[], quoteKeys: ReadonlySet<string>): string {
  const fmt = (option: string, a: string): string =>
    TARGET_ALWAYS_QUOTED.has(option)
      ? alwaysQuoted(a)
      : quoteKeys.has(option)
        ? saveString(a)
        : rawWord(a);
  return options
    .map((o) => ` ${o.option}${o.args.map((a) => ` ${fmt(o.option, a)}`).join('')}`)
    .join('');
}

const NO_QUOTE: ReadonlySet<string> = new Set();
const PREFIXES: ReadonlySet<string> = new Set(['--nflog-prefix', '--log-prefix', '--ulog-prefix']);

function printTarget(t: Target): string {
  switch (t.kind) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
    case 'QUEUE':
    case 'NOTRACK':
      return ` -j ${t.kind}`;
    case 'jump':
      return ` -${t.goto ? 'g' : 'j'} ${t.chain}`;
    case 'REJECT':
      return ` -j REJECT --reject-with ${t.rejectWith}`;
    case 'LOG':
      return (
        ' -j LOG' +
        (t.prefix === null ? '' : ` --log-prefix ${saveString(t.prefix)}`) +
        (t.level === null ? '' : ` --log-level ${t.level}`) +
        t.flags.map((f) => ` ${f}`).join('')
      );
    case 'DNAT':
    case 'SNAT': {
      const opt = t.kind === 'DNAT' ? '--to-destination' : '--to-source';
      return ` -j ${t.kind}${t.to.map((r) => ` ${opt} ${natRange(r)}`).join('')}${t.flags.map((f) => ` ${f}`).join('')}`;
    }
    case 'MASQUERADE':
    case 'REDIRECT':
      return ` -j ${t.kind}${t.ports === null ? '' : ` --to-ports ${ports(t.ports, '-')}`}${t.flags.map((f) => ` ${f}`).join('')}`;
    case 'MARK':
      return ` -j MARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`;
    case 'NFLOG':
    case 'CONNMARK':
    case 'CT':
    case 'TCPMSS':
    case 'CHECKSUM':
    case 'NFQUEUE':
    case 'TPROXY':
      return ` -j ${t.kind}${targetOptions(t.options, t.kind === 'NFLOG' ? PREFIXES : NO_QUOTE)}`;
    case 'extension':
      return ` -j ${t.name}${targetOptions(t.options, PREFIXES)}`;
    case 'CONTINUE':
      return ' -j CONTINUE';
    case 'vmap':
      return ` -j VMAP ${saveString(t.map === null ? t.key : `${t.key} @${t.map}`)}`;
  }
}

function printCounters(c: { readonly packets: bigint; readonly bytes: bigint }): string {
  return `[${c.packets}:${c.bytes}]`;
}

/** An nftables rule as nft prints it, without the counter values that change as it runs. */
export function printNftRule(rule: Rule): string {
  return rule.text.replace(/\bcounter packets \d+ bytes \d+/g, 'counter');
}

/**
 * The rule's `-A CHAIN …` line as iptables-save prints it (without rule counters); nftables
 * rules in nft's own syntax.
 */
export function printRule(rule: Rule): string {
  if (rule.dialect === 'nft') return printNftRule(rule);
  let out = `-A ${rule.chain}`;
  for (const o of rule.core) out += printCore(o);
  for (const m of rule.matches) out += printModule(m);
  if (rule.target !== null) out += printTarget(rule.target);
  return out;
}

function printChainDecl(chain: Chain): string {
  const counters = chain.counters === null ? '[0:0]' : printCounters(chain.counters);
  return `:${chain.name} ${chain.builtin ? (chain.policy ?? 'ACCEPT') : '-'} ${counters}`;
}

/**
 * The whole ruleset in iptables-save form (without the `# Generated`/`# Completed` comments,
 * which carry dates): per table `*name`, chain lines, rules grouped by chain, `COMMIT`. Rule
 * counters are printed as `[p:b] ` prefixes when the rules carry them.
 */
export function printRuleset(ruleset: Ruleset): string {
  const lines: string[] = [];
  for (const table of ruleset.tables) {
    lines.push(`*${table.name}`);
    for (const chain of table.chains) lines.push(printChainDecl(chain));
    for (const chain of table.chains) {
      for (const rule of chain.rules) {
        const text = printRule(rule);
        lines.push(rule.counters === null ? text : `${printCounters(rule.counters)} ${text}`);
      }
    }
    lines.push('COMMIT');
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
