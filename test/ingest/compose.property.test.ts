/**
 * Compose files are untrusted input: whatever a file holds, reading it and planning it never
 * throws, and every diagnostic points into the file.
 */
import fc from 'fast-check';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { planHost } from '../../src/docker/plan.ts';
import { readCompose } from '../../src/ingest/compose.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';

const base = await loadSnapshot({
  directory: path.resolve(import.meta.dirname, '../../fixtures/plan/base/28.5.2'),
});

const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    '8080:80',
    '127.0.0.1::80',
    '[::1]:53:53/udp',
    '80-81:90-91',
    '${X:-1}',
    '$',
    'host',
    'bridge',
    'service:a',
    'container:x',
    '0',
    '99999',
    '10.0.0.0/8',
    'fd00::/64',
    '172.18.0.9',
    'fd00::9',
    'abc',
  ),
  fc.integer({ min: -1, max: 70000 }),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(
      fc.constantFrom(
        'image',
        'ports',
        'networks',
        'network_mode',
        'expose',
        'links',
        'ipam',
        'config',
        'subnet',
        'target',
        'published',
        'host_ip',
        'driver_opts',
        'internal',
        'enable_ipv6',
        'depends_on',
        'ipv4_address',
        'ipv6_address',
        'x',
        'a',
      ),
      tie('node'),
      { maxKeys: 4 },
    ),
  ),
})).node;
const service = fc.dictionary(
  fc.constantFrom(
    'image',
    'ports',
    'networks',
    'network_mode',
    'expose',
    'links',
    'depends_on',
    'scale',
    'container_name',
    'bogus',
  ),
  value,
  { maxKeys: 5 },
);
const project = fc.record({
  services: fc.dictionary(fc.constantFrom('a', 'b', 'c'), service, { maxKeys: 3 }),
  networks: fc.dictionary(fc.constantFrom('default', 'front', 'back'), value, { maxKeys: 2 }),
});

describe('Compose files as untrusted input', () => {
  it('reading and planning never throw; diagnostics point into the file', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          project.map((p) => stringify(p)),
          fc.string({ maxLength: 200 }),
        ),
        (text) => {
          const p = readCompose([{ path: 'compose.yaml', text }], { env: { X: '5' } });
          for (const d of p.diagnostics) {
            expect(d.location.file).toBe('compose.yaml');
            expect(d.location.line).toBeGreaterThanOrEqual(1);
          }
          const result = planHost({ base, project: p, daemon: base.host.daemon, profiles: [] });
          expect(typeof result.iptables).toBe('string');
        },
      ),
      { numRuns: 400 },
    );
  });
});
