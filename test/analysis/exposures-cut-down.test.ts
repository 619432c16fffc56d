/**
 * The exposure table of a snapshot cut down to what users often have — the rules alone, or the
 * rules and `ip-addr.json` — against the full snapshot's, names aside (a rules-only audit cannot
 * name a container): every row the full snapshot is certain of is found, and the cut is certain
 * of nothing the full snapshot does not list. Rows are compared by what they deliver (family,
 * protocol, kind, target addresses and out interface), port by port.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEngines } from '../../src/analysis/engines.ts';
import { computeExposures } from '../../src/analysis/exposures.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import type { Exposure } from '../../src/model/audit.ts';
import type { PortRange } from '../../src/model/ruleset.ts';
import {
  CUT_NAMES,
  compareCuts,
  cutDirectory,
  fixtures,
  snapshotDirs,
} from '../support/cut-snapshots.ts';

const { cutOf, leaveOneOut, leaveOneRulesFileOut, leaveOut, remove } =
  cutDirectory('dwk-cut-exposures-');
afterAll(remove);

async function tableOf(dir: string): Promise<readonly Exposure[]> {
  const snapshot = await loadSnapshot({ directory: dir });
  return computeExposures(snapshot, buildEngines(snapshot)).exposures;
}

/**
 * What a row delivers, names and the client-side destination aside. Delivered to the host is one
 * thing whatever listens there (a docker-proxy relaying to a container is a name).
 */
const keyOf = (e: Exposure): string =>
  e.kind === 'host'
    ? `${e.family} ${e.protocol} host`
    : [
        e.family,
        e.protocol,
        e.kind,
        [...e.target.addresses].sort().join(','),
        e.target.outInterface ?? '',
      ].join(' ');

/** Port ranges per key, over the rows of one certainty (or all). */
function portsByKey(table: readonly Exposure[], certainOnly: boolean): Map<string, PortRange[]> {
  const out = new Map<string, PortRange[]>();
  for (const e of table) {
    if (certainOnly && e.certainty !== 'certain') continue;
    out.set(keyOf(e), [...(out.get(keyOf(e)) ?? []), ...e.ports]);
  }
  return out;
}

/** The ports of `a` that `b` does not hold, as text (empty: none). */
function notIn(a: readonly PortRange[], b: readonly PortRange[]): string {
  const out: string[] = [];
  for (const r of a) {
    let from = r.from;
    const cover = [...b].sort((x, y) => x.from - y.from);
    for (const c of cover) {
      if (c.to < from || c.from > r.to) continue;
      if (c.from > from) out.push(`${from}-${c.from - 1}`);
      from = Math.max(from, c.to + 1);
      if (from > r.to) break;
    }
    if (from <= r.to) out.push(from === r.to ? `${from}` : `${from}-${r.to}`);
  }
  return out.join(',');
}

/** Ids that more than one row has (each row's id is its own, full snapshot or cut). */
const duplicateIds = (table: readonly Exposure[]): string[] => {
  const seen = new Set<string>();
  return table.filter((e) => seen.size === seen.add(e.id).size).map((e) => e.id);
};

const clip = (key: string): string => (key.length > 160 ? `${key.slice(0, 160)}…` : key);

/** Differences between the full table and a cut's, as lines (empty: they match). */
function compareTables(full: readonly Exposure[], cut: readonly Exposure[]): string[] {
  const lines: string[] = [];
  const fullCertain = portsByKey(full, true);
  const fullAll = portsByKey(full, false);
  const cutCertain = portsByKey(cut, true);
  const cutAll = portsByKey(cut, false);
  for (const [key, ports] of fullCertain) {
    const lost = notIn(ports, cutAll.get(key) ?? []);
    if (lost !== '') lines.push(`lost: ${clip(key)} ports ${lost}`);
  }
  for (const [key, ports] of cutCertain) {
    const extra = notIn(ports, fullAll.get(key) ?? []);
    if (extra !== '') lines.push(`certain but not in the full table: ${clip(key)} ports ${extra}`);
  }
  return lines;
}

describe('exposures of a cut-down snapshot', () => {
  it('on the example host, rules alone find the exposed database and the published web port', async () => {
    const dir = path.join(fixtures, 'example-host');
    const full = await tableOf(dir);
    for (const cut of CUT_NAMES) {
      const table = await tableOf(cutOf(dir, cut));
      const row = (port: number) =>
        table.find(
          (e) => e.family === 'ipv4' && e.ports.some((r) => r.from <= port && port <= r.to),
        );
      // ufw drops 5432 in INPUT, but the published port is DNATed and forwarded: it is exposed
      expect(row(5432), cut).toMatchObject({
        kind: 'published',
        toHost: true,
        certainty: 'certain',
        target: {
          kind: 'container',
          addresses: ['172.18.0.3/32'],
          ports: [{ from: 5432, to: 5432 }],
        },
      });
      // DOCKER-USER's --dport 8080 drop never matches: after DNAT the port is 80
      expect(row(8080), cut).toMatchObject({
        kind: 'published',
        certainty: 'certain',
        target: { addresses: ['172.18.0.2/32'], ports: [{ from: 80, to: 80 }] },
      });
      expect(compareTables(full, table), cut).toEqual([]);
    }
  });

  it('matches the full snapshot’s on every fixture snapshot, names aside, each row with an id of its own', async () => {
    const dirs = snapshotDirs();
    expect(dirs.length).toBeGreaterThanOrEqual(10);
    const differences: string[] = [];
    let rows = 0;
    for (const dir of dirs) {
      const full = await tableOf(dir);
      rows += full.length;
      const where = path.relative(fixtures, dir);
      differences.push(...duplicateIds(full).map((id) => `${where}: id twice: ${clip(id)}`));
      for (const cut of CUT_NAMES) {
        const table = await tableOf(cutOf(dir, cut));
        const lines = [
          ...compareTables(full, table),
          ...duplicateIds(table).map((id) => `id twice: ${clip(id)}`),
        ];
        differences.push(...lines.map((l) => `${where} (${cut}): ${l}`));
      }
    }
    expect(differences).toEqual([]);
    expect(rows).toBeGreaterThan(dirs.length);
  });

  it('matches the full snapshot’s with any one file missing, on every fixture snapshot', async () => {
    const { differences, cuts } = await compareCuts(leaveOneOut, tableOf, compareTables);
    expect(differences).toEqual([]);
    expect(cuts).toBeGreaterThanOrEqual(50);
  });

  it('a match that decides nothing leaves a row certain: the hairpin MASQUERADE without the host’s addresses', async () => {
    // nat POSTROUTING's `-o bridge1 -m addrtype --src-type LOCAL -j MASQUERADE` cannot be
    // decided for a source that may be the host's; masqueraded or not, the packet is delivered
    const dir = path.join(fixtures, 'snapshots/28.5.2/s6-usernet-portmap-noproxy');
    const table = await tableOf(cutOf(dir, 'rules'));
    const rows = table.filter(
      (e) => e.family === 'ipv4' && e.protocol === 'tcp' && e.target.kind === 'container',
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      ports: [{ from: 8080, to: 8080 }],
      certainty: 'certain',
      assumptions: [],
      target: { addresses: ['192.0.2.2/32'], ports: [{ from: 80, to: 80 }] },
    });
    expect(rows[0]?.reachableFrom.map((f) => f.sources)).toEqual([['0.0.0.0/0']]);
    expect(rows[0]?.trace.find((s) => s.action === 'MASQUERADE')?.uncertain).toBe(true);
  });

  it('on a Docker 29 nftables host without its nftables listing, every row is possible', async () => {
    // the iptables dump holds none of Docker's filtering there: every container looks open
    const dir = path.join(fixtures, 'snapshots/29.7.2/s2a-nftables-portmap');
    const cases = [['nft-ruleset.json'], ['nft-ruleset.json', 'daemon.json']];
    for (const left of cases) {
      const table = await tableOf(leaveOut(dir, left));
      expect(table.length, left.join(', ')).toBeGreaterThan(0);
      for (const e of table) {
        expect(e.certainty, left.join(', ')).toBe('possible');
        expect(e.assumptions.join(' '), left.join(', ')).toMatch(
          /no nftables listing was captured/,
        );
      }
    }
  });

  it('are certain of nothing the full table lacks with one rules file missing', async () => {
    // that family's rows are lost (its rules are not there); none may be made up, certainly
    const { differences, cuts } = await compareCuts(leaveOneRulesFileOut, tableOf, (full, cut) =>
      compareTables(full, cut).filter((l) => !l.startsWith('lost')),
    );
    expect(differences).toEqual([]);
    expect(cuts).toBeGreaterThanOrEqual(40);
  });
});
