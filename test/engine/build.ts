/**
 * Small builders for rulesets in engine tests, so the engine is tested without the parser.
 */
import type { NetworkContext } from '../../src/engine/context.ts';
import type {
  AddressType,
  Chain,
  ConntrackState,
  Family,
  MatchOption,
  Policy,
  Rule,
  Ruleset,
  Target,
} from '../../src/model/ruleset.ts';
import { parseCidr, formatAddress, prefixMask, addressBits } from '../../src/engine/addr.ts';

const loc = { file: 'test.rules', line: 1, column: 1 };
let line = 1;

type Opt = MatchOption;

function addr(family: Family, field: 'src' | 'dst', cidr: string, negated = false): Opt {
  const c = parseCidr(cidr, family);
  if (c === null) throw new Error(`bad cidr ${cidr}`);
  const w = addressBits(family);
  return {
    type: 'address',
    field,
    negated,
    location: loc,
    value: {
      family,
      address: formatAddress(c.value, family),
      mask: formatAddress(prefixMask(c.length, w), family),
      prefixLength: c.length,
    },
  };
}

export const o = {
  src: (cidr: string, family: Family = 'ipv4'): Opt => addr(family, 'src', cidr),
  dst: (cidr: string, family: Family = 'ipv4'): Opt => addr(family, 'dst', cidr),
  in: (name: string): Opt => ({
    type: 'interface',
    field: 'in',
    name: name.replace(/\+$/, ''),
    wildcard: name.endsWith('+'),
    negated: false,
    location: loc,
  }),
  out: (name: string): Opt => ({
    type: 'interface',
    field: 'out',
    name: name.replace(/\+$/, ''),
    wildcard: name.endsWith('+'),
    negated: false,
    location: loc,
  }),
  proto: (p: 'tcp' | 'udp' | 'icmp' | number): Opt => ({
    type: 'protocol',
    number: typeof p === 'number' ? p : p === 'tcp' ? 6 : p === 'udp' ? 17 : 1,
    name: String(p),
    negated: false,
    location: loc,
  }),
  dport: (from: number, to = from): Opt => ({
    type: 'port',
    field: 'dst',
    ranges: [{ from, to }],
    negated: false,
    location: loc,
  }),
  sport: (from: number, to = from): Opt => ({
    type: 'port',
    field: 'src',
    ranges: [{ from, to }],
    negated: false,
    location: loc,
  }),
  ctstate: (...states: ConntrackState[]): Opt => ({
    type: 'ct-state',
    states,
    via: 'conntrack',
    negated: false,
    location: loc,
  }),
  origdst: (cidr: string): Opt => {
    const a = addr('ipv4', 'dst', cidr);
    return a.type === 'address'
      ? { type: 'ct-address', field: 'origdst', value: a.value, negated: false, location: loc }
      : a;
  },
  origdport: (port: number): Opt => ({
    type: 'ct-port',
    field: 'origdst',
    range: { from: port, to: port },
    negated: false,
    location: loc,
  }),
  addrtype: (field: 'src' | 'dst', ...types: AddressType[]): Opt => ({
    type: 'addrtype',
    field,
    types,
    negated: false,
    location: loc,
  }),
  /** nftables' `fib … type`. */
  fibtype: (field: 'src' | 'dst', ...types: AddressType[]): Opt => ({
    type: 'addrtype',
    field,
    types,
    fib: true,
    negated: false,
    location: loc,
  }),
  mark: (value: number, mask = 0xffffffff): Opt => ({
    type: 'mark',
    of: 'packet',
    value,
    mask,
    negated: false,
    location: loc,
  }),
  syn: (): Opt => ({
    type: 'tcp-flags',
    mask: ['FIN', 'SYN', 'RST', 'ACK'],
    compare: ['SYN'],
    negated: false,
    location: loc,
  }),
  recent: (): Opt => ({
    type: 'stateful',
    module: 'recent',
    option: 'rcheck',
    args: [],
    negated: false,
    location: loc,
  }),
  set: (name: string): Opt => ({
    type: 'set',
    name,
    dirs: ['src'],
    flags: [],
    negated: false,
    location: loc,
  }),
  not: (x: Opt): Opt => ({ ...x, negated: !x.negated }),
};

export const t = {
  accept: (): Target => ({ kind: 'ACCEPT', location: loc }),
  drop: (): Target => ({ kind: 'DROP', location: loc }),
  reject: (): Target => ({ kind: 'REJECT', rejectWith: 'icmp-port-unreachable', location: loc }),
  ret: (): Target => ({ kind: 'RETURN', location: loc }),
  jump: (chain: string): Target => ({ kind: 'jump', chain, goto: false, location: loc }),
  goto: (chain: string): Target => ({ kind: 'jump', chain, goto: true, location: loc }),
  log: (): Target => ({ kind: 'LOG', prefix: null, level: null, flags: [], location: loc }),
  dnat: (address: string | null, port?: number): Target => ({
    // family from the address text
    kind: 'DNAT',
    to: [
      {
        addresses:
          address === null
            ? null
            : { family: address.includes(':') ? 'ipv6' : 'ipv4', from: address, to: address },
        ports: port === undefined ? null : { from: port, to: port },
      },
    ],
    flags: [],
    location: loc,
  }),
  redirect: (port: number): Target => ({
    kind: 'REDIRECT',
    ports: { from: port, to: port },
    flags: [],
    location: loc,
  }),
  masquerade: (): Target => ({ kind: 'MASQUERADE', ports: null, flags: [], location: loc }),
  notrack: (): Target => ({ kind: 'NOTRACK', location: loc }),
  mark: (value: number, mask = 0xffffffff): Target => ({
    kind: 'MARK',
    value,
    mask,
    form: 'set-xmark',
    location: loc,
  }),
};

export type RuleSpec = readonly [readonly Opt[], Target | null];
export interface ChainSpec {
  readonly policy?: Policy;
  readonly rules: readonly RuleSpec[];
}

const BUILTIN = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

export function ruleset(
  tables: Record<string, Record<string, ChainSpec>>,
  family: Family = 'ipv4',
): Ruleset {
  return {
    family,
    file: 'test.rules',
    kind: 'save',
    header: null,
    tables: Object.entries(tables).map(([table, chains]) => ({
      name: table,
      location: { ...loc, line: line++ },
      chains: Object.entries(chains).map(([name, spec]): Chain => {
        const builtin = BUILTIN.has(name);
        const chainLine = line++;
        return {
          name,
          builtin,
          policy: builtin ? (spec.policy ?? 'ACCEPT') : null,
          counters: null,
          location: { ...loc, line: chainLine },
          rules: spec.rules.map(([opts, target], i): Rule => {
            const l = line++;
            return {
              table,
              chain: name,
              index: i + 1,
              location: { ...loc, line: l },
              text: `-A ${name} #${i + 1}`,
              counters: null,
              core: opts.filter((x) => ['address', 'interface', 'protocol'].includes(x.type)),
              matches: [
                {
                  name: 'm',
                  location: loc,
                  known: true,
                  options: opts.filter(
                    (x) => !['address', 'interface', 'protocol'].includes(x.type),
                  ),
                },
              ],
              target,
            };
          }),
        };
      }),
    })),
  };
}

/** A Docker-like host: eth0 203.0.113.1/24 external, docker0 172.17.0.1/16. */
export const hostContext: NetworkContext = {
  family: 'ipv4',
  interfaces: ['lo', 'eth0', 'docker0'],
  localAddresses: ['127.0.0.1', '203.0.113.1', '172.17.0.1'],
  routes: [
    { destination: 'default', device: 'eth0' },
    { destination: '203.0.113.0/24', device: 'eth0' },
    { destination: '172.17.0.0/16', device: 'docker0' },
  ],
};
