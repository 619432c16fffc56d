/**
 * Reads one input file the way an untrusted snapshot must be read: a file found in a snapshot
 * directory is read only when it is a regular file whose real path stays inside that directory
 * (a planted `listeners.txt -> /etc/shadow` is refused, and nothing of the target is echoed);
 * FIFOs, devices and directories are never read from a directory (opened non-blocking, checked
 * with fstat before any read); every file has a size cap; a UTF-8 byte order mark or UTF-16
 * text is decoded, with a note. A file named on the command line may be anywhere, and may be a
 * pipe (`--iptables <(ssh host iptables-save)`), still within its size cap.
 * Never throws: every refusal is a located diagnostic.
 */
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { lstat, open, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Diagnostic, DiagnosticCode } from '../model/diagnostic.ts';
import { diagnostic, fileLocation } from '../model/diagnostic.ts';
import { echo } from '../model/safe-text.ts';

export interface ReadOptions {
  /**
   * The directory the file was found in: its real path must stay inside it, and only a regular
   * file is read. `null` for a file the user named explicitly.
   */
  readonly within: string | null;
  /** Size cap in bytes; a larger file is refused with a diagnostic. */
  readonly maxBytes: number;
}

export type InputRead =
  | {
      readonly status: 'read';
      readonly path: string;
      readonly text: string;
      /** Notes about the reading (encoding converted). */
      readonly diagnostics: readonly Diagnostic[];
    }
  | {
      /** `missing`: no such file (no diagnostic: the caller knows whether that matters). */
      readonly status: 'missing' | 'unreadable';
      readonly path: string;
      readonly diagnostics: readonly Diagnostic[];
    };

const MIB = 1024 * 1024;

/** Size caps by kind of file: far above any real host, far below what would exhaust memory. */
export const SIZE_LIMITS = {
  /** iptables-save, ip6tables-save, nft rulesets, docker inspect output. */
  large: 128 * MIB,
  /** ip addr/route JSON, ss output. */
  medium: 32 * MIB,
  /** daemon.json, docker version, sysctl, manifest, config and baseline files. */
  small: 4 * MIB,
} as const;

function describeSize(bytes: number): string {
  return bytes >= MIB ? `${(bytes / MIB).toFixed(1)} MiB` : `${bytes} bytes`;
}

function kindOf(stats: {
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isDirectory(): boolean;
  isSocket(): boolean;
}): string {
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

function errnoReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'ENOTDIR') return 'a part of the path is not a directory';
  if (code === 'ELOOP') return 'too many levels of symbolic links';
  return code ?? (error instanceof Error ? error.message : String(error));
}

/** Whether `child` is `parent` or below it (both real, absolute paths). */
function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** Reads at most `limit + 1` bytes: enough to know the file is over the limit. */
async function readBounded(handle: FileHandle, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buffer = Buffer.allocUnsafe(Math.min(MIB, limit + 1 - total));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) break;
    chunks.push(buffer.subarray(0, bytesRead));
    total += bytesRead;
    if (total > limit) break;
  }
  return Buffer.concat(chunks, total);
}

export async function readInputFile(file: string, options: ReadOptions): Promise<InputRead> {
  const refuse = (code: DiagnosticCode, message: string): InputRead => ({
    status: 'unreadable',
    path: file,
    diagnostics: [diagnostic(code, 'error', message, fileLocation(file))],
  });

  // What to open: the checked real path of a file found in a snapshot directory, the path as
  // named otherwise. A pipe is read blocking (it was named on purpose), anything else is opened
  // non-blocking so that a FIFO or a device that appears in its place cannot hang the read.
  let target = file;
  let pipe = false;
  try {
    if (options.within === null) {
      pipe = (await stat(file)).isFIFO();
    } else if ((await lstat(file)).isSymbolicLink()) {
      let real: string;
      try {
        real = await realpath(file);
      } catch {
        return refuse('file-refused', `${file} is a symbolic link to nothing readable; not read`);
      }
      if (!isInside(await realpath(options.within), real)) {
        return refuse(
          'file-refused',
          `${file} is a symbolic link to ${echo(real)}, outside the snapshot directory; not read (name the file on the command line to read it anyway)`,
        );
      }
      target = real;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { status: 'missing', path: file, diagnostics: [] };
    }
    return refuse('file-unreadable', `${file} cannot be read: ${errnoReason(error)}`);
  }

  let handle: FileHandle | undefined;
  try {
    // O_NOFOLLOW on a checked path: a link swapped in after the check is not followed.
    const flags =
      constants.O_RDONLY |
      (pipe ? 0 : constants.O_NONBLOCK) |
      (options.within === null ? 0 : constants.O_NOFOLLOW);
    handle = await open(target, flags);
    const stats = await handle.stat();
    if (!stats.isFile() && !(pipe && stats.isFIFO())) {
      return refuse('file-refused', `${file} is ${kindOf(stats)}, not a regular file; not read`);
    }
    if (stats.size > options.maxBytes) {
      return refuse(
        'file-too-large',
        `${file} is ${describeSize(stats.size)}, over dockwall's limit of ${describeSize(options.maxBytes)} for this file; not read`,
      );
    }
    // Files in /proc and pipes report no size: the read itself is bounded too.
    const bytes = await readBounded(handle, options.maxBytes);
    if (bytes.length > options.maxBytes) {
      return refuse(
        'file-too-large',
        `${file} holds more than dockwall's limit of ${describeSize(options.maxBytes)} for this file; not read`,
      );
    }
    const decoded = decodeText(bytes, file);
    return { status: 'read', path: file, text: decoded.text, diagnostics: decoded.diagnostics };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { status: 'missing', path: file, diagnostics: [] };
    if (code === 'ELOOP' && options.within !== null) {
      return refuse('file-refused', `${file} was replaced by a symbolic link while read; not read`);
    }
    return refuse('file-unreadable', `${file} cannot be read: ${errnoReason(error)}`);
  } finally {
    await handle?.close();
  }
}

/**
 * Bytes → text. UTF-8 is the norm; a UTF-8 byte order mark is dropped, UTF-16 (with a byte
 * order mark, or without one when every other byte of an ASCII-looking text is zero, as Windows
 * tools write it) is decoded, each with a note so the user knows a conversion happened.
 */
export function decodeText(
  bytes: Uint8Array,
  file: string,
): { text: string; diagnostics: Diagnostic[] } {
  const note = (what: string): Diagnostic[] => [
    diagnostic(
      'encoding-converted',
      'note',
      `${what}; read as text (positions count characters of the converted text)`,
      fileLocation(file),
    ),
  ];
  const b0 = bytes[0];
  const b1 = bytes[1];
  if (b0 === 0xef && b1 === 0xbb && bytes[2] === 0xbf) {
    return {
      text: new TextDecoder('utf-8').decode(bytes.subarray(3)),
      diagnostics: note('the file starts with a UTF-8 byte order mark, which was dropped'),
    };
  }
  if (b0 === 0xff && b1 === 0xfe) {
    return {
      text: new TextDecoder('utf-16le').decode(bytes.subarray(2)),
      diagnostics: note('the file is UTF-16 (little-endian, with a byte order mark)'),
    };
  }
  if (b0 === 0xfe && b1 === 0xff) {
    return {
      text: new TextDecoder('utf-16be').decode(bytes.subarray(2)),
      diagnostics: note('the file is UTF-16 (big-endian, with a byte order mark)'),
    };
  }
  const unmarked = unmarkedUtf16(bytes);
  if (unmarked !== null) {
    return {
      text: new TextDecoder(unmarked).decode(bytes),
      diagnostics: note(
        `the file is UTF-16 (${unmarked === 'utf-16le' ? 'little' : 'big'}-endian, no byte order mark)`,
      ),
    };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), diagnostics: [] };
  } catch {
    return {
      text: new TextDecoder('utf-8').decode(bytes),
      diagnostics: note('the file is not valid UTF-8: bytes that are not were replaced by U+FFFD'),
    };
  }
}

/** UTF-16 without a BOM: in the first KiB, the zero bytes sit on one parity only. */
function unmarkedUtf16(bytes: Uint8Array): 'utf-16le' | 'utf-16be' | null {
  const n = Math.min(bytes.length, 1024) & ~1;
  if (n < 4) return null;
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenZeros++;
    if (bytes[i + 1] === 0) oddZeros++;
  }
  const pairs = n / 2;
  if (oddZeros >= pairs * 0.9 && evenZeros === 0) return 'utf-16le';
  if (evenZeros >= pairs * 0.9 && oddZeros === 0) return 'utf-16be';
  return null;
}
