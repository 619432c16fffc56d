/** Ignores, baselines and the policy over plain findings and exposures. */
import { describe, expect, it } from 'vitest';
import {
  applyBaseline,
  createBaseline,
  parseBaseline,
  serializeBaseline,
} from '../../src/lint/baseline.ts';
import type { Ignore, Policy } from '../../src/lint/config-types.ts';
import { fingerprint } from '../../src/lint/fingerprint.ts';
import { applyIgnores } from '../../src/lint/ignores.ts';
import { cidrWithin, evaluatePolicy } from '../../src/lint/policy.ts';
import type { Exposure, Finding } from '../../src/model/audit.ts';

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

describe('policy', () => {
  const exposure: Exposure = {
    id: 'ipv4/tcp/host:8080→container:web:80',
    family: 'ipv4',
    protocol: 'tcp',
    kind: 'published',
    toHost: true,
    destinations: ['198.51.100.1/32'],
    anyHostAddress: true,
    ports: [{ from: 8080, to: 8080 }],
    target: {
      kind: 'container',
      name: 'web',
      addresses: ['172.17.0.2/32'],
      ports: [{ from: 80, to: 80 }],
      outInterface: 'docker0',
      network: 'bridge',
      listening: null,
      proxiedBy: null,
      namedFrom: 'containers.json',
    },
    reachableFrom: [{ interface: 'eth0', sources: ['10.1.0.0/16', '203.0.113.0/24'] }],
    certainty: 'certain',
    assumptions: [],
    witness: {
      family: 'ipv4',
      protocol: 'tcp',
      source: '203.0.113.10',
      sourcePort: 40000,
      destination: '198.51.100.1',
      destinationPort: 8080,
      inInterface: 'eth0',
      state: 'NEW',
      mark: 0,
    },
    trace: [],
  };
  const policy = (from: string[]): Policy => ({
    location: at(1),
    allow: [
      {
        protocol: 'tcp',
        ports: { from: 8080, to: 8080 },
        fromCidrs: from.filter((f) => f.includes('/')),
        fromInterfaces: from.filter((f) => !f.includes('/')),
        to: { kind: 'container', name: 'web' },
        description: 'tcp/8080',
        location: at(2),
      },
    ],
  });

  it('CIDR containment', () => {
    expect(cidrWithin('10.1.0.0/16', '10.0.0.0/8')).toBe(true);
    expect(cidrWithin('10.0.0.0/8', '10.1.0.0/16')).toBe(false);
    expect(cidrWithin('2001:db8::/48', '2001:db8::/32')).toBe(true);
    expect(cidrWithin('10.0.0.0/8', '::/0')).toBe(false);
  });

  it('is silent when every reachable source is allowed', () => {
    expect(evaluatePolicy([exposure], policy(['10.0.0.0/8', '203.0.113.0/24']))).toEqual([]);
    expect(evaluatePolicy([exposure], policy(['eth0']))).toEqual([]);
  });

  it('reports the sources the policy does not allow, with the witness', () => {
    const [v] = evaluatePolicy([exposure], policy(['10.0.0.0/8']));
    expect(v?.ruleId).toBe('policy-violation');
    expect(v?.severity).toBe('error');
    expect(v?.message).toContain('203.0.113.0/24 via eth0');
    expect(v?.message).not.toContain('10.1.0.0/16');
    expect(v?.witness?.source).toBe('203.0.113.10');
  });

  it("shows a witness the policy forbids, re-traced, when the exposure's own witness is allowed", () => {
    const allowedWitness = { ...exposure, witness: { ...exposure.witness, source: '10.1.0.5' } };
    const traced: string[] = [];
    const [v] = evaluatePolicy([allowedWitness], policy(['10.0.0.0/8']), (p) => {
      traced.push(p.source);
      return null;
    });
    expect(v?.witness?.source).toBe('203.0.113.0');
    expect(traced).toEqual(['203.0.113.0']);
  });

  it('reports an allowed exposure that nothing matches any more', () => {
    const [stale] = evaluatePolicy([], policy(['10.0.0.0/8']));
    expect(stale?.ruleId).toBe('policy-stale-allow');
    expect(stale?.location.line).toBe(2);
  });
});
