/**
 * `dockwall audit … | head`: the reader closes the pipe before the report is written. The
 * command must end as it would have (its exit code), not with Node's stack trace for an
 * unhandled EPIPE.
 */
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { endQuietlyOnClosedPipe } from '../../src/cli/main.ts';
import { repoRoot } from '../rules/tester.ts';

const ARGS = [
  path.join(repoRoot, 'bin/dockwall.js'),
  'audit',
  path.join(repoRoot, 'fixtures/example-host'),
  '--format',
  'json',
];

function withClosedStdout(): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ARGS, { stdio: ['ignore', 'pipe', 'pipe'] });
    // the reader is gone before the first byte is written
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

describe('a closed output pipe', () => {
  it('ends the audit with its own exit code and no stack trace', async () => {
    const normal = spawnSync(process.execPath, ARGS, { encoding: 'utf8' });
    expect(normal.stdout.length).toBeGreaterThan(1000);
    const closed = await withClosedStdout();
    expect(closed.stderr).not.toMatch(/EPIPE|Unhandled|internal error/);
    expect(closed.status).toBe(normal.status);
  });
});

describe('endQuietlyOnClosedPipe', () => {
  it('watches a stream once, however often main runs', () => {
    const stream = new EventEmitter();
    const stderr = new PassThrough();
    endQuietlyOnClosedPipe(stream, stderr);
    endQuietlyOnClosedPipe(stream, stderr);
    expect(stream.listenerCount('error')).toBe(1);
    // a closed pipe is quiet; another failure is one line
    stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(stderr.read()).toBeNull();
    const before = process.exitCode;
    stream.emit('error', Object.assign(new Error('write EIO'), { code: 'EIO' }));
    expect(String(stderr.read())).toBe('dockwall: cannot write the output: input/output error\n');
    expect(process.exitCode).toBe(2);
    process.exitCode = before;
  });
});
