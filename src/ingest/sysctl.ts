/** `sysctl` output (`key = value` lines) → the forwarding and br_netfilter switches that matter. */
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
};

export function loadSysctl(
  text: string,
  file: string,
): { sysctls: Sysctls; diagnostics: readonly Diagnostic[] } {
  const values: Record<string, boolean | null> = { ...UNKNOWN_SYSCTLS };
  const diagnostics: Diagnostic[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const location = { file, line: i + 1, column: 1 };
    const match = /^([\w./-]+)\s*=\s*(\S*)$/.exec(line);
    if (match === null) {
      diagnostics.push(
        diagnostic('invalid-sysctl-line', 'warning', `expected "key = value": ${line}`, location),
      );
      return;
    }
    const key = (match[1] ?? '').replaceAll('/', '.');
    const field = KEYS[key];
    if (field === undefined) return; // other sysctls are kept out of the model
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
    values[field] = value === '1';
  });
  return { sysctls: values as unknown as Sysctls, diagnostics };
}
