import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNft } from '../../src/ingest/nft/index.ts';
import type { Diagnostic } from '../../src/model/diagnostic.ts';
import type { Chain, MatchOption, NftRuleset, Rule, Table } from '../../src/model/ruleset.ts';
import { tableId } from '../../src/model/ruleset.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const shared = path.resolve(repo, '../shared');
const goldens = path.join(shared, 'reference/moby-golden/nftabler');
const captures = path.join(shared, 'captures/docker-29.7.2');
const fixtures = path.join(repo, 'fixtures/nft');

function read(file: string): { ruleset: NftRuleset; diagnostics: readonly Diagnostic[] } {
  const r = parseNft(readFileSync(file, 'utf8'), file);
  if (r.ruleset === null) throw new Error(`${file}: nothing read`);
  return { ruleset: r.ruleset, diagnostics: r.diagnostics };
}

function table(rs: NftRuleset, id: string): Table {
  const t = rs.tables.find((x) => tableId(x) === id);
  if (t === undefined) throw new Error(`no table ${id}`);
  return t;
}

function chain(t: Table, name: string): Chain {
  const c = t.chains.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no chain ${name}`);
  return c;
}

function rule(t: Table, c: string, index: number): Rule {
  const r = chain(t, c).rules[index - 1];
  if (r === undefined) throw new Error(`no rule ${c}#${index}`);
  return r;
}

function options(r: Rule): MatchOption[] {
  return r.matches.flatMap((m) => m.options);
}

/** The model without what only says where and how it was written. */
function meaning(rs: NftRuleset): unknown {
  const drop = new Set(['location', 'text', 'handle', 'form', 'name', 'key', 'counters', 'file']);
  return JSON.parse(
    JSON.stringify(rs.tables, (k, v: unknown) =>
      typeof v === 'bigint' ? String(v) : drop.has(k) ? undefined : v,
    ),
  ) as unknown;
}

/** Rule lines of a listing, counted by text: lines inside chains that are not the chain's own. */
function ruleLinesByText(text: string): number {
  let inChain = false;
  let n = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (/^chain \S+ \{$/.test(line)) inChain = true;
    else if (line === '}') inChain = false;
    else if (inChain && line !== '' && !line.startsWith('type ') && !line.startsWith('policy '))
      n++;
  }
  return n;
}

describe.skipIf(!existsSync(goldens))("moby's nftabler golden rulesets (../shared)", () => {
  const files = existsSync(goldens) ? readdirSync(goldens).sort() : [];

  it('are all there', () => {
    expect(files.length).toBe(282);
  });

  it('read without a single diagnostic, every rule line a rule, every base chain placed', () => {
    let rules = 0;
    for (const f of files) {
      const file = path.join(goldens, f);
      const text = readFileSync(file, 'utf8');
      const { ruleset, diagnostics } = read(file);
      expect(diagnostics, f).toEqual([]);
      const family = f.endsWith('__ip6.golden') ? 'ip6' : 'ip';
      const t = table(ruleset, `${family} docker-bridges`);
      const all = t.chains.flatMap((c) => c.rules);
      expect(all.length, f).toBe(ruleLinesByText(text));
      rules += all.length;
      // Docker's base chains, at the priorities nftabler.go gives them
      const bases = Object.fromEntries(
        t.chains
          .filter((c) => c.base)
          .map((c) => [c.name, `${c.base?.type} ${c.base?.hook} ${c.base?.priority} ${c.policy}`]),
      );
      expect(bases, f).toEqual({
        'filter-FORWARD': 'filter forward 0 ACCEPT',
        'nat-OUTPUT': 'nat output -100 ACCEPT',
        'nat-POSTROUTING': 'nat postrouting 100 ACCEPT',
        'nat-PREROUTING': 'nat prerouting -100 ACCEPT',
        'raw-PREROUTING': 'filter prerouting -300 ACCEPT',
      });
      // nothing kept as "not understood"
      for (const r of all) {
        expect(
          r.matches.every((m) => m.known),
          `${f}: ${r.text}`,
        ).toBe(true);
        expect(r.target?.kind, `${f}: ${r.text}`).not.toBe('extension');
      }
    }
    expect(rules).toBeGreaterThan(3000);
  });

  it('reads the forward dispatch as verdict maps over the bridge name', () => {
    const f =
      'hairpin=false,internal=false,icc=true,masq=true,snat=false,gwm=nat,bindlh=false__ip.golden';
    const t = table(read(path.join(goldens, f)).ruleset, 'ip docker-bridges');
    const dispatch = rule(t, 'filter-FORWARD', 1).target;
    expect(dispatch?.kind).toBe('vmap');
    if (dispatch?.kind !== 'vmap') return;
    expect(dispatch.map).toBe('filter-forward-in-jumps');
    expect(dispatch.entries).toEqual([
      {
        when: [
          expect.objectContaining({
            type: 'interface',
            field: 'out',
            name: 'br-dummy',
            wildcard: false,
          }),
        ],
        verdict: expect.objectContaining({
          kind: 'jump',
          chain: 'filter-forward-in__br-dummy',
          goto: false,
        }) as unknown,
      },
    ]);
    // the DNAT: not from the bridge itself, tcp dport 8080 → 192.168.0.2:80
    const dnat = rule(t, 'nat-prerouting-and-output', 1);
    expect(options(dnat).map((o) => `${o.negated ? '!' : ''}${o.type}`)).toEqual([
      '!interface',
      'protocol',
      'port',
    ]);
    expect(dnat.target).toMatchObject({
      kind: 'DNAT',
      to: [{ addresses: { from: '192.168.0.2' }, ports: { from: 80, to: 80 } }],
    });
    // the base chain's `fib daddr type local` is addrtype LOCAL
    expect(options(rule(t, 'nat-PREROUTING', 1))).toEqual([
      expect.objectContaining({ type: 'addrtype', field: 'dst', types: ['LOCAL'], negated: false }),
    ]);
  });
});

describe.skipIf(!existsSync(captures))('Docker 29.7.2 captures: text and JSON listings', () => {
  for (const s of ['s1a-iptables-portmap', 's2a-nftables-portmap', 's3b-nftables-ipv6-dualstack']) {
    it(`${s}: both listings read, and to the same model where nft can print the rules`, () => {
      const text = read(path.join(captures, `${s}.nft-ruleset`));
      const json = read(path.join(captures, `${s}.nft-ruleset.json`));
      expect(text.diagnostics).toEqual([]);
      const native = (rs: NftRuleset): NftRuleset => ({
        ...rs,
        tables: rs.tables.filter((t) => !t.nft?.iptablesNft),
      });
      expect(meaning(native(json.ruleset))).toEqual(meaning(native(text.ruleset)));
      // JSON rules carry their handles; text rules their source lines
      const jr = json.ruleset.tables.flatMap((t) => t.chains.flatMap((c) => c.rules));
      expect(jr.every((r) => typeof r.handle === 'number')).toBe(true);
    });
  }

  it("s1a: iptables-nft's own tables are recognised, and what nft cannot print of them is one note each", () => {
    const json = read(path.join(captures, 's1a-iptables-portmap.nft-ruleset.json'));
    expect(
      json.ruleset.tables.map((t) => `${tableId(t)}${t.nft?.iptablesNft ? ' (iptables-nft)' : ''}`),
    ).toEqual([
      'ip nat (iptables-nft)',
      'ip filter (iptables-nft)',
      'ip6 nat (iptables-nft)',
      'ip6 filter (iptables-nft)',
      'ip raw (iptables-nft)',
    ]);
    expect(json.diagnostics.map((d) => `${d.code} ${d.location.line}`)).toEqual([
      'nft-iptables-table 10',
      'nft-iptables-table 379',
      'nft-iptables-table 1024',
    ]);
  });

  it('s2a: the per-bridge chains end in the UNPUBLISHED PORT DROP, the raw chain drops direct access', () => {
    const t = table(
      read(path.join(captures, 's2a-nftables-portmap.nft-ruleset')).ruleset,
      'ip docker-bridges',
    );
    const fwd = chain(t, 'filter-forward-in__docker0').rules;
    expect(fwd.map((r) => r.target?.kind)).toEqual([
      'ACCEPT',
      'ACCEPT',
      'ACCEPT',
      'ACCEPT',
      'DROP',
    ]);
    expect(fwd[4]?.text).toContain('UNPUBLISHED PORT DROP');
    expect(fwd[4]?.matches).toEqual([]);
    expect(fwd[0]?.counters).toEqual({ packets: 5n, bytes: 339n });
    const raw = chain(t, 'raw-PREROUTING').rules;
    expect(raw).toHaveLength(5);
    expect(raw[3]?.location).toMatchObject({ line: 59, column: 3 });
    expect(raw[3]?.text).toContain('DROP REMOTE LOOPBACK');
  });
});

describe('a ruleset of every construct the reader knows (fixtures/nft, listed by nft 1.0.6)', () => {
  const text = read(path.join(fixtures, 'constructs.nft'));
  const json = read(path.join(fixtures, 'constructs.nft.json'));
  const handles = read(path.join(fixtures, 'constructs-handles.nft'));
  const t = table(text.ruleset, 'inet op');

  it('reads text and JSON to the same model (JSON omits the ingress device and the dynamic flag)', () => {
    expect(text.diagnostics).toEqual([]);
    expect(json.diagnostics.map((d) => d.code)).toEqual(['nft-device-unknown']);
    const strip = (rs: NftRuleset) =>
      meaning({
        ...rs,
        tables: rs.tables.map((x) => ({
          ...x,
          chains: x.chains.map((c) => (c.base ? { ...c, base: { ...c.base, devices: null } } : c)),
          nft:
            x.nft === undefined
              ? undefined
              : { ...x.nft, sets: x.nft.sets.map((s) => ({ ...s, flags: [] })) },
        })),
      } as NftRuleset);
    expect(strip(json.ruleset)).toEqual(strip(text.ruleset));
  });

  it('takes rule handles from `nft -a` comments as JSON has them', () => {
    const hs = (rs: NftRuleset) =>
      rs.tables.flatMap((x) => x.chains.flatMap((c) => c.rules.map((r) => r.handle)));
    expect(hs(handles.ruleset)).toEqual(hs(json.ruleset));
    expect(hs(handles.ruleset).every((h) => typeof h === 'number')).toBe(true);
  });

  it('places base chains by type, hook, priority expression and device', () => {
    const bases = text.ruleset.tables.flatMap((x) =>
      x.chains
        .filter((c) => c.base)
        .map(
          (c) =>
            `${tableId(x)}/${c.name} ${c.base?.type} ${c.base?.hook} ${c.base?.priority} ${c.policy} ${c.base?.devices?.join(',') ?? '?'}`,
        ),
    );
    expect(bases).toEqual([
      'inet op/pre filter prerouting -301 ACCEPT ',
      'inet op/natpre nat prerouting -90 ACCEPT ',
      'inet op/post nat postrouting 100 ACCEPT ',
      'inet op/forward_op filter forward -10 DROP ',
      'netdev ing/in filter ingress -500 ACCEPT lo',
      'bridge br/f filter forward 0 ACCEPT ',
    ]);
  });

  it('reads sets: intervals, concatenations, and dynamic sets as unknown', () => {
    const allowed = options(rule(t, 'c1', 1));
    expect(allowed[0]).toMatchObject({ type: 'family', family: 'ipv4' });
    expect(allowed[1]).toMatchObject({ type: 'member', set: 'allowed' });
    const el = allowed[1]?.type === 'member' ? allowed[1].elements : null;
    expect(el?.map((e) => e.map((o) => o.type))).toEqual([['address'], ['iprange'], ['address']]);
    const svc = options(rule(t, 'c1', 2))[1];
    expect(svc?.type === 'member' ? svc.elements?.[1]?.map((o) => o.type) : null).toEqual([
      'address',
      'protocol',
      'port',
    ]);
    // `add @dyn { ip saddr }` makes the set's members a run-time matter; the rule itself drops
    expect(rule(t, 'c1', 21).target?.kind).toBe('DROP');
    expect(text.ruleset.tables[0]?.nft?.sets.find((s) => s.name === 'dyn')?.dynamic).toBe(true);
  });

  it('keeps statements in order: a mark set before the accept, a failing condition after it', () => {
    const r = rule(t, 'c1', 10);
    expect(options(r)).toEqual([
      expect.objectContaining({ type: 'mark', of: 'connection', value: 1, mask: 0xffffffff }),
    ]);
    expect(r.steps?.map((s) => (s.kind === 'statement' ? s.target.kind : 'match'))).toEqual([
      'MARK',
    ]);
    expect(r.target?.kind).toBe('ACCEPT');
    // `meta mark set meta mark | 0x4` is xmark 0x4/0x4; `ct mark set meta mark` saves it
    expect(rule(t, 'c1', 12).target).toMatchObject({ kind: 'MARK', value: 4, mask: 4 });
    expect(rule(t, 'c1', 13).target).toMatchObject({
      kind: 'CONNMARK',
      options: [{ option: 'save-mark' }],
    });
  });

  it('maps the matches real hosts use onto the typed options', () => {
    const types = (i: number) =>
      options(rule(t, 'c1', i)).map((o) => `${o.negated ? '!' : ''}${o.type}`);
    expect(types(3)).toEqual(['family', 'address', 'protocol', 'port']);
    expect(types(4)).toEqual(['protocol', 'tcp-flags']);
    expect(types(7)).toEqual(['ct-status']);
    expect(types(8)).toEqual(['family', 'ct-address', 'protocol', 'ct-port']);
    expect(types(11)).toEqual(['mark']);
    expect(types(14)).toEqual(['addrtype']);
    expect(types(15)).toEqual(['!rpfilter']);
    expect(types(16)).toEqual(['!member']);
    expect(types(17)).toEqual(['interface', '!member']);
    expect(types(18)).toEqual([
      'family',
      'protocol',
      'family',
      'protocol',
      'icmp-type',
      'stateful',
    ]);
    expect(types(23)).toEqual(['pkttype']);
    expect(types(24)).toEqual(['family', 'ttl']);
    expect(rule(t, 'c1', 17).target).toMatchObject({
      kind: 'REJECT',
      rejectWith: 'icmpx admin-prohibited',
    });
    expect(rule(t, 'c1', 20).target?.kind).toBe('NOTRACK');
  });

  it('reads verdict maps, numgen dispatch and NAT through a map', () => {
    const vm = rule(t, 'pre', 1).target;
    expect(vm).toMatchObject({ kind: 'vmap', map: 'vm' });
    expect(vm?.kind === 'vmap' ? vm.entries?.map((e) => e.verdict.kind) : null).toEqual([
      'jump',
      'DROP',
    ]);
    const ng = rule(t, 'c1', 22).target;
    expect(ng?.kind === 'vmap' ? ng.entries?.map((e) => e.when[0]?.type) : null).toEqual([
      'stateful',
      'stateful',
    ]);
    const natMap = rule(t, 'natpre', 1);
    expect(options(natMap)).toEqual([
      expect.objectContaining({ type: 'family', family: 'ipv4' }),
      expect.objectContaining({ type: 'protocol', number: 6 }),
    ]);
    expect(
      natMap.target?.kind === 'vmap' ? natMap.target.entries?.map((e) => e.verdict) : null,
    ).toEqual([
      expect.objectContaining({
        kind: 'DNAT',
        to: [{ addresses: { family: 'ipv4', from: '10.0.0.2', to: '10.0.0.2' }, ports: null }],
      }),
      expect.objectContaining({
        kind: 'DNAT',
        to: [{ addresses: { family: 'ipv4', from: '10.0.0.3', to: '10.0.0.3' }, ports: null }],
      }),
    ]);
    expect(rule(t, 'natpre', 3).target).toMatchObject({
      kind: 'DNAT',
      to: [{ addresses: { family: 'ipv6', from: 'fd00::2' }, ports: { from: 80 } }],
    });
    expect(rule(t, 'natpre', 4).target).toMatchObject({
      kind: 'REDIRECT',
      ports: { from: 3129, to: 3129 },
    });
    expect(rule(t, 'post', 1).target).toMatchObject({ kind: 'MASQUERADE', flags: ['random'] });
  });
});

describe("a reject's dependencies, which nft's listing does not show", () => {
  const text = [
    'table inet t {',
    '\tchain c {',
    '\t\ttype filter hook input priority filter; policy accept;',
    '\t\treject with tcp reset',
    '\t\treject with icmp host-unreachable',
    '\t\treject with icmpv6 admin-prohibited',
    '\t\treject with icmpx admin-prohibited',
    '\t\treject',
    '\t}',
    '}',
    'table ip u {',
    '\tchain c {',
    '\t\ttype filter hook input priority filter; policy accept;',
    '\t\treject with icmp host-unreachable',
    '\t}',
    '}',
    '',
  ].join('\n');
  const rs = parseNft(text, 'rejects.nft').ruleset;
  if (rs === null) throw new Error('nothing read');
  const deps = (id: string, i: number) =>
    options(rule(table(rs, id), 'c', i)).map((o) =>
      o.type === 'family' ? o.family : o.type === 'protocol' ? o.name : o.type,
    );

  it('TCP for a reset, the family for an ICMP type in a table of both', () => {
    // the kernel's rules (nft --debug=netlink): `meta l4proto tcp`, `meta nfproto ipv4` / `ipv6`
    expect([1, 2, 3, 4, 5].map((i) => deps('inet t', i))).toEqual([
      ['tcp'],
      ['ipv4'],
      ['ipv6'],
      [],
      [],
    ]);
    expect(deps('ip u', 1)).toEqual([]);
  });
});

describe('what cannot be read is located, kept, and the rest still read', () => {
  it('an expression nft knows but dockwall does not model: a warning at it, the rule only possible', () => {
    const text =
      'table ip t {\n\tchain c {\n\t\tip dscp cs1 drop\n\t\ttcp dport 22 accept\n\t}\n}\n';
    const r = parseNft(text, 'x.nft');
    expect(r.diagnostics.map((d) => `${d.code} ${d.location.line}:${d.location.column}`)).toEqual([
      'unsupported-nft-expression 3:3',
    ]);
    const rules = r.ruleset?.tables[0]?.chains[0]?.rules ?? [];
    expect(rules.map((x) => x.matches.map((m) => m.known))).toEqual([[false], [true]]);
    expect(rules[0]?.matches[0]?.options[0]).toMatchObject({
      type: 'opaque',
      option: 'ip dscp cs1',
    });
    expect(rules[0]?.target?.kind).toBe('DROP');
  });

  it('a word that starts nothing: a parse error there, the rule kept with its unread rest', () => {
    const text =
      'table inet f {\n  chain input {\n    type filter hook input priority 0; policy drop;\n    iifname "lo" frobnicate 7 accept\n    tcp dport 22 accept\n  }\n}\n';
    const r = parseNft(text, 'x.nft');
    expect(r.diagnostics.map((d) => `${d.code} ${d.location.line}:${d.location.column}`)).toEqual([
      'parse-error 4:18',
      'unsupported-nft-statement 4:18',
    ]);
    const c = r.ruleset?.tables[0]?.chains[0];
    expect(c?.policy).toBe('DROP');
    expect(c?.rules.map((x) => x.target?.kind)).toEqual(['extension', 'ACCEPT']);
  });

  it.each([
    ['parentheses', `tcp dport ${'('.repeat(100_000)}80${')'.repeat(100_000)} accept`],
    [
      'a chain of binary operators',
      `meta mark ${Array<string>(100_000).fill('1').join(' | ')} accept`,
    ],
  ])('values nested by %s past 64 levels: an error in that rule, the others read', (_, bomb) => {
    const text = `table inet f {\n  chain input {\n    type filter hook input priority 0; policy drop;\n    tcp dport 22 accept\n    ${bomb}\n    tcp dport 443 accept\n  }\n}\n`;
    const r = parseNft(text, 'x.nft');
    const deep = r.diagnostics.find((d) => d.message.includes('nested deeper than 64 levels'));
    expect(deep?.code).toBe('parse-error');
    expect(deep?.location.line).toBe(5);
    expect(r.diagnostics.map((d) => d.code)).not.toContain('internal-error');
    const rules = r.ruleset?.tables[0]?.chains[0]?.rules ?? [];
    expect(rules.map((x) => x.target?.kind)).toEqual(['ACCEPT', 'extension', 'ACCEPT']);
  });

  it('a table listed twice: an error at the second, the first kept', () => {
    const table = (port: number): string =>
      `table inet f {\n  chain input {\n    type filter hook input priority 0; policy drop;\n    tcp dport ${port} accept\n  }\n}\n`;
    const r = parseNft(`${table(22)}${table(80)}table ip g {\n}\n`, 'x.nft');
    const dup = r.diagnostics.filter((d) => d.code === 'duplicate-table');
    expect(dup.map((d) => d.location.line)).toEqual([7]);
    expect(r.ruleset?.tables.map((t) => t.name)).toEqual(['f', 'g']);
    const kept = r.ruleset?.tables[0]?.chains[0]?.rules[0];
    expect(kept?.text).toContain('22');
  });

  it('a missing closing brace: an error at the end, the chains before it read', () => {
    const r = parseNft('table ip t {\n\tchain c {\n\t\taccept\n\t}\n', 'x.nft');
    expect(r.diagnostics.map((d) => d.code)).toContain('parse-error');
    expect(r.ruleset?.tables).toHaveLength(1);
  });

  it('a port set cut short: an error at the word that is no port, the ruleset still read', () => {
    // found by the fuzzer: `tcp dport {` ran on into the next rule, and `tcp` as a port
    // threw past the reader, which then used nothing of the listing
    const r = parseNft(
      'table inet f {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n' +
        '\t\ttcp dport {\n\t\ttcp dport 8001 accept\n\t\tudp dport 53 drop\n\t}\n}\n',
      'x.nft',
    );
    const codes = r.diagnostics.map((d) => `${d.code} ${d.location.line}`);
    expect(codes).toContain('nft-invalid-value 5');
    expect(codes.some((c) => c.startsWith('internal-error'))).toBe(false);
    expect(r.ruleset?.tables[0]?.chains[0]?.policy).toBe('DROP');
  });

  it('a set nobody declared: an error, and its members unknown', () => {
    const r = parseNft('table ip t {\n\tchain c {\n\t\tip saddr @nope drop\n\t}\n}\n', 'x.nft');
    expect(r.diagnostics.map((d) => `${d.code} ${d.location.line}`)).toEqual(['nft-unknown-set 3']);
    expect(r.ruleset?.tables[0]?.chains[0]?.rules[0]?.matches[0]?.options[0]).toMatchObject({
      type: 'member',
      elements: null,
    });
  });

  it('malformed JSON objects: located errors, the good objects still read', () => {
    const json = JSON.stringify(
      {
        nftables: [
          { table: { family: 'ip', name: 't', handle: 1 } },
          {
            chain: {
              family: 'ip',
              table: 't',
              name: 'c',
              handle: 2,
              type: 'filter',
              hook: 'input',
              prio: 0,
              policy: 'drop',
            },
          },
          { rule: { family: 'ip', table: 't', chain: 'missing', expr: [] } },
          {
            rule: {
              family: 'ip',
              table: 't',
              chain: 'c',
              handle: 3,
              expr: [
                { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'lo' } },
                { accept: null },
              ],
            },
          },
          'nonsense',
        ],
      },
      null,
      1,
    );
    const r = parseNft(json, 'x.json');
    expect(r.diagnostics.map((d) => `${d.code} ${d.location.line}`)).toEqual([
      expect.stringMatching(/^nft-json-invalid \d+$/),
      expect.stringMatching(/^nft-json-invalid \d+$/),
    ]);
    expect(r.ruleset?.tables[0]?.chains[0]?.rules[0]?.text).toBe('iifname "lo" accept');
  });

  it('a counter that is no count (1e999 reads as Infinity): an error there, the rule read', () => {
    // found by the fuzzer: BigInt(Infinity) threw past the reader, which used nothing
    const json = [
      '{"nftables": [',
      '{"table": {"family": "ip", "name": "t", "handle": 1}},',
      '{"chain": {"family": "ip", "table": "t", "name": "c", "handle": 2, "type": "filter",',
      '  "hook": "input", "prio": 0, "policy": "drop"}},',
      '{"rule": {"family": "ip", "table": "t", "chain": "c", "handle": 3, "expr": [',
      '  {"counter": {"packets": 1e999, "bytes": 2.5}},',
      '  {"accept": null}]}}',
      ']}',
    ].join('\n');
    const r = parseNft(json, 'x.json');
    expect(r.diagnostics.map((d) => `${d.code} ${d.location.line}`)).toEqual([
      'nft-json-invalid 6',
      'nft-json-invalid 6',
    ]);
    expect(r.diagnostics.map((d) => d.message).join(' ')).toContain('Infinity is not a count');
    expect(r.ruleset?.tables[0]?.chains[0]?.rules).toHaveLength(1);
  });

  it('not JSON of nft: an error, nothing read', () => {
    const r = parseNft('{"table": 1}', 'x.json');
    expect(r.ruleset).toBeNull();
    expect(r.diagnostics.map((d) => d.code)).toEqual(['wrong-type']);
  });
});
