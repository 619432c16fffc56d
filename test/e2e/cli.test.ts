/**
 * End to end: the built CLI (`bin/dockwall.js` over dist/, as `npm test` builds it) on snapshot
 * fixtures — JSON against the schema, SARIF through Microsoft's validator, exit codes, config
 * errors, baselines, and the rules and chains commands.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.ts';
import { repoRoot } from '../rules/tester.ts';
import { tempDir } from '../support/temp-dir.ts';

const built = existsSync(path.join(repoRoot, 'dist/src/cli/main.js'));
const node = path.join(repoRoot, 'node_modules/.bin/node');
const S1 = 'fixtures/snapshots/28.5.2/s1-default-bridge-p8080';
const EXAMPLE = 'fixtures/example-host';

function dockwall(
  args: string[],
  cwd = repoRoot,
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(node, [path.join(repoRoot, 'bin/dockwall.js'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const tmp = (): string => tempDir('dockwall-e2e-');

describe.skipIf(!built)(
  built ? 'built CLI' : 'built CLI (skipped: dist/ not built — run `npm test`, which builds it)',
  () => {
    const schema = JSON.parse(
      readFileSync(path.join(repoRoot, 'docs/audit-result.schema.json'), 'utf8'),
    ) as object;
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);

    it('audit --format json: valid JSON with the published port as an exposure; exit 0 below --fail-on', () => {
      const r = dockwall(['audit', S1, '--format', 'json']);
      expect(r.code, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout) as {
        exposures: { ports: { from: number }[]; target: { name: string } }[];
      };
      expect(validate(result), JSON.stringify(validate.errors)).toBe(true);
      expect(result.exposures.map((e) => `${e.ports[0]?.from} ${e.target.name}`)).toContain(
        '8080 c1',
      );
    });

    it('exit 1 when findings reach --fail-on', () => {
      expect(dockwall(['audit', S1, '--fail-on', 'warning']).code).toBe(1);
      expect(dockwall(['audit', S1, '--fail-on', 'never']).code).toBe(0);
    });

    it('audit --format sarif --output FILE passes sarif-multitool validate', () => {
      const dir = tmp();
      const out = path.join(dir, 'audit.sarif');
      expect(dockwall(['audit', S1, '--format', 'sarif', '--output', out]).code).toBe(0);
      const report = path.join(dir, 'validation.sarif');
      const v = spawnSync(
        path.join(repoRoot, 'node_modules/.bin/sarif-multitool'),
        ['validate', out, '-o', report],
        {
          encoding: 'utf8',
        },
      );
      expect(v.status, v.stdout + v.stderr).toBe(0);
      const results = (
        JSON.parse(readFileSync(report, 'utf8')) as { runs: { results?: { level?: string }[] }[] }
      ).runs[0]?.results;
      expect((results ?? []).filter((x) => (x.level ?? 'warning') === 'error')).toEqual([]);
    }, 60_000);

    it('exit 2 and a clear message when no ruleset can be read', () => {
      const dir = tmp();
      writeFileSync(path.join(dir, 'daemon.json'), '{}\n');
      const r = dockwall(['audit', dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('no ruleset could be read');
      const json = dockwall(['audit', dir, '--format', 'json', '--fail-on', 'never']);
      expect(json.code).toBe(2);
      expect(json.stdout).toContain('"code": "no-ruleset"');
    });

    it('exit 2 with file, line and problem for an invalid config', () => {
      const dir = tmp();
      const cfg = path.join(dir, 'bad.yaml');
      writeFileSync(cfg, 'ignores:\n  - rule: exposed-port\n    port: 80\n');
      const r = dockwall(['audit', S1, '--config', cfg]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${cfg}:2:5: error: an ignore must carry a reason`);
    });

    it('reads .dockwall.yaml from the working directory', () => {
      const dir = tmp();
      writeFileSync(path.join(dir, '.dockwall.yaml'), 'failOn: warning\n');
      expect(dockwall(['audit', path.join(repoRoot, S1)], dir).code).toBe(1);
    });

    it('exit 2 on a usage error', () => {
      const r = dockwall(['audit', S1, '--format', 'xml']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--format must be one of');
    });

    it('--write-baseline then --baseline reports only new findings', () => {
      const dir = tmp();
      const baseline = path.join(dir, 'baseline.json');
      expect(dockwall(['audit', S1, '--write-baseline', baseline]).code).toBe(0);
      const r = dockwall([
        'audit',
        S1,
        '--baseline',
        baseline,
        '--format',
        'json',
        '--fail-on',
        'note',
      ]);
      const result = JSON.parse(r.stdout) as {
        findings: unknown[];
        summary: { baselined: number };
      };
      expect(result.findings).toEqual([]);
      expect(result.summary.baselined).toBeGreaterThan(0);
      expect(r.code).toBe(0);
    });

    it('rules lists every rule with its default severity', () => {
      const r = dockwall(['rules']);
      expect(r.code).toBe(0);
      for (const [id, rule] of Object.entries(RULES)) {
        expect(r.stdout).toMatch(new RegExp(`^${id}\\s+${rule.meta.severity}\\b`, 'm'));
      }
    });

    it('chains shows DOCKER-USER before Docker-managed chains, and each container path', () => {
      const r = dockwall(['chains', S1]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('Rule layout: Docker 28.x layout');
      const forward = r.stdout.indexOf('filter FORWARD policy DROP [built-in]');
      expect(forward).toBeGreaterThan(0);
      expect(r.stdout.indexOf('filter DOCKER-USER [DOCKER-USER')).toBeGreaterThan(forward);
      expect(r.stdout).toContain('filter DOCKER-FORWARD [Docker-managed]');
      expect(r.stdout).toContain('c1 — network mode bridge (default)');
      const json = JSON.parse(dockwall(['chains', S1, '--format', 'json']).stdout) as {
        era: string;
      };
      expect(json.era).toBe('v28');
    });

    it('chains: host-mode containers take INPUT only; container: mode is resolved', () => {
      const r = dockwall(['chains', 'fixtures/snapshots/20.10.24/s8-host-none-container-modes']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(
        /chost — network mode host\n(?:.*\n)*?\s+path inbound: filter INPUT only/,
      );
      expect(r.stdout).toMatch(/cshare — network mode container:\S+ → cbase/);
    });

    it('audit --nft FILE alone: Docker 29’s nftables listing gives the full snapshot’s exposures', () => {
      const S2A = 'fixtures/snapshots/29.7.2/s2a-nftables-portmap';
      const rows = (args: string[]): { row: string; certainty: string }[] => {
        const r = dockwall(['audit', ...args, '--format', 'json', '--fail-on', 'never']);
        expect(r.code, r.stderr).toBe(0);
        const result = JSON.parse(r.stdout) as {
          exposures: { family: string; protocol: string; ports: unknown; certainty: string }[];
        };
        return result.exposures
          .map((e) => ({
            row: JSON.stringify([e.family, e.protocol, e.ports]),
            certainty: e.certainty,
          }))
          .sort((a, b) => (a.row + a.certainty).localeCompare(b.row + b.certainty));
      };
      const alone = rows(['--nft', `${S2A}/nft-ruleset.json`]);
      const full = rows([S2A]);
      expect(alone.length).toBeGreaterThan(0);
      expect(alone.map((e) => e.row)).toEqual(full.map((e) => e.row));
      // less input never makes an answer more certain; where it is less certain, it rests on
      // docker-proxy taken to listen for IPv6 (no listeners.txt says so)
      alone.forEach((e, i) => {
        const whole = full[i]?.certainty;
        if (e.certainty === 'certain') expect(whole).toBe('certain');
        if (e.certainty !== whole) expect(e.row).toMatch(/^\["ipv6","tcp",\[\{"from":808[01]/);
      });
    });

    const hasExample = existsSync(path.join(repoRoot, EXAMPLE));
    describe.skipIf(!hasExample)(
      hasExample
        ? 'the README example host'
        : 'the README example host (skipped: fixtures/example-host not present)',
      () => {
        it('audit fixtures/example-host finds the ufw bypass and exits 1', () => {
          const r = dockwall(['audit', EXAMPLE]);
          expect(r.code, r.stderr).toBe(1);
          expect(r.stdout).toContain('input-rule-bypassed');
          expect(r.stdout).toMatch(/Exposures/);
        });
        it('the rules alone (--iptables) give the same errors as the whole snapshot', () => {
          const errors = (out: string): string[] =>
            out
              .split('\n')
              .filter((l) => l.startsWith('error '))
              .map((l) => l.replace(/\s+/g, ' ').trim())
              .sort();
          const full = dockwall(['audit', EXAMPLE, '--fail-on', 'never']);
          const rules = dockwall([
            'audit',
            '--iptables',
            `${EXAMPLE}/iptables-save.txt`,
            '--fail-on',
            'never',
          ]);
          expect(rules.code, rules.stderr).toBe(0);
          expect(errors(rules.stdout)).toEqual(errors(full.stdout));
          expect(errors(rules.stdout).map((l) => l.split(' ')[1])).toEqual([
            'docker-user-port-mismatch',
            'exposed-port',
            'input-rule-bypassed',
            'input-rule-bypassed',
          ]);
        });
      },
    );
  },
);
