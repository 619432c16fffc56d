/**
 * Reading an untrusted snapshot: links out of it, FIFOs, devices, huge files and foreign
 * encodings, each refused or converted with a diagnostic, in bounded time.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeText, readInputFile } from '../../src/ingest/read-input.ts';
import { tempDir } from '../support/temp-dir.ts';

const SECRET = 'root:$6$very-secret-hash:20228:0:99999:7:::';

function snapshotDir(): { dir: string; outside: string } {
  const base = tempDir('dockwall-read-');
  const dir = path.join(base, 'snap');
  mkdirSync(dir);
  const outside = path.join(base, 'shadow');
  writeFileSync(outside, `${SECRET}\n`);
  return { dir, outside };
}

const limits = { maxBytes: 1024 * 1024 };

describe('readInputFile in a snapshot directory', () => {
  it('reads a regular file, and a link that stays inside the directory', async () => {
    const { dir } = snapshotDir();
    writeFileSync(path.join(dir, 'real.txt'), 'hello\n');
    symlinkSync('real.txt', path.join(dir, 'listeners.txt'));
    const read = await readInputFile(path.join(dir, 'listeners.txt'), { within: dir, ...limits });
    expect(read).toMatchObject({ status: 'read', text: 'hello\n', diagnostics: [] });
  });

  it('refuses a link that leaves the directory, and says nothing of the target’s content', async () => {
    const { dir, outside } = snapshotDir();
    for (const [name, target] of [
      ['listeners.txt', outside],
      ['daemon.json', path.relative(dir, outside)],
      ['networks.json', '/etc/passwd'],
    ] as const) {
      symlinkSync(target, path.join(dir, name));
      const read = await readInputFile(path.join(dir, name), { within: dir, ...limits });
      expect(read.status).toBe('unreadable');
      expect(read.diagnostics.map((d) => d.code)).toEqual(['file-refused']);
      const message = read.diagnostics[0]?.message ?? '';
      expect(message).toMatch(/symbolic link to .* outside the snapshot directory; not read/);
      expect(message).not.toContain('very-secret');
      expect(message).not.toContain('root:');
    }
  });

  it('reads the same link when the user names the file explicitly', async () => {
    const { dir, outside } = snapshotDir();
    symlinkSync(outside, path.join(dir, 'listeners.txt'));
    const read = await readInputFile(path.join(dir, 'listeners.txt'), { within: null, ...limits });
    expect(read.status).toBe('read');
  });

  it('refuses a FIFO without waiting for a writer', async () => {
    const { dir } = snapshotDir();
    const fifo = path.join(dir, 'daemon.json');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    const read = await readInputFile(fifo, { within: dir, ...limits });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(read.status).toBe('unreadable');
    expect(read.diagnostics[0]?.message).toContain('is a FIFO (named pipe), not a regular file');
  });

  it('refuses devices, named explicitly or linked (/dev/zero never reads a byte)', async () => {
    const { dir } = snapshotDir();
    symlinkSync('/dev/zero', path.join(dir, 'listeners.txt'));
    const linked = await readInputFile(path.join(dir, 'listeners.txt'), { within: dir, ...limits });
    expect(linked.diagnostics[0]?.code).toBe('file-refused');
    const named = await readInputFile('/dev/zero', { within: null, ...limits });
    expect(named.diagnostics[0]?.message).toBe(
      '/dev/zero is a device, not a regular file; not read',
    );
  });

  it('refuses a directory where a file should be', async () => {
    const { dir } = snapshotDir();
    mkdirSync(path.join(dir, 'containers.json'));
    const read = await readInputFile(path.join(dir, 'containers.json'), { within: dir, ...limits });
    expect(read.diagnostics[0]?.message).toContain('is a directory, not a regular file');
  });

  it('refuses a file over the size cap, saying its size and the cap', async () => {
    const { dir } = snapshotDir();
    const big = path.join(dir, 'iptables-save.txt');
    writeFileSync(big, Buffer.alloc(3 * 1024 * 1024, 0x41));
    const read = await readInputFile(big, { within: dir, maxBytes: 1024 * 1024 });
    expect(read.diagnostics.map((d) => [d.code, d.message])).toEqual([
      [
        'file-too-large',
        `${big} is 3.0 MiB, over dockwall's limit of 1.0 MiB for this file; not read`,
      ],
    ]);
  });

  it('reports a missing file as missing, with no diagnostic (the caller decides)', async () => {
    const { dir } = snapshotDir();
    const read = await readInputFile(path.join(dir, 'nope.json'), { within: dir, ...limits });
    expect(read).toMatchObject({ status: 'missing', diagnostics: [] });
  });
});

describe('decodeText', () => {
  const text =
    '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment "é" -j ACCEPT\nCOMMIT\n';
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  const utf16le = Buffer.from(text, 'utf16le');
  const utf16be = Buffer.from(utf16le).swap16();

  it.each([
    [
      'UTF-8 with a byte order mark',
      Buffer.concat([bom, Buffer.from(text)]),
      /UTF-8 byte order mark/,
    ],
    [
      'UTF-16 LE with a BOM',
      Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le]),
      /little-endian, with/,
    ],
    [
      'UTF-16 BE with a BOM',
      Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be]),
      /big-endian, with/,
    ],
    ['UTF-16 LE without a BOM', utf16le, /little-endian, no byte order mark/],
    ['UTF-16 BE without a BOM', utf16be, /big-endian, no byte order mark/],
  ])('%s: the same text, and a note', (_name, bytes, note) => {
    const decoded = decodeText(bytes, 'f');
    expect(decoded.text).toBe(text);
    expect(decoded.diagnostics.map((d) => [d.code, d.severity])).toEqual([
      ['encoding-converted', 'note'],
    ]);
    expect(decoded.diagnostics[0]?.message).toMatch(note);
  });

  it('plain UTF-8 has no note; bytes that are not UTF-8 are replaced, with a note', () => {
    expect(decodeText(Buffer.from(text), 'f').diagnostics).toEqual([]);
    const bad = decodeText(Buffer.from([0x41, 0xff, 0x42]), 'f');
    expect(bad.text).toBe('A\ufffdB');
    expect(bad.diagnostics[0]?.message).toContain('not valid UTF-8');
  });
});
