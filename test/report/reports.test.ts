/**
 * The reporters on real audits: JSON validates against docs/audit-result.schema.json, SARIF
 * against the official 2.1.0 schema and Microsoft's validator, text honours colour settings,
 * and exit codes follow --fail-on.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { analyze } from '../../src/lint/analyze.ts';
import { parseConfig } from '../../src/lint/config.ts';
import type { AuditResult } from '../../src/model/audit.ts';
import { exitCode } from '../../src/report/exit-code.ts';
import { formatJson } from '../../src/report/json.ts';
import { formatMarkdown } from '../../src/report/markdown.ts';
import { toSarif } from '../../src/report/sarif.ts';
import { formatText, shouldColor } from '../../src/report/text.ts';
import { repoRoot } from '../rules/tester.ts';
import { tempDir } from '../support/temp-dir.ts';

const rules = RULES;
const S1 = path.join(repoRoot, 'fixtures/snapshots/28.5.2/s1-default-bridge-p8080');
const S2_20 = path.join(repoRoot, 'fixtures/snapshots/20.10.24/s2-default-bridge-p127.0.0.1-8080');

const CONFIG = `
rules:
  daemon-firewall-config: note
ignores:
  - rule: ipv6-unfiltered
    container: c1
    reason: IPv6 is not routed to this host
policy:
  allow:
    - protocol: tcp
      port: 8080
      from: [192.0.2.0/24]
      to: container:c1
    - protocol: tcp
      port: 443
      to: host
`;

/**
 * The 28.5.2 user-network capture's two dumps alone, audited: the IPv6 relay of 8080 is inferred
 * from the rules, so its row and finding are possible and say why.
 */
async function dumpsAlone(): Promise<AuditResult> {
  const dir = tempDir('dockwall-dumps-alone-');
  const capture = path.join(repoRoot, 'fixtures/snapshots/28.5.2/s3-usernet-portmap');
  for (const f of ['iptables-save.txt', 'ip6tables-save.txt'])
    writeFileSync(path.join(dir, f), readFileSync(path.join(capture, f), 'utf8'));
  return analyze(
    await loadSnapshot({ directory: dir }),
    parseConfig('', 'none.yaml', rules).config,
    {
      rules,
    },
  );
}

let plain: AuditResult;
let withConfig: AuditResult;
let classic: AuditResult;

beforeAll(async () => {
  const snapshot = await loadSnapshot({ directory: S1 });
  plain = analyze(snapshot, parseConfig('', 'none.yaml', rules).config, {
    rules,
    today: '2026-11-22',
  });
  const cfg = parseConfig(CONFIG, '.dockwall.yaml', rules);
  expect(cfg.diagnostics).toEqual([]);
  withConfig = analyze(snapshot, cfg.config, { rules, today: '2026-11-22' });
  classic = analyze(await loadSnapshot({ directory: S2_20 }), cfg.config, {
    rules,
    today: '2026-11-22',
  });
});

describe('JSON report', () => {
  const schema = JSON.parse(
    readFileSync(path.join(repoRoot, 'docs/audit-result.schema.json'), 'utf8'),
  ) as object;
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);

  it('validates against the published schema, with and without config', () => {
    for (const result of [plain, withConfig, classic]) {
      const data: unknown = JSON.parse(formatJson(result));
      expect(validate(data), JSON.stringify(validate.errors, null, 2)).toBe(true);
    }
  });
  it('has the exposure of the published port with witness and trace', () => {
    const e = plain.exposures.find(
      (x) => x.ports[0]?.from === 8080 && x.family === 'ipv4' && x.kind === 'published',
    );
    expect(e?.target).toMatchObject({
      kind: 'container',
      name: 'c1',
      addresses: ['172.17.0.2/32'],
      ports: [{ from: 80, to: 80 }],
    });
    expect(e?.anyHostAddress).toBe(true);
    expect(e?.reachableFrom.map((r) => r.sources)).toEqual([['0.0.0.0/0']]);
    expect(e?.certainty).toBe('certain');
    expect(e?.trace.some((s) => s.action === 'DNAT 172.17.0.2:80')).toBe(true);
  });
  it('is deterministic', async () => {
    const again = analyze(
      await loadSnapshot({ directory: S1 }),
      parseConfig('', 'none.yaml', rules).config,
      { rules, today: '2026-11-22' },
    );
    expect(formatJson(again)).toBe(formatJson(plain));
  });
  it('applies severity overrides, ignores with reasons, and the policy', () => {
    expect(
      withConfig.findings
        .filter((f) => f.ruleId === 'daemon-firewall-config')
        .every((f) => f.severity === 'note'),
    ).toBe(true);
    const ignored = withConfig.findings.filter((f) => f.ruleId === 'ipv6-unfiltered');
    expect(ignored.length).toBeGreaterThan(0);
    expect(ignored.every((f) => f.suppressed?.reason === 'IPv6 is not routed to this host')).toBe(
      true,
    );
    // 8080 is allowed only from 192.0.2.0/24 but reachable from everywhere: a violation.
    const violation = withConfig.findings.find(
      (f) => f.ruleId === 'exposure-policy' && f.object.port === 8080,
    );
    expect(violation?.severity).toBe('error');
    expect(violation?.witness?.destinationPort).toBe(8080);
    // 443 to the host is allowed but nothing serves it any more.
    const stale = withConfig.findings.find(
      (f) => f.ruleId === 'exposure-policy' && f.message.includes('no longer reachable'),
    );
    expect(stale?.severity).toBe('warning');
    expect(stale?.location).toMatchObject({ file: '.dockwall.yaml', line: 14 });
  });
});

describe('exit codes', () => {
  it('follow --fail-on', () => {
    expect(exitCode(plain, 'error')).toBe(0);
    expect(exitCode(plain, 'warning')).toBe(1);
    expect(exitCode(plain, 'never')).toBe(0);
    expect(exitCode(withConfig, 'error')).toBe(1);
  });
  it('are 2 when no ruleset could be read', async () => {
    const dir = tempDir('dockwall-empty-');
    writeFileSync(path.join(dir, 'daemon.json'), '{}\n');
    const result = analyze(
      await loadSnapshot({ directory: dir }),
      parseConfig('', 'x', rules).config,
      { rules },
    );
    expect(result.diagnostics.map((d) => d.code)).toContain('no-ruleset');
    expect(exitCode(result, 'never')).toBe(2);
  });
});

describe('SARIF report', () => {
  const schemaPath = path.join(
    repoRoot,
    'node_modules/@microsoft/sarif-multitool-linux/sarif-2.1.0.json',
  );
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as object;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);

  it('validates against the official SARIF 2.1.0 schema', () => {
    for (const result of [plain, withConfig, classic]) {
      expect(validate(toSarif(result, rules)), JSON.stringify(validate.errors, null, 2)).toBe(true);
    }
  });
  it('has every rule with help and link, stable fingerprints, and locations in snapshot files', () => {
    const sarif = toSarif(withConfig, rules) as {
      runs: {
        tool: { driver: { rules: { id: string; helpUri: string; help: { text: string } }[] } };
        results: {
          ruleId: string;
          partialFingerprints: Record<string, string>;
          locations: unknown[];
        }[];
      }[];
    };
    const run = sarif.runs[0];
    const ids = run?.tool.driver.rules.map((r) => r.id) ?? [];
    for (const id of Object.keys(rules)) expect(ids).toContain(id);
    expect(
      run?.tool.driver.rules.every(
        (r) => r.helpUri.startsWith('https://') && r.help.text.length > 0,
      ),
    ).toBe(true);
    expect(
      run?.results.every((r) => /^[0-9a-f]{32}$/.test(r.partialFingerprints['dockwall/v1'] ?? '')),
    ).toBe(true);
    const again = toSarif(withConfig, rules) as typeof sarif;
    expect(again.runs[0]?.results.map((r) => r.partialFingerprints)).toEqual(
      run?.results.map((r) => r.partialFingerprints),
    );
  });
  it('passes sarif-multitool validate with no errors', () => {
    const dir = tempDir('dockwall-sarif-');
    const file = path.join(dir, 'audit.sarif');
    writeFileSync(file, JSON.stringify(toSarif(withConfig, rules), null, 2));
    const out = path.join(dir, 'validation.sarif');
    execFileSync(
      path.join(repoRoot, 'node_modules/.bin/sarif-multitool'),
      ['validate', file, '-o', out],
      {
        stdio: 'pipe',
      },
    );
    const validation = JSON.parse(readFileSync(out, 'utf8')) as {
      runs: { results?: { level?: string; message: unknown }[] }[];
    };
    const errors = (validation.runs[0]?.results ?? []).filter(
      (r) => (r.level ?? 'warning') === 'error',
    );
    expect(errors).toEqual([]);
  }, 60_000);
});

describe('text and Markdown reports', () => {
  it('colour only on a TTY and never with NO_COLOR', () => {
    expect(shouldColor(true, {})).toBe(true);
    expect(shouldColor(false, {})).toBe(false);
    expect(shouldColor(true, { NO_COLOR: '1' })).toBe(false);
    expect(formatText(plain, { color: false })).not.toContain('\u001B[');
    expect(formatText(plain, { color: true })).toContain('\u001B[');
  });
  it('starts with the summary, then the exposure table, then findings with witness and trace', () => {
    const text = formatText(withConfig, { color: false });
    const lines = text.split('\n');
    expect(lines[1]).toMatch(/^✖ \d+ errors?, \d+ warnings?, \d+ notes?, \d+ exposures/);
    expect(text).toMatch(
      /0\.0\.0\.0:8080\/tcp\s+container c1 \(172\.17\.0\.2:80\)\s+0\.0\.0\.0\/0 via any other interface\s+certain/,
    );
    expect(text).toContain('witness: tcp 203.0.113.77:40000');
    expect(text).toContain('nat/DOCKER#2 DNAT 172.17.0.2:80');
    expect(text.indexOf('Exposures')).toBeLessThan(text.indexOf('Findings'));
  });
  it('says under the exposure table what its possible rows rest on, each once', async () => {
    const result = await dumpsAlone();
    const text = formatText(result, { color: false });
    const block = text.slice(text.indexOf('possible rows rest on:'), text.indexOf('Findings'));
    expect(block).toContain(
      '- docker-proxy is taken to listen on port 8080/tcp and relay to 192.0.2.2:80',
    );
    const lines = block.split('\n').filter((l) => l.startsWith('    - '));
    expect(new Set(lines).size).toBe(lines.length);
    // the snapshot's own assumptions are said once, at the end
    for (const a of result.snapshot.assumptions) expect(block).not.toContain(a.text);
    // a table of certain rows says nothing of the kind
    const certainOnly = {
      ...plain,
      exposures: plain.exposures.filter((e) => e.certainty === 'certain'),
    };
    expect(certainOnly.exposures.length).toBeGreaterThan(0);
    expect(formatText(certainOnly, { color: false })).not.toContain('possible rows rest on');
  });
  it('says under a possible finding what it rests on; a certain one assumes nothing', async () => {
    const result = await dumpsAlone();
    const relayed = result.findings.find(
      (f) => f.ruleId === 'exposed-port' && f.certainty === 'possible',
    );
    expect(relayed?.assumptions?.join(' ')).toMatch(
      /docker-proxy is taken to listen on port 8080\/tcp/,
    );
    for (const f of result.findings)
      if (f.certainty === 'certain') expect(f.assumptions, f.message).toBeUndefined();
    const text = formatText(result, { color: false });
    expect(text).toMatch(/\(possible\)\n(?:.*\n)*? {8}assumed: docker-proxy is taken to listen/);
    const md = formatMarkdown(result, new Set(Object.keys(rules)));
    expect(md).toContain('  - assumed: docker-proxy is taken to listen on port 8080/tcp');
    const sarif = toSarif(result, rules) as {
      runs: { results: { properties: { certainty: string; assumptions?: string[] } }[] }[];
    };
    const possible = sarif.runs[0]?.results.filter((r) => r.properties.certainty === 'possible');
    expect(possible?.length).toBeGreaterThan(0);
    for (const r of possible ?? []) expect(r.properties.assumptions?.length).toBeGreaterThan(0);
  });
  it("keeps a big host's table readable: long port lists are counted, one long cell widens only its row", () => {
    const e = plain.exposures.find((x) => x.kind === 'published');
    if (e === undefined) throw new Error('the fixture publishes a port');
    // every other port of 1–2000 (1,000 ranges), as a host with many rules gives
    const ports = Array.from({ length: 1000 }, (_, i) => ({ from: 2 * i + 1, to: 2 * i + 1 }));
    const many = { ...e, ports, target: { ...e.target, ports } };
    const rows = Array.from({ length: 200 }, (_, i) => (i === 7 ? many : e));
    const text = formatText({ ...plain, exposures: rows }, { color: false });
    const table = text.slice(text.indexOf('SENT TO'), text.indexOf('Findings')).split('\n');
    expect(
      table.find((l) => l.includes('1, 3, 5, 7, 9, 11, 13, 15 and 992 more/tcp')),
    ).toBeDefined();
    // the long row is written whole, the others keep their width
    const short = table.filter((l) => l.includes('0.0.0.0:8080/tcp'));
    expect(short).toHaveLength(199);
    for (const l of short) expect(l.length).toBeLessThan(160);
    expect(text.length).toBeLessThan(200 * 200);
  });
  it('Markdown has the exposure table and links findings to rule docs', () => {
    const md = formatMarkdown(plain, new Set(Object.keys(rules)));
    expect(md).toContain('| `0.0.0.0:8080/tcp` | container c1 (172.17.0.2:80) |');
    expect(md).toContain(
      '(https://github.com/dockwall/dockwall/blob/main/docs/rules/exposed-port.md)',
    );
  });
});
