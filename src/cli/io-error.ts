/**
 * File-system failures as one line for the user (`cannot write report.txt: no such directory`)
 * instead of a stack trace: a missing or read-only output directory is the user's to fix, not
 * a bug in dockwall.
 */
import { safeText } from '../model/safe-text.ts';

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EEXIST: 'it already exists',
  ELOOP: 'it is a symbolic link (not followed)',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** Whether `error` is a Node file-system error (it has an errno code such as ENOENT). */
export function isIoError(error: unknown): error is NodeJS.ErrnoException {
  return (
    error instanceof Error &&
    typeof (error as NodeJS.ErrnoException).code === 'string' &&
    typeof (error as NodeJS.ErrnoException).syscall === 'string'
  );
}

/** The reason alone: `permission denied`, `no such file or directory`, … */
export function ioReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined ? REASONS[code] : undefined) ?? safeText(String(code ?? error));
}

/** `cannot <action> <file>: <reason>`, escaped, on one line. */
export function ioErrorMessage(action: string, file: string, error: unknown): string {
  return `cannot ${action} ${safeText(file)}: ${ioReason(error)}`;
}
