/**
 * The exposure policy checked against the discovered exposures: which reachable sources of an
 * exposure no allow entry admits, and which allow entries match no exposure any more. Pure
 * answers; the `exposure-policy` rule reports them.
 */
import ipaddr from 'ipaddr.js';
import type { Exposure } from '../model/audit.ts';
import type { Policy, PolicyAllow } from '../model/exposure-policy.ts';
import type { Family } from '../model/ruleset.ts';
import { parseCidr } from './address-sets.ts';
import { cidrRange, cidrsToRanges, firstAddress, subtract, type Ranges } from './regions.ts';
import { bareAddress } from '../model/address-text.ts';

function familyOf(cidr: string): Family | null {
  const c = parseCidr(cidr);
  return c === null ? null : c[0].kind() === 'ipv4' ? 'ipv4' : 'ipv6';
}

/** Whether an allow entry is about this exposure (protocol, every port, target). */
export function allowCovers(allow: PolicyAllow, e: Exposure): boolean {
  if (allow.protocol !== null && allow.protocol !== e.protocol) return false;
  const within = allow.ports;
  if (within !== null && !e.ports.every((p) => p.from >= within.from && p.to <= within.to)) {
    return false;
  }
  if (allow.to !== null) {
    if (allow.to.kind !== e.target.kind) return false;
    if (allow.to.name !== undefined && allow.to.name !== e.target.name) return false;
  }
  return true;
}

/**
 * What of a source CIDR reaching through `iface` no matching allow entry admits, as ranges:
 * the CIDR minus the exposure's exceptions there and every allowed CIDR of the family. Empty
 * when an entry admits the interface or any source.
 */
function unallowedPart(
  matching: readonly PolicyAllow[],
  e: Exposure,
  iface: string,
  cidr: string,
  except: readonly string[],
): Ranges {
  const everything = matching.some(
    (a) =>
      (a.fromCidrs.length === 0 && a.fromInterfaces.length === 0) ||
      a.fromInterfaces.includes(iface),
  );
  if (everything) return [];
  const allowed = matching.flatMap((a) => a.fromCidrs.filter((c) => familyOf(c) === e.family));
  return subtract(
    cidrsToRanges([cidr], e.family),
    cidrsToRanges([...except, ...allowed], e.family),
  );
}

/** A reachable source CIDR no allow entry covers, and the addresses the host takes out of it. */
export interface DisallowedSource {
  readonly interface: string;
  readonly source: string;
  /** The ingress' `exceptSources`, when it has any. */
  readonly except?: readonly string[];
}

/**
 * The reachable (interface, source CIDR) pairs the allow entries do not cover: some address of
 * the source (outside the interface's `exceptSources`) that no entry admits. The allowed CIDRs
 * count together: 10.0.0.0/8 is allowed by 10.0.0.0/9 and 10.128.0.0/9.
 */
export function disallowedSources(e: Exposure, policy: Policy): DisallowedSource[] {
  const matching = policy.allow.filter((a) => allowCovers(a, e));
  const out: DisallowedSource[] = [];
  for (const from of e.reachableFrom) {
    const excepts = from.exceptSources !== undefined && from.exceptSources.length > 0;
    for (const source of from.sources) {
      const allowed =
        unallowedPart(matching, e, from.interface, source, from.exceptSources ?? []).length === 0;
      if (!allowed)
        out.push({
          interface: from.interface,
          source,
          ...(excepts ? { except: from.exceptSources } : {}),
        });
    }
  }
  return out;
}

/**
 * A source inside `cidr` (reaching through `iface`) that no allow entry for the exposure admits:
 * the exposure's own witness source when it is one, else the first or last address of the
 * prefix (one of them lies outside any allowed part of it), else the first address of what no
 * entry admits; never one of the interface's exceptions (`unallowedPart`). Null when none is.
 */
export function forbiddenSource(
  e: Exposure,
  policy: Policy,
  iface: string,
  cidr: string,
): string | null {
  const matching = policy.allow.filter((a) => allowCovers(a, e));
  // the ingress entry the source is listed in (an interface has one per source-port list)
  const from = e.reachableFrom.find((f) => f.interface === iface && f.sources.includes(cidr));
  const unallowed = unallowedPart(matching, e, iface, cidr, from?.exceptSources ?? []);
  const parsed = parseCidr(cidr);
  const candidates = [e.witness.source, bareAddress(cidr)];
  if (parsed !== null) {
    const bytes = parsed[0].toByteArray();
    const hostBits = bytes.length * 8 - parsed[1];
    for (let i = bytes.length - 1, bits = hostBits; i >= 0 && bits > 0; i -= 1, bits -= 8) {
      bytes[i] = (bytes[i] ?? 0) | (bits >= 8 ? 0xff : (1 << bits) - 1);
    }
    candidates.push(ipaddr.fromByteArray(bytes).toString());
  }
  const inside = (address: string): boolean => {
    const r = cidrRange(address, e.family);
    return r !== null && unallowed.some(([lo, hi]) => r[0] >= lo && r[0] <= hi);
  };
  return candidates.find(inside) ?? firstAddress(unallowed, e.family);
}

/** Allow entries that match no exposure: the policy has outlived the host. */
export function staleAllows(exposures: readonly Exposure[], policy: Policy): PolicyAllow[] {
  return policy.allow.filter((a) => !exposures.some((e) => allowCovers(a, e)));
}
