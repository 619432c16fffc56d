/**
 * Rule shapes Docker writes the same way in every iptables era: the nat jumps to DOCKER, the
 * rules of one published port (≤27 appends the ACCEPT, 28+ inserts it; 28+ adds
 * `! -s fe80::/10` to IPv6 DNAT) and those of a legacy link.
 */
import type {
  BridgeNetworkConfig,
  FamilyStates,
  FirewallConfig,
  PortBinding,
} from './bridge-firewall.ts';
import { isUnspecified, joinHostPort } from './bridge-firewall.ts';
import type { IptablesState } from './iptables-state.ts';
import { append, canonicalRule, portMatch } from './iptables-state.ts';

/** The families iptables is programmed for, with their tables. */
export function enabledFamilies(
  states: FamilyStates,
  config: FirewallConfig,
): { state: IptablesState; v6: boolean }[] {
  const out: { state: IptablesState; v6: boolean }[] = [];
  if (config.ipv4) out.push({ state: states.ipv4, v6: false });
  if (config.ipv6) out.push({ state: states.ipv6, v6: true });
  return out;
}

/**
 * nat PREROUTING and OUTPUT jumps to DOCKER for local destinations; with the userland proxy,
 * OUTPUT skips loopback (docker-proxy serves it).
 */
export function natJumpRules(state: IptablesState, hairpin: boolean, v6: boolean): void {
  append(state, 'nat', 'PREROUTING', '-m addrtype --dst-type LOCAL -j DOCKER');
  append(
    state,
    'nat',
    'OUTPUT',
    canonicalRule(
      { d: hairpin ? undefined : v6 ? '!::1/128' : '!127.0.0.0/8' },
      '-m addrtype --dst-type LOCAL -j DOCKER',
    ),
  );
}

/** nat DOCKER: host address and port → container address and port. */
export function dnatRule(
  b: PortBinding,
  bridge: string,
  options: { readonly hairpin: boolean; readonly skipLinkLocal: boolean },
): string {
  return canonicalRule(
    {
      s: options.skipLinkLocal ? '!fe80::/10' : undefined,
      d: isUnspecified(b.hostIp) ? undefined : b.hostIp,
      i: options.hairpin ? undefined : `!${bridge}`,
      p: b.protocol,
    },
    `${portMatch(b.protocol, 'dport', b.hostPort)} -j DNAT --to-destination ${joinHostPort(b.containerIp, b.containerPort)}`,
  );
}

/** nat POSTROUTING: a container reaching its own published port through the host. */
export function hairpinMasqueradeRule(b: PortBinding): string {
  return canonicalRule(
    { s: b.containerIp, d: b.containerIp, p: b.protocol },
    `${portMatch(b.protocol, 'dport', b.containerPort)} -j MASQUERADE`,
  );
}

/** filter DOCKER: the published container port opened to traffic from outside the bridge. */
export function openPortRule(b: PortBinding, bridge: string): string {
  return canonicalRule(
    { d: b.containerIp, i: `!${bridge}`, o: bridge, p: b.protocol },
    `${portMatch(b.protocol, 'dport', b.containerPort)} -j ACCEPT`,
  );
}

/**
 * Legacy `--link` (default bridge): each of the child's ports opened to the parent, and the
 * replies back, appended to filter DOCKER (IPv4 only).
 */
export function addLinkRules(
  states: FamilyStates,
  config: FirewallConfig,
  net: BridgeNetworkConfig,
  parentIp: string,
  childIp: string,
  ports: readonly { readonly port: number; readonly protocol: string }[],
): void {
  if (!config.ipv4) return;
  const br = net.ifName;
  for (const p of ports) {
    append(
      states.ipv4,
      'filter',
      'DOCKER',
      canonicalRule(
        { s: parentIp, d: childIp, i: br, o: br, p: p.protocol },
        `${portMatch(p.protocol, 'dport', p.port)} -j ACCEPT`,
      ),
    );
    append(
      states.ipv4,
      'filter',
      'DOCKER',
      canonicalRule(
        { s: childIp, d: parentIp, i: br, o: br, p: p.protocol },
        `${portMatch(p.protocol, 'sport', p.port)} -j ACCEPT`,
      ),
    );
  }
}
