/** `dockwall chains`: the rebuilt chain order per hook and each container's paths. */
import { loadSnapshot } from '../load-snapshot.ts';
import { buildChainsView } from '../../analysis/chain-view.ts';
import { firewallOf } from '../../model/snapshot.ts';
import { formatChainsJson, formatChainsText } from '../../report/chains.ts';
import { diagnosticLine } from '../../report/describe.ts';
import type { Command, CommandIo } from '../command.ts';
import { parseCommandArgs, UsageError } from '../command.ts';
import { SNAPSHOT_OPTIONS, SNAPSHOT_USAGE, snapshotInputFrom } from '../snapshot-args.ts';

const usage = `Usage: dockwall chains SNAPSHOT [--format text|json]

Show the order a packet meets the chains, per hook and table (raw, nat PREROUTING → DOCKER,
filter FORWARD → DOCKER-USER → Docker's chains, INPUT, …), each chain marked Docker-managed or
operator-written, chains nothing jumps to, and each container's network mode, networks and paths.
With an nftables ruleset (nft-ruleset.json), every base chain of every table — iptables' own
and native nftables ones, Docker 29's docker-bridges included — in the order the kernel runs
them on each hook, with its priority; a verdict map's chains hang below it.

${SNAPSHOT_USAGE}`;

async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommandArgs(argv, {
    ...SNAPSHOT_OPTIONS,
    format: { type: 'string', short: 'f' },
  });
  const format = parsed.values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError('--format must be text or json');
  const snapshot = await loadSnapshot(snapshotInputFrom(parsed.values, parsed.positionals, io.cwd));
  for (const d of snapshot.diagnostics) {
    if (d.severity === 'error') io.stderr.write(`${diagnosticLine(d)}\n`);
  }
  if (firewallOf(snapshot, 'ipv4') === null && firewallOf(snapshot, 'ipv6') === null) {
    io.stderr.write('dockwall chains: no iptables, ip6tables or nftables ruleset could be read\n');
    return 2;
  }
  const view = buildChainsView(snapshot);
  io.stdout.write(format === 'json' ? formatChainsJson(view) : formatChainsText(view));
  return 0;
}

export const chains: Command = {
  name: 'chains',
  summary: 'Show the chain order a packet meets and the paths each container’s traffic takes',
  usage,
  run,
};
