/**
 * Targets (`-j NAME …`, `-g CHAIN`): typed and normalised as iptables-save prints them.
 */
import type {
  AddressRange,
  Family,
  NatRange,
  PortRange,
  SourceLocation,
  Target,
  TargetOption,
} from '../../model/index.ts';
import { dscpClass } from './matches.ts';
import {
  hex,
  hex2,
  normaliseTos,
  parseAddress,
  parseNumericRange,
  parsePort,
  parseUint,
  parseValueMask,
  ValueError,
} from './values.ts';

/** One `--option args…` given after `-j NAME`, as written (canonical long name). */
export interface RawTargetOption {
  readonly option: string;
  readonly args: readonly string[];
  readonly location: SourceLocation;
}

/** Options each target accepts with their argument count; used to split the rule's words. */
export const TARGET_ARITY: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  REJECT: { '--reject-with': 1 },
  LOG: {
    '--log-prefix': 1,
    '--log-level': 1,
    '--log-tcp-sequence': 0,
    '--log-tcp-options': 0,
    '--log-ip-options': 0,
    '--log-uid': 0,
    '--log-macdecode': 0,
  },
  NFLOG: {
    '--nflog-prefix': 1,
    '--nflog-group': 1,
    '--nflog-size': 1,
    '--nflog-range': 1,
    '--nflog-threshold': 1,
  },
  DNAT: { '--to-destination': 1, '--random': 0, '--persistent': 0 },
  SNAT: { '--to-source': 1, '--random': 0, '--random-fully': 0, '--persistent': 0 },
  MASQUERADE: { '--to-ports': 1, '--random': 0, '--random-fully': 0 },
  REDIRECT: { '--to-ports': 1, '--random': 0 },
  MARK: { '--set-xmark': 1, '--set-mark': 1, '--and-mark': 1, '--or-mark': 1, '--xor-mark': 1 },
  CONNMARK: {
    '--set-xmark': 1,
    '--set-mark': 1,
    '--and-mark': 1,
    '--or-mark': 1,
    '--xor-mark': 1,
    '--save-mark': 0,
    '--restore-mark': 0,
    '--nfmask': 1,
    '--ctmask': 1,
    '--mask': 1,
  },
  CT: {
    '--notrack': 0,
    '--helper': 1,
    '--timeout': 1,
    '--ctevents': 1,
    '--expevents': 1,
    '--zone': 1,
    '--zone-orig': 1,
    '--zone-reply': 1,
  },
  TCPMSS: { '--set-mss': 1, '--clamp-mss-to-pmtu': 0 },
  CHECKSUM: { '--checksum-fill': 0 },
  NFQUEUE: {
    '--queue-num': 1,
    '--queue-balance': 1,
    '--queue-bypass': 0,
    '--queue-cpu-fanout': 0,
    '--fail-open': 0,
  },
  TPROXY: { '--on-port': 1, '--on-ip': 1, '--tproxy-mark': 1 },
};

/** Getopt abbreviations iptables users rely on (`--to` for DNAT/SNAT). */
const TARGET_ALIASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  DNAT: { '--to': '--to-destination' },
  SNAT: { '--to': '--to-source' },
  NETMAP: {},
};

export function canonicalTargetOption(target: string, option: string): string {
  return TARGET_ALIASES[target]?.[option] ?? option;
}

const REJECT4: Readonly<Record<string, string>> = {
  'icmp-net-unreachable': 'icmp-net-unreachable',
  'net-unreach': 'icmp-net-unreachable',
  'icmp-host-unreachable': 'icmp-host-unreachable',
  'host-unreach': 'icmp-host-unreachable',
  'icmp-port-unreachable': 'icmp-port-unreachable',
  'port-unreach': 'icmp-port-unreachable',
  'icmp-proto-unreachable': 'icmp-proto-unreachable',
  'proto-unreach': 'icmp-proto-unreachable',
  'icmp-net-prohibited': 'icmp-net-prohibited',
  'net-prohib': 'icmp-net-prohibited',
  'icmp-host-prohibited': 'icmp-host-prohibited',
  'host-prohib': 'icmp-host-prohibited',
  'tcp-reset': 'tcp-reset',
  'tcp-rst': 'tcp-reset',
  'icmp-admin-prohibited': 'icmp-admin-prohibited',
  'admin-prohib': 'icmp-admin-prohibited',
};

const REJECT6: Readonly<Record<string, string>> = {
  'icmp6-no-route': 'icmp6-no-route',
  'no-route': 'icmp6-no-route',
  'icmp6-adm-prohibited': 'icmp6-adm-prohibited',
  'adm-prohibited': 'icmp6-adm-prohibited',
  'icmp6-addr-unreachable': 'icmp6-addr-unreachable',
  'addr-unreach': 'icmp6-addr-unreachable',
  'icmp6-port-unreachable': 'icmp6-port-unreachable',
  'port-unreach': 'icmp6-port-unreachable',
  'tcp-reset': 'tcp-reset',
  'tcp-rst': 'tcp-reset',
  'icmp6-policy-fail': 'icmp6-policy-fail',
  'policy-fail': 'icmp6-policy-fail',
  'icmp6-reject-route': 'icmp6-reject-route',
  'reject-route': 'icmp6-reject-route',
};

const LOG_LEVELS: Readonly<Record<string, number>> = {
  emerg: 0,
  panic: 0,
  alert: 1,
  crit: 2,
  err: 3,
  error: 3,
  warning: 4,
  warn: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

const LOG_FLAGS = [
  '--log-tcp-sequence',
  '--log-tcp-options',
  '--log-ip-options',
  '--log-uid',
  '--log-macdecode',
];

function first(o: RawTargetOption | undefined): string {
  return o?.args[0] ?? '';
}

function find(options: readonly RawTargetOption[], name: string): RawTargetOption | undefined {
  // The last occurrence wins, as with getopt.
  for (let i = options.length - 1; i >= 0; i--) if (options[i]?.option === name) return options[i];
  return undefined;
}

function ordered(options: readonly RawTargetOption[], order: readonly string[]): TargetOption[] {
  const out: TargetOption[] = [];
  for (const name of order) {
    const o = find(options, name);
    if (o !== undefined) out.push({ option: o.option, args: [...o.args] });
  }
  for (const o of options) {
    if (!order.includes(o.option)) out.push({ option: o.option, args: [...o.args] });
  }
  return out;
}

/** `P` or `P-Q`; service names may contain '-' themselves (`ftp-data`). */
function portRangeDash(text: string): PortRange {
  try {
    const p = parsePort(text);
    return { from: p, to: p };
  } catch (e) {
    if (!(e instanceof ValueError)) throw e;
  }
  for (let dash = text.indexOf('-'); dash !== -1; dash = text.indexOf('-', dash + 1)) {
    try {
      const from = parsePort(text.slice(0, dash));
      const to = parsePort(text.slice(dash + 1));
      if (from > to) throw new ValueError(`invalid port range '${text}'`);
      return { from, to };
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
    }
  }
  throw new ValueError(`invalid port/service '${text}' specified`);
}

/** `A[-B][:P[-Q][/BASE]]`, IPv6 `[A[-B]]:P…` or `A[-B]`. */
export function parseNatRange(text: string, family: Family): NatRange {
  let addrPart = text;
  let portPart: string | null = null;
  if (family === 'ipv6') {
    if (text.startsWith('[')) {
      const close = text.indexOf(']');
      if (close === -1) throw new ValueError(`invalid address range '${text}'`);
      addrPart = text.slice(1, close);
      const rest = text.slice(close + 1);
      if (rest.startsWith(':')) portPart = rest.slice(1);
      else if (rest !== '') throw new ValueError(`invalid address range '${text}'`);
    }
  } else {
    const colon = text.indexOf(':');
    if (colon !== -1) {
      addrPart = text.slice(0, colon);
      portPart = text.slice(colon + 1);
    }
  }
  let addresses: AddressRange | null = null;
  if (addrPart !== '') {
    const dash = addrPart.indexOf('-');
    const from = parseAddress(dash === -1 ? addrPart : addrPart.slice(0, dash), family);
    const to = dash === -1 ? from : parseAddress(addrPart.slice(dash + 1), family);
    addresses = { family, from, to };
  }
  let ports: PortRange | null = null;
  let portBase: number | undefined;
  if (portPart !== null) {
    const slash = portPart.indexOf('/');
    ports = portRangeDash(slash === -1 ? portPart : portPart.slice(0, slash));
    if (slash !== -1) {
      portBase = parsePort(portPart.slice(slash + 1));
      if (portBase === 0) throw new ValueError(`invalid port base in '${text}'`);
    }
  }
  return portBase === undefined ? { addresses, ports } : { addresses, ports, portBase };
}

function flags(options: readonly RawTargetOption[], order: readonly string[]): string[] {
  return order.filter((f) => options.some((o) => o.option === f));
}

/** Builds a typed target; throws ValueError for invalid arguments. */
export function buildTarget(
  name: string,
  options: readonly RawTargetOption[],
  family: Family,
  location: SourceLocation,
  isChain: boolean,
): Target {
  const unknown = options.find((o) => {
    const arity = TARGET_ARITY[name];
    return arity !== undefined && arity[o.option] === undefined;
  });
  if (unknown !== undefined) {
    throw new ValueError(`unknown option '${unknown.option}' for target ${name}`);
  }
  switch (name) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
    case 'QUEUE':
      return { kind: name, location };
    case 'NOTRACK':
      return { kind: 'NOTRACK', location };
    case 'REJECT': {
      const table = family === 'ipv4' ? REJECT4 : REJECT6;
      const given = find(options, '--reject-with');
      const rejectWith =
        given === undefined
          ? family === 'ipv4'
            ? 'icmp-port-unreachable'
            : 'icmp6-port-unreachable'
          : table[first(given)];
      if (rejectWith === undefined) throw new ValueError(`unknown reject type '${first(given)}'`);
      return { kind: 'REJECT', rejectWith, location };
    }
    case 'LOG': {
      const levelText = find(options, '--log-level');
      let level: number | null = null;
      if (levelText !== undefined) {
        const t = first(levelText).toLowerCase();
        level = LOG_LEVELS[t] ?? parseUint(t, 7, 'log level');
      }
      const prefix = find(options, '--log-prefix');
      return {
        kind: 'LOG',
        // The kernel keeps 29 bytes of a prefix.
        prefix: prefix === undefined ? null : truncateBytes(first(prefix), 29),
        level: level === 4 ? null : level,
        flags: flags(options, LOG_FLAGS),
        location,
      };
    }
    case 'NFLOG': {
      const out: RawTargetOption[] = [];
      for (const o of options) {
        if (o.option === '--nflog-group' && first(o) === '0') continue;
        if (o.option === '--nflog-prefix') out.push({ ...o, args: [truncateBytes(first(o), 63)] });
        else out.push(o);
      }
      return {
        kind: 'NFLOG',
        options: ordered(out, [
          '--nflog-prefix',
          '--nflog-group',
          '--nflog-size',
          '--nflog-range',
          '--nflog-threshold',
        ]),
        location,
      };
    }
    case 'DNAT':
    case 'SNAT': {
      const opt = name === 'DNAT' ? '--to-destination' : '--to-source';
      const to = options
        .filter((o) => o.option === opt)
        .map((o) => parseNatRange(first(o), family));
      const f = flags(options, ['--random', '--random-fully', '--persistent']);
      return name === 'DNAT'
        ? { kind: 'DNAT', to, flags: f, location }
        : { kind: 'SNAT', to, flags: f, location };
    }
    case 'MASQUERADE':
    case 'REDIRECT': {
      const p = find(options, '--to-ports');
      const ports = p === undefined ? null : portRangeDash(first(p));
      return {
        kind: name,
        ports,
        flags: flags(options, ['--random', '--random-fully']),
        location,
      };
    }
    case 'MARK': {
      const o = options[options.length - 1];
      if (o === undefined) throw new ValueError('MARK target needs an option');
      return { kind: 'MARK', ...markForm(o), form: o.option, location };
    }
    case 'CONNMARK':
      return { kind: 'CONNMARK', options: connmarkOptions(options), location };
    case 'CT':
      return {
        kind: 'CT',
        options: ordered(options, [
          '--notrack',
          '--helper',
          '--timeout',
          '--ctevents',
          '--expevents',
          '--zone-orig',
          '--zone-reply',
          '--zone',
        ]),
        location,
      };
    case 'TCPMSS':
      return {
        kind: 'TCPMSS',
        options: ordered(options, ['--set-mss', '--clamp-mss-to-pmtu']),
        location,
      };
    case 'CHECKSUM':
      return { kind: 'CHECKSUM', options: ordered(options, ['--checksum-fill']), location };
    case 'NFQUEUE':
      return { kind: 'NFQUEUE', options: nfqueueOptions(options), location };
    case 'TPROXY': {
      const out: RawTargetOption[] = [...options];
      if (find(options, '--on-ip') === undefined) {
        out.push({ option: '--on-ip', args: [family === 'ipv4' ? '0.0.0.0' : '::'], location });
      }
      const mark = find(options, '--tproxy-mark');
      const normalised = out.map((o) => {
        if (o.option === '--tproxy-mark') {
          const { value, mask } = parseValueMask(first(mark), 'tproxy mark');
          return { ...o, args: [`${hex(value)}/${hex(mask)}`] };
        }
        if (o.option === '--on-ip') return { ...o, args: [parseAddress(first(o), family)] };
        return o;
      });
      return {
        kind: 'TPROXY',
        options: ordered(normalised, ['--on-port', '--on-ip', '--tproxy-mark']),
        location,
      };
    }
    default:
      if (isChain) {
        if (options.length > 0)
          throw new ValueError(
            `unknown option '${options[0]?.option ?? ''}' after jump to chain ${name}`,
          );
        return { kind: 'jump', chain: name, goto: false, location };
      }
      return {
        kind: 'extension',
        name,
        options: extensionOptions(name, options, family),
        location,
      };
  }
}

function truncateBytes(text: string, max: number): string {
  return Buffer.byteLength(text) > max ? Buffer.from(text).subarray(0, max).toString() : text;
}

/** MARK input forms → `--set-xmark value/mask` semantics (mark = (mark & ~mask) ^ value). */
function markForm(o: RawTargetOption): { value: number; mask: number } {
  const text = first(o);
  switch (o.option) {
    case '--set-xmark':
    case '--set-mark': {
      const { value, mask } = parseValueMask(text, 'mark');
      return { value, mask };
    }
    case '--and-mark':
      return { value: 0, mask: ~parseUint(text, 0xffffffff, 'mark') >>> 0 };
    case '--or-mark': {
      const v = parseUint(text, 0xffffffff, 'mark');
      return { value: v, mask: v };
    }
    case '--xor-mark':
      return { value: parseUint(text, 0xffffffff, 'mark'), mask: 0 };
    default:
      throw new ValueError(`unknown MARK option '${o.option}'`);
  }
}

function connmarkOptions(options: readonly RawTargetOption[]): TargetOption[] {
  const nfmask = find(options, '--nfmask') ?? find(options, '--mask');
  const ctmask = find(options, '--ctmask') ?? find(options, '--mask');
  const maskText = (o: RawTargetOption | undefined): string =>
    hex(o === undefined ? 0xffffffff : parseUint(first(o), 0xffffffff, 'mask'));
  for (const mode of ['--save-mark', '--restore-mark']) {
    if (find(options, mode) !== undefined) {
      return [
        { option: mode, args: [] },
        { option: '--nfmask', args: [maskText(nfmask)] },
        { option: '--ctmask', args: [maskText(ctmask)] },
      ];
    }
  }
  const set = options.find((o) =>
    ['--set-xmark', '--set-mark', '--and-mark', '--or-mark', '--xor-mark'].includes(o.option),
  );
  if (set === undefined)
    throw new ValueError('CONNMARK target needs --set-xmark, --save-mark or --restore-mark');
  const { value, mask } = markForm(set);
  return [{ option: '--set-xmark', args: [`${hex(value)}/${hex(mask)}`] }];
}

function nfqueueOptions(options: readonly RawTargetOption[]): TargetOption[] {
  const out: TargetOption[] = [];
  const balance = find(options, '--queue-balance');
  if (balance !== undefined) {
    const { from, to } = parseNumericRange(first(balance), 65535, 'queue', 65534);
    out.push({ option: '--queue-balance', args: [`${from}:${to}`] });
  } else {
    const num = find(options, '--queue-num');
    out.push({
      option: '--queue-num',
      args: [String(num === undefined ? 0 : parseUint(first(num), 65535, 'queue'))],
    });
  }
  for (const f of ['--queue-bypass', '--queue-cpu-fanout', '--fail-open']) {
    if (find(options, f) !== undefined) out.push({ option: f, args: [] });
  }
  return out;
}

/** Targets kept whole, with the few normalisations iptables-save applies to them. */
function extensionOptions(
  name: string,
  options: readonly RawTargetOption[],
  family: Family,
): TargetOption[] {
  return options.map((o): TargetOption => {
    const text = first(o);
    if (name === 'DSCP' && o.option === '--set-dscp-class') {
      return { option: '--set-dscp', args: [hex2(dscpClass(text))] };
    }
    if (name === 'DSCP' && o.option === '--set-dscp') {
      return { option: '--set-dscp', args: [hex2(parseUint(text, 63, 'dscp'))] };
    }
    if (name === 'TOS') {
      if (o.option === '--set-tos') {
        return { option: '--set-tos', args: [normaliseTos(text)] };
      }
      const v = parseUint(text, 255, 'tos');
      if (o.option === '--and-tos')
        return { option: '--set-tos', args: [`0x00/${hex2(~v & 0xff)}`] };
      if (o.option === '--or-tos') return { option: '--set-tos', args: [`${hex2(v)}/${hex2(v)}`] };
      if (o.option === '--xor-tos') return { option: '--set-tos', args: [`${hex2(v)}/0x00`] };
    }
    if (name === 'NETMAP' && o.option === '--to' && !text.includes('/')) {
      return {
        option: '--to',
        args: [`${parseAddress(text, family)}/${family === 'ipv4' ? 32 : 128}`],
      };
    }
    if (name === 'CLASSIFY' && o.option === '--set-class') {
      const m = /^([0-9a-fA-F]+):([0-9a-fA-F]+)$/.exec(text);
      if (m !== null) {
        const pad = (x: string): string => parseInt(x, 16).toString(16).padStart(4, '0');
        return { option: '--set-class', args: [`${pad(m[1] ?? '0')}:${pad(m[2] ?? '0')}`] };
      }
    }
    return { option: o.option, args: [...o.args] };
  });
}
