/**
 * The engine's view of the host (`NetworkContext`, src/engine/context.ts) built from every piece
 * of evidence a snapshot holds, each fact with how it is known:
 *
 * - routes: `ip-route.json` (observed) > the connected prefixes of `ip-addr.json` > Docker's
 *   networks and container endpoints > what the rules themselves show (rule-evidence.ts)
 *   (derived) > a default route (assumed); with what the policy rules of `ip-rule.json` change
 *   folded in (policy-routes.ts);
 * - the host's addresses: `ip-addr.json` (observed, the whole list) > bridge gateways and
 *   address-bound port mappings (derived, a partial list: any other address may be the host's);
 * - interfaces: `ip-addr.json` > Docker's bridges and every name the rules mention.
 *
 * What is assumed makes the answers resting on it `possible` (the engine does that); the facts
 * are kept for the report so a reader sees what was observed, derived and assumed.
 */
import ipaddr from 'ipaddr.js';
import type {
  ContextDeadEnd,
  ContextRoute,
  DeviceBelow,
  HostListener,
  NetworkContext,
  Provenance,
} from '../engine/context.ts';
import type { ContextFact } from '../model/audit.ts';
import { deadEndType, type HostInterface, type RpFilterValue } from '../model/host.ts';
import type { Family } from '../model/ruleset.ts';
import { bareAddress } from '../model/address-text.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { firewallOf, pathRead, SNAPSHOT_FILE_NAMES } from '../model/snapshot.ts';
import { chainIn, natToLoopback } from '../model/rule-queries.ts';
import { bindingFamilies, isLinkLocal, isLoopback, isWildcard } from './bindings.ts';
import { bridgedSkipsIptables } from './bridge-netfilter.ts';
import { directEndpoints, vlanEndpoints } from './direct-networks.ts';
import { interfacesInRules, ruleEvidence } from './rule-evidence.ts';
import { externalInterface } from './interfaces.ts';
import { applyPolicyRules, isKernelRule } from './policy-routes.ts';
import { bridgeOfEndpoint, dockerBridges, endpointAddress } from './topology.ts';
import { atLeast, parseDockerVersion } from './version.ts';

export { ASSUMED_EXTERNAL_INTERFACE, externalInterface } from './interfaces.ts';

/** An egress interface nobody named: the engine's class of every unlisted interface. */
export const UNKNOWN_INTERFACE = '*other*';

export type { ContextFact } from '../model/audit.ts';

export interface HostContext {
  readonly context: NetworkContext;
  /** Derived and assumed facts one by one; observed ones summarised per file. */
  readonly facts: readonly ContextFact[];
}

/**
 * The address IPv4 MASQUERADE gives a packet leaving by lo: the kernel takes the first address of
 * global scope it finds, interface by interface in their order (lo's own 127.0.0.1 is of the
 * host's scope), as `ip addr` lists them. undefined where a scope is not given.
 */
function masqueradeOutOfLo(interfaces: readonly HostInterface[]): string | undefined {
  for (const i of interfaces)
    for (const a of i.addresses) {
      if (a.family !== 'ipv4') continue;
      if (a.scope === null) return undefined;
      if (a.scope === 'global') return a.address;
    }
  return undefined;
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

function familyOf(address: string): Family | null {
  if (!ipaddr.isValid(address)) return null;
  return ipaddr.parse(address).kind() === 'ipv6' ? 'ipv6' : 'ipv4';
}

/**
 * An IPv4 prefix's broadcast address, its last, which the kernel routes to the host as a
 * broadcast for a prefix shorter than /31 (none for /31 and /32); [] where it is not IPv4.
 */
function broadcastOf(cidr: string): string[] {
  try {
    const [address, length] = ipaddr.IPv4.parseCIDR(cidr);
    if (length >= 31 || address.range() === 'loopback') return [];
    return [ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toString()];
  } catch {
    return [];
  }
}

/** What `rp_filter` does, for the context fact that says where it is on. */
const RP_FILTER_EFFECT =
  "the kernel drops a packet whose source is routed out of another interface than it came in on (strict), has no route, or is a prefix's broadcast address (strict and loose)";

/** The interfaces where `rp_filter` is on (the larger of `all` and their own), in words. */
function rpFilterSummary(
  all: RpFilterValue | null,
  own: ReadonlyMap<string, RpFilterValue>,
): string | null {
  const mode = (v: RpFilterValue): string => (v === 1 ? 'strict' : 'loose');
  const names = (v: RpFilterValue): string[] =>
    [...own].filter(([, x]) => x === v).map(([name]) => name);
  if (all !== null && all > 0) {
    const looser = all === 1 ? names(2) : [];
    return `rp_filter is ${mode(all)} for every interface${looser.length > 0 ? `, loose for ${looser.join(', ')}` : ''}`;
  }
  const parts = ([1, 2] as const)
    .map((v) => [v, names(v)] as const)
    .filter(([, list]) => list.length > 0)
    .map(([v, list]) => `${mode(v)} for ${list.join(', ')}`);
  return parts.length === 0 ? null : `rp_filter is ${parts.join('; ')}`;
}

/** Whether a host interface is loopback (its addresses are no prefix of a link). */
function isLoopbackInterface(i: HostInterface): boolean {
  return i.kind === 'loopback' || i.name === 'lo';
}

/** The subnet of an address with its prefix length, e.g. 172.17.0.2/16 → 172.17.0.0/16. */
export function subnetOf(address: string, prefix: number): string | null {
  try {
    const parsed = ipaddr.parse(address);
    const bytes = parsed.toByteArray();
    for (let bit = prefix; bit < bytes.length * 8; bit += 1) {
      const i = Math.floor(bit / 8);
      bytes[i] = (bytes[i] ?? 0) & ~(0x80 >> (bit % 8));
    }
    return `${ipaddr.fromByteArray(bytes).toString()}/${prefix}`;
  } catch {
    return null;
  }
}

function at(location: { file: string; line: number }): string {
  return `${location.file}:${location.line}`;
}

export function buildHostContext(snapshot: Snapshot, family: Family): HostContext {
  const host = snapshot.host;
  const facts: ContextFact[] = [];
  const fact = (
    subject: ContextFact['subject'],
    text: string,
    provenance: Provenance,
    evidence: string,
  ): void => {
    facts.push({ family, subject, text, provenance, evidence });
  };
  const ruleset = firewallOf(snapshot, family);
  const evidence = ruleEvidence(ruleset);
  const addrFile = pathRead(snapshot, 'ip-addr');
  const routeFile = pathRead(snapshot, 'ip-route');
  const networksOfFamily = host.networks.flatMap((n) =>
    n.bridgeName === null
      ? []
      : n.subnets.filter((s) => s.family === family).map((s) => ({ network: n, subnet: s })),
  );

  // Interfaces: the host's own list, else Docker's bridges; names the rules test either way.
  const bridges = unique([
    ...host.networks.flatMap((n) => (n.bridgeName === null ? [] : [n.bridgeName])),
    ...evidence.subnets.flatMap((f) => (f.bridge === null ? [] : [f.bridge])),
    ...evidence.containers.flatMap((f) => (f.bridge === null ? [] : [f.bridge])),
  ]);
  const interfaces =
    addrFile !== null
      ? unique([...host.interfaces.map((i) => i.name), ...interfacesInRules(ruleset)])
      : unique(['lo', ...bridges, ...interfacesInRules(ruleset)]);
  const below = devicesBelowOf(snapshot, family);
  for (const b of below) {
    if (!interfaces.includes(b.device.interface)) interfaces.push(b.device.interface);
    fact('interfaces', b.text, 'observed', b.evidence);
  }
  const devicesBelow = below.map((b) => b.device);
  const unmodelledPaths = ipvlanL3sPaths(snapshot, family);
  for (const u of unmodelledPaths)
    fact('interfaces', u.why, 'observed', `networks.json: ${u.network}`);
  if (addrFile === null)
    fact(
      'interfaces',
      `${interfaces.join(', ')} and any other interface`,
      'derived',
      'no ip-addr.json: Docker’s bridges and the names the rules match',
    );

  // The host's addresses.
  const loopback = family === 'ipv4' ? '127.0.0.1' : '::1';
  let localAddresses: string[];
  let foreign: string[] = [];
  if (addrFile !== null) {
    localAddresses = unique(
      host.interfaces.flatMap((i) =>
        i.addresses.filter((a) => a.family === family).map((a) => a.address),
      ),
    );
  } else {
    const gateways = networksOfFamily.flatMap(({ subnet }) =>
      subnet.gateway === null ? [] : [subnet.gateway],
    );
    const endpointGateways = host.containers.flatMap((c) =>
      c.endpoints.flatMap((e) => {
        const g = family === 'ipv4' ? e.gateway : e.gatewayV6;
        return g === null ? [] : [g];
      }),
    );
    const bound = evidence.hostAddresses.map((f) => f.address);
    localAddresses = unique([loopback, ...gateways, ...endpointGateways, ...bound]);
    for (const f of evidence.hostAddresses)
      fact(
        'addresses',
        `${f.address} is the host’s`,
        'derived',
        `${at(f.location)}: ${f.evidence}`,
      );
    // Known not to be the host's: container addresses, and the subnets of networks whose
    // gateway (the host's one address in them) is known.
    const endpointAddresses = host.containers.flatMap((c) =>
      c.endpoints.flatMap((e) => {
        const a = endpointAddress(e, family);
        return a === null ? [] : [a];
      }),
    );
    foreign = unique([
      ...networksOfFamily.filter(({ subnet }) => subnet.gateway !== null).map((x) => x.subnet.cidr),
      ...endpointAddresses,
      ...evidence.containers.map((f) => f.address).filter((a) => familyOf(a) === family),
    ]);
    fact(
      'addresses',
      `the host’s addresses are not listed; known: ${localAddresses.join(', ')}`,
      'assumed',
      'no ip-addr.json: an answer about connections to the host holds for whatever its addresses are; one that needs to know whether another address is the host’s is only possible. A source from outside is taken not to be one of its unlisted addresses (one would be dropped as a martian)',
    );
  }

  // Routes.
  let routes: ContextRoute[];
  // the address the host sends from along a route that names none: its interface's, where it
  // has just one (IPv6: of global scope, which the kernel prefers on the outgoing interface for a
  // global destination); with several the kernel prefers one by its prefix: not modelled
  const onlyAddress = (device: string): string | null => {
    const own = (host.interfaces.find((i) => i.name === device)?.addresses ?? []).filter(
      (a) => a.family === family && !isLinkLocal(a.address),
    );
    return own.length === 1 ? (own[0]?.address ?? null) : null;
  };
  let deadEnds: ContextDeadEnd[] = [];
  // every address of a prefix the local table routes as `local` is the host's (AnyIP), where
  // no interface holds it: beside the addresses, not among them (a prefix, not an address)
  let localPrefixes: string[] = [];
  if (routeFile !== null) {
    const held = new Set(localAddresses.map(bareAddress));
    localPrefixes = unique(
      host.routes
        .filter(
          (r) =>
            r.family === family &&
            r.type === 'local' &&
            r.table === 'local' &&
            r.destination !== 'default' &&
            !held.has(bareAddress(r.destination)) &&
            // the context has loopback's prefix already
            !isLoopback(bareAddress(r.destination)),
        )
        .map((r) => r.destination),
    );
    for (const p of localPrefixes)
      fact(
        'addresses',
        `every address of ${p} is the host's`,
        'observed',
        `${routeFile}: a local route of ${p} in the local table`,
      );
    deadEnds = host.routes.flatMap((r) => {
      const type = deadEndType(r.type);
      return r.family === family && r.table === 'main' && type !== undefined
        ? [{ destination: r.destination, type }]
        : [];
    });
    routes = host.routes
      .filter(
        (r) =>
          r.family === family &&
          (r.device !== null || r.nexthops !== undefined) &&
          r.table === 'main' &&
          r.type === 'unicast',
      )
      .map((r): ContextRoute => {
        // a multipath route by several interfaces leaves by one of them, which the kernel
        // picks per flow: by the first, possibly
        const hops = unique(r.nexthops ?? []);
        const device = r.device ?? hops[0] ?? '';
        const source = r.source ?? onlyAddress(device);
        return {
          destination: r.destination,
          device,
          ...(source === null ? {} : { source }),
          ...(hops.length > 1
            ? {
                provenance: 'assumed' as const,
                doubt: [
                  `the multipath route ${r.destination}'s next hop by ${hops.slice(1).join(', ')}`,
                ],
              }
            : { provenance: 'observed' as const }),
        };
      });
    const ruleRole = family === 'ipv4' ? 'ip-rule' : 'ip6-rule';
    const policy = applyPolicyRules({
      family,
      rules: host.policyRules?.[family],
      ruleFile: pathRead(snapshot, ruleRole) ?? SNAPSHOT_FILE_NAMES[ruleRole][0] ?? ruleRole,
      tables: host.routes,
      routes,
      deadEnds,
      sourceOf: onlyAddress,
      unknownInterface: UNKNOWN_INTERFACE,
    });
    routes = [...policy.routes];
    deadEnds = [...policy.deadEnds];
    for (const note of policy.notes)
      fact('policy-routing', note.text, note.provenance, note.evidence);
    if (routes.length === 0)
      fact(
        'route',
        `no ${family === 'ipv4' ? 'IPv4' : 'IPv6'} route`,
        'observed',
        `${routeFile}: nothing of this family is forwarded`,
      );
  } else {
    routes = [];
    const seen = new Set<string>();
    const add = (
      destination: string,
      device: string,
      provenance: Provenance,
      why: string,
      source?: string,
    ) => {
      if (seen.has(destination)) return;
      seen.add(destination);
      routes.push({ destination, device, ...(source === undefined ? {} : { source }), provenance });
      fact('route', `${destination} via ${device}`, provenance, why);
    };
    for (const i of host.interfaces)
      for (const a of i.addresses) {
        if (a.family !== family || isLoopbackInterface(i)) continue;
        const subnet = subnetOf(a.address, a.prefixLength);
        // the kernel's route to a connected prefix sends from the address that made it
        if (subnet !== null)
          add(
            subnet,
            i.name,
            'derived',
            `${addrFile ?? 'ip-addr.json'}: ${i.name} has ${a.address}/${a.prefixLength}`,
            isLinkLocal(a.address) ? undefined : a.address,
          );
      }
    // with no address file, a network's gateway is taken for its bridge's address (above), which
    // the kernel's route to the subnet sends from
    const sourceOf = (gateway: string | null): string | undefined =>
      addrFile === null && gateway !== null ? gateway : undefined;
    for (const { network, subnet } of networksOfFamily)
      add(
        subnet.cidr,
        network.bridgeName ?? '',
        'derived',
        `networks.json: network ${network.name}`,
        sourceOf(subnet.gateway),
      );
    for (const c of host.containers)
      for (const e of c.endpoints) {
        const bridge = bridgeOfEndpoint(host, e);
        const address = endpointAddress(e, family);
        const prefix = family === 'ipv4' ? e.ipv4PrefixLength : e.ipv6PrefixLength;
        if (bridge === null || address === null || prefix === null) continue;
        const subnet = subnetOf(address, prefix);
        if (subnet !== null)
          add(
            subnet,
            bridge,
            'derived',
            `containers.json: ${c.name} on ${bridge}`,
            sourceOf(family === 'ipv4' ? e.gateway : e.gatewayV6),
          );
      }
    for (const f of evidence.subnets)
      if (f.bridge !== null)
        add(f.address, f.bridge, 'derived', `${at(f.location)}: ${f.evidence}`);
    for (const f of evidence.containers) {
      if (f.bridge === null || familyOf(f.address) !== family) continue;
      const full = family === 'ipv4' ? 32 : 128;
      const covered = routes.some(
        (r) => r.device === f.bridge && contains(r.destination, f.address),
      );
      if (!covered)
        add(`${f.address}/${full}`, f.bridge, 'derived', `${at(f.location)}: ${f.evidence}`);
    }
    const external = addrFile !== null ? externalInterface(snapshot, family) : UNKNOWN_INTERFACE;
    add(
      'default',
      external === UNKNOWN_INTERFACE ? 'an unknown external interface' : external,
      'assumed',
      'no ip-route.json: everything else is taken to leave by the default route',
    );
    // the engine's name for an interface nobody listed
    const last = routes[routes.length - 1];
    if (last !== undefined && last.destination === 'default' && external === UNKNOWN_INTERFACE)
      routes[routes.length - 1] = { ...last, device: UNKNOWN_INTERFACE };
  }

  // Forwarding: sysctl.txt > dockerd switches forwarding on when it creates a bridge network of
  // the family (unless ip-forward is false) > assumed on, which leaves what is forwarded possible.
  const name = family === 'ipv4' ? 'IPv4' : 'IPv6';
  const sysctl = family === 'ipv4' ? host.sysctls.ipv4Forward : host.sysctls.ipv6Forward;
  const forwardingOff = sysctl === false;
  const dockerNetwork =
    networksOfFamily.length > 0 || evidence.subnets.length > 0 || evidence.containers.length > 0;
  // dockerd 28+ does the same for IPv6 when it creates an IPv6 network; before, only for IPv4
  const version = host.dockerVersion === null ? null : parseDockerVersion(host.dockerVersion);
  const dockerForwards =
    dockerNetwork &&
    host.daemon.ipForward.value &&
    (family === 'ipv4' || (version !== null && atLeast(version, 28)));
  const forwardingAssumed = sysctl === null && !dockerForwards;
  if (forwardingOff)
    fact(
      'forwarding',
      `${name} forwarding is off`,
      'observed',
      'sysctl.txt: the host forwards nothing of this family',
    );
  else if (sysctl === null && dockerForwards)
    fact(
      'forwarding',
      `${name} forwarding is on`,
      'derived',
      'sysctl.txt does not say; dockerd switches it on when it creates a network of this family',
    );
  else if (forwardingAssumed)
    fact(
      'forwarding',
      `${name} forwarding is taken to be on`,
      'assumed',
      'sysctl.txt does not say: what the host would forward is only possibly delivered',
    );

  // IPv4 forwards what arrives on an interface only where the interface's own switch is on too
  const unforwardedFrom =
    family === 'ipv4' && !forwardingOff
      ? [...host.sysctls.forwardingByInterface].filter(([, on]) => !on).map(([n]) => n)
      : [];
  for (const n of unforwardedFrom)
    fact(
      'forwarding',
      `IPv4 forwarding is off on ${n}`,
      'observed',
      `sysctl.txt: net.ipv4.conf.${n}.forwarding = 0; what arrives there is not forwarded`,
    );

  // route_localnet: a loopback destination left by PREROUTING on a packet from outside (a DNAT to
  // 127.0.0.1) is routed only where it is on. Not known, it is taken to be off, the kernel's
  // default, unless the rules say someone turns it on: a DNAT to loopback relies on it, and
  // kube-proxy's iptables mode sets it for all interfaces (localhost NodePorts, its default) —
  // unless sysctl.txt shows `all` off.
  const localnet = host.sysctls;
  const why =
    family !== 'ipv4' || ruleset === null
      ? null
      : natToLoopback(ruleset)
        ? 'the rules DNAT to 127.0.0.0/8'
        : localnet.routeLocalnet === null && chainIn(ruleset, 'nat', 'KUBE-SERVICES') !== undefined
          ? "kube-proxy's chains are there (it turns route_localnet on for localhost NodePorts)"
          : null;
  const relied = why !== null;
  if (family === 'ipv4') {
    const listed = [...localnet.routeLocalnetByInterface];
    const on = listed.filter(([, v]) => v).map(([k]) => k);
    if (localnet.routeLocalnet === true)
      fact(
        'route-localnet',
        'route_localnet is on for every interface',
        'observed',
        'sysctl.txt: a loopback destination from outside (a DNAT to 127.0.0.1) reaches the host',
      );
    else if (on.length > 0)
      fact(
        'route-localnet',
        `route_localnet is on for ${on.join(', ')}`,
        'observed',
        'sysctl.txt: a loopback destination arriving there (a DNAT to 127.0.0.1) reaches the host',
      );
    const complete = localnet.routeLocalnet === false && listed.length > 0;
    if (localnet.routeLocalnet !== true && !complete)
      fact(
        'route-localnet',
        relied
          ? `route_localnet is not known${on.length > 0 ? ' for the other interfaces' : ''}`
          : `route_localnet is taken to be off${on.length > 0 ? ' for the other interfaces' : ''}, the kernel's default`,
        'assumed',
        relied
          ? `sysctl.txt does not say, and ${why}: what a loopback destination from outside reaches is only possible (the kernel drops it unless route_localnet is on)`
          : 'sysctl.txt does not say: a loopback destination from outside is taken to be dropped',
      );
  }

  // rp_filter: which sources routing takes from each interface (engine/rp-filter.ts); not known,
  // it is taken to be off, the kernel's default, and a trace whose source it would refuse says so
  const rp = host.sysctls;
  const rpKnown = rp.rpFilter !== null || rp.rpFilterByInterface.size > 0;
  if (family === 'ipv4') {
    const on = rpFilterSummary(rp.rpFilter, rp.rpFilterByInterface);
    if (on !== null) fact('rp-filter', on, 'observed', `sysctl.txt: ${RP_FILTER_EFFECT}`);
    if (rp.rpFilter === null)
      fact(
        'rp-filter',
        `rp_filter is taken to be off${rpKnown ? ' where the interface does not turn it on' : ''}, the kernel's default`,
        'assumed',
        'sysctl.txt does not say net.ipv4.conf.all.rp_filter: a packet from a spoofed source is taken to be routed (a trace that rests on it says so)',
      );
  }

  // accept_local: whether a packet from outside with a source of the host's own is routed;
  // not known, it is taken to be off, the kernel's default, and a trace that rests on it says so
  const accept = host.sysctls;
  const acceptKnown = accept.acceptLocal !== null || accept.acceptLocalByInterface.size > 0;
  if (family === 'ipv4') {
    const on = [...accept.acceptLocalByInterface].filter(([, v]) => v).map(([k]) => k);
    if (accept.acceptLocal === true || on.length > 0)
      fact(
        'accept-local',
        `accept_local is on for ${accept.acceptLocal === true ? 'every interface' : on.join(', ')}`,
        'observed',
        "sysctl.txt: a packet arriving there from one of the host's own addresses is routed, not dropped as a martian",
      );
    if (accept.acceptLocal === null)
      fact(
        'accept-local',
        `accept_local is taken to be off${on.length > 0 ? ' where the interface does not turn it on' : ''}, the kernel's default`,
        'assumed',
        "sysctl.txt does not say net.ipv4.conf.all.accept_local: a packet from outside with a source of the host's own is taken to be dropped (a trace that rests on it says so)",
      );
  }

  // a policy rule or a local route added by hand: the kernel then checks every source from
  // outside by its route back, rp_filter on or off (engine/context.ts `sourcesChecked`)
  const customRule = (host.policyRules?.ipv4 ?? []).find((r) => !isKernelRule(r));
  const checkedBecause =
    family !== 'ipv4'
      ? null
      : customRule !== undefined
        ? `the policy rule "${customRule.text}"`
        : localPrefixes.length > 0
          ? `the local route of ${localPrefixes[0] ?? ''}`
          : null;
  if (checkedBecause !== null)
    fact(
      'source-check',
      'the kernel checks every source from outside by its route back',
      'observed',
      `${checkedBecause} was added by hand: a source whose route back is a broadcast route, or a local route where accept_local is off, is dropped whatever rp_filter says`,
    );
  else if (family === 'ipv4')
    fact(
      'source-check',
      'no policy rule or local route is taken to have been added by hand since boot',
      'assumed',
      'had one been (even one removed since), the kernel would check every source from outside by its route back and drop one whose route back is a broadcast or local route (a trace that rests on it says so)',
    );

  const loMasquerade =
    family === 'ipv4' && addrFile !== null ? masqueradeOutOfLo(host.interfaces) : undefined;
  // the broadcast address of each IPv4 prefix the host has: the address file's, else its
  // Docker bridges' (a gateway is the bridge's address)
  const broadcastAddresses =
    family !== 'ipv4'
      ? []
      : unique(
          addrFile !== null
            ? host.interfaces.flatMap((i) =>
                isLoopbackInterface(i)
                  ? []
                  : i.addresses.flatMap((a) =>
                      a.family === 'ipv4' ? broadcastOf(`${a.address}/${a.prefixLength}`) : [],
                    ),
              )
            : networksOfFamily.flatMap(({ subnet }) =>
                subnet.gateway === null ? [] : broadcastOf(subnet.cidr),
              ),
        );
  return {
    context: {
      family,
      interfaces,
      localAddresses,
      ...(family === 'ipv4' && addrFile !== null
        ? {
            addressDevices: host.interfaces.flatMap((i) =>
              i.addresses
                .filter((a) => a.family === family)
                .map((a) => ({ address: a.address, device: i.name })),
            ),
          }
        : {}),
      routes,
      ...(deadEnds.length > 0 ? { deadEnds } : {}),
      ...(localPrefixes.length > 0 ? { localPrefixes } : {}),
      ...(family === 'ipv4'
        ? {
            routeLocalnet: {
              all: localnet.routeLocalnet,
              interfaces: localnet.routeLocalnetByInterface,
              unknown: relied ? ('possible' as const) : ('off' as const),
            },
            ...(rpKnown
              ? { rpFilter: { all: rp.rpFilter, interfaces: rp.rpFilterByInterface } }
              : {}),
            ...(checkedBecause !== null ? { sourcesChecked: true as const } : {}),
            ...(acceptKnown
              ? {
                  acceptLocal: {
                    all: accept.acceptLocal,
                    interfaces: accept.acceptLocalByInterface,
                  },
                }
              : {}),
          }
        : {}),
      ...(forwardingOff ? { forwarding: false } : {}),
      ...(unforwardedFrom.length > 0 ? { unforwardedFrom } : {}),
      ...(forwardingAssumed ? { forwardingAssumed: true } : {}),
      localAddressesComplete: addrFile !== null,
      ...(addrFile === null ? { foreignAddresses: foreign } : {}),
      ...(broadcastAddresses.length > 0 ? { broadcastAddresses } : {}),
      ...(loMasquerade === undefined ? {} : { masqueradeOutOfLo: loMasquerade }),
      ...(addrFile === null
        ? {}
        : {
            redirectAddresses: host.interfaces.map((i) => ({
              interface: i.name,
              address: i.addresses.find((a) => a.family === family)?.address ?? null,
            })),
          }),
      ...(devicesBelow.length > 0 ? { devicesBelow } : {}),
      // what br_netfilter does to a bridge port's packets, where it hands them to iptables
      bridges:
        bridgedSkipsIptables(snapshot, family) === null
          ? [...dockerBridges(snapshot, family)].sort()
          : [],
      ...(pathRead(snapshot, 'listeners') === null
        ? {}
        : { listeners: hostListeners(snapshot, family) }),
      ...(unmodelledPaths.length > 0
        ? { unmodelledPaths: unmodelledPaths.map(({ address, why }) => ({ address, why })) }
        : {}),
    },
    facts,
  };
}

/**
 * Devices below the host's IP stack (engine/context.ts `DeviceBelow`), each with the fact in
 * words and what says so: running containers on direct macvlan and ipvlan networks, on their
 * parent (direct-networks.ts); and, where bridged traffic skips iptables (bridge-netfilter.ts),
 * every running container's address on its bridge — what the host routes to it still passes its
 * hooks.
 */
function devicesBelowOf(
  snapshot: Snapshot,
  family: Family,
): { readonly device: DeviceBelow; readonly text: string; readonly evidence: string }[] {
  const host = snapshot.host;
  const out: { device: DeviceBelow; text: string; evidence: string }[] = [];
  const running = host.containers.filter((c) => c.running);
  for (const c of running) {
    for (const { endpoint, direct } of directEndpoints(host, c)) {
      const address = endpointAddress(endpoint, family);
      if (address === null) continue;
      const owner = `the address of container ${c.name}'s ${direct.driver} device`;
      // the parent never hands its own frames to its devices; vepa sends them to the switch,
      // which may send them back
      const fromHost = direct.driver === 'macvlan' && direct.mode === 'vepa' ? 'hairpin' : 'never';
      out.push({
        device: { interface: direct.parent, address, owner, fromHost },
        text: `${address} on ${direct.parent} is ${owner}, below this host's IP stack`,
        evidence: `networks.json: ${direct.driver} network ${direct.network.name}, parent ${direct.parent}`,
      });
    }
  }
  const bypass = bridgedSkipsIptables(snapshot, family);
  if (bypass === null) return out;
  for (const c of running) {
    for (const e of c.endpoints) {
      const bridge = bridgeOfEndpoint(host, e);
      const address = endpointAddress(e, family);
      if (bridge === null || address === null) continue;
      out.push({
        device: {
          interface: bridge,
          address,
          owner: `the address of container ${c.name}'s port on bridge ${bridge} (${bypass.evidence}: what the bridge passes between its ports skips iptables)`,
          fromHost: 'reaches',
        },
        text: `${address} on ${bridge} is a port of the bridge: what the bridge passes to it skips iptables`,
        evidence: bypass.evidence,
      });
    }
  }
  return out;
}

/**
 * Running containers' addresses on ipvlan networks in l3s mode: the kernel runs the host's
 * PREROUTING and INPUT hooks for their traffic, not FORWARD (the kernel's ipvlan documentation;
 * not measured: the lab's kernel has no ipvlan), which the engine does not model.
 */
function ipvlanL3sPaths(
  snapshot: Snapshot,
  family: Family,
): { readonly address: string; readonly why: string; readonly network: string }[] {
  const host = snapshot.host;
  return host.containers
    .filter((c) => c.running)
    .flatMap((c) =>
      vlanEndpoints(host, c).flatMap(({ endpoint, vlan }) => {
        const address = endpointAddress(endpoint, family);
        if (vlan.reach !== 'host-netfilter' || address === null) return [];
        return [
          {
            address,
            why: `${address} is container ${c.name}'s ipvlan l3s device: the kernel runs this host's PREROUTING and INPUT hooks for its traffic, not FORWARD, and dockwall walks it as routed`,
            network: `ipvlan network ${vlan.network.name}, l3s mode`,
          },
        ];
      }),
    );
}

/** Why nothing of a family is forwarded on this host, in words (for notes about silent hooks). */
export function silenceCause(snapshot: Snapshot, family: Family): string {
  const causes = buildHostContext(snapshot, family)
    .facts.filter(
      (x) => x.provenance === 'observed' && (x.subject === 'forwarding' || x.subject === 'route'),
    )
    .map((f) => `${f.text} (${f.evidence})`);
  return causes.length === 0 ? 'no route' : causes.join('; ');
}

/** The host's listening sockets that receive packets of the family (listeners.txt). */
function hostListeners(snapshot: Snapshot, family: Family): HostListener[] {
  return snapshot.host.listeners
    .filter((l) => bindingFamilies(l.address).includes(family))
    .map((l) => ({
      protocol: l.protocol,
      port: l.port,
      address: isWildcard(l.address) ? null : l.address,
    }));
}

export function buildNetworkContext(snapshot: Snapshot, family: Family): NetworkContext {
  return buildHostContext(snapshot, family).context;
}

function contains(cidr: string, address: string): boolean {
  if (cidr === 'default') return true;
  try {
    const [net, len] = ipaddr.parseCIDR(cidr);
    const a = ipaddr.parse(address);
    return a.kind() === net.kind() && a.match(net, len);
  } catch {
    return false;
  }
}
