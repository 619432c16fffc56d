/**
 * The fuzz cases: real dumps and JSON files (fixtures, ../shared/captures, ../shared/corpora),
 * mutated by a seeded generator, and what each must satisfy — no exception, no internal error,
 * every diagnostic position inside the input it points at. Pure functions of (seed, index), so
 * a failing case is reproduced from its number; the worker runs them, the test times them.
 */
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RULES } from '../../rules/index.ts';
import { loadContainers } from '../../src/ingest/containers.ts';
import { loadDaemonFile } from '../../src/ingest/daemon.ts';
import { loadDockerVersion } from '../../src/ingest/docker-version.ts';
import { loadIpAddr, loadIpRoute, loadIpRule } from '../../src/ingest/ip.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import { parseJson } from '../../src/ingest/json.ts';
import { loadListeners } from '../../src/ingest/listeners.ts';
import { loadNetworks } from '../../src/ingest/networks.ts';
import { looksLikeNft, parseNft } from '../../src/ingest/nft/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { loadSysctl } from '../../src/ingest/sysctl.ts';
import { analyze } from '../../src/lint/analyze.ts';
import { DEFAULT_CONFIG } from '../../src/lint/config-types.ts';
import type { Diagnostic } from '../../src/model/diagnostic.ts';
import { formatJson } from '../../src/report/json.ts';
import { formatMarkdown } from '../../src/report/markdown.ts';
import { formatText } from '../../src/report/text.ts';
import { prng } from '../support/prng.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
const shared = path.resolve(repoRoot, '../shared');

/** What a file is read as. */
export type Kind =
  | 'iptables'
  | 'nft'
  | 'containers'
  | 'networks'
  | 'daemon'
  | 'docker-version'
  | 'ip-addr'
  | 'ip-route'
  | 'ip-rule'
  | 'nft-json'
  | 'listeners'
  | 'sysctl'
  | 'json';

export interface Seed {
  readonly file: string;
  readonly kind: Kind;
}

/** Files larger than this are left out: the fuzzer wants many cases, not a few huge ones. */
const MAX_SEED_BYTES = 512 * 1024;

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir).sort()) {
    const p = path.join(dir, entry);
    const stats = statSync(p);
    if (stats.isDirectory()) walk(p, out);
    else if (stats.size <= MAX_SEED_BYTES) out.push(p);
  }
  return out;
}

function kindOf(file: string): Kind | null {
  const name = path.basename(file);
  if (/iptables-save(\.txt)?$|\.(golden|rules|restore|v4|v6|t)$|^rules/.test(name))
    return 'iptables';
  if (/\.nft-ruleset$|nft-ruleset\.txt$/.test(name)) return 'nft';
  if (/nft-ruleset\.json$/.test(name)) return 'nft-json';
  if (/containers\.json$|container-inspect\.json$/.test(name)) return 'containers';
  if (/networks\.json$|network-inspect\.json$/.test(name)) return 'networks';
  if (/daemon\.json$/.test(name)) return 'daemon';
  if (/docker-version\.json$/.test(name)) return 'docker-version';
  if (/ip-addr\.json$/.test(name)) return 'ip-addr';
  if (/ip-route\.json$/.test(name)) return 'ip-route';
  if (/ip6?-rule\.(json|txt)$/.test(name)) return 'ip-rule';
  if (/listeners\.txt$|\.ss\.txt$/.test(name)) return 'listeners';
  if (/sysctl\.txt$/.test(name)) return 'sysctl';
  if (/\.json$/.test(name)) return 'json';
  return null;
}

/** Every seed file, in a fixed order: fixtures first, then the shared captures and corpora. */
export function seeds(): Seed[] {
  const files = [
    ...walk(path.join(repoRoot, 'fixtures')),
    ...walk(path.join(shared, 'captures')),
    ...walk(path.join(shared, 'corpora', 'dumps')),
    ...walk(path.join(shared, 'corpora', 'derived')),
  ];
  const out: Seed[] = [];
  for (const file of files) {
    const inCorpus = file.startsWith(path.join(shared, 'corpora'));
    const kind = inCorpus ? 'iptables' : kindOf(file);
    if (kind !== null) out.push({ file, kind });
  }
  return out;
}

/** Pieces that matter to the readers: syntax, extremes, escapes, odd Unicode. */
const TOKENS = [
  '-A ',
  '-I ',
  '-N ',
  '-P ',
  '-j ',
  '-g ',
  '! ',
  '-m ',
  '-p tcp ',
  '--dport ',
  '--sport ',
  '--to-destination ',
  '--comment ',
  'comment ',
  '-s ',
  '-d ',
  '-i ',
  '-o ',
  '*filter\n',
  '*nat\n',
  ':DOCKER - [0:0]\n',
  'COMMIT\n',
  '"',
  "'",
  '\\',
  '{',
  '}',
  '[',
  ']',
  ':',
  ',',
  '=',
  '/',
  '#',
  '\n',
  '\r\n',
  '\r',
  '\t',
  ' ',
  '0',
  '-1',
  '65535',
  '65536',
  '4294967296',
  '1e999',
  '0x1f',
  'NaN',
  '999999999999999999999999',
  'null',
  'true',
  'false',
  '""',
  '[]',
  '{}',
  '::',
  '::ffff:1.2.3.4',
  '0.0.0.0/0',
  '10.0.0.256',
  '/33',
  '/129',
  'fe80::1%eth0',
  '\u001b[2J',
  '\u001b]0;x\u0007',
  '\u009b',
  '\u202e',
  '\u2028',
  '\u0000',
  '\ufeff',
  '\ud800',
  'é',
  '🚀',
  'table inet filter {',
  'chain input { type filter hook input priority 0; }',
  'ct state established accept',
  'ip saddr ',
  '"Name": ',
  '"Ports": ',
  '"NetworkMode": "host"',
  '"HostPort": "',
  '"IPAddress": "',
];

const ALPHABET =
  'abcxyz019-_.:/!"\'\\{}[],;= \t\n\r\u0000\u0001\u001b\u007f\u0085\u009b\u00e9\u202e\ufeff\ud83d';

type Mutation = (text: string, r: () => number, donor: string) => string;

const at = (text: string, r: () => number): number => Math.floor(r() * (text.length + 1));
const span = (r: () => number, max: number): number => 1 + Math.floor(r() * max);

const MUTATIONS: readonly Mutation[] = [
  (t, r) => {
    const i = at(t, r);
    return t.slice(0, i) + (ALPHABET[Math.floor(r() * ALPHABET.length)] ?? '') + t.slice(i + 1);
  },
  (t, r) => {
    const i = at(t, r);
    return t.slice(0, i) + t.slice(i + span(r, 64));
  },
  (t, r) => {
    const i = at(t, r);
    const j = at(t, r);
    return t.slice(0, j) + t.slice(i, i + span(r, 256)) + t.slice(j);
  },
  (t, r) => {
    const i = at(t, r);
    return t.slice(0, i) + (TOKENS[Math.floor(r() * TOKENS.length)] ?? '') + t.slice(i);
  },
  (t, r) => t.slice(0, at(t, r)),
  (t, r) => {
    const i = at(t, r);
    const depth = span(r, 3000);
    const open = r() < 0.5 ? '['.repeat(depth) : '{"k":'.repeat(depth);
    return t.slice(0, i) + open + t.slice(i);
  },
  (t, r) => {
    const i = at(t, r);
    return t.slice(0, i) + 'A'.repeat(span(r, 100_000)) + t.slice(i);
  },
  (t, r) => {
    const lines = t.split('\n');
    const a = Math.floor(r() * lines.length);
    const b = Math.floor(r() * lines.length);
    [lines[a], lines[b]] = [lines[b] ?? '', lines[a] ?? ''];
    return lines.join('\n');
  },
  (t, r, donor) => {
    const lines = t.split('\n');
    const from = donor.split('\n');
    lines.splice(Math.floor(r() * lines.length), 0, from[Math.floor(r() * from.length)] ?? '');
    return lines.join('\n');
  },
  (t, r) => {
    const numbers = [...t.matchAll(/\d+/g)];
    const m = numbers[Math.floor(r() * numbers.length)];
    if (m?.index === undefined) return t;
    const extreme = ['0', '-1', '65536', '4294967296', '1e308', '99999999999999999999'][
      Math.floor(r() * 6)
    ];
    return t.slice(0, m.index) + (extreme ?? '0') + t.slice(m.index + m[0].length);
  },
];

export interface Case {
  readonly index: number;
  readonly seed: Seed;
  readonly text: string;
  /** Which mutations were applied, for the failure message. */
  readonly mutations: readonly number[];
}

/**
 * Case `index` of the run seeded `seed`: one seed file with one to six mutations. The kind is
 * drawn first, so the few JSON files of a kind are fuzzed as often as the many dumps.
 */
export function makeCase(runSeed: number, index: number, all: readonly Seed[]): Case {
  const r = prng(runSeed * 1_000_003 + index);
  const pick = <T>(items: readonly T[]): T => {
    const item = items[Math.floor(r() * items.length)];
    if (item === undefined) throw new Error('no seed files to fuzz');
    return item;
  };
  const kind = pick([...new Set(all.map((s) => s.kind))]);
  const seed = pick(all.filter((s) => s.kind === kind));
  const donorSeed = pick(all);
  let text = readFileSync(seed.file, 'utf8');
  const donor = readFileSync(donorSeed.file, 'utf8');
  const applied: number[] = [];
  const n = 1 + Math.floor(r() * 6);
  for (let k = 0; k < n; k += 1) {
    const which = Math.floor(r() * MUTATIONS.length);
    applied.push(which);
    text = (MUTATIONS[which] as Mutation)(text, r, donor);
  }
  return { index, seed, text, mutations: applied };
}

/** Where a diagnostic points, checked against the text it points into. */
export function positionProblem(d: Diagnostic, texts: ReadonlyMap<string, string>): string | null {
  const text = texts.get(d.location.file);
  const { line, column, endLine, endColumn } = d.location;
  const where = `${d.code} at ${line}:${column}${endLine === undefined ? '' : `-${endLine}:${endColumn ?? '?'}`}`;
  if (text === undefined) {
    return line === 1 && column === 1 ? null : `${where} in ${d.location.file}, which is no input`;
  }
  const lines = text.split('\n');
  const inside = (l: number, c: number): boolean =>
    Number.isInteger(l) &&
    Number.isInteger(c) &&
    l >= 1 &&
    l <= lines.length &&
    c >= 1 &&
    c <= (lines[l - 1]?.length ?? 0) + 1;
  if (!inside(line, column)) return `${where}: outside the input (${lines.length} lines)`;
  if (endLine !== undefined || endColumn !== undefined) {
    const el = endLine ?? line;
    const ec = endColumn ?? column;
    if (!inside(el, ec)) return `${where}: its end is outside the input`;
    if (el < line || (el === line && ec < column)) return `${where}: ends before it starts`;
  }
  return null;
}

/** Codes that mean dockwall itself failed (and caught it): a bug, whatever the input. */
const INTERNAL = new Set(['internal-error', 'internal-rule-error', 'engine-error']);

/** The problems with one diagnostic list against its inputs. */
export function diagnosticProblems(
  diagnostics: readonly Diagnostic[],
  texts: ReadonlyMap<string, string>,
): string[] {
  const out: string[] = [];
  for (const d of diagnostics) {
    if (INTERNAL.has(d.code)) out.push(`${d.code}: ${d.message}`);
    const p = positionProblem(d, texts);
    if (p !== null) out.push(p);
  }
  return out;
}

/** Reads one case's text as its kind; the diagnostics it gave. */
function read(kind: Kind, text: string, file: string): readonly Diagnostic[] {
  switch (kind) {
    case 'iptables':
      return looksLikeNft(text)
        ? parseNft(text, file).diagnostics
        : parseIptables(text, { file }).diagnostics;
    case 'nft':
      return parseNft(text, file).diagnostics;
    case 'nft-json':
      return parseNft(text, file).diagnostics;
    case 'containers':
      return loadContainers(text, file, []).diagnostics;
    case 'networks':
      return loadNetworks(text, file).diagnostics;
    case 'daemon':
      return loadDaemonFile(text, file).diagnostics;
    case 'docker-version':
      return loadDockerVersion(text, file).diagnostics;
    case 'ip-addr':
      return loadIpAddr(text, file).diagnostics;
    case 'ip-route':
      return loadIpRoute(text, file).diagnostics;
    case 'ip-rule':
      return loadIpRule(text, file, file.includes('ip6-rule') ? 'ipv6' : 'ipv4').diagnostics;
    case 'listeners':
      return loadListeners(text, file).diagnostics;
    case 'sysctl':
      return loadSysctl(text, file).diagnostics;
    case 'json':
      return parseJson(text, file).diagnostics;
  }
}

/** Runs a reader case: the problems found (empty when it held). */
export function runReaderCase(c: Case): string[] {
  const file = `fuzz-${c.index}-${path.basename(c.seed.file)}`;
  try {
    return diagnosticProblems(read(c.seed.kind, c.text, file), new Map([[file, c.text]]));
  } catch (error) {
    return [`threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`];
  }
}

/** Snapshot directories the whole-pipeline cases start from. */
const SNAPSHOTS = [
  'fixtures/example-host',
  'fixtures/snapshots/28.5.2/s3-usernet-portmap',
  'fixtures/snapshots/20.10.24/s8-host-none-container-modes',
  'fixtures/snapshots/26.1.5/s3-usernet-portmap-ipv6',
];

/** A raw control character in printed output (tab and line feed are layout). */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

/**
 * A whole-pipeline case: a fixture snapshot with two of its files mutated, read and analysed
 * with every rule and the engine, then printed. Problems: exceptions, internal errors,
 * positions outside the files, raw control characters in the text and Markdown reports.
 */
export async function runSnapshotCase(
  runSeed: number,
  index: number,
): Promise<{ label: string; problems: string[] }> {
  // Run in the fuzz worker, outside any test: the case's directory is removed here.
  const dir = mkdtempSync(path.join(tmpdir(), 'dockwall-fuzz-'));
  try {
    return await snapshotCase(runSeed, index, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function snapshotCase(
  runSeed: number,
  index: number,
  dir: string,
): Promise<{ label: string; problems: string[] }> {
  const r = prng(runSeed * 7_000_003 + index);
  const base = path.join(repoRoot, SNAPSHOTS[Math.floor(r() * SNAPSHOTS.length)] ?? '');
  const texts = new Map<string, string>();
  const names = readdirSync(base).filter((n) => statSync(path.join(base, n)).isFile());
  const mutated = new Set([
    names[Math.floor(r() * names.length)],
    names[Math.floor(r() * names.length)],
  ]);
  for (const name of names) {
    let text = readFileSync(path.join(base, name), 'utf8');
    if (mutated.has(name)) {
      const n = 1 + Math.floor(r() * 4);
      for (let k = 0; k < n; k += 1) {
        text = (MUTATIONS[Math.floor(r() * MUTATIONS.length)] as Mutation)(text, r, text);
      }
    }
    writeFileSync(path.join(dir, name), text);
    texts.set(path.join(dir, name), text);
  }
  const label = `${path.relative(repoRoot, base)} with ${[...mutated].join(', ')} mutated`;
  try {
    const snapshot = await loadSnapshot({ directory: dir });
    const result = analyze(snapshot, DEFAULT_CONFIG, { rules: RULES });
    const problems = diagnosticProblems(result.diagnostics, texts);
    for (const report of [
      formatText(result, { color: false }),
      formatMarkdown(result, new Set(Object.keys(RULES))),
    ]) {
      if (RAW_CONTROL.test(report)) problems.push('a raw control character in a report');
    }
    JSON.parse(formatJson(result));
    return { label, problems };
  } catch (error) {
    return {
      label,
      problems: [
        `threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      ],
    };
  }
}
