/**
 * The kernel is the referee: every capture scenario is rebuilt in network namespaces, real TCP
 * and UDP connections are made, and each outcome is compared with the engine's trace of the same
 * packet. Any disagreement fails. Needs root; in CI a missing capability is a failure.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildLab,
  labSuffix,
  collectLabSnapshot,
  destroyLab,
  labCapability,
  labVersions,
  runProbes,
  type Lab,
} from '../lab/netns.ts';
import { planProbes } from '../lab/probes.ts';
import {
  compare,
  describeComparison,
  labContext,
  labContext6,
  probePacket,
} from '../lab/referee.ts';
import { EXTERNAL6 } from '../lab/ipv6.ts';
import { deriveTopology, EXTERNAL } from '../lab/topology.ts';
import {
  DEFAULT_SEEDS6,
  DEFAULT_SEEDS_ND,
  DEFAULT_SEEDS_WIDE,
  randomSeeds,
} from './random-operator.ts';
import { DEFAULT_SEEDS_NFT, DEFAULT_SEEDS_NFT6 } from './random-nft-operator.ts';
import { refereeScenarios } from './scenarios.ts';
import {
  byFamily,
  linkEngine,
  linkSnapshot,
  snapshotExposures,
  type LinkedEngine,
} from './engine-link.ts';
import {
  addTally,
  emptyExposureTally,
  exposureTallyText,
  judgeExposures,
} from '../lab/exposure-referee.ts';
import { toRecord, writeRecords, type KernelRecord } from '../lab/record.ts';
import {
  addressLines,
  CUT_KINDS,
  type CutKind,
  emptyTally,
  judgeProbe,
  labAddrJson,
  linkLocalAddresses,
  RULE_FILES,
  tallyText,
  writeCut,
} from '../lab/cut-down.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const capturesDir = path.resolve(repoRoot, '../shared/captures');
const haveCaptures = existsSync(capturesDir);
const capability = haveCaptures ? labCapability() : { ok: false, reason: 'no captures' };
const inCi = process.env['CI'] === 'true';
// DWK_RECORD=FILE writes every kernel observation (fixtures/generated/kernel-verdicts.json is
// made this way; test/kernel/recorded.test.ts replays it against the engine without root).
const recordFile = process.env['DWK_RECORD'];
const recorded: KernelRecord[] = [];

const tally = () => ({ agree: 0, compared: 0, unobservable: 0, bridgedSkipped: 0 });
const totals = {
  lab: tally(),
  pipeline: tally(),
  facts: 0,
  probes: 0,
  brNetfilter: new Set<string>(),
  cut: { rules: emptyTally(), 'rules+addresses': emptyTally() },
  exposures: {
    full: emptyExposureTally(),
    rules: emptyExposureTally(),
    'rules+addresses': emptyExposureTally(),
  },
};
const live = new Set<Lab>();
// A worker killed mid-scenario must not leave namespaces behind.
process.once('exit', () => live.forEach(destroyLab));

describe.skipIf(!haveCaptures)('kernel referee (needs ../shared/captures)', () => {
  if (!capability.ok) {
    if (inCi) {
      it(`has root, ip, iptables and python3 (CI): ${capability.reason}`, () => {
        expect.fail(`kernel referee cannot run in CI: ${capability.reason}`);
      });
    } else {
      it.skip(`skipped: cannot build network namespaces here (${capability.reason})`, () => {});
    }
    return;
  }

  afterAll(() => {
    const note = (t: ReturnType<typeof tally>): string =>
      `${t.agree}/${t.compared} verdicts agree` +
      (t.unobservable ? `, ${t.unobservable} unobservable` : '') +
      (t.bridgedSkipped ? `, ${t.bridgedSkipped} bridged skipped (no br_netfilter)` : '');
    const engineNote = `${note(totals.lab)}; through the snapshot pipeline ${note(totals.pipeline)}`;
    if (recordFile) writeRecords(recordFile, recorded, labVersions());
    console.log(
      `kernel referee: ${engineNote}; ${totals.probes} probes, ${totals.facts} Docker facts held; ` +
        `br_netfilter ${[...totals.brNetfilter].join('/') || 'not checked'}`,
    );
    console.log(
      `kernel referee on cut-down snapshots: ${CUT_KINDS.map((k) => tallyText(k, totals.cut[k])).join('; ')}`,
    );
    console.log(
      `exposure tables against the kernel: ${(['full', ...CUT_KINDS] as const).map((k) => exposureTallyText(k, totals.exposures[k])).join('; ')}`,
    );
  });

  const scenarios = refereeScenarios(
    capturesDir,
    randomSeeds(process.env['DWK_RANDOM_SEEDS']),
    randomSeeds(process.env['DWK_RANDOM6_SEEDS'], DEFAULT_SEEDS6),
    randomSeeds(process.env['DWK_RANDOMND_SEEDS'], DEFAULT_SEEDS_ND),
    randomSeeds(process.env['DWK_RANDOMNFT_SEEDS'], DEFAULT_SEEDS_NFT),
    randomSeeds(process.env['DWK_RANDOMNFT6_SEEDS'], DEFAULT_SEEDS_NFT6),
    randomSeeds(process.env['DWK_RANDOMW_SEEDS'], DEFAULT_SEEDS_WIDE),
  );
  it('finds the capture scenarios', () => {
    expect(scenarios.length).toBeGreaterThan(20);
  });

  scenarios.forEach((s, index) => {
    it(`${s.name}: kernel outcomes, Docker facts, engine agreement`, async () => {
      const topology = deriveTopology(s);
      const probes = planProbes(topology);
      const suffix = labSuffix('', index);
      const lab = await buildLab(topology, suffix);
      live.add(lab);
      const snapshotDir = mkdtempSync(path.join(tmpdir(), 'dwk-snap-'));
      let results;
      try {
        results = await runProbes(lab, probes);
        collectLabSnapshot(lab, snapshotDir, s);
      } finally {
        destroyLab(lab);
        live.delete(lab);
      }
      totals.probes += results.length;
      totals.brNetfilter.add(
        !lab.brNetfilterSet
          ? 'unavailable: same-bridge probes not compared'
          : lab.brNetfilter
            ? 'on'
            : 'off where a scenario turns it off',
      );

      // Every connection landed on a listener the lab made.
      for (const r of results) {
        if (r.outcome === 'connected') expect(r.identity, r.probe.description).toBeTruthy();
        expect(
          ['connected', 'refused', 'unreachable', 'timeout'],
          `${r.probe.description}: ${r.error ?? r.outcome}`,
        ).toContain(r.outcome);
      }
      if (s.expect !== undefined) {
        // an operator's rules change Docker's behaviour: the fixture says what the client sees
        for (const e of s.expect) {
          const to = e.family === 'ipv6' ? EXTERNAL6.hostAddress : EXTERNAL.hostAddress;
          const r = results.find(
            (x) =>
              x.probe.origin.kind === 'client' &&
              x.probe.destination === to &&
              x.probe.port === e.port &&
              x.probe.protocol === e.protocol,
          );
          expect(r, `${s.name}: no probe to ${to}:${e.port}/${e.protocol}`).toBeDefined();
          expect(r?.outcome === 'connected' ? r.identity : null, `${s.name} ${to}:${e.port}`).toBe(
            e.identity,
          );
          totals.facts += 1;
        }
      } else {
        // Docker's stated behaviour: a mapping on every address (IPv4 or IPv6) is reachable from
        // outside and lands on its container; one bound to loopback is not reachable from outside.
        for (const p of topology.published) {
          const r = results.find(
            (x) =>
              x.probe.origin.kind === 'client' &&
              x.probe.destination === EXTERNAL.hostAddress &&
              x.probe.port === p.hostPort &&
              x.probe.protocol === p.protocol,
          );
          expect(r, `probe for ${p.hostIp}:${p.hostPort}`).toBeDefined();
          const landed = r?.identity === `${p.container}:${p.containerPort}/${p.protocol}`;
          expect(landed, `${s.name} ${p.hostIp}:${p.hostPort}/${p.protocol}`).toBe(
            !p.hostIp.startsWith('127.'),
          );
          totals.facts += 1;
        }

        for (const p of topology.v6?.published ?? []) {
          const r = results.find(
            (x) =>
              x.probe.origin.kind === 'client' &&
              x.probe.destination === EXTERNAL6.hostAddress &&
              x.probe.port === p.hostPort &&
              x.probe.protocol === p.protocol,
          );
          expect(r?.identity, `${s.name} [::]:${p.hostPort}/${p.protocol}`).toBe(
            `${p.container}:${p.containerPort}/${p.protocol}`,
          );
          totals.facts += 1;
        }
      }

      recorded.push(toRecord(s.name, lab, results));

      // Two engines: one on the rules with the lab host's exact context, and one through the
      // whole pipeline (a snapshot collected from the lab → loadSnapshot → buildNetworkContext).
      const collected = (name: string): string | undefined => {
        const file = path.join(snapshotDir, name);
        return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
      };
      const addresses = collected('ip-addr.json');
      // The lab's context takes the link-local addresses this run's kernel gave from the
      // collected listing.
      const linkLocal = addresses === undefined ? [] : linkLocalAddresses(addresses);
      const engines = {
        lab: byFamily(
          linkEngine(
            s.iptablesSave,
            s.name,
            labContext(topology, lab.hostInterfaces),
            topology.nftRuleset,
          ),
          topology.v6 === null
            ? null
            : linkEngine(
                topology.v6.ip6tablesSave,
                s.name,
                labContext6(topology, lab.hostInterfaces, linkLocal),
                topology.nftRuleset,
              ),
        ),
        pipeline: await linkSnapshot(snapshotDir),
      };
      // The same snapshot cut down to the rules, and to the rules and addresses (no routes).
      const texts = {
        ...Object.fromEntries(RULE_FILES.map((n) => [n, collected(n)])),
        'ip-addr.json': addresses,
      };
      // The recorded replay writes the lab's addresses itself; they must be the namespace's.
      expect(
        addressLines(labAddrJson(topology, lab.hostInterfaces)),
        `${s.name}: labAddrJson is not what the lab host has`,
      ).toEqual(addressLines(texts['ip-addr.json'] ?? '[]'));
      const cuts = await Promise.all(
        CUT_KINDS.map(async (kind) => ({
          kind,
          linked: await linkSnapshot(writeCut(snapshotDir, kind, texts)),
        })),
      );
      // The exposure table of the full snapshot (containers named from containers.json) and of
      // the cuts, against what the client really reached.
      const tables = {
        full: await snapshotExposures(snapshotDir),
        ...Object.fromEntries(
          await Promise.all(
            CUT_KINDS.map(
              async (kind) =>
                [kind, await snapshotExposures(path.join(snapshotDir, kind))] as const,
            ),
          ),
        ),
      } as Record<'full' | CutKind, Awaited<ReturnType<typeof snapshotExposures>>>;
      rmSync(snapshotDir, { recursive: true, force: true });
      const failures: string[] = [];
      const listed = new Set(
        (s.containers ?? []).map((c) => {
          const name = (c as { Name?: unknown }).Name;
          return typeof name === 'string' ? name.replace(/^\//, '') : '';
        }),
      );
      for (const [which, table] of Object.entries(tables) as [
        'full' | CutKind,
        (typeof tables)['full'],
      ][]) {
        const compared = results.filter((r) => !r.probe.bridged || lab.brNetfilter);
        const j = judgeExposures(
          topology,
          compared,
          table.exposures,
          table.classes,
          which === 'full' ? listed : new Set(),
        );
        addTally(totals.exposures[which], j.tally);
        if (j.failures.length > 0)
          failures.push(`exposure table (${which}):\n${j.failures.join('\n')}`);
      }
      for (const [which, linked] of Object.entries(engines) as [
        keyof typeof engines,
        LinkedEngine,
      ][]) {
        const t = totals[which];
        const bad: string[] = [];
        for (const r of results) {
          // where the lab could not set bridge-nf-call-iptables (no br_netfilter), neither
          // engine is told how bridged traffic goes
          if (r.probe.bridged && !lab.brNetfilterSet) {
            t.bridgedSkipped += 1;
            continue;
          }
          const c = compare(topology, r, linked.trace(probePacket(r.probe)));
          if (c.agree === null) t.unobservable += 1;
          else {
            t.compared += 1;
            if (c.agree) t.agree += 1;
            else bad.push(describeComparison(c));
          }
        }
        if (bad.length > 0) {
          failures.push(
            `${which} (${linked.diagnostics.length} diagnostics${linked.diagnostics.length ? `: ${linked.diagnostics.slice(0, 3).join('; ')}` : ''}):\n${bad.join('\n')}`,
          );
        }
      }
      // On a cut-down snapshot a trace may be wrong only when it is possible and says why.
      for (const { kind, linked } of cuts) {
        const bad: string[] = [];
        for (const r of results) {
          // a cut has no sysctl.txt: bridged traffic is taken to pass iptables, as dockerd sets
          if (r.probe.bridged && !lab.brNetfilter) continue;
          const j = judgeProbe(topology, r, linked.trace);
          totals.cut[kind][j.verdict] += 1;
          if (j.verdict === 'disagree-certain' || j.verdict === 'disagree-unexplained')
            bad.push(j.line);
          if (j.inconsistent !== null) bad.push(`${j.inconsistent}: ${j.line}`);
        }
        if (bad.length > 0) failures.push(`${kind} cut:\n${bad.join('\n')}`);
      }
      expect(failures, `${s.name}: kernel and engine disagree\n${failures.join('\n')}`).toEqual([]);
      // a lab, its probes and three snapshots' engines and exposure tables: the kube host takes
      // over a minute on a loaded machine
    }, 300_000);
  });
});
