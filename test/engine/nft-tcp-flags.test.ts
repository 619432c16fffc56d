/**
 * nftables' TCP flag tests on a connection's first packet (SYN alone), as the kernel decides
 * them: measured in a namespace (nft 1.0.6), each rule's counter after one connection attempt.
 * nft 1.0.6 lists an exact comparison with several flags as a number (`tcp flags != fin,syn`
 * as `!= 0x3`, JSON `"right": 3`), which dockwall had left unmodelled.
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/index.ts';
import { parseNft } from '../../src/ingest/nft/index.ts';
import { combineRulesets } from '../../src/model/firewall.ts';
import type { Ruleset } from '../../src/model/ruleset.ts';
import { HOST4, SSH4 } from '../support/one-host.ts';

/** Rule as `nft list ruleset` prints it → whether the kernel counted the SYN. */
const MEASURED: readonly [string, boolean][] = [
  ['tcp flags syn', true],
  ['tcp flags == syn', true],
  ['tcp flags fin,syn', true],
  ['tcp flags syn,ack', true],
  ['tcp flags { syn, ack }', true],
  ['tcp flags ack', false],
  ['tcp flags != syn', false],
  ['tcp flags != 0x3', true],
  ['tcp flags != 0x5', true],
  ['tcp flags != { fin, rst }', true],
  ['tcp flags == 0x12', false],
  ['tcp flags syn / fin,syn,rst,ack', true],
  ['tcp flags & (fin | syn | rst | ack) == syn', true],
  ['tcp flags syn,ack / syn,ack', false],
  ['tcp flags != syn / fin,syn,rst,ack', false],
  ['tcp flags & 0x12 == 0x2', true],
];

const read = (text: string, file: string): { rs: Ruleset; diagnostics: string[] } => {
  const r = parseNft(text, file);
  const rs = combineRulesets(null, r.ruleset, 'ipv4');
  if (rs === null) throw new Error('no ruleset');
  return { rs, diagnostics: r.diagnostics.map((d) => d.message) };
};

const ssh = (rs: Ruleset): string => {
  const t = createEngine(rs, HOST4).trace(SSH4);
  return `${t.verdict} ${t.certainty}`;
};

describe('nftables tcp flags on the first packet', () => {
  it.each(MEASURED)('%s: as the kernel', (test, counted) => {
    const text = `table ip t {\n\tchain c {\n\t\ttype filter hook input priority filter; policy accept;\n\t\t${test} drop\n\t}\n}\n`;
    const { rs, diagnostics } = read(text, 'ruleset.nft');
    expect(diagnostics).toEqual([]);
    expect(ssh(rs)).toBe(counted ? 'dropped certain' : 'accepted certain');
  });

  it('reads the numbers of `nft -j` as the text', () => {
    const flags = { payload: { protocol: 'tcp', field: 'flags' } };
    const rule = (op: string, right: unknown, handle: number) => ({
      rule: {
        ...{ family: 'ip', table: 't', chain: 'c', handle },
        expr: [{ match: { op, left: flags, right } }, { drop: null }],
      },
    });
    const json = (r: unknown) =>
      JSON.stringify({
        nftables: [
          { table: { family: 'ip', name: 't', handle: 1 } },
          {
            chain: {
              ...{ family: 'ip', table: 't', name: 'c', handle: 1 },
              ...{ type: 'filter', hook: 'input', prio: 0, policy: 'accept' },
            },
          },
          r,
        ],
      });
    const verdict = (op: string, right: unknown) => {
      const { rs, diagnostics } = read(json(rule(op, right, 2)), 'ruleset.json');
      expect(diagnostics).toEqual([]);
      return ssh(rs);
    };
    expect(verdict('!=', 3)).toBe('dropped certain');
    expect(verdict('==', 18)).toBe('accepted certain');
    expect(verdict('==', 2)).toBe('dropped certain');
  });

  it('leaves ECE and CWR, which the model does not know, unmodelled', () => {
    const text = `table ip t {\n\tchain c {\n\t\ttype filter hook input priority filter; policy accept;\n\t\ttcp flags == 0xc2 drop\n\t}\n}\n`;
    const { rs, diagnostics } = read(text, 'ruleset.nft');
    expect(diagnostics).toEqual([
      'nftables expression not modelled: tcp flags 194; rules that depend on it are only possible',
    ]);
    expect(ssh(rs)).toBe('dropped possible');
  });
});
