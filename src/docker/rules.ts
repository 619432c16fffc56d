/**
 * Small readers over model rules for the Docker rule shapes (DNAT, per-port ACCEPT, raw DROP),
 * whether iptables or nftables wrote them (nft rules carry their matches in modules, not `core`).
 */
import type { AddressMask, PortRange, Rule, Ruleset } from '../model/ruleset.ts';
import { allOptions, findTable } from '../model/ruleset.ts';
import { dstAddress, dstPorts, protocolName } from '../model/rule-queries.ts';

/** The non-negated `-s`/`-d` of a rule. */
export function ruleAddress(rule: Rule, field: 'src' | 'dst'): AddressMask | null {
  for (const o of allOptions(rule)) {
    if (o.type === 'address' && o.field === field && !o.negated) return o.value;
  }
  return null;
}

/** `-i`/`-o` of a rule with its negation. */
export function ruleInterface(
  rule: Rule,
  field: 'in' | 'out',
): { readonly name: string; readonly negated: boolean } | null {
  for (const o of allOptions(rule)) {
    if (o.type === 'interface' && o.field === field) return { name: o.name, negated: o.negated };
  }
  return null;
}

/** The single destination port a rule matches (`--dport N`), or null. */
export function ruleDstPort(rule: Rule): number | null {
  for (const o of allOptions(rule)) {
    if (o.type === 'port' && o.field === 'dst' && !o.negated) {
      const r = o.ranges[0];
      if (o.ranges.length === 1 && r !== undefined && r.from === r.to) return r.from;
    }
  }
  return null;
}

/** For a DNAT rule: the address and port it rewrites to. */
export function dnatDestination(
  rule: Rule,
): { address: string | null; port: number | null } | null {
  if (rule.target?.kind !== 'DNAT') return null;
  const to = rule.target.to[0];
  if (to === undefined) return { address: null, port: null };
  return { address: to.addresses?.from ?? null, port: to.ports?.from ?? null };
}

/** `10.0.0.2/32` style host address of a mask, or null for a wider mask. */
export function hostAddress(mask: AddressMask | null): string | null {
  if (mask === null) return null;
  const full = mask.family === 'ipv4' ? 32 : 128;
  return mask.prefixLength === full ? mask.address : null;
}

/** Canonical comparison of two address texts of one family (`fd00::2` vs `fd00:0::2`). */
export function sameAddress(a: string, b: string): boolean {
  return normalizeAddress(a) === normalizeAddress(b);
}

export function normalizeAddress(text: string): string {
  if (!text.includes(':')) return text;
  // Expand to 8 groups without leading zeros so different spellings compare equal.
  const [head = '', tail] = text.toLowerCase().split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill =
    tail === undefined ? [] : new Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0');
  return [...h, ...fill, ...t].map((g) => g.replace(/^0+(?=.)/, '')).join(':');
}

export interface DnatRule {
  readonly rule: Rule;
  readonly protocol: string | null;
  readonly hostPorts: readonly PortRange[] | null;
  /** `-d` of the DNAT rule without prefix (`127.0.0.1`), or null for any local address. */
  readonly hostAddress: string | null;
  readonly toAddress: string | null;
  readonly toPort: number | null;
}

function stripPrefix(cidr: string): string {
  const i = cidr.indexOf('/');
  return i < 0 ? cidr : cidr.slice(0, i);
}

const DNAT_CACHE = new WeakMap<Ruleset, DnatRule[]>();

/** The DNAT rules in nat chains (Docker puts them in DOCKER; operators anywhere). Cached per ruleset. */
export function dnatRules(ruleset: Ruleset | null): DnatRule[] {
  if (ruleset === null) return [];
  const cached = DNAT_CACHE.get(ruleset);
  if (cached !== undefined) return cached;
  const found = collectDnat(ruleset);
  DNAT_CACHE.set(ruleset, found);
  return found;
}

function collectDnat(ruleset: Ruleset): DnatRule[] {
  const nat = findTable(ruleset, 'nat');
  if (nat === undefined) return [];
  return nat.chains.flatMap((chain) =>
    chain.rules.flatMap((rule) => {
      const d = dnatRuleOf(rule);
      return d === null ? [] : [d];
    }),
  );
}

/** A DNAT rule's host side and target; null for a rule that is no DNAT. */
export function dnatRuleOf(rule: Rule): DnatRule | null {
  const t = rule.target;
  if (t?.kind !== 'DNAT') return null;
  const to = t.to[0];
  const d = dstAddress(rule);
  return {
    rule,
    protocol: protocolName(rule),
    hostPorts: dstPorts(rule),
    hostAddress: d === null ? null : stripPrefix(d),
    toAddress: to?.addresses?.from ?? null,
    toPort: to?.ports?.from ?? null,
  };
}
