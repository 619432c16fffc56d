/** `dockwall trace` as text: the packet, each step with its rule and line, NAT and the verdict. */
import type { TraceView } from '../analysis/trace-view.ts';
import { safeText } from '../model/safe-text.ts';

function endpoint(address: string, port: number | null): string {
  const a = address.includes(':') ? `[${address}]` : address;
  return port === null ? a : `${a}:${port}`;
}

/** A packet's protocol, ends and where it comes from. */
function packetText(p: TraceView['packet']): string {
  const from = p.inInterface === null ? 'sent by the host' : `in ${p.inInterface}`;
  return `${String(p.protocol)} ${endpoint(p.source, p.sourcePort)} → ${endpoint(p.destination, p.destinationPort)}, ${from}`;
}

/** The steps, one line each with the rule's text under it. */
function stepLines(steps: TraceView['steps']): string[] {
  const out: string[] = [];
  // a fold, not Math.max(...): a trace through a chain of 100,000s of rules has that many steps
  const width = steps.reduce((w, s) => Math.max(w, `${s.hook} ${s.table}/${s.chain}`.length), 10);
  for (const s of steps) {
    const where = `${s.hook} ${s.table}/${s.chain}`.padEnd(width);
    const rule = s.rule === null ? '' : `#${s.rule}`;
    const handle = s.handle === undefined ? '' : `, handle ${s.handle}`;
    const line = s.line === null ? '' : ` (line ${s.line}${handle})`;
    out.push(
      `  ${where}  ${rule.padEnd(6)} ${s.action}${s.uncertain ? '  [undecidable match: assumed]' : ''}${line}`,
    );
    if (s.text !== '') out.push(`  ${''.padEnd(width)}         ${s.text}`);
  }
  return out;
}

export function formatTraceText(j: TraceView): string {
  const out: string[] = [];
  out.push(`Packet: ${packetText(j.packet)}, new connection`);
  out.push('');
  // a loop, not push(...): a trace through a chain of 100,000s of rules has that many steps
  for (const line of stepLines(j.steps)) out.push(line);
  if (j.steps.length > 0) out.push('');
  if (j.nat.length > 0) out.push(`NAT: ${j.nat.join('; ')}`);
  const d = j.destination;
  let where = '';
  if (d !== null) {
    const listen =
      d.listening === true ? ', listening' : d.listening === false ? ', nothing listening' : '';
    where =
      d.kind === 'container'
        ? ` — delivered to container ${d.name ?? '?'} at ${endpoint(d.address, d.port)}${listen}`
        : d.kind === 'host'
          ? ` — delivered to the host at ${endpoint(d.address, d.port)}${listen}`
          : ` — forwarded to ${endpoint(d.address, d.port)}${d.name === null ? '' : ` via ${d.name}`}`;
  }
  if (j.unrouted !== null) where = ` — not routed: ${j.unrouted}`;
  out.push(`Verdict: ${j.result} (${j.certainty})${where}`);
  if (j.uncertainRules.length > 0)
    out.push(`Undecidable matches on the way: ${j.uncertainRules.join(', ')}`);
  if (j.below !== null) out.push(`Not through this host: ${j.below}`);
  const a = j.answer;
  if (a !== null) {
    const what =
      a.kind === 'reply'
        ? 'The reply'
        : a.kind === 'later'
          ? 'The server’s later packets'
          : a.kind === 'onward'
            ? 'The sender’s later packets'
            : 'The REJECT’s notice';
    const why =
      a.stoppedBy !== null ? `${a.verdict} by ${a.stoppedBy}` : `${a.verdict}: ${a.unrouted ?? ''}`;
    out.push('');
    out.push(`${what}, ${packetText(a.packet)}, ${a.packet.state.toLowerCase()}: ${why}`);
    for (const line of stepLines(a.steps)) out.push(line);
  }
  for (const a of j.assumptions) out.push(`Assumed: ${a}`);
  // Rule text, chain and container names came from input.
  return `${out.map((line) => safeText(line)).join('\n')}\n`;
}
