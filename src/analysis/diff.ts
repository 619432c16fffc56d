/**
 * What a change opens or closes: the difference of two snapshots' reachable sets. Each side's
 * exposure table is what its engine discovered (`computeExposures`); rows are compared by what
 * they reach — the same target (a container by name, a host process, an address behind the host)
 * on the same protocol — and their packet regions (ingress interface × sources × destinations ×
 * ports as the client sends them × source ports) are subtracted exactly. What the after-side
 * reaches and the before-side did not is gained; the reverse is lost. Every change carries a
 * witness packet from its region and that packet's trace, in the snapshot where it is reachable.
 *
 * Texts are never compared: a rule edit that changes no packet's fate shows no change.
 */
import { directEndpoints } from '../docker/direct-networks.ts';
import type { AuditResult, Exposure, ExposureTarget, ReachableFrom } from '../model/audit.ts';
import type { DiffResult, DiffSnapshot, FindingChanges } from '../model/diff.ts';
import { printRule } from '../model/print-ruleset.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { Family, PortRange } from '../model/ruleset.ts';
import { tableId } from '../model/ruleset.ts';
import type { Packet } from '../model/trace.ts';
import type { SnapshotEngines } from './engines.ts';
import { portsText } from './exposure-text.ts';
import { externalClasses } from './exposures.ts';
import type { SideInterfaces } from './interface-classes.ts';
import { commonInterfaces } from './interface-classes.ts';
import type { Box, Ranges } from './regions.ts';
import {
  cidrsToRanges,
  normalise,
  portsToRanges,
  rangesToCidrs,
  rangesToPorts,
  sourcesId,
  sourcesOf,
  subtract,
  subtractAll,
} from './regions.ts';

/** One side of a diff: a snapshot, its analysis and the engines it was computed with. */
export interface DiffSide {
  readonly snapshot: Snapshot;
  readonly result: AuditResult;
  readonly engines: SnapshotEngines;
}

export interface ExposureDiff {
  readonly gained: readonly Exposure[];
  readonly lost: readonly Exposure[];
  /** Pieces of changed regions not listed (beyond MAX_PIECES per row). */
  readonly unlisted: number;
}

/** Rows of one side with nothing but their regions left to compare. */
interface Row {
  readonly exposure: Exposure;
  readonly boxes: readonly Box[];
}

const ALL_PORTS: Ranges = [[0n, 65535n]];
/** `anyHostAddress`: every address of the host, whichever they are — one symbolic point. */
const ANY_HOST: Ranges = [[-1n, -1n]];
/** A changed region in more pieces than this is listed as its first ones (a note says so). */
export const MAX_PIECES = 64;

/**
 * What a row reaches, independent of where and from whom: the diff's unit of comparison. A
 * translated row's target (a container port behind a DNAT or docker-proxy) is part of what it
 * reaches; a row delivered as sent (to the host, routed on) reaches the addresses and ports of
 * its region, so only the process, the container or the way out names it.
 */
export function targetKey(e: Exposure): string {
  const t = e.target;
  const to =
    t.kind === 'host'
      ? `host:${t.name ?? '?'}`
      : e.kind === 'routed'
        ? `${t.kind}:${t.name ?? ''}:out ${t.outInterface ?? '?'}`
        : `${t.kind}:${t.name ?? t.addresses.join(',')}:${portsText(t.ports)}`;
  return `${e.family}/${e.protocol}/${e.kind}→${to}`;
}

/**
 * The ingress interfaces both sides' boxes are indexed by: the common refinement of their
 * engines' interface classes, per family (see interface-classes.ts).
 */
interface Ingress {
  readonly names: readonly string[];
  /** The indices of the common classes one side's class stands for. */
  indices(side: 0 | 1, family: Family, name: string): Ranges;
}

function ingressOf(before: DiffSide, after: DiffSide): Ingress {
  const of = (d: DiffSide, family: Family): SideInterfaces | null => {
    const fe = d.engines.families.find((f) => f.family === family);
    return fe === undefined
      ? null
      : { classes: fe.engine.interfaceClasses, external: externalClasses(d.snapshot, fe) };
  };
  const common = new Map(
    (['ipv4', 'ipv6'] as const).map((f) => [f, commonInterfaces(of(before, f), of(after, f))]),
  );
  const names = [...new Set([...common.values()].flatMap((c) => c.names))].sort();
  const index = new Map(names.map((n, i) => [n, BigInt(i)]));
  return {
    names,
    indices: (side, family, name) =>
      normalise(
        (common.get(family)?.expand(side, name) ?? []).flatMap((n) => {
          const i = index.get(n);
          return i === undefined ? [] : [[i, i] as const];
        }),
      ),
  };
}

/** Field order of a box: ingress interface, sources, destinations, ports, source ports. */
function boxesOf(e: Exposure, side: 0 | 1, ingress: Ingress): Box[] {
  const destinations = e.anyHostAddress ? ANY_HOST : cidrsToRanges(e.destinations, e.family);
  const ports = portsToRanges(e.ports);
  return e.reachableFrom.map((r) => [
    ingress.indices(side, e.family, r.interface),
    subtract(cidrsToRanges(r.sources, e.family), cidrsToRanges(r.exceptSources ?? [], e.family)),
    destinations,
    ports,
    r.sourcePorts === undefined ? ALL_PORTS : portsToRanges(r.sourcePorts),
  ]);
}

function groupByTarget(rows: readonly Row[]): Map<string, Row[]> {
  const out = new Map<string, Row[]>();
  for (const r of rows) {
    const k = targetKey(r.exposure);
    out.set(k, [...(out.get(k) ?? []), r]);
  }
  return out;
}

function sameBoxes(a: readonly Box[], b: readonly Box[]): boolean {
  return subtractAll(a, b).length === 0 && subtractAll(b, a).length === 0;
}

/**
 * The part of `row` in `pieces`, as an exposure: the row itself when nothing of it is shared,
 * otherwise one row per piece with a witness picked inside the piece and traced by `engines`.
 */
function restrict(
  row: Row,
  pieces: readonly Box[],
  interfaces: readonly string[],
  engines: SnapshotEngines,
): Exposure[] {
  if (sameBoxes(pieces, row.boxes)) return [row.exposure];
  const e = row.exposure;
  const out: Exposure[] = [];
  // The row's own witness and trace are of this snapshot but may lie outside the piece: used
  // only when no packet of the piece could be picked, and then said.
  const fallback = {
    witness: e.witness,
    trace: e.trace,
    certainty: e.certainty,
    assumptions: [
      ...e.assumptions,
      'the witness is of the whole exposure: no packet of the changed part alone could be picked',
    ],
  };
  for (const piece of pieces) {
    const [ifaces = [], sources = [], destinations = [], ports = [], sourcePorts = []] = piece;
    const reachableFrom: ReachableFrom[] = ifaces.flatMap(([lo, hi]) => {
      const names: string[] = [];
      for (let i = lo; i <= hi; i++) names.push(interfaces[Number(i)] ?? '*other*');
      return names.map((name) => ({
        interface: name,
        ...sourcesOf(sources, e.family),
        ...(sameRanges(sourcePorts, ALL_PORTS) ? {} : { sourcePorts: rangesToPorts(sourcePorts) }),
      }));
    });
    const anyHost = sameRanges(destinations, ANY_HOST);
    const part = {
      ...e,
      destinations: anyHost ? e.destinations : rangesToCidrs(destinations, e.family),
      ports: rangesToPorts(ports),
      target: deliveredAsSent(e, destinations, ports),
      reachableFrom,
    };
    const proof = witnessIn(part, sourcePorts, engines) ?? fallback;
    out.push({
      ...part,
      id: `${e.id}#${sourcesId(sources, e.family)}:${portsText(part.ports)}`,
      ...proof,
    });
  }
  return out;
}

/** The target of a piece: where the row delivers as sent, the piece's addresses and ports. */
function deliveredAsSent(e: Exposure, destinations: Ranges, ports: Ranges): ExposureTarget {
  const t = e.target;
  const sentPorts = sameRanges(portsToRanges(t.ports), portsToRanges(e.ports));
  const sentTo =
    e.kind === 'routed' &&
    !e.anyHostAddress &&
    sameRanges(cidrsToRanges(t.addresses, e.family), cidrsToRanges(e.destinations, e.family));
  return {
    ...t,
    ...(sentPorts ? { ports: rangesToPorts(ports) } : {}),
    ...(sentTo ? { addresses: rangesToCidrs(destinations, e.family) } : {}),
  };
}

function sameRanges(a: Ranges, b: Ranges): boolean {
  return (
    a.length === b.length &&
    a.every((r, i) => {
      const o = b[i];
      return o !== undefined && r[0] === o[0] && r[1] === o[1];
    })
  );
}

/** Documentation source addresses a witness is preferably sent from. */
const REMOTE: Readonly<Record<Family, string>> = { ipv4: '203.0.113.0/24', ipv6: '2001:db8::/32' };

/** A packet of the region, chosen by its engine, and the engine's trace of it. */
function witnessIn(
  e: Exposure,
  sourcePorts: Ranges,
  engines: SnapshotEngines,
): Pick<Exposure, 'witness' | 'trace' | 'certainty' | 'assumptions'> | null {
  const fe = engines.families.find((f) => f.family === e.family);
  if (fe === undefined) return null;
  const ports: PortRange[] = rangesToPorts(portsToRanges(e.ports));
  for (const from of e.reachableFrom) {
    const set = fe.engine.packets({
      inInterfaces: [from.interface],
      sources: from.sources,
      ...(from.exceptSources === undefined ? {} : { exceptSources: from.exceptSources }),
      ...(e.anyHostAddress
        ? { destinations: [e.witness.destination] }
        : { destinations: e.destinations }),
      protocols: [e.protocol],
      destinationPorts: ports,
      sourcePorts: rangesToPorts(sourcePorts),
      states: ['NEW'],
    });
    const picked: Packet | null = set.witness({ sources: [REMOTE[e.family]] }) ?? set.witness();
    if (picked === null) continue;
    // A name this engine does not tell apart (the other side named it) is sent as that name.
    const packet = from.interface.endsWith('*')
      ? picked
      : { ...picked, inInterface: from.interface };
    const witness: Packet =
      e.anyHostAddress && e.witness.destinationIsHost !== undefined
        ? { ...packet, destinationIsHost: e.witness.destinationIsHost }
        : packet;
    const trace = fe.engine.trace(witness);
    return {
      witness,
      trace: trace.steps,
      certainty: trace.certainty,
      assumptions: trace.assumptions,
    };
  }
  return null;
}

/** `after` minus `before`, per target: the exposures only `after` has. */
function onlyIn(
  after: readonly Row[],
  before: readonly Row[],
  interfaces: readonly string[],
  engines: SnapshotEngines,
): { exposures: Exposure[]; unlisted: number } {
  const theirs = groupByTarget(before);
  const exposures: Exposure[] = [];
  let unlisted = 0;
  for (const [key, rows] of groupByTarget(after)) {
    const other = (theirs.get(key) ?? []).flatMap((r) => r.boxes);
    for (const row of rows) {
      const pieces = subtractAll(row.boxes, other);
      if (pieces.length === 0) continue;
      exposures.push(...restrict(row, pieces.slice(0, MAX_PIECES), interfaces, engines));
      unlisted += Math.max(0, pieces.length - MAX_PIECES);
    }
  }
  return { exposures, unlisted };
}

export function diffAnalyses(before: DiffSide, after: DiffSide): ExposureDiff {
  const ingress = ingressOf(before, after);
  const interfaces = ingress.names;
  const rows = (r: AuditResult, side: 0 | 1): Row[] =>
    r.exposures.map((exposure) => ({ exposure, boxes: boxesOf(exposure, side, ingress) }));
  const a = rows(after.result, 1);
  const b = rows(before.result, 0);
  const gained = onlyIn(a, b, interfaces, after.engines);
  const lost = onlyIn(b, a, interfaces, before.engines);
  return {
    gained: gained.exposures,
    lost: lost.exposures,
    unlisted: gained.unlisted + lost.unlisted,
  };
}

/** Rule lines one snapshot has and the other has not (as many times as they differ). */
export function changedRuleLines(before: Snapshot, after: Snapshot): number {
  const lines = (s: Snapshot): Map<string, number> => {
    const out = new Map<string, number>();
    const tables = [
      ...[s.ipv4, s.ipv6].flatMap((rs) =>
        (rs?.tables ?? []).map((t) => ({ t, at: `${rs?.family ?? ''} ${tableId(t)}` })),
      ),
      ...(s.nft?.tables ?? []).map((t) => ({ t, at: tableId(t) })),
    ];
    for (const { t, at } of tables) {
      for (const c of t.chains) {
        for (const r of c.rules) {
          const key = `${at} ${c.name} ${printRule(r)}`;
          out.set(key, (out.get(key) ?? 0) + 1);
        }
      }
    }
    return out;
  };
  const a = lines(before);
  const b = lines(after);
  let n = 0;
  for (const k of new Set([...a.keys(), ...b.keys()]))
    n += Math.abs((a.get(k) ?? 0) - (b.get(k) ?? 0));
  return n;
}

/** Running containers' addresses on direct macvlan and ipvlan networks, as `name address on parent`. */
function besideFirewall(snapshot: Snapshot): string[] {
  const host = snapshot.host;
  return host.containers
    .filter((c) => c.running)
    .flatMap((c) =>
      directEndpoints(host, c).flatMap(({ endpoint, direct }) =>
        [endpoint.ipv4, endpoint.ipv6]
          .filter((a): a is string => a !== null)
          .map((a) => `${c.name} ${a} on ${direct.parent}`),
      ),
    );
}

function side(snapshot: Snapshot, result: AuditResult): DiffSnapshot {
  return {
    directory: snapshot.directory,
    era: result.snapshot.era,
    assumptions: result.snapshot.assumptions,
    exposures: result.exposures.length,
  };
}

/**
 * The whole diff result: the exposure difference, the findings (compared by the linter, see
 * src/lint/finding-changes.ts), what to tell the reader.
 */
export function buildDiff(before: DiffSide, after: DiffSide, findings: FindingChanges): DiffResult {
  const d = diffAnalyses(before, after);
  const rulesChanged = changedRuleLines(before.snapshot, after.snapshot);
  const notes: string[] = [];
  // the exposure table is what passes the host's firewall; containers beside it are said apart
  const besideBefore = new Set(besideFirewall(before.snapshot));
  const beside = besideFirewall(after.snapshot).filter((x) => !besideBefore.has(x));
  const through = beside.length === 0 ? '' : " through this host's firewall";
  if (d.gained.length === 0 && d.lost.length === 0) {
    notes.push(
      rulesChanged === 0
        ? `Nothing reachable from outside${through} changed.`
        : `Nothing reachable from outside${through} changed, although ${rulesChanged} rule line(s) differ: the changed rules decide no packet from outside differently.`,
    );
  }
  if (beside.length > 0)
    notes.push(
      `Newly reachable beside this host's firewall, at their own address on a macvlan or ipvlan network (unfiltered-network): ${beside.join(', ')}.`,
    );
  const unanalysed = [before, after].filter(
    (x) => x.result.exposures.length === 0 && x.engines.families.length === 0,
  );
  if (d.unlisted > 0)
    notes.push(
      `${d.unlisted} more piece(s) of changed regions are not listed (at most ${MAX_PIECES} per exposure).`,
    );
  if (unanalysed.length > 0)
    notes.push('One side has no ruleset the engine could walk: its reachable set is empty.');
  return {
    schemaVersion: 1,
    tool: after.result.tool,
    before: side(before.snapshot, before.result),
    after: side(after.snapshot, after.result),
    summary: {
      gained: d.gained.length,
      lost: d.lost.length,
      newFindings: findings.new.length,
      fixedFindings: findings.fixed.length,
      rulesChanged,
    },
    gained: d.gained,
    lost: d.lost,
    findings,
    notes,
    diagnostics: [...before.result.diagnostics, ...after.result.diagnostics],
  };
}
