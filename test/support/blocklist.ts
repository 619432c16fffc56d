/**
 * A blocklist host's shape, as CrowdSec's nftables bouncer writes it: a set of thousands of
 * public IPv4 addresses and a chain on input and forward, ahead of Docker's, that drops their
 * packets. Deterministic from a seed, for engine, audit and kernel tests.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { prng } from './prng.ts';

/** Docker 29.7.2's nftables capture, the host the blocklist tests put behind a set (from the root). */
export const BLOCKLIST_HOST_IN_REPO = 'fixtures/snapshots/29.7.2/s2a-nftables-portmap';

/** That capture, for the tests (which run from the sources; bench/blocklist.ts finds its own). */
export const BLOCKLIST_HOST = path.resolve(import.meta.dirname, '../..', BLOCKLIST_HOST_IN_REPO);

/** The table's name: `table ip <BLOCKLIST_TABLE>`. */
export const BLOCKLIST_TABLE = 'crowdsec';
const SET = 'crowdsec-blacklists';

/** First octets never drawn: private, loopback, documentation and the labs' own ranges. */
const AVOID = new Set([0, 10, 100, 127, 169, 172, 192, 198, 203, 224, 240, 255]);

/** `count` distinct public IPv4 addresses, sorted, the same for a seed; `include` added first. */
export function blocklistAddresses(
  count: number,
  seed = 1,
  include: readonly string[] = [],
): string[] {
  const next = prng(seed);
  const out = new Set<string>(include);
  while (out.size < count) {
    const first = 1 + Math.floor(next() * 223);
    if (AVOID.has(first)) continue;
    const rest = [0, 0, 0].map(() => Math.floor(next() * 256));
    out.add([first, ...rest].join('.'));
  }
  const value = (a: string): number =>
    a.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  return [...out].sort((a, b) => value(a) - value(b));
}

/** The table as `nft -f` takes it (and `nft list ruleset` prints it). */
export function blocklistNft(addresses: readonly string[]): string {
  const chain = (name: string, hook: string): string =>
    `\tchain ${name} {\n\t\ttype filter hook ${hook} priority filter - 10; policy accept;\n` +
    `\t\tip saddr @${SET} counter drop\n\t}\n`;
  return (
    `table ip ${BLOCKLIST_TABLE} {\n` +
    `\tset ${SET} {\n\t\ttype ipv4_addr\n\t\telements = { ${addresses.join(', ')} }\n\t}\n` +
    chain('crowdsec-chain-input', 'input') +
    chain('crowdsec-chain-forward', 'forward') +
    '}\n'
  );
}

/**
 * The same table as `nft -j list ruleset` objects, to append to a listing's `nftables` array.
 * `field`: what the set is matched against, the source on input and forward (a blocklist of
 * clients) or the destination on forward only (where the host does not forward to).
 */
export function blocklistNftJson(
  addresses: readonly string[],
  field: 'saddr' | 'daddr' = 'saddr',
): unknown[] {
  const base = { family: 'ip', table: BLOCKLIST_TABLE };
  const chain = (name: string, hook: string, handle: number): unknown[] => [
    {
      chain: { ...base, name, handle, type: 'filter', hook, prio: -10, policy: 'accept' },
    },
    {
      rule: {
        ...base,
        chain: name,
        handle: handle + 10,
        expr: [
          {
            match: {
              op: '==',
              left: { payload: { protocol: 'ip', field } },
              right: `@${SET}`,
            },
          },
          { counter: { packets: 0, bytes: 0 } },
          { drop: null },
        ],
      },
    },
  ];
  return [
    { table: { family: 'ip', name: BLOCKLIST_TABLE, handle: 90 } },
    { set: { ...base, name: SET, handle: 1, type: 'ipv4_addr', elem: [...addresses] } },
    // destinations: only what the host forwards (an egress blocklist)
    ...(field === 'saddr' ? chain('crowdsec-chain-input', 'input', 2) : []),
    ...chain('crowdsec-chain-forward', 'forward', 3),
  ];
}

/** Writes `host` to `dir` with the blocklist table added to its listing; returns `dir`. */
export function writeBlocklistSnapshot(
  dir: string,
  addresses: readonly string[],
  field: 'saddr' | 'daddr' = 'saddr',
  host = BLOCKLIST_HOST,
): string {
  cpSync(host, dir, { recursive: true });
  const file = path.join(dir, 'nft-ruleset.json');
  const listing = JSON.parse(readFileSync(file, 'utf8')) as { nftables: unknown[] };
  listing.nftables.push(...blocklistNftJson(addresses, field));
  writeFileSync(file, JSON.stringify(listing));
  return dir;
}
