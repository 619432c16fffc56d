/**
 * A Docker 29 nftables host behind a blocklist set (CrowdSec's bouncer shape): its published
 * ports are still exposures, reachable from every source except the blocked ones, and every
 * report says so briefly. Before, a set of 20,000 addresses left the audit with no exposure at
 * all (cutting "every source but those" into prefixes stopped at its limit).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { analyze } from '../../src/lint/analyze.ts';
import { DEFAULT_CONFIG } from '../../src/lint/config-types.ts';
import type { AuditResult, Exposure } from '../../src/model/audit.ts';
import { cidrsToRanges } from '../../src/analysis/regions.ts';
import { formatText } from '../../src/report/text.ts';
import {
  BLOCKLIST_HOST,
  blocklistAddresses,
  writeBlocklistSnapshot,
} from '../support/blocklist.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The fixture with the blocklist table added to its nftables listing. */
function withBlocklist(addresses: readonly string[], field: 'saddr' | 'daddr' = 'saddr'): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dw-blocklist-'));
  dirs.push(dir);
  return writeBlocklistSnapshot(dir, addresses, field);
}

/** The README's example: a Docker 28.5 host with ufw-style INPUT and two published ports. */
const EXAMPLE_HOST = path.resolve(import.meta.dirname, '../../fixtures/example-host');

async function audit(dir: string): Promise<AuditResult> {
  return analyze(await loadSnapshot({ directory: dir }), DEFAULT_CONFIG, { rules: RULES });
}

const rowOf = (r: AuditResult, name: string): Exposure | undefined =>
  r.exposures.find((e) => e.family === 'ipv4' && e.protocol === 'tcp' && e.target.name === name);

describe('a published port behind a blocklist of 20,000 addresses', async () => {
  // the lab's and the witness' usual client addresses are among them
  const blocked = blocklistAddresses(20_000, 3, ['203.0.113.2', '203.0.113.77']);
  const plain = await audit(BLOCKLIST_HOST);
  const result = await audit(withBlocklist(blocked));

  it('is still an exposure, from every IPv4 source but the blocked ones', () => {
    for (const name of ['web0', 'web1']) {
      const row = rowOf(result, name);
      expect(row, name).toBeDefined();
      expect(row?.certainty).toBe('certain');
      expect(row?.reachableFrom).toHaveLength(1);
      const [from] = row?.reachableFrom ?? [];
      expect(from?.sources).toEqual(['0.0.0.0/0']);
      // the blocked addresses, neighbours merged into one prefix (a few /31s)
      expect(cidrsToRanges(from?.exceptSources ?? [], 'ipv4')).toEqual(
        cidrsToRanges(blocked, 'ipv4'),
      );
      // the witness comes from an address the set lets through, past the blocklist's chain
      expect(blocked).not.toContain(row?.witness.source);
      expect(row?.trace.some((s) => s.table === 'ip crowdsec')).toBe(true);
      expect(row?.trace.filter((s) => /drop|reject/i.test(s.action))).toEqual([]);
    }
  });

  it('changes nothing else: the same rows, IPv6 (not in the ip table) untouched', () => {
    const ids = (r: AuditResult): string[] => r.exposures.map((e) => e.id).sort();
    expect(ids(result)).toEqual(ids(plain));
    for (const e of result.exposures.filter((x) => x.family === 'ipv6'))
      for (const f of e.reachableFrom) expect(f.exceptSources).toBeUndefined();
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('is said briefly in the text report', () => {
    const text = formatText(result, { color: false, width: 120 });
    const line = text.split('\n').find((l) => l.includes('container web0'));
    const more = (rowOf(result, 'web0')?.reachableFrom[0]?.exceptSources?.length ?? 0) - 3;
    expect(line).toMatch(/0\.0\.0\.0\/0 except [\d.]+, [\d./]+, [\d./]+ and \d+ more via/);
    expect(line).toContain(`and ${more} more via`);
  });
});

describe('a set of 20,000 destinations the host does not forward to', async () => {
  const blocked = blocklistAddresses(20_000, 4);
  const result = await audit(withBlocklist(blocked, 'daddr'));

  it('leaves the published ports listed, and says which part of the table is missing', () => {
    for (const name of ['web0', 'web1']) {
      const row = rowOf(result, name);
      expect(row?.certainty, name).toBe('certain');
      expect(row?.reachableFrom.map((f) => f.sources)).toEqual([['0.0.0.0/0']]);
    }
    // what is routed without NAT is every destination but 20,000: too many to list, and said
    const limits = result.diagnostics.filter((d) => d.code === 'discovery-limit');
    expect(limits.map((d) => d.message)).toEqual([
      expect.stringContaining('what is possibly forwarded without NAT: more than 200000'),
    ]);
    expect(limits[0]?.severity).toBe('error');
    const text = formatText(result, { color: false, width: 120 });
    expect(text).toContain('(incomplete: part of the table holds more distinct addresses');
  });
});

describe('the example host with 20,000 DROP rules in DOCKER-USER', async () => {
  // the iptables shape of the same thing: a rule per blocked address, ahead of Docker's accepts
  const blocked = blocklistAddresses(20_000, 6);
  const dir = mkdtempSync(path.join(tmpdir(), 'dw-docker-user-'));
  dirs.push(dir);
  cpSync(EXAMPLE_HOST, dir, { recursive: true });
  const file = path.join(dir, 'iptables-save.txt');
  const rules = readFileSync(file, 'utf8');
  const at = rules.indexOf('-A DOCKER-USER');
  writeFileSync(
    file,
    `${rules.slice(0, at)}${blocked.map((a) => `-A DOCKER-USER -s ${a}/32 -j DROP\n`).join('')}${rules.slice(at)}`,
  );
  const plain = await audit(EXAMPLE_HOST);
  const result = await audit(dir);

  it('finds what the plain host has: the same rows and errors, from every source but those', () => {
    // before, cutting the sources failed and the audit had no exposure and no error finding
    expect(result.exposures.map((e) => e.id)).toEqual(plain.exposures.map((e) => e.id));
    const errors = (r: AuditResult): string[] =>
      r.findings.filter((f) => f.severity === 'error').map((f) => f.ruleId);
    expect(errors(result)).toEqual(errors(plain));
    for (const name of ['shop-db-1', 'shop-web-1']) {
      const [from] = rowOf(result, name)?.reachableFrom ?? [];
      expect(from?.sources, name).toEqual(['0.0.0.0/0']);
      expect(cidrsToRanges(from?.exceptSources ?? [], 'ipv4')).toEqual(
        cidrsToRanges(blocked, 'ipv4'),
      );
    }
  });
});
