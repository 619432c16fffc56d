/** The semantic layer: negation, masks, restore commands, -S listings, diagnostics. */
import { describe, expect, it } from 'vitest';
import { parseIptables } from '../../../src/ingest/iptables/index.ts';
import type { Family, Rule } from '../../../src/model/ruleset.ts';
import { printRule, printRuleset } from '../../../src/model/print-ruleset.ts';

function rules(text: string, family?: Family): { rules: Rule[]; codes: string[] } {
  const r = parseIptables(text, family === undefined ? { file: 'f' } : { file: 'f', family });
  return {
    rules: r.ruleset.tables.flatMap((t) => t.chains.flatMap((c) => c.rules)),
    codes: r.diagnostics.map((d) => d.code),
  };
}

const filter = (body: string): string =>
  `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${body}\nCOMMIT\n`;

describe('negation', () => {
  it('reads extrapositioned and old intrapositioned negation alike, with a dialect note', () => {
    const a = rules(filter('-A INPUT ! -s 10.0.0.0/8 -p tcp ! --dport 22 -j DROP'));
    const b = rules(filter('-A INPUT -s ! 10.0.0.0/8 -p tcp --dport ! 22 -j DROP'));
    expect(a.rules.map(printRule)).toEqual([
      '-A INPUT ! -s 10.0.0.0/8 -p tcp -m tcp ! --dport 22 -j DROP',
    ]);
    expect(b.rules.map(printRule)).toEqual(a.rules.map(printRule));
    expect(a.codes).toEqual([]);
    expect(b.codes).toEqual(['dialect-note']);
  });

  it('does not take the ! after a flag option for intrapositioned negation', () => {
    const r = rules(filter('-A INPUT -p tcp -m ecn ! --ecn-tcp-ece ! --ecn-tcp-cwr -j DROP'));
    expect(r.rules.map(printRule)).toEqual([
      '-A INPUT -p tcp -m ecn ! --ecn-tcp-ece ! --ecn-tcp-cwr -j DROP',
    ]);
    const o = r.rules[0]?.matches[0]?.options ?? [];
    expect(o.map((x) => x.negated)).toEqual([true, true]);
  });

  it('keeps the negation between two options of one match (statistic)', () => {
    const r = rules(filter('-A INPUT -m statistic --mode random ! --probability 0.25 -j DROP'));
    expect(r.rules.map(printRule)).toEqual([
      '-A INPUT -m statistic --mode random ! --probability 0.25000000000 -j DROP',
    ]);
  });

  it('reports a doubled !', () => {
    expect(rules(filter('-A INPUT ! ! -s 1.2.3.4 -j DROP')).codes).toContain('parse-error');
  });
});

describe('addresses and masks', () => {
  it('clears host bits, keeps non-contiguous masks dotted, notes dotted contiguous masks', () => {
    const r = rules(
      filter('-A INPUT -s 10.11.12.13/255.0.255.0 -d 10.1.2.3/255.255.0.0 -j ACCEPT'),
    );
    expect(r.rules.map(printRule)).toEqual([
      '-A INPUT -s 10.0.12.0/255.0.255.0 -d 10.1.0.0/16 -j ACCEPT',
    ]);
    const src = r.rules[0]?.core[0];
    expect(src?.type === 'address' ? src.value.prefixLength : 'x').toBeNull();
    expect(r.codes).toEqual(['dialect-note']);
  });

  it('normalises IPv6 full masks to a prefix length and hosts to /128', () => {
    const r = rules(
      filter('-A INPUT -s fe80::1/ffff:ffff:ffff:ffff:: -d 2001:db8::1 -j ACCEPT'),
      'ipv6',
    );
    expect(r.rules.map(printRule)).toEqual(['-A INPUT -s fe80::/64 -d 2001:db8::1/128 -j ACCEPT']);
  });

  it('expands comma lists into the cartesian product of rules', () => {
    const r = rules(filter('-A INPUT -s 1.1.1.1,2.2.2.0/24 -d 3.3.3.3,4.4.4.4 -j ACCEPT'));
    expect(r.rules.map(printRule)).toEqual([
      '-A INPUT -s 1.1.1.1/32 -d 3.3.3.3/32 -j ACCEPT',
      '-A INPUT -s 1.1.1.1/32 -d 4.4.4.4/32 -j ACCEPT',
      '-A INPUT -s 2.2.2.0/24 -d 3.3.3.3/32 -j ACCEPT',
      '-A INPUT -s 2.2.2.0/24 -d 4.4.4.4/32 -j ACCEPT',
    ]);
    expect(r.rules.map((x) => x.index)).toEqual([1, 2, 3, 4]);
  });

  it('diagnoses host names and keeps the rule with an unknown address match', () => {
    const r = rules(filter('-A INPUT -s mirror.example.org -j ACCEPT'));
    expect(r.codes).toEqual(['hostname-address']);
    expect(r.rules[0]?.core[0]?.type).toBe('opaque');
  });
});

describe('restore commands', () => {
  it('applies -N -I -D -R -E -F -X -P in order', () => {
    const text = [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      '-N A',
      '-N GONE',
      '-A INPUT -s 1.1.1.1 -j ACCEPT',
      '-A INPUT -s 2.2.2.2 -j ACCEPT',
      '-I INPUT -s 3.3.3.3 -j DROP',
      '-I INPUT 2 -s 4.4.4.4 -j DROP',
      '-D INPUT -s 1.1.1.1/32 -j ACCEPT',
      '-R INPUT 3 -s 5.5.5.5 -j A',
      '-A GONE -j DROP',
      '-F GONE',
      '-X GONE',
      '-E A B',
      '-P INPUT DROP',
      'COMMIT',
      '',
    ].join('\n');
    const r = parseIptables(text, { file: 'r' });
    expect(r.diagnostics).toEqual([]);
    expect(printRuleset(r.ruleset)).toBe(
      [
        '*filter',
        ':INPUT DROP [0:0]',
        ':FORWARD ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':B - [0:0]',
        '-A INPUT -s 3.3.3.3/32 -j DROP',
        '-A INPUT -s 4.4.4.4/32 -j DROP',
        '-A INPUT -s 5.5.5.5/32 -j B',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('reports jumps to undeclared chains and duplicate chains', () => {
    const r = parseIptables(filter(':X - [0:0]\n:X - [0:0]\n-A INPUT -j NOWHERE'), { file: 'f' });
    expect(r.diagnostics.map((d) => d.code).sort()).toEqual(['duplicate-chain', 'unknown-chain']);
  });
});

describe('listing and dialect formats', () => {
  it('reads iptables -v -S output with counters before the target', () => {
    const text =
      '-P INPUT DROP -c 100 20000\n-P FORWARD ACCEPT -c 0 0\n-P OUTPUT ACCEPT -c 0 0\n-N a\n-A INPUT -i lo -c 5 300 -j ACCEPT\n-A INPUT -c 0 0 -j a\n';
    const r = parseIptables(text, { file: 's' });
    expect(r.ruleset.kind).toBe('list-rules');
    const input = r.ruleset.tables[0]?.chains[0];
    expect(input?.policy).toBe('DROP');
    expect(input?.counters).toEqual({ packets: 100n, bytes: 20000n });
    expect(input?.rules[0]?.counters).toEqual({ packets: 5n, bytes: 300n });
    expect(r.diagnostics.map((d) => d.code)).toEqual(['dialect-note']);
  });

  it('reports what iptables-nft-save says it left out: legacy tables, a table it cannot print', () => {
    const r = parseIptables(
      [
        '# Warning: iptables-legacy tables present, use iptables-legacy-save to see them',
        '# Generated by iptables-nft-save v1.8.9 (nf_tables) on Mon Dec  7 10:00:00 2026',
        "# Table `filter' is incompatible, use 'nft' tool.",
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        'COMMIT',
        '',
      ].join('\n'),
      { file: 'rules' },
    );
    expect(
      r.diagnostics
        .filter((d) => d.code === 'partial-input')
        .map((d) => [d.severity, d.location.line, d.location.column, d.message]),
    ).toEqual([
      [
        'warning',
        1,
        1,
        'the host also has iptables-legacy tables, which this dump does not show: the kernel runs their rules as well, and they are not analysed (iptables-legacy-save prints them)',
      ],
      [
        'warning',
        3,
        1,
        'table filter is not in this dump (iptables cannot print its rules): the kernel runs them, and they are not analysed (nft list ruleset shows them)',
      ],
    ]);
  });

  it('infers the nat table of a -S listing from its -P lines', () => {
    const r = parseIptables(
      '-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n-N DOCKER\n',
      { file: 's' },
    );
    expect(r.ruleset.tables.map((t) => t.name)).toEqual(['nat']);
  });

  it('tolerates CRLF, trailing blanks and a missing COMMIT with dialect notes only', () => {
    const r = parseIptables(
      '*filter\r\n:INPUT ACCEPT [0:0]\r\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT \r\n',
      { file: 'c' },
    );
    expect(r.diagnostics.every((d) => d.code === 'dialect-note')).toBe(true);
    expect(r.diagnostics).toHaveLength(3);
    expect(r.ruleset.tables[0]?.chains[0]?.rules[0]?.text).toBe(
      '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT ',
    );
  });

  it('locates foreign lines of a transcript and still reads the rules', () => {
    const text =
      'root@host:~# iptables-save\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\nroot@host:~# exit\n';
    const r = parseIptables(text, { file: 't' });
    expect(
      r.diagnostics
        .filter((d) => d.code === 'parse-error')
        .map((d) => [d.location.line, d.location.column]),
    ).toEqual([
      [1, 1],
      [6, 1],
    ]);
    expect(r.ruleset.tables[0]?.chains[0]?.rules).toHaveLength(1);
  });

  it('reports an unterminated quote at the quote and keeps the rule without target', () => {
    const r = parseIptables(filter('-A INPUT -m comment --comment "abc -j ACCEPT'), { file: 'q' });
    const d = r.diagnostics.find((x) => x.code === 'unterminated-quote');
    expect(d?.location).toMatchObject({ line: 5, column: 31 });
    expect(r.ruleset.tables[0]?.chains[0]?.rules[0]?.target).toBeNull();
  });

  it('keeps unknown modules and targets whole, with warnings', () => {
    const r = parseIptables(filter('-A INPUT -m weird --foo 1 2 -j WEIRD --bar x'), { file: 'u' });
    expect(r.diagnostics.map((d) => d.code).sort()).toEqual([
      'unsupported-match',
      'unsupported-target',
    ]);
    const rule = r.ruleset.tables[0]?.chains[0]?.rules[0];
    expect(rule && printRule(rule)).toBe('-A INPUT -m weird --foo 1 2 -j WEIRD --bar x');
  });
});

describe('address family', () => {
  it('follows the ip6tables-save header, else the addresses', () => {
    expect(
      parseIptables('# Generated by ip6tables-save v1.8.9 on x\n*filter\nCOMMIT\n', { file: 'a' })
        .ruleset.family,
    ).toBe('ipv6');
    expect(
      parseIptables(filter('-A INPUT -s 2001:db8::/32 -j ACCEPT'), { file: 'b' }).ruleset.family,
    ).toBe('ipv6');
    expect(
      parseIptables(filter('-A INPUT -s 10.0.0.0/8 -j ACCEPT'), { file: 'c' }).ruleset.family,
    ).toBe('ipv4');
    const forced = parseIptables(filter('-A INPUT -s 10.0.0.0/8 -j ACCEPT'), {
      file: 'd',
      family: 'ipv6',
    });
    expect(forced.ruleset.family).toBe('ipv6');
    expect(forced.diagnostics.map((d) => d.code)).toEqual(['invalid-value']);
  });
});

describe('large input', () => {
  it('keeps line numbers exact across lexer chunks', () => {
    const body: string[] = ['*filter', ':INPUT ACCEPT [0:0]'];
    for (let i = 0; i < 4000; i++)
      body.push(`-A INPUT -s 10.0.${i >> 8}.${i & 255} -p tcp -m tcp --dport ${i} -j ACCEPT`);
    body[3000] = 'root@host:~# oops';
    body.push('', '-A INPUT -m comment --comment "unclosed', 'COMMIT', '');
    const r = parseIptables(body.join('\n'), { file: 'big' });
    expect(body.join('\n').length).toBeGreaterThan(3 * 65536);
    expect(r.diagnostics.map((d) => [d.code, d.location.line, d.location.column])).toEqual([
      ['parse-error', 3001, 1],
      ['unterminated-quote', 4004, 31],
    ]);
    const rules = r.ruleset.tables[0]?.chains[0]?.rules ?? [];
    expect(rules).toHaveLength(4000);
    expect(rules[3500]?.location.line).toBe(3504);
    expect(rules[3500]?.text).toBe(body[3503]);
  });
});
