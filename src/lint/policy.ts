/**
 * The exposure policy: a list of allowed exposures. Any reachable exposure the policy does not
 * allow is an error (with its witness and trace); an allowed exposure that matches nothing any
 * more is reported so the policy does not rot.
 */
import ipaddr from 'ipaddr.js';
import type { Exposure, Finding } from '../model/audit.ts';
import type { Packet, Trace } from '../model/trace.ts';
import type { Family } from '../model/ruleset.ts';
import type { Policy, PolicyAllow } from './config-types.ts';
import { exposureObject, reachesService } from '../analysis/exposure-object.ts';
import { destinationText, targetText } from '../analysis/exposure-text.ts';
import { fingerprint } from './fingerprint.ts';

export const POLICY_VIOLATION = 'policy-violation';
export const POLICY_STALE = 'policy-stale-allow';

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

function parseCidr(text: string): Cidr | null {
  try {
    if (text.includes('/')) return ipaddr.parseCIDR(text);
    const addr = ipaddr.parse(text);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return null;
  }
}

/** True when every address of `inner` is inside `outer` (same family). */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = parseCidr(inner);
  const b = parseCidr(outer);
  if (a === null || b === null || a[0].kind() !== b[0].kind()) return false;
  if (a[1] < b[1]) return false;
  return a[0].match(b);
}

function familyOf(cidr: string): Family | null {
  const c = parseCidr(cidr);
  return c === null ? null : c[0].kind() === 'ipv4' ? 'ipv4' : 'ipv6';
}

function targetMatches(allow: PolicyAllow, e: Exposure): boolean {
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

/** Sources of one ingress that the entry allows: by interface, or by CIDRs of the same family. */
function sourceAllowed(allow: PolicyAllow, family: Family, iface: string, source: string): boolean {
  if (allow.fromCidrs.length === 0 && allow.fromInterfaces.length === 0) return true;
  if (allow.fromInterfaces.includes(iface)) return true;
  return allow.fromCidrs.some((c) => familyOf(c) === family && cidrWithin(source, c));
}

/** The reachable (interface, source CIDR) pairs no allow entry covers. */
export function disallowedSources(
  e: Exposure,
  policy: Policy,
): { interface: string; source: string }[] {
  const matching = policy.allow.filter((a) => targetMatches(a, e));
  const out: { interface: string; source: string }[] = [];
  for (const from of e.reachableFrom) {
    for (const source of from.sources) {
      if (!matching.some((a) => sourceAllowed(a, e.family, from.interface, source))) {
        out.push({ interface: from.interface, source });
      }
    }
  }
  return out;
}

function describeExposure(e: Exposure): string {
  return `${destinationText(e)} (${targetText(e)})`;
}

/** A source inside `cidr` that no allow entry for the exposure admits, preferring `preferred`. */
function disallowedWitnessSource(
  e: Exposure,
  policy: Policy,
  iface: string,
  cidr: string,
): string | null {
  const matching = policy.allow.filter((a) => targetMatches(a, e));
  const parsed = parseCidr(cidr);
  const candidates = [e.witness.source, cidr.split('/')[0] ?? cidr];
  if (parsed !== null) {
    // Also try the last address of the prefix: the first may be the allowed part.
    const bytes = parsed[0].toByteArray();
    const hostBits = bytes.length * 8 - parsed[1];
    for (let i = bytes.length - 1, bits = hostBits; i >= 0 && bits > 0; i -= 1, bits -= 8) {
      bytes[i] = (bytes[i] ?? 0) | (bits >= 8 ? 0xff : (1 << bits) - 1);
    }
    candidates.push(ipaddr.fromByteArray(bytes).toString());
  }
  return (
    candidates.find(
      (c) => cidrWithin(c, cidr) && !matching.some((a) => sourceAllowed(a, e.family, iface, c)),
    ) ?? null
  );
}

/**
 * `trace` (optional) re-traces the witness when the exposure's own witness comes from a source
 * the policy allows, so the proof shows a packet the policy forbids.
 */
export function evaluatePolicy(
  exposures: readonly Exposure[],
  policy: Policy,
  trace?: (packet: Packet) => Trace | null,
): Finding[] {
  const findings: Finding[] = [];
  for (const e of exposures) {
    if (!reachesService(e)) continue;
    const bad = disallowedSources(e, policy);
    const first = bad[0];
    if (first === undefined) continue;
    let witness = e.witness;
    let steps = e.trace;
    const source = disallowedWitnessSource(e, policy, first.interface, first.source);
    if (source !== null && source !== e.witness.source) {
      witness = { ...e.witness, source, inInterface: first.interface };
      const t = trace?.(witness) ?? null;
      steps = t?.steps ?? [];
    }
    const shown = bad
      .slice(0, 3)
      .map((b) => `${b.source} via ${b.interface}`)
      .join(', ');
    const object = exposureObject(e);
    const location = e.trace.find((s) => s.file !== null && s.line !== null);
    findings.push({
      ruleId: POLICY_VIOLATION,
      severity: 'error',
      message: `${describeExposure(e)} is reachable from ${shown}${bad.length > 3 ? ` and ${bad.length - 3} more` : ''}, which the policy does not allow.`,
      location:
        location !== undefined && location.file !== null && location.line !== null
          ? { file: location.file, line: location.line, column: 1 }
          : policy.location,
      object,
      certainty: e.certainty,
      witness,
      trace: steps,
      related: [{ message: 'policy', location: policy.location }],
      fingerprint: fingerprint(POLICY_VIOLATION, object, location?.file ?? policy.location.file),
    });
  }
  for (const allow of policy.allow) {
    if (exposures.some((e) => targetMatches(allow, e))) continue;
    const object = { address: allow.description };
    findings.push({
      ruleId: POLICY_STALE,
      severity: 'warning',
      message: `Allowed exposure ${allow.description} is no longer reachable; remove it from the policy or check that the service still runs.`,
      location: allow.location,
      object,
      certainty: 'certain',
      witness: null,
      trace: [],
      related: [],
      fingerprint: fingerprint(POLICY_STALE, object, allow.location.file),
    });
  }
  return findings;
}
