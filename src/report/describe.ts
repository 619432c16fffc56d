/**
 * Wording shared by the text and Markdown reporters (and usable by the UI): how a packet, a
 * trace, an exposure and a location are written. Plain strings, no colour, safe to print: the
 * names and addresses in them came from input, so each result is clipped and escaped.
 */
import { destinationText, sourcesText, targetText } from '../analysis/exposure-text.ts';
import type { AuditResult, Exposure, ReachableFrom } from '../model/audit.ts';
import type { EraEvidence, LayoutEra } from '../model/host.ts';
import type { Diagnostic, SourceLocation as Location } from '../model/diagnostic.ts';
import { safeText } from '../model/safe-text.ts';
import {
  addressPort,
  icmpTypeOf,
  protocolText,
  type Packet,
  type TraceStep,
} from '../model/trace.ts';

export function hostPort(address: string, port: number | null): string {
  return safeText(addressPort(address, port));
}

export function describePacket(p: Packet): string {
  const proto = protocolText(p.protocol);
  const via = p.inInterface === null ? 'from the host itself' : `in on ${p.inInterface}`;
  const state = p.state === 'NEW' ? '' : `, ${p.state}`;
  const icmp = icmpTypeOf(p);
  const kind = icmp === null ? '' : ` type ${icmp.type} code ${icmp.code}`;
  return safeText(
    `${proto}${kind} ${hostPort(p.source, p.sourcePort)} → ${hostPort(p.destination, icmp === null ? p.destinationPort : null)} (${via}${state})`,
  );
}

export function describeStep(s: TraceStep): string {
  const where = `${s.table}/${s.chain}${s.rule === null ? '' : `#${s.rule}`}`;
  const line = s.line === null ? '' : ` (line ${s.line})`;
  return safeText(`${where} ${s.action}${line}${s.uncertain ? ' [uncertain]' : ''}`);
}

/**
 * The steps that decide something, at most `max`, for a one-glance trace: jumps into chains
 * that then act, NAT, verdicts. Jumps whose chain returned without effect and the accepting
 * policies of raw/mangle/nat are left out; JSON and SARIF keep every step.
 */
export function shortTrace(steps: readonly TraceStep[], max = 8): string[] {
  const decisive = steps.filter((s, i) => {
    const jump = /^(jump|goto) (\S+)/.exec(s.action);
    // DOCKER-USER is shown even when it let the packet pass: that it did not stop it is the point.
    if (jump !== null) return jump[2] === 'DOCKER-USER' || steps[i + 1]?.chain === jump[2];
    return !(s.rule === null && s.table !== 'filter' && s.action === 'policy ACCEPT');
  });
  const chosen = decisive.length > 0 ? decisive : [...steps];
  if (chosen.length <= max) return chosen.map(describeStep);
  const head = chosen.slice(0, max - 2).map(describeStep);
  const tail = chosen.slice(-1).map(describeStep);
  return [...head, `… ${chosen.length - max + 1} more step(s) …`, ...tail];
}

export function describeFrom(from: readonly ReachableFrom[]): string {
  return safeText(sourcesText(from));
}

/** What the exposure reaches, safe to print. */
export function describeTarget(e: Exposure): string {
  return safeText(targetText(e));
}

/** Where the client sends, safe to print. */
export function describeDestination(e: Exposure): string {
  return safeText(destinationText(e));
}

export function describeLocation(l: Location): string {
  return safeText(`${l.file}:${l.line}:${l.column}`);
}

/**
 * One diagnostic on one line, as compilers print them (`file:line:column: severity: message`),
 * for the commands that print input problems. `code` adds the code in brackets.
 */
export function diagnosticLine(d: Diagnostic, options: { code?: boolean } = {}): string {
  const what = options.code === true ? `${d.severity} [${safeText(d.code)}]` : `${d.severity}:`;
  return `${describeLocation(d.location)}: ${what} ${safeText(d.message)}`;
}

const ERA_NAMES: Readonly<Record<LayoutEra, string>> = {
  none: 'no Docker rules',
  classic: 'Docker ≤27 (classic) layout',
  v28: 'Docker 28.x layout',
  v29: 'Docker 29.x layout',
  nftables: 'Docker nftables backend',
};

export function describeEra(era: EraEvidence): string {
  return eraName(era.era);
}

export function eraName(era: LayoutEra): string {
  return ERA_NAMES[era];
}

/**
 * The address families whose ruleset file was there but could not be read or gave only errors:
 * nothing is known about them, which the exposure table must say (an empty table would read as
 * "nothing exposed").
 */
export function unanalysedFamilies(result: AuditResult): string[] {
  const out: string[] = [];
  for (const [role, family] of [
    ['iptables', 'IPv4'],
    ['ip6tables', 'IPv6'],
  ] as const) {
    const file = result.snapshot.files.find((f) => f.role === role);
    if (file === undefined || (file.status !== 'invalid' && file.status !== 'unreadable')) continue;
    const how = file.status === 'invalid' ? 'gave no rule, only errors' : 'could not be read';
    out.push(safeText(`${family} not analysed: ${file.path ?? role} ${how}`));
  }
  return out;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
