/**
 * `sysctl` output (`key = value` lines) → the switches that matter: forwarding, br_netfilter, and
 * IPv4 `route_localnet`, `rp_filter`, `forwarding` and `accept_local`, for `all` and per interface.
 */
import type { Diagnostic } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type { RpFilterValue, Sysctls } from '../model/host.ts';

const KEYS: Readonly<Record<string, keyof Sysctls>> = {
  'net.ipv4.ip_forward': 'ipv4Forward',
  'net.ipv4.conf.all.forwarding': 'ipv4Forward',
  'net.ipv6.conf.all.forwarding': 'ipv6Forward',
  'net.bridge.bridge-nf-call-iptables': 'bridgeNfCallIptables',
  'net.bridge.bridge-nf-call-ip6tables': 'bridgeNfCallIp6tables',
  'net.ipv4.conf.all.route_localnet': 'routeLocalnet',
  'net.ipv4.conf.all.accept_local': 'acceptLocal',
};

export const UNKNOWN_SYSCTLS: Sysctls = {
  ipv4Forward: null,
  ipv6Forward: null,
  bridgeNfCallIptables: null,
  bridgeNfCallIp6tables: null,
  routeLocalnet: null,
  routeLocalnetByInterface: new Map(),
  rpFilter: null,
  rpFilterByInterface: new Map(),
  forwardingByInterface: new Map(),
  acceptLocal: null,
  acceptLocalByInterface: new Map(),
};

/** The per-interface switches read, each with the values it takes. */
const PER_INTERFACE = {
  route_localnet: ['0', '1'],
  rp_filter: ['0', '1', '2'],
  forwarding: ['0', '1'],
  accept_local: ['0', '1'],
} as const;
type PerInterface = keyof typeof PER_INTERFACE;

/** The per-interface switches, as `/proc/sys/net/ipv4/conf/NAME/` names them (the collector's). */
export const PER_INTERFACE_SWITCHES = Object.keys(PER_INTERFACE) as readonly PerInterface[];

const SWITCHES = PER_INTERFACE_SWITCHES.join('|');
const SLASHED = new RegExp(`^net/ipv4/conf/([^/]+)/(${SWITCHES})$`);
const DOTTED = new RegExp(`^net\\.ipv4\\.conf\\.([^.]+)\\.(${SWITCHES})$`);

/**
 * The switch and interface of a per-interface key: `net.ipv4.conf.NAME.SWITCH`, as sysctl writes
 * it (a dot in NAME becomes `/`), or `net/ipv4/conf/NAME/SWITCH`. `all` is returned as such;
 * null for any other key, and for `default` (the template of interfaces yet to come, which
 * decides nothing).
 */
function perInterfaceKey(key: string): { name: string; which: PerInterface } | null {
  const slashed = SLASHED.exec(key);
  const dotted = DOTTED.exec(key);
  const match = slashed ?? dotted;
  const name = slashed?.[1] ?? dotted?.[1]?.replaceAll('/', '.') ?? null;
  const which = match?.[2] as PerInterface | undefined;
  return name === null || which === undefined || name === 'default' ? null : { name, which };
}

export function loadSysctl(
  text: string,
  file: string,
): { sysctls: Sysctls; diagnostics: readonly Diagnostic[] } {
  const values: Record<string, boolean | null> = {};
  // Maps: the names are the file's, and `__proto__` is a name too
  const localnet = new Map<string, boolean>();
  const rpFilter = new Map<string, RpFilterValue>();
  const forwarding = new Map<string, boolean>();
  const acceptLocal = new Map<string, boolean>();
  let rpFilterAll: RpFilterValue | null = null;
  const diagnostics: Diagnostic[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const location = { file, line: i + 1, column: 1 };
    // any key without blanks or "=": an interface name may hold "+", "@" or non-ASCII letters
    const match = /^([^\s=]+)\s*=\s*(\S*)$/.exec(line);
    if (match === null) {
      diagnostics.push(
        diagnostic('invalid-sysctl-line', 'warning', `expected "key = value": ${line}`, location),
      );
      return;
    }
    const written = match[1] ?? '';
    const key = written.replaceAll('/', '.');
    const field = KEYS[key];
    const own = field === undefined ? perInterfaceKey(written) : null;
    if (field === undefined && own === null) return; // other sysctls are kept out of the model
    const value = match[2] ?? '';
    const allowed: readonly string[] = own === null ? ['0', '1'] : PER_INTERFACE[own.which];
    if (!allowed.includes(value)) {
      diagnostics.push(
        diagnostic(
          'invalid-value',
          'warning',
          `${key} should be ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1) ?? ''}, found "${value}"`,
          location,
        ),
      );
      return;
    }
    if (own === null) {
      if (field !== undefined) values[field] = value === '1';
    } else if (own.which === 'route_localnet') localnet.set(own.name, value === '1');
    else if (own.which === 'forwarding') forwarding.set(own.name, value === '1');
    else if (own.which === 'accept_local') acceptLocal.set(own.name, value === '1');
    else if (own.name === 'all') rpFilterAll = Number(value) as RpFilterValue;
    else rpFilter.set(own.name, Number(value) as RpFilterValue);
  });
  return {
    sysctls: {
      ...UNKNOWN_SYSCTLS,
      ...values,
      routeLocalnetByInterface: localnet,
      rpFilter: rpFilterAll,
      rpFilterByInterface: rpFilter,
      forwardingByInterface: forwarding,
      acceptLocalByInterface: acceptLocal,
    },
    diagnostics,
  };
}
