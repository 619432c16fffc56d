/**
 * Times a whole child process under `/usr/bin/time -v`: wall seconds, user + system CPU seconds
 * and peak RSS of the process itself (not of the bench that starts it).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ChildRun {
  readonly seconds: number;
  /** User + system CPU seconds: steadier than wall time on a shared machine. */
  readonly cpu: number;
  readonly maxRssMb: number | null;
  readonly status: number | null;
  /** What the command wrote to stdout. */
  readonly stdout: string;
  /** What the command wrote to stderr, followed by `/usr/bin/time`'s report. */
  readonly stderr: string;
}

export function timeChild(command: string, args: readonly string[], stdinFile?: string): ChildRun {
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-v', command, ...args], {
    input: stdinFile === undefined ? undefined : readFileSync(stdinFile),
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const user = Number(/User time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1] ?? NaN);
  const sys = Number(/System time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1] ?? NaN);
  return {
    seconds,
    cpu: user + sys,
    maxRssMb: rss === null ? null : Number(rss[1]) / 1024,
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
  };
}
