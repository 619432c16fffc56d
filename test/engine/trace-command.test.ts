import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/command.ts';
import type { TraceView } from '../../src/analysis/trace-view.ts';
import { trace } from '../../src/cli/commands/trace.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const host = path.join(repoRoot, 'fixtures/example-host');

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await trace.run(args, {
    stdout,
    stderr,
    stdin: new PassThrough(),
    env: {},
    cwd: repoRoot,
  });
  return { code, out, err };
}

describe('dockwall trace on the example host', () => {
  it('follows a published port through DNAT to the container, with rule lines', async () => {
    const r = await run([host, '--from', '198.51.100.7', '--to', '203.0.113.10:8080', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as TraceView;
    expect(j.result).toBe('accepted');
    expect(j.certainty).toBe('certain');
    expect(j.destination).toEqual({
      kind: 'container',
      name: 'shop-web-1',
      address: '172.18.0.2',
      port: 80,
      listening: true,
    });
    const dnat = j.steps.find((s) => s.action.startsWith('DNAT'));
    expect(dnat).toMatchObject({ table: 'nat', chain: 'DOCKER', action: 'DNAT 172.18.0.2:80' });
    expect(dnat?.line).toBeGreaterThan(0);
    expect(j.steps.at(-2)).toMatchObject({ table: 'filter', chain: 'DOCKER', action: 'ACCEPT' });
    expect(j.packet.inInterface).toBe('eth0');
  });

  it('says where an unpublished port is dropped, as text', async () => {
    const r = await run([host, '--from', '198.51.100.7', '--to', '203.0.113.10:9999']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/INPUT filter\/INPUT\s+policy DROP \(line \d+\)/);
    expect(r.out).toMatch(/^Verdict: dropped \(certain\)$/m);
  });

  it('traces host-originated traffic when --from is the host itself', async () => {
    const r = await run([host, '--from', '203.0.113.10', '--to', '203.0.113.10:8080', '--json']);
    const j = JSON.parse(r.out) as TraceView;
    expect(j.packet.inInterface).toBeNull();
    expect(j.steps[0]?.hook).toBe('OUTPUT');
  });

  it('rejects bad arguments as usage errors', async () => {
    await expect(run([host, '--from', 'nope', '--to', '203.0.113.10:80'])).rejects.toThrow(
      UsageError,
    );
    await expect(run([host, '--from', '198.51.100.7', '--to', '203.0.113.10'])).rejects.toThrow(
      UsageError,
    );
    await expect(run([host, '--from', '198.51.100.7', '--to', '[2001:db8::1]:80'])).rejects.toThrow(
      /same family/,
    );
  });
});
