/**
 * Every capture of a real dockerd (../shared/captures) rebuilt with `dockwall plan` from a fresh
 * host of the same version and an equivalent Compose file: the rules equal the captured ones,
 * and the planned snapshot reads back with the captured networks, addresses and published ports.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNft } from '../../src/ingest/nft/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import {
  capturesDir,
  NOT_REBUILT,
  normalisedNft,
  planScenarios,
  runPlan,
  significantRules,
} from '../support/plan-scenarios.ts';

const scenarios = planScenarios();
const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');

describe.skipIf(!existsSync(capturesDir))(
  'plan rebuilds the real captures from Compose files',
  () => {
    it('covers every capture, or says why one cannot be rebuilt', () => {
      const captured = readdirSync(capturesDir)
        .filter((d) => d.startsWith('docker-'))
        .flatMap((d) =>
          readdirSync(path.join(capturesDir, d))
            .filter((f) => f.endsWith('.iptables-save'))
            .map((f) => `${d.slice('docker-'.length)}/${f.slice(0, -'.iptables-save'.length)}`),
        );
      const covered = new Set([...scenarios.map((s) => s.id), ...Object.keys(NOT_REBUILT)]);
      expect(captured.filter((c) => !covered.has(c))).toEqual([]);
      expect(scenarios.length).toBe(captured.length - Object.keys(NOT_REBUILT).length);
    });

    const identical: string[] = [];
    for (const s of scenarios) {
      it(`${s.id}: Docker's rules equal the capture, and the snapshot reads back`, async () => {
        const { dir, code, err } = await runPlan(s);
        expect(code, err).toBe(0);
        for (const [file, captured] of [
          ['iptables-save.txt', '.iptables-save'],
          ['ip6tables-save.txt', '.ip6tables-save'],
        ] as const) {
          const planned = read(path.join(dir, file));
          const real = read(`${s.capture}${captured}`);
          expect(significantRules(planned), `${s.id} ${file}`).toBe(significantRules(real));
          if (planned === real.replace(/^#.*\n/gm, '')) identical.push(`${s.id} ${file}`);
        }
        if (s.nftables) {
          const nft = read(path.join(dir, 'nft-ruleset.txt'));
          expect(nft).toBe(normalisedNft(read(`${s.capture}.nft-ruleset`)));
          // The nftables reader takes Docker's planned tables whole.
          const parsed = parseNft(nft, 'nft-ruleset.txt');
          expect(parsed.diagnostics).toEqual([]);
          expect(parsed.ruleset?.tables.map((t) => `${t.nft?.family ?? ''} ${t.name}`)).toEqual(
            expect.arrayContaining(['ip docker-bridges']),
          );
        }
        const snapshot = await loadSnapshot({ directory: dir });
        expect(snapshot.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        // Addresses and published ports are the ones the real dockerd chose.
        const inspect = `${s.capture}.container-inspect.json`;
        if (existsSync(inspect)) {
          const real = JSON.parse(read(inspect)) as {
            Name: string;
            NetworkSettings: { Networks?: Record<string, { IPAddress: string }>; Ports: object };
          }[];
          for (const c of real) {
            const planned = snapshot.host.containers.find((p) => `/${p.name}` === c.Name);
            expect(planned, c.Name).toBeDefined();
            const addresses = Object.values(c.NetworkSettings.Networks ?? {})
              .map((e) => e.IPAddress)
              .filter((a) => a !== '');
            expect(planned?.endpoints.map((e) => e.ipv4).filter((a) => a !== null)).toEqual(
              addresses,
            );
          }
        }
      });
    }
    it('most rebuilt dumps are byte for byte the captured ones', () => {
      // The rest differ only by an empty raw table dockerd's own checks left behind.
      expect(identical.length).toBeGreaterThanOrEqual(scenarios.length * 2 - 3);
    });
  },
);
