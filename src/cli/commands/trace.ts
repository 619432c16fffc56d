/** `dockwall trace`: parses the request, builds the engine, prints the trace view. */
import { addressFamily, traceOne } from '../../analysis/trace-view.ts';
import { loadSnapshot } from '../load-snapshot.ts';
import { firewallOf } from '../../model/snapshot.ts';
import { safeJson } from '../../model/safe-text.ts';
import { diagnosticLine } from '../../report/describe.ts';
import { formatTraceText } from '../../report/trace.ts';
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

function parseTo(text: string): { address: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = Number(m?.[2]);
  if (m === null || m[1] === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--to must be ADDR:PORT (IPv6: [ADDR]:PORT), got '${text}'`);
  }
  return { address: m[1], port };
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
  const family = addressFamily(v.from);
  if (family === null) throw new UsageError(`--from must be an address, got '${v.from}'`);
  if (addressFamily(to.address) !== family)
    throw new UsageError('--from and --to must be addresses of the same family');
  const snapshot = await loadSnapshot(snapshotInputFrom(v, parsed.positionals, io.cwd));
  for (const d of snapshot.diagnostics) {
    if (d.severity === 'error') io.stderr.write(`${diagnosticLine(d)}\n`);
  }
  const ruleset = firewallOf(snapshot, family);
  if (ruleset === null) {
    io.stderr.write(
      `dockwall trace: no ${family === 'ipv4' ? 'iptables' : 'ip6tables'} or nftables ruleset for ${family} could be read\n`,
    );
    return 2;
  }
  const traced = traceOne(snapshot, ruleset, {
    from: v.from,
    ...(v.in === undefined ? {} : { in: v.in }),
    to,
    proto,
  });
  for (const d of traced.engineDiagnostics) io.stderr.write(`${diagnosticLine(d)}\n`);
  const view = traced.view;
  io.stdout.write(v.json === true ? safeJson(view) : formatTraceText(view));
  return 0;
}

export const trace: Command = {
  name: 'trace',
  summary: 'Trace one packet rule by rule through netfilter: NAT, verdict, destination',
  usage,
  run,
};
