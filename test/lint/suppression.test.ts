/** Ignores and baselines over plain findings. */
import { describe, expect, it } from 'vitest';
import {
  applyBaseline,
  createBaseline,
  parseBaseline,
  serializeBaseline,
} from '../../src/lint/baseline.ts';
import type { Ignore } from '../../src/lint/config-types.ts';
import { fingerprint } from '../../src/lint/fingerprint.ts';
import { applyIgnores } from '../../src/lint/ignores.ts';
import type { Finding } from '../../src/model/audit.ts';

const at = (line: number) => ({ file: 'iptables-save.txt', line, column: 1 });

function finding(
  ruleId: string,
  object: Finding['object'],
  line = 10,
  file = 'iptables-save.txt',
): Finding {
  return {
    ruleId,
    severity: 'warning',
    message: `${ruleId} finding`,
    location: { file, line, column: 1 },
    object,
    certainty: 'certain',
    witness: null,
    trace: [],
    related: [],
    fingerprint: fingerprint(ruleId, object, file),
  };
}

const ignore = (over: Partial<Ignore>): Ignore => ({
  rule: 'exposed-port',
  reason: 'intended',
  location: at(3),
  ...over,
});

describe('ignores', () => {
  const web = finding('exposed-port', { container: 'web', port: 443 });
  const db = finding('exposed-port', { container: 'db', port: 5432 });

  it('match precisely on rule, container, port and chain', () => {
    const { findings, diagnostics } = applyIgnores(
      [web, db],
      [ignore({ container: 'web', port: 443 })],
      '2026-11-22',
    );
    expect(findings[0]?.suppressed).toEqual({ reason: 'intended' });
    expect(findings[1]?.suppressed).toBeUndefined();
    expect(diagnostics).toEqual([]);
  });

  it('report an ignore that matches nothing', () => {
    const { findings, diagnostics } = applyIgnores(
      [web],
      [ignore({ container: 'web', port: 80 })],
      '2026-11-22',
    );
    expect(findings[0]?.suppressed).toBeUndefined();
    expect(diagnostics.map((d) => d.code)).toEqual(['unused-ignore']);
    expect(diagnostics[0]?.message).toContain('container web, port 80');
  });

  it('stop applying after their expiry date, and say so', () => {
    const expired = ignore({ container: 'web', expires: '2026-11-21' });
    const { findings, diagnostics } = applyIgnores([web], [expired], '2026-11-22');
    expect(findings[0]?.suppressed).toBeUndefined();
    expect(diagnostics.map((d) => d.code)).toEqual(['expired-ignore']);
    const current = applyIgnores(
      [web],
      [ignore({ container: 'web', expires: '2026-11-22' })],
      '2026-11-22',
    );
    expect(current.findings[0]?.suppressed).toEqual({ reason: 'intended', expires: '2026-11-22' });
  });
});

describe('baseline', () => {
  it('keeps only new findings, keyed on rule + object + file name, not lines or directories', () => {
    const old = [
      finding('exposed-port', { container: 'web', port: 443 }, 10, '/srv/a/iptables-save.txt'),
    ];
    const baseline = parseBaseline(serializeBaseline(createBaseline(old)), 'b.json').baseline;
    expect(baseline).not.toBeNull();
    const moved = finding(
      'exposed-port',
      { container: 'web', port: 443 },
      99,
      '/tmp/b/iptables-save.txt',
    );
    const fresh = finding('exposed-port', { container: 'db', port: 5432 });
    const { findings, baselined } = applyBaseline(
      [moved, fresh],
      baseline ?? { schemaVersion: 1, entries: [] },
    );
    expect(findings.map((f) => f.object.container)).toEqual(['db']);
    expect(baselined).toBe(1);
  });

  it('reports a malformed baseline instead of ignoring it', () => {
    expect(parseBaseline('{"schemaVersion":2,"entries":[]}', 'b.json').diagnostics[0]?.code).toBe(
      'invalid-baseline',
    );
    expect(parseBaseline('not json', 'b.json').baseline).toBeNull();
  });
});
