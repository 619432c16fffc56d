/**
 * The kernel referee on partial snapshots: a scenario's snapshot cut down to what a user often
 * has — the rules alone, or the rules and the host's addresses (no routes) — read through the
 * real pipeline, and each trace held against the kernel's outcome. The promise checked: a trace
 * may be wrong on a partial snapshot only when it says it is `possible` and names why; a
 * `certain` answer the kernel contradicts is the worst bug dockwall can have.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SNAPSHOT_FILE_NAMES } from '../../src/model/snapshot.ts';
import type { Packet, Trace } from '../../src/model/trace.ts';
import { onlyRouteTo } from '../../src/engine/interpret.ts';
import { EXTERNAL6 } from './ipv6.ts';
import type { ProbeResult } from './netns.ts';
import { compare, describeComparison, probePacket, type Comparison } from './referee.ts';
import { EXTERNAL, type LabTopology } from './topology.ts';

export const CUT_KINDS = ['rules', 'rules+addresses'] as const;
export type CutKind = (typeof CUT_KINDS)[number];

/** The names a snapshot's rules may have: iptables, ip6tables and nftables. */
export const RULE_FILES: readonly string[] = [
  ...SNAPSHOT_FILE_NAMES.iptables,
  ...SNAPSHOT_FILE_NAMES.ip6tables,
  ...SNAPSHOT_FILE_NAMES['nft-ruleset'],
];

/** The snapshot files a cut keeps, by name. */
export function cutFiles(kind: CutKind, ruleFiles: readonly string[]): string[] {
  return kind === 'rules' ? [...ruleFiles] : [...ruleFiles, ...SNAPSHOT_FILE_NAMES['ip-addr']];
}

/** Writes a cut-down snapshot directory from the texts of the files it keeps. */
export function writeCut(
  dir: string,
  kind: CutKind,
  texts: Readonly<Record<string, string | undefined>>,
): string {
  const out = path.join(dir, kind);
  mkdirSync(out, { recursive: true });
  const rules = RULE_FILES.filter((n) => texts[n] !== undefined);
  for (const name of cutFiles(kind, rules)) {
    const text = texts[name];
    if (text === undefined) throw new Error(`${kind} cut needs ${name}`);
    writeFileSync(path.join(out, name), text);
  }
  return out;
}

interface AddrInfo {
  readonly family: 'inet' | 'inet6';
  readonly local: string;
  readonly prefixlen: number;
  readonly scope: string;
}

/**
 * The lab host namespace's `ip -j addr show` (no `-d`: no link kinds), as netns.ts builds it:
 * loopback, the external interface, each bridge with its gateway, and the containers' veths
 * (no address). IPv6
 * link-local addresses are left out (no probe is sent to one). The live referee checks this
 * against the namespace's real output, so the recorded replay reads the same addresses.
 */
export function labAddrJson(t: LabTopology, interfaces: readonly string[]): string {
  const info = new Map<string, AddrInfo[]>(interfaces.map((i) => [i, []]));
  const add = (name: string, a: AddrInfo): void => {
    info.set(name, [...(info.get(name) ?? []), a]);
  };
  add('lo', { family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' });
  add('lo', { family: 'inet6', local: '::1', prefixlen: 128, scope: 'host' });
  const ext = EXTERNAL.hostInterface;
  add(ext, {
    family: 'inet',
    local: EXTERNAL.hostAddress,
    prefixlen: EXTERNAL.prefixLength,
    scope: 'global',
  });
  if (t.v6 !== null)
    add(ext, {
      family: 'inet6',
      local: EXTERNAL6.hostAddress,
      prefixlen: EXTERNAL6.prefixLength,
      scope: 'global',
    });
  for (const b of t.bridges)
    add(b.name, {
      family: 'inet',
      local: b.gateway,
      prefixlen: Number(b.subnet.split('/')[1]),
      scope: 'global',
    });
  for (const b of t.v6?.bridges ?? [])
    add(b.name, {
      family: 'inet6',
      local: b.gateway,
      prefixlen: Number(b.subnet.split('/')[1]),
      scope: 'global',
    });
  const links = [...info].map(([ifname, addr_info], i) => ({
    ifindex: i + 1,
    ifname,
    flags: ifname === 'lo' ? ['LOOPBACK', 'UP', 'LOWER_UP'] : ['BROADCAST', 'UP', 'LOWER_UP'],
    operstate: ifname === 'lo' ? 'UNKNOWN' : 'UP',
    link_type: ifname === 'lo' ? 'loopback' : 'ether',
    addr_info,
  }));
  return `${JSON.stringify(links, null, 1)}\n`;
}

/** `interface address/prefix` lines of an `ip -j addr` text, link-local left out, sorted. */
export function addressLines(ipAddrJson: string): string[] {
  const links = JSON.parse(ipAddrJson) as {
    ifname: string;
    addr_info?: { local?: string; prefixlen?: number; scope?: string }[];
  }[];
  return links
    .flatMap((l) =>
      (l.addr_info ?? [])
        .filter((a) => a.scope !== 'link')
        .map((a) => `${l.ifname} ${a.local ?? '?'}/${a.prefixlen ?? '?'}`),
    )
    .sort();
}

/**
 * The host's link-local IPv6 addresses in an `ip -j addr` listing: the kernel makes them per
 * run (from each interface's random MAC), so the lab's own address list cannot name them.
 */
export function linkLocalAddresses(ipAddrJson: string): string[] {
  const links = JSON.parse(ipAddrJson) as {
    addr_info?: { family?: string; local?: string; scope?: string }[];
  }[];
  return links.flatMap((l) =>
    (l.addr_info ?? [])
      .filter((a) => a.family === 'inet6' && a.scope === 'link' && a.local !== undefined)
      .map((a) => a.local ?? ''),
  );
}

/** How one probe's trace on a cut-down snapshot stands against the kernel. */
export type CutVerdict =
  | 'agree-certain'
  | 'agree-possible'
  | 'disagree-possible'
  | 'disagree-certain'
  | 'disagree-unexplained'
  | 'unobservable';

/**
 * A disagreement is allowed only as `possible` with the assumption named (`Trace.assumptions`);
 * `disagree-unexplained` is a possible trace that does not say why.
 */
export function judgeCut(c: Comparison, trace: Trace): CutVerdict {
  // possible, and it names the undecidable match it rests on
  if (c.undecided === true) return 'disagree-possible';
  if (c.agree === null) return 'unobservable';
  if (c.agree) return trace.certainty === 'certain' ? 'agree-certain' : 'agree-possible';
  if (trace.certainty === 'certain') return 'disagree-certain';
  return trace.assumptions.length > 0 ? 'disagree-possible' : 'disagree-unexplained';
}

export type CutTally = Record<CutVerdict, number>;

export function emptyTally(): CutTally {
  return {
    'agree-certain': 0,
    'agree-possible': 0,
    'disagree-possible': 0,
    'disagree-certain': 0,
    'disagree-unexplained': 0,
    unobservable: 0,
  };
}

export function tallyText(kind: CutKind, t: CutTally): string {
  const compared =
    t['agree-certain'] +
    t['agree-possible'] +
    t['disagree-possible'] +
    t['disagree-certain'] +
    t['disagree-unexplained'];
  return (
    `${kind}: ${t['agree-certain'] + t['agree-possible']}/${compared} agree ` +
    `(${t['agree-certain']} certain, ${t['agree-possible']} possible), ` +
    `${t['disagree-possible']} disagree but possible, ` +
    `${t['disagree-certain']} disagree and certain, ` +
    `${t['disagree-unexplained']} possible without a reason, ${t.unobservable} unobservable`
  );
}

/**
 * Where a trace ends: the verdict, the delivery and, delivered, a stopped answer or later packet,
 * as a reader compares two answers.
 */
function ending(t: Trace): string {
  const d = t.delivery;
  const then =
    t.answer === undefined || t.verdict !== 'accepted'
      ? ''
      : ` then ${t.answer.kind} ${t.answer.verdict}`;
  return d === null
    ? `${t.verdict}${then}`
    : `${t.verdict} ${d.kind} ${d.address}:${d.port ?? ''} ${d.outInterface ?? ''}${then}`;
}

export interface CutJudgement {
  readonly verdict: CutVerdict;
  /** A line for the log and for failures. */
  readonly line: string;
  /**
   * Set when the trace breaks its own word about an unplaced destination: the answers with the
   * destination taken as the host's and as not differ, yet the trace is certain or does not say
   * so; or the trace says so though they do not differ.
   */
  readonly inconsistent: string | null;
}

const TAKEN_AS_HOST = 'is taken to be an address of this host';

/**
 * One probe on a cut-down snapshot: the kernel's outcome against the trace, and the trace
 * against the other answer — where the snapshot cannot place the destination, `trace` takes it
 * as the host's and must be `possible`, saying so, exactly when taking it as not the host's
 * ends elsewhere.
 */
export function judgeProbe(
  topology: LabTopology,
  result: ProbeResult,
  trace: (p: Packet) => Trace,
): CutJudgement {
  const packet = probePacket(result.probe);
  const t = trace(packet);
  const c = compare(topology, result, t);
  const verdict = judgeCut(c, t);
  const host = trace({ ...packet, destinationIsHost: true });
  const other = trace({ ...packet, destinationIsHost: false });
  // The other answer may also end elsewhere where it rests on doubts of its own: not the
  // host's answer's too, nor the route it takes to the destination (what "not the host's" means).
  const shared = new Set([...host.uncertainRules, ...host.assumptions]);
  const differs =
    ending(host) !== ending(other) ||
    [...other.uncertainRules, ...other.assumptions].some(
      (d) => !shared.has(d) && !onlyRouteTo(d, packet.destination),
    );
  const says = t.assumptions.some((a) => a.includes(TAKEN_AS_HOST));
  const inconsistent =
    differs && (t.certainty !== 'possible' || !says)
      ? `the other answer differs but the trace is ${t.certainty}${says ? '' : ' and does not say what it took'}`
      : !differs && says
        ? 'the trace says it took the destination as the host’s, but the other answer is the same'
        : null;
  const why = t.assumptions.length > 0 ? ` [${t.assumptions.join('; ')}]` : '';
  return { verdict, line: `${verdict}: ${describeComparison(c)}${why}`, inconsistent };
}
