/**
 * Wording shared by the text and Markdown reporters (and usable by the UI): how a packet, a
 * trace, an exposure and a location are written. Plain strings, no colour.
 */
import type { Exposure, ReachableFrom } from '../model/audit.ts';
import type { SourceLocation } from '../model/diagnostic.ts';
import type { EraEvidence } from '../model/host.ts';
import type { Packet, TraceStep } from '../model/trace.ts';

export function hostPort(address: string, port: number | null): string {
  const a = address.includes(':') ? `[${address}]` : address;
  return port === null ? a : `${a}:${port}`;
}

export function describePacket(p: Packet): string {
  const proto = typeof p.protocol === 'number' ? `proto ${p.protocol}` : p.protocol;
  const via = p.inInterface === null ? 'from the host itself' : `in on ${p.inInterface}`;
  const state = p.state === 'NEW' ? '' : `, ${p.state}`;
  return `${proto} ${hostPort(p.source, p.sourcePort)} → ${hostPort(p.destination, p.destinationPort)} (${via}${state})`;
}

export function describeStep(s: TraceStep): string {
  const where = `${s.table}/${s.chain}${s.rule === null ? '' : `#${s.rule}`}`;
  const line = s.line === null ? '' : ` (line ${s.line})`;
  return `${where} ${s.action}${line}${s.uncertain ? ' [uncertain]' : ''}`;
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
  if (from.length === 0) return 'nowhere';
  return from
    .map((f) => {
      const sources =
        f.sources.length > 3
          ? `${f.sources.slice(0, 3).join(', ')}, +${f.sources.length - 3}`
          : f.sources.join(', ');
      return f.interface === '*' ? sources : `${sources} via ${f.interface}`;
    })
    .join('; ');
}

export function describeTarget(e: Exposure): string {
  if (e.target.kind === 'container') {
    return `container ${e.target.name ?? '?'} (${hostPort(e.target.address, e.target.port)})`;
  }
  return `host ${e.target.name ?? 'process'}`;
}

export function describeLocation(l: SourceLocation): string {
  return `${l.file}:${l.line}:${l.column}`;
}

const ERA_NAMES: Readonly<Record<EraEvidence['era'], string>> = {
  none: 'no Docker rules',
  classic: 'Docker ≤27 (classic) layout',
  v28: 'Docker 28.x layout',
  v29: 'Docker 29.x layout',
  nftables: 'Docker nftables backend',
};

export function describeEra(era: EraEvidence): string {
  return ERA_NAMES[era.era];
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
