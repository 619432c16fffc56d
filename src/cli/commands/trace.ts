/** `dockwall trace`: one packet's path through netfilter, rule by rule, with NAT and verdict. */
import { describeAddress } from '../../docker/address.ts';
import { buildNetworkContext, externalInterface } from '../../docker/context.ts';
import { parseCidr, prefixMask, addressBits } from '../../engine/addr.ts';
import type { NetworkContext } from '../../engine/context.ts';
import { createEngine } from '../../engine/index.ts';
import { loadSnapshot } from '../../ingest/snapshot.ts';
import type { Family } from '../../model/ruleset.ts';
import { safeJson, safeText } from '../../model/safe-text.ts';
import { diagnosticLine } from '../../report/describe.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import type { Packet, Trace } from '../../model/trace.ts';
import type { Command, CommandIo } from '../command.ts';
import { parseCommandArgs, UsageError } from '../command.ts';
import { SNAPSHOT_OPTIONS, SNAPSHOT_USAGE, snapshotInputFrom } from '../snapshot-args.ts';

const usage = `Usage: dockwall trace SNAPSHOT --from ADDR [--in IFACE] --to ADDR:PORT [--proto tcp|udp] [--json]

Follow the first packet of a new connection from ADDR to ADDR:PORT through every table, chain
and rule it meets (with file lines), show what NAT did, and the verdict. The result is
"possible" rather than "certain" when a match dockwall cannot model decided a rule on the way.

  --from ADDR     source address (an address of the host itself traces host-originated traffic)
  --in IFACE      ingress interface (default: the interface the host routes ADDR to, else the
                  external interface)
  --to ADDR:PORT  destination as the client sends it; IPv6 as [ADDR]:PORT
  --proto P       tcp (default) or udp
  --json          machine-readable output

${SNAPSHOT_USAGE}`;

export interface TraceDestination {
  readonly kind: 'container' | 'host' | 'forward';
  readonly name: string | null;
  readonly address: string;
  readonly port: number | null;
  readonly listening: boolean | null;
}

export interface TraceJson {
  readonly result: Trace['verdict'];
  readonly certainty: Trace['certainty'];
  readonly packet: Packet;
  readonly destination: TraceDestination | null;
  readonly nat: string[];
  readonly steps: {
    readonly hook: string;
    readonly table: string;
    readonly chain: string;
    readonly rule: number | null;
    readonly line: number | null;
    readonly file: string | null;
    readonly text: string;
    readonly action: string;
    readonly uncertain: boolean;
  }[];
  readonly uncertainRules: readonly string[];
}

function parseTo(text: string): { address: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = Number(m?.[2]);
  if (m === null || m[1] === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--to must be ADDR:PORT (IPv6: [ADDR]:PORT), got '${text}'`);
  }
  return { address: m[1], port };
}

function familyOf(address: string): Family | null {
  if (parseCidr(address, 'ipv4') !== null && !address.includes('/')) return 'ipv4';
  if (parseCidr(address, 'ipv6') !== null && !address.includes('/')) return 'ipv6';
  return null;
}

/** The interface the context routes an address to (longest prefix), null when none. */
function routeOf(context: NetworkContext, address: string): string | null {
  const a = parseCidr(address, context.family);
  if (a === null) return null;
  const w = addressBits(context.family);
  let best: { length: number; device: string } | null = null;
  for (const r of context.routes) {
    const dest =
      r.destination === 'default'
        ? context.family === 'ipv4'
          ? '0.0.0.0/0'
          : '::/0'
        : r.destination;
    const c = parseCidr(dest, context.family);
    if (c === null || (a.value & prefixMask(c.length, w)) !== c.value) continue;
    if (best === null || c.length > best.length) best = { length: c.length, device: r.device };
  }
  return best?.device ?? null;
}

function isLocal(context: NetworkContext, address: string): boolean {
  const a = parseCidr(address, context.family);
  if (a === null) return false;
  if (context.family === 'ipv4' && a.value >> 24n === 127n) return true;
  return context.localAddresses.some(
    (l) => parseCidr(l.split('/')[0] ?? l, context.family)?.value === a.value,
  );
}

/** Whether something listens at the delivered address and port, when the snapshot tells. */
function listening(
  snapshot: Snapshot,
  family: Family,
  kind: 'container' | 'host',
  address: string,
  port: number | null,
  proto: 'tcp' | 'udp',
  name: string | null,
): boolean | null {
  if (port === null) return null;
  if (kind === 'container') {
    const c = snapshot.host.containers.find((x) => x.name === name);
    if (c === undefined) return null;
    const known =
      c.published.some((p) => p.containerPort === port && p.protocol === proto) ||
      c.exposed.some((p) => p.port === port && p.protocol === proto);
    return known ? true : null;
  }
  const read = snapshot.files.some((f) => f.role === 'listeners' && f.status === 'read');
  if (!read) return null;
  const any = family === 'ipv4' ? '0.0.0.0' : '::';
  return snapshot.host.listeners.some(
    (l) =>
      l.protocol === proto &&
      l.port === port &&
      (l.address === '*' ||
        l.address === any ||
        l.address === address ||
        (family === 'ipv4' && l.address === '::')),
  );
}

export function traceJson(snapshot: Snapshot, trace: Trace, proto: 'tcp' | 'udp'): TraceJson {
  const family = trace.packet.family;
  let destination: TraceDestination | null = null;
  const d = trace.delivery;
  if (trace.verdict === 'accepted' && d !== null) {
    const who = describeAddress(snapshot, family, d.address);
    if (d.kind === 'local') {
      destination = {
        kind: 'host',
        name: who.name ?? null,
        address: d.address,
        port: d.port,
        listening: listening(snapshot, family, 'host', d.address, d.port, proto, null),
      };
    } else if (who.kind === 'container') {
      const name = who.name ?? null;
      destination = {
        kind: 'container',
        name,
        address: d.address,
        port: d.port,
        listening: listening(snapshot, family, 'container', d.address, d.port, proto, name),
      };
    } else {
      destination = {
        kind: 'forward',
        name: d.outInterface,
        address: d.address,
        port: d.port,
        listening: null,
      };
    }
  }
  const nat = trace.steps
    .filter((s) => /^(DNAT|SNAT|MASQUERADE|REDIRECT)\b/.test(s.action))
    .map((s) => `${s.table}/${s.chain}: ${s.action}`);
  return {
    result: trace.verdict,
    certainty: trace.certainty,
    packet: trace.packet,
    destination,
    nat,
    steps: trace.steps.map((s) => ({
      hook: s.hook,
      table: s.table,
      chain: s.chain,
      rule: s.rule,
      line: s.line,
      file: s.file,
      text: s.ruleText,
      action: s.action,
      uncertain: s.uncertain,
    })),
    uncertainRules: trace.uncertainRules,
  };
}

function endpoint(address: string, port: number | null): string {
  const a = address.includes(':') ? `[${address}]` : address;
  return port === null ? a : `${a}:${port}`;
}

export function formatTraceText(j: TraceJson): string {
  const p = j.packet;
  const out: string[] = [];
  const from = p.inInterface === null ? 'sent by the host' : `in ${p.inInterface}`;
  out.push(
    `Packet: ${String(p.protocol)} ${endpoint(p.source, p.sourcePort)} → ${endpoint(p.destination, p.destinationPort)}, ${from}, new connection`,
  );
  out.push('');
  const width = Math.max(...j.steps.map((s) => `${s.hook} ${s.table}/${s.chain}`.length), 10);
  for (const s of j.steps) {
    const where = `${s.hook} ${s.table}/${s.chain}`.padEnd(width);
    const rule = s.rule === null ? '' : `#${s.rule}`;
    const line = s.line === null ? '' : ` (line ${s.line})`;
    out.push(
      `  ${where}  ${rule.padEnd(6)} ${s.action}${s.uncertain ? '  [undecidable match: assumed]' : ''}${line}`,
    );
    if (s.text !== '') out.push(`  ${''.padEnd(width)}         ${s.text}`);
  }
  out.push('');
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
  out.push(`Verdict: ${j.result} (${j.certainty})${where}`);
  if (j.uncertainRules.length > 0)
    out.push(`Undecidable matches on the way: ${j.uncertainRules.join(', ')}`);
  // Rule text, chain and container names came from input.
  return `${out.map((line) => safeText(line)).join('\n')}\n`;
}

async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommandArgs(argv, {
    ...SNAPSHOT_OPTIONS,
    from: { type: 'string' },
    in: { type: 'string' },
    to: { type: 'string' },
    proto: { type: 'string' },
    json: { type: 'boolean' },
  });
  const v = parsed.values;
  if (v.from === undefined) throw new UsageError('--from ADDR is required');
  if (v.to === undefined) throw new UsageError('--to ADDR:PORT is required');
  const proto = v.proto ?? 'tcp';
  if (proto !== 'tcp' && proto !== 'udp') throw new UsageError('--proto must be tcp or udp');
  const to = parseTo(v.to);
  const family = familyOf(v.from);
  if (family === null) throw new UsageError(`--from must be an address, got '${v.from}'`);
  if (familyOf(to.address) !== family)
    throw new UsageError('--from and --to must be addresses of the same family');
  const snapshot = await loadSnapshot(snapshotInputFrom(v, parsed.positionals, io.cwd));
  for (const d of snapshot.diagnostics) {
    if (d.severity === 'error') io.stderr.write(`${diagnosticLine(d)}\n`);
  }
  const ruleset = family === 'ipv4' ? snapshot.ipv4 : snapshot.ipv6;
  if (ruleset === null) {
    io.stderr.write(
      `dockwall trace: no ${family === 'ipv4' ? 'iptables' : 'ip6tables'} ruleset could be read\n`,
    );
    return 2;
  }
  const context = buildNetworkContext(snapshot, family);
  const engine = createEngine(ruleset, context);
  for (const d of engine.diagnostics) io.stderr.write(`${diagnosticLine(d)}\n`);
  const inInterface =
    v.in ??
    (isLocal(context, v.from)
      ? null
      : (routeOf(context, v.from) ?? externalInterface(snapshot, family)));
  const packet: Packet = {
    family,
    protocol: proto,
    source: v.from,
    sourcePort: 40000,
    destination: to.address,
    destinationPort: to.port,
    inInterface,
    state: 'NEW',
    mark: 0,
  };
  const json = traceJson(snapshot, engine.trace(packet), proto);
  io.stdout.write(v.json === true ? safeJson(json) : formatTraceText(json));
  return 0;
}

export const trace: Command = {
  name: 'trace',
  summary: 'Trace one packet rule by rule through netfilter: NAT, verdict, destination',
  usage,
  run,
};
