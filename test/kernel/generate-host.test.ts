/**
 * The generated kube-proxy-plus-Docker host: big enough (≥ 100,000 rules, thousands of DNATs),
 * deterministic, internally consistent (every published port has its DNAT, ACCEPT and listener),
 * readable by the snapshot loader, and — where namespaces can be built — accepted by the kernel.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateHost, generateHostFiles } from '../support/generate-host.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { printRuleset } from '../../src/model/print-ruleset.ts';
import { labCapability } from '../lab/netns.ts';

const small = { services: 120, endpointsPerService: 4, containers: 60, networks: 4, seed: 7 };

describe('generated kube-proxy + Docker host', () => {
  it('has at least 100,000 rules and thousands of DNAT services with the defaults', () => {
    const g = generateHostFiles();
    const text = g.files['iptables-save.txt'] ?? '';
    const rules = text.split('\n').filter((l) => l.startsWith('-A '));
    expect(rules.length).toBe(g.rules);
    expect(g.rules).toBeGreaterThanOrEqual(100_000);
    expect(rules.filter((l) => l.includes('-j DNAT')).length).toBeGreaterThan(5_000);
    expect(g.published.length).toBeGreaterThan(2_000);
    expect(g.services).toBeGreaterThanOrEqual(3_000);
  });

  it('is deterministic from the seed', () => {
    const a = generateHostFiles(small);
    const b = generateHostFiles(small);
    const c = generateHostFiles({ ...small, seed: 8 });
    expect(a.files).toEqual(b.files);
    expect(c.files['iptables-save.txt']).not.toEqual(a.files['iptables-save.txt']);
  });

  it('parses without diagnostics into all its rules, and prints to a fixed point', () => {
    const g = generateHostFiles(small);
    const r = parseIptables(g.files['iptables-save.txt'] ?? '', { file: 'iptables-save.txt' });
    expect(r.diagnostics).toEqual([]);
    const rules = r.ruleset.tables.flatMap((t) => t.chains.flatMap((c) => c.rules));
    expect(rules).toHaveLength(g.rules);
    // Rules are written in restore order, not save order; printed once they are canonical.
    const printed = printRuleset(r.ruleset);
    expect(printRuleset(parseIptables(printed, { file: 'printed' }).ruleset)).toBe(printed);
  });

  it('implements every published port in the rules and the listeners', () => {
    const g = generateHostFiles(small);
    const text = g.files['iptables-save.txt'] ?? '';
    const ss = g.files['listeners.txt'] ?? '';
    for (const m of g.published) {
      const dnat = new RegExp(
        `--dport ${m.hostPort} -j DNAT --to-destination ${m.containerAddress.replaceAll('.', '\\.')}:${m.containerPort}$`,
        'm',
      );
      expect(text, `${m.container} ${m.hostPort}/${m.protocol}`).toMatch(dnat);
      expect(text).toContain(`-A DOCKER -d ${m.containerAddress}/32 `);
      expect(ss).toContain(`${m.hostIp}:${m.hostPort} `);
    }
    expect(new Set(g.published.map((m) => m.hostIp))).toEqual(
      new Set(['0.0.0.0', '127.0.0.1', g.externalAddress]),
    );
  });

  it('is read by the snapshot loader with its containers, networks and listeners', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dwk-gen-'));
    try {
      const g = generateHost(dir, small);
      const s = await loadSnapshot({ directory: dir });
      expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(s.host.containers.length).toBe(small.containers);
      expect(s.host.networks.length).toBe(small.networks + 1);
      expect(s.host.containers.flatMap((c) => c.published).length).toBe(g.published.length);
      expect(s.host.listeners.filter((l) => l.kind === 'docker-proxy').length).toBe(
        g.published.length,
      );
      expect(s.host.dockerVersion).toBe('28.5.2');
      expect(s.ipv4?.tables.map((t) => t.name).sort()).toEqual(['filter', 'mangle', 'nat', 'raw']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const capability = labCapability();
const inCi = process.env['CI'] === 'true';

describe('the kernel accepts the generated ruleset', () => {
  if (!capability.ok && !inCi) {
    it.skip(`skipped: cannot build network namespaces here (${capability.reason})`, () => {});
    return;
  }
  it('loads all 100,000+ rules with iptables-restore in a namespace', () => {
    expect(capability.ok, capability.reason).toBe(true);
    const g = generateHostFiles();
    const ns = `dwk-g${(process.pid % 100000).toString(36)}`;
    expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
    try {
      const restore = spawnSync('ip', ['netns', 'exec', ns, 'iptables-restore'], {
        input: g.files['iptables-save.txt'],
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(restore.stderr).toBe('');
      expect(restore.status).toBe(0);
      const save = spawnSync('ip', ['netns', 'exec', ns, 'iptables-save'], {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
      const back = save.stdout.split('\n').filter((l) => l.startsWith('-A ')).length;
      expect(back).toBe(g.rules);
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
    }
  }, 120_000);
});
