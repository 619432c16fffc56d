/**
 * nftables chains that run before conntrack (prerouting or output below priority -200): what the
 * kernel does there, measured in a namespace (Linux 6.18, nft 1.0.6), and the engine's answers.
 */
import { describe, expect, it } from 'vitest';
import { conntrackSides } from '../../src/engine/before-conntrack.ts';
import { createEngine } from '../../src/engine/index.ts';
import { parseNft } from '../../src/ingest/nft/index.ts';
import { combineRulesets } from '../../src/model/firewall.ts';
import type { Ruleset } from '../../src/model/ruleset.ts';
import { HOST4, SSH4 } from '../support/one-host.ts';

const ruleset = (text: string): Ruleset => {
  const rs = combineRulesets(null, parseNft(text, 'ruleset.nft').ruleset, 'ipv4');
  if (rs === null) throw new Error('no ruleset');
  return rs;
};

const prerouting = (priority: string, rule: string): string =>
  `table ip t {\n\tchain c {\n\t\ttype filter hook prerouting priority ${priority}; policy accept;\n\t\t${rule}\n\t}\n}\n`;

const ssh = (rs: Ruleset) => {
  const t = createEngine(rs, HOST4).trace(SSH4);
  return `${t.verdict} ${t.certainty}`;
};

describe('nftables before conntrack', () => {
  // the kernel's outcome of a connection to the host, per rule, at `priority raw` and at -150
  const measured: readonly [string, string, string][] = [
    ['ct state new drop', 'accepted certain', 'dropped certain'],
    ['ct state invalid drop', 'dropped certain', 'accepted certain'],
    ['ct status != dnat drop', 'accepted certain', 'dropped certain'],
    ['ct mark 0 drop', 'accepted certain', 'dropped certain'],
    ['ct original ip daddr 203.0.113.1 drop', 'accepted certain', 'dropped certain'],
    // a set looked up by a key with a `ct` expression in it: the key is never made
    ['ct mark . ip saddr { 0x0 . 203.0.113.9 } drop', 'accepted certain', 'dropped certain'],
    ['ct mark . ip saddr != { 0x1 . 203.0.113.7 } drop', 'accepted certain', 'dropped certain'],
    ['ip saddr . ct mark { 203.0.113.9 . 0x0 } drop', 'accepted certain', 'dropped certain'],
  ];

  it.each(measured)('%s: as the kernel, below conntrack and above it', (rule, raw, mangle) => {
    expect(ssh(ruleset(prerouting('raw', rule)))).toBe(raw);
    expect(ssh(ruleset(prerouting('raw + 50', rule)))).toBe(raw);
    expect(ssh(ruleset(prerouting('-150', rule)))).toBe(mangle);
  });

  it('a regular chain takes the side of the base chains that call it; called from both, either', () => {
    const text = [
      'table ip t {',
      '\tchain early {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tjump shared\n\t\tjump own\n\t}',
      '\tchain late {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n\t\tjump shared\n\t}',
      '\tchain out {\n\t\ttype filter hook output priority raw - 1; policy accept;\n\t}',
      '\tchain fwd {\n\t\ttype filter hook forward priority raw; policy accept;\n\t}',
      '\tchain shared {\n\t\tct state new drop\n\t}',
      '\tchain own {\n\t}',
      '}',
      '',
    ].join('\n');
    const side = conntrackSides(ruleset(text));
    expect(['early', 'late', 'out', 'fwd', 'shared', 'own'].map((c) => side('ip t', c))).toEqual([
      'before',
      'after',
      'before',
      'after',
      'both',
      'before',
    ]);
    // the concrete trace knows its way in: through `late`, the drop holds
    expect(ssh(ruleset(text))).toBe('dropped certain');
  });

  // a chain both sides call reads the packet as each caller does: with no connection from
  // `priority raw`, with its connection from `mangle` (nft random test, seed 979376743: the
  // symbolic walk left `ct original ip daddr` undecided there, the interpreter did not)
  const shared = (rule: string): Ruleset =>
    ruleset(
      [
        'table ip t {',
        '\tchain early {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tjump shared\n\t}',
        '\tchain late {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n\t\tjump shared\n\t}',
        `\tchain shared {\n\t\t${rule}\n\t}`,
        '}',
        '',
      ].join('\n'),
    );
  const delivered = (rs: Ruleset) =>
    createEngine(rs, HOST4)
      .reach({ ingress: 'eth0', packets: { protocols: ['tcp'] } })
      .deliveredTo({ kind: 'local' });

  it.each(measured)('%s, in a chain both sides call: dropped by one of them, certainly', (rule) => {
    expect(ssh(shared(rule))).toBe('dropped certain');
    expect(delivered(shared(rule)).possible.contains(SSH4)).toBe(false);
  });

  it.each(['ct state established drop', 'ct original ip daddr 203.0.113.9 drop', 'ct mark 1 drop'])(
    '%s, in a chain both sides call: passed by both, certainly',
    (rule) => {
      expect(ssh(shared(rule))).toBe('accepted certain');
      expect(delivered(shared(rule)).certain.contains(SSH4)).toBe(true);
    },
  );
});
