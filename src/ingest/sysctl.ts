/**
 * `sysctl` output (`key = value` lines) → the switches that matter: forwarding, br_netfilter, and
 * IPv4 `route_localnet`, for `all` and per interface.
 */
import type { Diagnostic } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type { Sysctls } from '../model/host.ts';

const KEYS: Readonly<Record<string, keyof Sysctls>> = {
  'net.ipv4.ip_forward': 'ipv4Forward',
  'net.ipv4.conf.all.forwarding': 'ipv4Forward',
  'net.ipv6.conf.all.forwarding': 'ipv6Forward',
  'net.bridge.bridge-nf-call-iptables': 'bridgeNfCallIptables',
  'net.bridge.bridge-nf-call-ip6tables': 'bridgeNfCallIp6tables',
  'net.ipv4.conf.all.route_localnet': 'routeLocalnet',
};

export const UNKNOWN_SYSCTLS: Sysctls = {
  ipv4Forward: null,
  ipv6Forward: null,
  bridgeNfCallIptables: null,
  bridgeNfCallIp6tables: null,
  routeLocalnet: null,
  routeLocalnetByInterface: new Map(),
};

/**
 * The interface of a per-interface `route_localnet` key: `net.ipv4.conf.NAME.route_localnet`, as
 * sysctl writes it (a dot in NAME becomes `/`), or `net/ipv4/conf/NAME/route_localnet`. Null for
 * any other key, and for `all` (a key of its own) and `default` (the template of interfaces yet to
 * come, which decides nothing).
 */
function localnetInterface(key: string): string | null {
  const slashed = /^net\/ipv4\/conf\/([^/]+)\/route_localnet$/.exec(key);
  const dotted = /^net\.ipv4\.conf\.([^.]+)\.route_localnet$/.exec(key);
  const name = slashed?.[1] ?? dotted?.[1]?.replaceAll('/', '.') ?? null;
  return name === null || name === 'all' || name === 'default' ? null : name;
}

export function loadSysctl(
  text: string,
  file: string,
): { sysctls: Sysctls; diagnostics: readonly Diagnostic[] } {
  const values: Record<string, boolean | null> = {};
  // a Map: the names are the file's, and `__proto__` is a name too
  const byInterface = new Map<string, boolean>();
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
    const iface = localnetInterface(written);
    const field = KEYS[key];
    if (field === undefined && iface === null) return; // other sysctls are kept out of the model
    const value = match[2];
    if (value !== '0' && value !== '1') {
      diagnostics.push(
        diagnostic(
          'invalid-value',
          'warning',
          `${key} should be 0 or 1, found "${value ?? ''}"`,
          location,
        ),
      );
      return;
    }
    if (iface !== null) byInterface.set(iface, value === '1');
    else if (field !== undefined) values[field] = value === '1';
  });
  return {
    sysctls: { ...UNKNOWN_SYSCTLS, ...values, routeLocalnetByInterface: byInterface },
    diagnostics,
  };
}
