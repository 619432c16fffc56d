/** Short text forms of model values for the review UI (pure, no ink). */
import { destinationText, sourcesText, targetText } from '../analysis/exposure-text.ts';
import type { Exposure, Finding } from '../model/audit.ts';
import type { SourceLocation } from '../model/diagnostic.ts';
import type { NetworkMode } from '../model/host.ts';
import type { Counters } from '../model/ruleset.ts';
import {
  addressPort,
  icmpTypeOf,
  protocolText,
  type Packet,
  type Trace,
  type TraceStep,
} from '../model/trace.ts';

export function formatPacket(p: Packet): string {
  const icmp = icmpTypeOf(p);
  const from = addressPort(p.source, p.sourcePort);
  const to = addressPort(p.destination, icmp === null ? p.destinationPort : null);
  const via = p.inInterface === null ? 'from the host' : `in ${p.inInterface}`;
  const state = p.state === 'NEW' ? '' : ` ${p.state}`;
  const mark = p.mark === 0 ? '' : ` mark 0x${p.mark.toString(16)}`;
  const kind = icmp === null ? '' : ` type ${icmp.type} code ${icmp.code}`;
  return `${protocolText(p.protocol)}${kind} ${from} → ${to} ${via}${state}${mark}`;
}

export function formatLocation(l: SourceLocation): string {
  return `${l.file}:${l.line}`;
}

/** Counters in a fixed small width: 0, 999, 1.2K, 34M… (bigint in, text out). */
export function compactCount(n: bigint): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P'];
  let value = Number(n);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const text = unit === 0 || value >= 100 ? Math.round(value).toString() : value.toFixed(1);
  return `${text}${units[unit] ?? ''}`;
}

export function formatCounters(c: Counters | null): string {
  return c === null ? '-' : `${compactCount(c.packets)}p/${compactCount(c.bytes)}B`;
}

export function formatNetworkMode(mode: NetworkMode): string {
  switch (mode.kind) {
    case 'bridge':
      return `bridge (${mode.network})`;
    case 'host':
      return 'host';
    case 'none':
      return 'none';
    case 'container': {
      // Docker writes the full 64-hex id; 12 characters are what `docker ps` shows.
      const ref = /^[0-9a-f]{64}$/.test(mode.ref) ? mode.ref.slice(0, 12) : mode.ref;
      return mode.resolved === null
        ? `container:${ref} → unresolved`
        : mode.resolved === mode.ref
          ? `container:${ref}`
          : `container:${ref} → ${mode.resolved}`;
    }
    case 'network':
      return mode.driver === null ? mode.network : `${mode.network} (${mode.driver})`;
  }
}

export function exposureFrom(e: Exposure): string {
  return destinationText(e);
}

export function exposureTarget(e: Exposure): string {
  return targetText(e);
}

export function exposureSources(e: Exposure): string {
  return sourcesText(e.reachableFrom, 2);
}

const VERDICT_ACTION = /^(policy |ACCEPT|DROP|REJECT|QUEUE|NFQUEUE)/;
const FILTER_HOOKS = new Set(['INPUT', 'FORWARD', 'OUTPUT']);

/**
 * The step that decided the verdict: the last accept, drop or reject of the filter table's
 * INPUT/FORWARD/OUTPUT walk when there is one (NAT and mangle policies that follow it decide
 * nothing), otherwise the last verdict-like step anywhere (a raw-table DROP, say).
 */
export function decidingStep(steps: readonly TraceStep[]): number {
  let fallback = -1;
  for (let i = steps.length - 1; i >= 0; i -= 1) {
    const step = steps[i];
    if (step === undefined || !VERDICT_ACTION.test(step.action)) continue;
    if (step.table === 'filter' && FILTER_HOOKS.has(step.hook)) return i;
    if (fallback < 0) fallback = i;
  }
  return fallback < 0 ? steps.length - 1 : fallback;
}

/** The file name without its directories, for narrow columns (details show the full path). */
export function shortLocation(l: SourceLocation): string {
  const slash = l.file.lastIndexOf('/');
  return `${slash < 0 ? l.file : l.file.slice(slash + 1)}:${l.line}`;
}

const ANSWER_NAMES: Record<NonNullable<Trace['answer']>['kind'], string> = {
  reply: 'reply',
  notice: 'REJECT notice',
  later: 'later packets from the server',
  onward: 'later packets from the sender',
};

export function traceSummary(t: Trace): string {
  const certainty =
    t.certainty === 'certain'
      ? ''
      : t.uncertainRules.length > 0
        ? ' (possibly: unmodelled matches)'
        : ' (possibly: it rests on an assumption)';
  const a = t.answer;
  const back =
    a === undefined
      ? ''
      : `; its ${ANSWER_NAMES[a.kind]} ${a.kind === 'later' || a.kind === 'onward' ? 'are' : 'is'} ${a.verdict}${a.stoppedBy === null ? '' : ` by ${a.stoppedBy}`}`;
  if (t.delivery === null)
    return `${t.verdict}${certainty}${t.unrouted === undefined ? '' : `: not routed, ${t.unrouted}`}${back}`;
  if (t.below !== undefined)
    return `${t.verdict}: taken below the host at ${addressPort(t.delivery.address, t.delivery.port)} (${t.below})`;
  const where =
    t.delivery.kind === 'local'
      ? `delivered to the host at ${addressPort(t.delivery.address, t.delivery.port)}`
      : `forwarded to ${addressPort(t.delivery.address, t.delivery.port)}` +
        (t.delivery.outInterface === null ? '' : ` via ${t.delivery.outInterface}`);
  return `${t.verdict}${certainty}: ${where}${back}`;
}

export function findingObject(f: Finding): string {
  const o = f.object;
  const parts: string[] = [];
  if (o.container !== undefined) parts.push(o.container);
  if (o.port !== undefined)
    parts.push(`${o.port}${o.protocol === undefined ? '' : `/${o.protocol}`}`);
  if (o.chain !== undefined) {
    parts.push(`${o.table ?? 'filter'}/${o.chain}${o.rule === undefined ? '' : `#${o.rule}`}`);
  }
  if (o.address !== undefined) parts.push(o.address);
  return parts.join(' ');
}

/** The rule as written, without the `-A CHAIN` that a chain column or tree already shows. */
export function ruleBody(text: string, chain: string): string {
  const prefix = `-A ${chain} `;
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}

/** `1 note`, `2 notes`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
