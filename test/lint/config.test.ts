/** .dockwall.yaml: what is accepted, and located errors for what is not. */
import { describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.ts';
import { parseConfig } from '../../src/lint/config.ts';
import type { Policy } from '../../src/model/exposure-policy.ts';

const rules = RULES;
const parse = (text: string) => parseConfig(text, '.dockwall.yaml', rules);
const errors = (text: string) =>
  parse(text).diagnostics.map((d) => `${d.location.line}:${d.location.column} ${d.message}`);

describe('config', () => {
  it('reads severities, options, ignores, policy and failOn', () => {
    const { config, diagnostics } = parse(`failOn: warning
rules:
  redundant-rule: off
  exposed-port:
    severity: error
    options:
      publicPorts: [80, 443]
ignores:
  - rule: exposed-port
    container: web
    port: 443
    reason: public web server
    expires: 2027-03-01
policy:
  allow:
    - protocol: tcp
      port: 8000-8010
      from: [10.0.0.0/8, eth1]
      to: { container: api }
`);
    expect(diagnostics).toEqual([]);
    expect(config.failOn).toBe('warning');
    expect(config.rules['redundant-rule']?.severity).toBe('off');
    expect(config.rules['exposed-port']).toMatchObject({
      severity: 'error',
      options: { publicPorts: [80, 443] },
    });
    expect(config.ignores[0]).toMatchObject({
      rule: 'exposed-port',
      container: 'web',
      port: 443,
      reason: 'public web server',
      expires: '2027-03-01',
      location: { line: 9, column: 5 },
    });
    const policy = config.rules['exposure-policy']?.options?.['policy'] as Policy | undefined;
    expect(policy?.allow[0]).toMatchObject({
      protocol: 'tcp',
      ports: { from: 8000, to: 8010 },
      fromCidrs: ['10.0.0.0/8'],
      fromInterfaces: ['eth1'],
      to: { kind: 'container', name: 'api' },
    });
  });

  it('reports YAML syntax errors with line and column', () => {
    const got = errors('rules:\n  exposed-port: [warning\n');
    expect(got.length).toBeGreaterThan(0);
    expect(got[0]).toMatch(/^\d+:\d+ YAML: /);
  });

  it('refuses a config nested too deeply, where it gets too deep, without a stack overflow', () => {
    const deep = parse(`rules:\n  exposed-port: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    expect(deep.diagnostics.map((d) => [d.code, d.location.line, d.location.column])).toEqual([
      ['invalid-config', 2, 271],
    ]);
    expect(deep.diagnostics[0]?.message).toBe(
      'the document is nested deeper than 256 levels; dockwall does not read a document this deep',
    );
    expect(deep.config.rules).toEqual({});
  });

  it('reports unknown rules, bad severities and invalid options where they are written', () => {
    expect(errors('rules:\n  no-such-rule: error\n')[0]).toMatch(
      /^2:3 unknown rule 'no-such-rule'/,
    );
    expect(errors('rules:\n  exposed-port: fatal\n')[0]).toMatch(
      /^2:17 severity of 'exposed-port'/,
    );
    expect(
      errors('rules:\n  exposed-port:\n    options:\n      sensitivePorts: [99999]\n')[0],
    ).toMatch(/^4:7 rules\.exposed-port\.options\.sensitivePorts\[0\]: must be ≤ 65535/);
    expect(errors('rules:\n  redundant-rule:\n    options: { x: 1 }\n')[0]).toMatch(
      /takes no options/,
    );
  });

  it('refuses ignores without a reason, with a bad expiry, or with unknown keys', () => {
    expect(errors('ignores:\n  - rule: exposed-port\n    port: 80\n')).toEqual([
      '2:5 an ignore must carry a reason (why this finding is acceptable)',
    ]);
    expect(
      errors('ignores:\n  - rule: exposed-port\n    reason: ok\n    expires: next week\n')[0],
    ).toMatch(/^4:14 expires must be a date/);
    expect(errors('ignores:\n  - rule: exposed-port\n    reason: ok\n    host: x\n')[0]).toMatch(
      /^4:5 unknown key 'host'/,
    );
  });

  it('refuses policy entries it cannot read', () => {
    expect(errors('policy:\n  allow:\n    - port: 70000\n')[0]).toMatch(/^3:13 port must be/);
    expect(errors('policy:\n  allow:\n    - from: [not a cidr!]\n')[0]).toMatch(
      /is neither a CIDR nor an interface/,
    );
    expect(errors('policy:\n  allow:\n    - to: somewhere\n')[0]).toMatch(
      /'to' must be host, container/,
    );
  });
});
