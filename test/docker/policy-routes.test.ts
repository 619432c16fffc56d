import { describe, expect, it } from 'vitest';
import { applyPolicyRules, type PolicyInput } from '../../src/docker/policy-routes.ts';
import type { ContextDeadEnd, ContextRoute } from '../../src/engine/context.ts';
import { loadIpRoute, loadIpRule } from '../../src/ingest/ip.ts';
import type { Family } from '../../src/model/ruleset.ts';
import { DEFAULT_RULES, WG_QUICK_RULES } from '../support/policy-rules.ts';

const MAIN = [
  { dst: 'default', gateway: '192.0.2.1', dev: 'eth0' },
  { dst: '192.0.2.0/24', dev: 'eth0', prefsrc: '192.0.2.10' },
  { dst: '172.17.0.0/16', dev: 'docker0', prefsrc: '172.17.0.1' },
];

function input(
  rules: readonly object[] | undefined,
  routes: readonly object[],
  family: Family = 'ipv4',
): PolicyInput {
  const tables = loadIpRoute(JSON.stringify(routes), 'ip-route.json').routes;
  const main: ContextRoute[] = tables
    .filter((r) => r.table === 'main' && r.type === 'unicast' && r.device !== null)
    .map((r) => ({
      destination: r.destination,
      device: r.device ?? '',
      ...(r.source === null ? {} : { source: r.source }),
    }));
  const deadEnds: ContextDeadEnd[] = tables
    .filter((r) => r.table === 'main' && r.type === 'blackhole')
    .map((r) => ({ destination: r.destination, type: 'blackhole' }));
  const parsed =
    rules === undefined ? undefined : loadIpRule(JSON.stringify(rules), 'ip-rule.json', family);
  if (parsed !== undefined) expect(parsed.diagnostics).toEqual([]);
  return {
    family,
    rules: parsed?.rules,
    ruleFile: 'ip-rule.json',
    tables,
    routes: main,
    deadEnds,
    sourceOf: () => null,
    unknownInterface: '*other*',
  };
}

/** The device and provenance the folded table routes `address` by (longest prefix). */
function routeTo(
  routes: readonly ContextRoute[],
  deadEnds: readonly ContextDeadEnd[],
  address: string,
): string {
  const toNumber = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const entry = (destination: string): { lo: number; length: number } => {
    const [a, l] = destination === 'default' ? ['0.0.0.0', '0'] : destination.split('/');
    return { lo: toNumber(a ?? ''), length: Number(l) };
  };
  const holds = (destination: string): number => {
    const { lo, length } = entry(destination);
    const size = 2 ** (32 - length);
    const x = toNumber(address);
    return x >= lo && x < lo + size ? length : -1;
  };
  let best = -1;
  let answer = 'no route';
  for (const d of deadEnds) {
    const l = holds(d.destination);
    if (l >= best && l >= 0) {
      best = l;
      answer = d.type;
    }
  }
  for (const r of routes) {
    const l = holds(r.destination);
    if (l > best) {
      best = l;
      answer = `${r.device} ${r.provenance ?? 'observed'}`;
    }
  }
  return answer;
}

describe('policy routing folded into the main table', () => {
  it('leaves the main table alone under the kernel’s default rules', () => {
    const i = input(DEFAULT_RULES, [...MAIN, { dst: 'default', dev: 'wg0', table: '51820' }]);
    const out = applyPolicyRules(i);
    expect(out.routes).toBe(i.routes);
    expect(out.notes).toEqual([]);
  });

  it('keeps the routes wg-quick’s suppressing rule decides, and doubts what its tunnel takes', () => {
    const out = applyPolicyRules(
      input(WG_QUICK_RULES, [...MAIN, { dst: 'default', dev: 'wg0', table: '51820' }]),
    );
    // a route longer than /0 in the main table decides before the tunnel's rule
    expect(routeTo(out.routes, out.deadEnds, '172.17.0.2')).toBe('docker0 observed');
    expect(routeTo(out.routes, out.deadEnds, '192.0.2.77')).toBe('eth0 observed');
    // the rest goes by wg0 unless the packet carries wg's mark: the default route is a guess
    expect(routeTo(out.routes, out.deadEnds, '198.51.100.7')).toBe('eth0 assumed');
    expect(routeTo(out.routes, out.deadEnds, '8.8.8.8')).toBe('eth0 assumed');
    expect(out.notes).toHaveLength(1);
    expect(out.notes[0]?.text).toMatch(
      /^`32765: not from all fwmark 0xca6c lookup 51820` may route 0\.0\.0\.0\/1, .* otherwise than the main table \(only possible\)$/,
    );
    expect(out.notes[0]?.provenance).toBe('observed');
  });

  it('lets a table looked up for every packet decide before the main table, longer routes too', () => {
    const out = applyPolicyRules(
      input(
        [...DEFAULT_RULES, { priority: 100, src: 'all', table: '100' }],
        [
          ...MAIN,
          { dst: '10.1.0.0/16', dev: 'eth1' },
          { dst: '10.0.0.0/8', dev: 'tun0', table: '100' },
          { dst: '10.2.0.0/16', type: 'throw', table: '100' },
        ],
      ),
    );
    expect(routeTo(out.routes, out.deadEnds, '10.1.2.3')).toBe('tun0 observed');
    expect(routeTo(out.routes, out.deadEnds, '10.9.9.9')).toBe('tun0 observed');
    // the throw route sends on to the main table, whose default route decides
    expect(routeTo(out.routes, out.deadEnds, '10.2.0.1')).toBe('eth0 observed');
    expect(routeTo(out.routes, out.deadEnds, '172.17.0.2')).toBe('docker0 observed');
    expect(out.routes.some((r) => r.destination === '10.1.0.0/16' && r.device === 'eth1')).toBe(
      false,
    );
    expect(out.notes[0]?.text).toMatch(/^`100: from all lookup 100` decides the route to /);
  });

  it('sends on by a throw route of the main table, to no route where no rule routes it', () => {
    const routes = [...MAIN, { dst: '172.17.9.0/24', type: 'throw' }];
    for (const rules of [DEFAULT_RULES, undefined]) {
      const out = applyPolicyRules(input(rules, routes));
      expect(routeTo(out.routes, out.deadEnds, '172.17.9.1')).toBe('unreachable');
      expect(routeTo(out.routes, out.deadEnds, '172.17.8.1')).toBe('docker0 observed');
      expect(out.deadEnds.find((d) => d.destination === '172.17.9.0/24')?.by).toBe(
        rules === undefined
          ? 'with no ip-rule.json, the end of the rules (none routes it)'
          : 'the end of the rules (none routes it)',
      );
      expect(out.notes.map((n) => n.text)).toEqual([
        'none of the policy rules routes 172.17.9.0/24',
      ]);
    }
    // a table after the main table routes it
    const later = applyPolicyRules(
      input(DEFAULT_RULES, [...routes, { dst: '172.17.0.0/16', dev: 'eth7', table: 'default' }]),
    );
    expect(routeTo(later.routes, later.deadEnds, '172.17.9.1')).toBe('eth7 observed');
  });

  it('drops what a rule sends nowhere, to its prefix alone', () => {
    const out = applyPolicyRules(
      input(
        [
          ...DEFAULT_RULES,
          { priority: 50, src: 'all', dst: '172.17.5.0', dstlen: 24, action: 'unreachable' },
        ],
        MAIN,
      ),
    );
    expect(routeTo(out.routes, out.deadEnds, '172.17.5.9')).toBe('unreachable');
    expect(out.deadEnds).toContainEqual({
      destination: '172.17.5.0/24',
      type: 'unreachable',
      by: '`50: from all to 172.17.5.0/24 unreachable`',
    });
    expect(routeTo(out.routes, out.deadEnds, '172.17.6.9')).toBe('docker0 observed');
  });

  it('doubts what a rule by mark may send nowhere', () => {
    const out = applyPolicyRules(
      input(
        [
          ...DEFAULT_RULES,
          {
            priority: 5250,
            src: 'all',
            fwmark: '0x80000',
            fwmask: '0xff0000',
            action: 'unreachable',
          },
        ],
        MAIN,
      ),
    );
    expect(routeTo(out.routes, out.deadEnds, '172.17.0.2')).toBe('docker0 assumed');
    expect(routeTo(out.routes, out.deadEnds, '8.8.8.8')).toBe('eth0 assumed');
  });

  it('reads Tailscale’s rules: its own table’s peers doubted, the rest as the main table says', () => {
    const out = applyPolicyRules(
      input(
        [
          { priority: 0, src: 'all', table: 'local' },
          { priority: 5210, src: 'all', fwmark: '0x80000', fwmask: '0xff0000', table: 'main' },
          { priority: 5230, src: 'all', fwmark: '0x80000', fwmask: '0xff0000', table: 'default' },
          {
            priority: 5250,
            src: 'all',
            fwmark: '0x80000',
            fwmask: '0xff0000',
            action: 'unreachable',
          },
          { priority: 5270, src: 'all', table: '52' },
          { priority: 32766, src: 'all', table: 'main' },
          { priority: 32767, src: 'all', table: 'default' },
        ],
        [
          ...MAIN,
          { dst: '100.100.100.100', dev: 'tailscale0', table: '52' },
          { dst: '100.64.0.7', dev: 'tailscale0', table: '52' },
        ],
      ),
    );
    // Tailscale's own packets (marked) take the main table; the others table 52
    expect(routeTo(out.routes, out.deadEnds, '100.64.0.7')).toBe('eth0 assumed');
    expect(routeTo(out.routes, out.deadEnds, '100.64.0.8')).toBe('eth0 observed');
    expect(routeTo(out.routes, out.deadEnds, '172.17.0.2')).toBe('docker0 observed');
  });

  it('without ip rule output, doubts what another table’s routes cover', () => {
    const out = applyPolicyRules(
      input(undefined, [...MAIN, { dst: '203.0.113.0/24', dev: 'wg0', table: '51820' }]),
    );
    expect(routeTo(out.routes, out.deadEnds, '203.0.113.5')).toBe('eth0 assumed');
    expect(routeTo(out.routes, out.deadEnds, '172.17.0.2')).toBe('docker0 observed');
    expect(out.notes[0]?.provenance).toBe('assumed');
    expect(out.notes[0]?.evidence).toMatch(/^no ip-rule\.json/);
  });

  it('without ip rule output and no other table, leaves the main table alone', () => {
    const i = input(undefined, MAIN);
    expect(applyPolicyRules(i).routes).toBe(i.routes);
  });

  it('takes a rule it cannot read as one that may do anything', () => {
    const parsed = loadIpRule(
      JSON.stringify([...DEFAULT_RULES, { priority: 'x', table: '7' }]),
      'ip-rule.json',
      'ipv4',
    );
    expect(parsed.diagnostics.map((d) => d.code)).toEqual(['wrong-type']);
    const out = applyPolicyRules({ ...input(DEFAULT_RULES, MAIN), rules: parsed.rules });
    expect(routeTo(out.routes, out.deadEnds, '172.17.0.2')).toBe('docker0 assumed');
    expect(out.notes[0]?.text).toMatch(/^`a rule of ip-rule\.json that could not be read`/);
  });

  it('follows goto past the rules it skips, and nop', () => {
    const out = applyPolicyRules(
      input(
        [
          ...DEFAULT_RULES,
          { priority: 10, src: 'all', goto: 30 },
          { priority: 20, src: 'all', table: '100' },
          { priority: 25, src: 'all', nop: null },
          { priority: 30, src: 'all', table: '200' },
        ],
        [
          ...MAIN,
          { dst: '10.0.0.0/8', dev: 'tun1', table: '100' },
          { dst: '10.0.0.0/8', dev: 'tun2', table: '200' },
        ],
      ),
    );
    expect(routeTo(out.routes, out.deadEnds, '10.0.0.1')).toBe('tun2 observed');
  });

  it('reads IPv6 rules and routes of its family alone', () => {
    const out = applyPolicyRules(
      input(
        [
          { priority: 0, src: 'all', table: 'local' },
          { priority: 100, src: 'all', dst: '2001:db8:5::', dstlen: 48, table: '100' },
          { priority: 32766, src: 'all', table: 'main' },
        ],
        [
          { dst: 'default', gateway: '2001:db8::1', dev: 'eth0', pref: 'medium' },
          { dst: '2001:db8:5::/48', dev: 'tun6', table: '100', pref: 'medium' },
        ],
        'ipv6',
      ),
    );
    expect(out.routes.find((r) => r.device === 'tun6')).toEqual({
      destination: '2001:db8:5::/48',
      device: 'tun6',
      provenance: 'observed',
    });
  });
});

describe('ip -j rule show', () => {
  it('reads selectors, actions and the rule’s own words', () => {
    const { rules, diagnostics } = loadIpRule(
      JSON.stringify([
        {
          priority: 100,
          src: '10.0.0.0',
          srclen: 8,
          dst: '192.168.0.0',
          dstlen: 16,
          iif: 'lo',
          table: '100',
        },
        {
          priority: 200,
          src: 'all',
          ipproto: 'tcp',
          sport: 22,
          dport_start: 80,
          dport_end: 90,
          action: 'blackhole',
        },
        { priority: 400, src: 'all', goto: 32766 },
        { priority: 32765, not: null, src: 'all', fwmark: '0xca6c', table: '51820' },
        { priority: 700, src: 'all', l3mdev: null },
      ]),
      'ip-rule.json',
      'ipv4',
    );
    expect(diagnostics).toEqual([]);
    expect(rules?.map((r) => r.text)).toEqual([
      '100: from 10.0.0.0/8 to 192.168.0.0/16 iif lo lookup 100',
      '200: from all ipproto tcp sport 22 dport_start 80 dport_end 90 blackhole',
      '400: from all goto 32766',
      '700: from all l3mdev lookup [l3mdev-table]',
      '32765: not from all fwmark 0xca6c lookup 51820',
    ]);
    expect(rules?.[0]?.destination).toBe('192.168.0.0/16');
    expect(rules?.[0]?.selectors).toEqual(['from 10.0.0.0/8', 'iif lo']);
    expect(rules?.[4]?.selectors).toEqual(['not', 'fwmark 0xca6c']);
  });

  it('refuses an address of the other family, saying where', () => {
    const { rules, diagnostics } = loadIpRule(
      JSON.stringify([{ priority: 5, src: 'fd00::', srclen: 8, table: 'main' }]),
      'ip-rule.json',
      'ipv4',
    );
    expect(diagnostics[0]?.message).toBe('ip-rule[0].src is not an IPv4 prefix: fd00::/8');
    expect(diagnostics[0]?.location.file).toBe('ip-rule.json');
    expect(rules?.[0]?.action.kind).toBe('other');
  });

  it('reads `ip rule show` as pasted, the same as its JSON', () => {
    const text = [
      '0:\tfrom all lookup local',
      '100:\tfrom 10.0.0.0/8 to 192.168.0.0/16 iif lo lookup 100',
      '200:\tfrom all ipproto tcp sport 22 dport 80-90 blackhole',
      '300:\tfrom all uidrange 1000-2000 prohibit',
      '400:\tfrom all goto 32766',
      '500:\tfrom all nop',
      '600:\tfrom all tos 0x10 oif eth9 [detached] lookup 7',
      '700:\tfrom all lookup [l3mdev-table]',
      '900:\tfrom 10.1.2.3 iif eth3 [detached] oif eth4 [detached] ipproto udp sport 1000-2000 dport 53 lookup 9 suppress_ifgroup 5',
      '950:\tfrom all tos 0x10 fwmark 0x1/0x3 lookup main suppress_prefixlength 8 realms 4',
      '5250:\tfrom all fwmark 0x80000/0xff0000 unreachable',
      '32764:\tfrom all lookup main suppress_prefixlength 0',
      '32765:\tnot from all fwmark 0xca6c lookup 51820',
      '32766:\tfrom all lookup main proto kernel',
      '32767:\tfrom all lookup default',
      '',
    ].join('\n');
    const { rules, diagnostics } = loadIpRule(text, 'ip-rule.txt', 'ipv4');
    expect(diagnostics).toEqual([]);
    expect(rules?.map((r) => r.text)).toEqual([
      '0: from all lookup local',
      '100: from 10.0.0.0/8 to 192.168.0.0/16 iif lo lookup 100',
      '200: from all ipproto tcp sport 22 dport 80-90 blackhole',
      '300: from all uidrange 1000-2000 prohibit',
      '400: from all goto 32766',
      '500: from all nop',
      '600: from all tos 0x10 oif eth9 lookup 7',
      '700: from all l3mdev lookup [l3mdev-table]',
      '900: from 10.1.2.3/32 iif eth3 oif eth4 ipproto udp sport 1000-2000 dport 53 lookup 9 suppress_ifgroup',
      '950: from all tos 0x10 fwmark 0x1/0x3 lookup main suppress_prefixlength 8',
      '5250: from all fwmark 0x80000/0xff0000 unreachable',
      '32764: from all lookup main suppress_prefixlength 0',
      '32765: not from all fwmark 0xca6c lookup 51820',
      '32766: from all lookup main',
      '32767: from all lookup default',
    ]);
    // the JSON of the same rules reads alike (`ip -j` spells some selectors its own way)
    const json = loadIpRule(
      JSON.stringify([
        {
          priority: 950,
          src: 'all',
          tos: '0x10',
          fwmark: '0x1',
          fwmask: '0x3',
          table: 'main',
          suppress_prefixlen: 8,
          flow_to: '4',
        },
        { priority: 32765, not: null, src: 'all', fwmark: '0xca6c', table: '51820' },
      ]),
      'ip-rule.json',
      'ipv4',
    );
    expect(json.rules?.map((r) => r.action)).toEqual([rules?.[9]?.action, rules?.[12]?.action]);
    expect(json.rules?.[1]?.selectors).toEqual(rules?.[12]?.selectors);
  });

  it('says what it cannot read of `ip rule show`, and reads the rest', () => {
    const { rules, diagnostics } = loadIpRule(
      '0:\tfrom all lookup local\nbroken line\n10:\tfrom all newword 3 lookup 7\n32766:\tfrom all lookup main\n',
      'ip-rule.txt',
      'ipv4',
    );
    expect(diagnostics.map((d) => [d.code, d.location.line, d.message])).toEqual([
      [
        'parse-error',
        2,
        'not a rule of `ip rule show`: a rule starts with its priority and a colon',
      ],
      [
        'unknown-option',
        3,
        '`newword` is not a word of `ip rule show` dockwall knows: read as selecting some packets',
      ],
      [
        'unknown-option',
        3,
        '`3` is not a word of `ip rule show` dockwall knows: read as selecting some packets',
      ],
    ]);
    // what could not be read stands first, as a rule that may do anything
    expect(rules?.map((r) => r.text)).toEqual([
      'a rule of ip-rule.txt that could not be read',
      '0: from all lookup local',
      '10: from all newword 3 lookup 7',
      '32766: from all lookup main',
    ]);
  });

  it('reads a listing with no rule as no listing, saying so', () => {
    const { rules, diagnostics } = loadIpRule('[]\n', 'ip6-rule.json', 'ipv6');
    expect(rules).toBeUndefined();
    expect(diagnostics.map((d) => [d.code, d.severity, d.message])).toEqual([
      [
        'partial-input',
        'warning',
        'ip6-rule.json lists no rule, which no kernel has: policy routing is taken as not known',
      ],
    ]);
  });
});
