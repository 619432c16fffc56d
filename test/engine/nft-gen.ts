/**
 * Random nftables rulesets as `nft -f` text: tables of the ip and inet families with base chains
 * on every hook at clashing priorities, regular chains, sets and verdict maps, statements before
 * verdicts, NAT — the shapes whose semantics differ from iptables'. The text is what the reader,
 * the engine, the interpreter and (in the kernel tests) `nft -f` all read.
 */
import fc from 'fast-check';

const CIDRS = [
  '203.0.113.1',
  '203.0.113.0/24',
  '172.17.0.2',
  '172.17.0.0/16',
  '10.0.0.0/8',
  '127.0.0.1',
];
const IFACES = ['"eth0"', '"docker0"', '"veth*"', '"lo"', '"wlan0"'];
const PORTS = [22, 53, 80, 443, 8080];

const one = <T>(xs: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...xs);

/** A condition that any family may use. */
const commonMatch: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(one(['iifname', 'oifname']), one(['', '!= ']), one(IFACES))
    .map(([k, n, i]) => `${k} ${n}${i}`),
  fc
    .tuple(
      one(['iifname', 'oifname']),
      one(['', '!= ']),
      fc.subarray(IFACES, { minLength: 2, maxLength: 3 }),
    )
    .map(([k, n, is]) => `${k} ${n}{ ${is.join(', ')} }`),
  fc
    .tuple(one(['tcp', 'udp']), one(['', '!= ']), one(PORTS))
    .map(([p, n, x]) => `${p} dport ${n}${x}`),
  fc.tuple(one(PORTS), fc.integer({ min: 1, max: 400 })).map(([p, w]) => `tcp dport ${p}-${p + w}`),
  fc.subarray(PORTS, { minLength: 2, maxLength: 3 }).map((ps) => `tcp dport { ${ps.join(', ')} }`),
  one(['tcp', 'udp', 'icmp']).map((p) => `meta l4proto ${p}`),
  fc
    .subarray(['new', 'established', 'related', 'invalid', 'untracked'], {
      minLength: 1,
      maxLength: 3,
    })
    .map((s) => `ct state ${s.join(',')}`),
  fc.constant('ct status dnat'),
  one(['', '!= ']).map((n) => `fib daddr type ${n}local`),
  fc.tuple(one([0x1, 0x10]), one(['', ' & 0xff =='])).map(([v, m]) => `meta mark${m} ${v}`),
  one(PORTS).map((p) => `meta l4proto tcp ct original proto-dst ${p}`),
  fc.constant('limit rate 10/second'),
);

/** Conditions on IPv4 headers (in an inet table they hold for IPv4 packets only). */
const ipMatch: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(one(['saddr', 'daddr']), one(['', '!= ']), one(CIDRS))
    .map(([f, n, c]) => `ip ${f} ${n}${c}`),
  fc.subarray(CIDRS, { minLength: 2, maxLength: 3 }).map((cs) => `ip daddr { ${cs.join(', ')} }`),
  fc
    .array(fc.tuple(one(['172.17.0.2', '10.1.2.3', '203.0.113.1']), one(PORTS)), {
      minLength: 1,
      maxLength: 3,
    })
    .map((xs) => `ip daddr . tcp dport { ${xs.map(([a, p]) => `${a} . ${p}`).join(', ')} }`),
  one(['172.17.0.2', '203.0.113.1']).map((a) => `ct original ip daddr ${a}`),
  fc.constant('ip daddr @blocked'),
);

export type ChainKind = 'filter' | 'nat';

function verdictArb(
  kind: ChainKind,
  chains: readonly string[],
  hook: string | null,
): fc.Arbitrary<string> {
  const vs: fc.Arbitrary<string>[] = [
    fc.constant('accept'),
    fc.constant('drop'),
    fc.constant('return'),
    fc.constant('continue'),
    fc.constant('counter'),
    fc.constant('log prefix "x"'),
    fc.constantFrom(0x1, 0x10).map((m) => `meta mark set ${m}`),
    fc.constantFrom(0x1, 0x10).map((m) => `meta mark set ${m} accept`),
  ];
  if (chains.length > 0) {
    vs.push(
      one(chains).map((c) => `jump ${c}`),
      one(chains).map((c) => `goto ${c}`),
      fc
        .tuple(one(['oifname', 'iifname']), one(chains), one(['accept', 'drop', 'continue']))
        .map(([k, c, v]) => `${k} vmap { "docker0" : jump ${c}, "eth0" : ${v} }`),
      one(chains).map((c) => `numgen random mod 2 vmap { 0 : jump ${c}, 1 : drop }`),
    );
  }
  if (kind === 'filter') {
    vs.push(
      fc.constant('reject'),
      one(PORTS).map((p) => `tcp dport vmap { ${p} : drop, 9999 : accept }`),
    );
  }
  // what the kernel takes in each nat hook: dnat and redirect before routing (prerouting,
  // output), masquerade in postrouting (nft refuses a ruleset that puts them elsewhere)
  if (kind === 'nat' && (hook === 'prerouting' || hook === 'output')) {
    vs.push(
      fc
        .tuple(one(['172.17.0.2', '172.17.0.3', '10.1.2.3']), one([80, 8080]))
        .map(([a, p]) => `meta l4proto tcp dnat ip to ${a}:${p}`),
      fc.constant('dnat ip to 172.17.0.9'),
      fc.constant('tcp dport 3128 redirect to :3129'),
      fc.constant('dnat ip to tcp dport map { 80 : 172.17.0.2, 443 : 172.17.0.3 }'),
    );
  }
  if (kind === 'nat' && hook === 'postrouting') vs.push(fc.constant('masquerade'));
  return fc.oneof(...vs);
}

function ruleArb(
  kind: ChainKind,
  family: 'ip' | 'inet',
  chains: readonly string[],
  hook: string | null = null,
): fc.Arbitrary<string> {
  const cond =
    family === 'ip' ? fc.oneof(commonMatch, ipMatch) : fc.oneof(commonMatch, commonMatch, ipMatch);
  return fc
    .tuple(fc.array(cond, { maxLength: 3 }), verdictArb(kind, chains, hook))
    .map(([cs, v]) => {
      // NAT verdicts that name an IPv4 address carry their family in inet tables: `dnat ip to`
      const verdict = family === 'ip' ? v.replace(/ ip to /, ' to ') : v;
      return [...cs, verdict].join(' ');
    });
}

const HOOKS: readonly { hook: string; kinds: readonly ChainKind[] }[] = [
  { hook: 'prerouting', kinds: ['filter', 'nat'] },
  { hook: 'input', kinds: ['filter', 'nat'] },
  { hook: 'forward', kinds: ['filter'] },
  { hook: 'output', kinds: ['filter', 'nat'] },
  { hook: 'postrouting', kinds: ['filter', 'nat'] },
];
const PRIORITIES = ['raw', 'mangle', 'dstnat', '-10', 'filter', '10', 'srcnat', 'filter + 5'];

interface BaseSpec {
  readonly hook: string;
  readonly kind: ChainKind;
  readonly priority: string;
  readonly policy: 'accept' | 'drop';
}

const baseArb: fc.Arbitrary<BaseSpec> = fc
  .tuple(
    one(HOOKS),
    one(PRIORITIES),
    fc.constantFrom('accept', 'accept', 'drop' as const),
    fc.boolean(),
  )
  .map(([h, priority, policy, nat]) => {
    const kind: ChainKind = nat && h.kinds.includes('nat') ? 'nat' : 'filter';
    // nat chains have no drop policy worth testing; nft refuses odd priorities for them
    const p =
      kind === 'nat'
        ? h.hook === 'prerouting' || h.hook === 'output'
          ? 'dstnat'
          : 'srcnat'
        : priority;
    return { hook: h.hook, kind, priority: p, policy: kind === 'nat' ? 'accept' : policy };
  });

/** One table: 1-3 base chains, 0-3 regular chains they may jump to, a named set. */
function tableArb(family: 'ip' | 'inet', name: string): fc.Arbitrary<string> {
  return fc
    .tuple(fc.array(baseArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 3 }))
    .chain(([bases, regular]) => {
      const names = Array.from({ length: regular }, (_, i) => `r${i}`);
      const regularChains = names.map((n, i) =>
        fc
          .tuple(
            fc.constantFrom<ChainKind>('filter'),
            fc.array(ruleArb('filter', family, names.slice(i + 1)), { maxLength: 4 }),
          )
          .map(([, rules]) => `\tchain ${n} {\n${rules.map((r) => `\t\t${r}\n`).join('')}\t}\n`),
      );
      const baseChains = bases.map((b, i) =>
        fc
          .array(ruleArb(b.kind, family, names, b.hook), { maxLength: 5 })
          .map(
            (rules) =>
              `\tchain b${i} {\n\t\ttype ${b.kind} hook ${b.hook} priority ${b.priority}; policy ${b.policy};\n${rules.map((r) => `\t\t${r}\n`).join('')}\t}\n`,
          ),
      );
      return fc
        .tuple(fc.tuple(...baseChains), fc.tuple(...regularChains))
        .map(
          ([bs, rs]) =>
            `table ${family} ${name} {\n\tset blocked {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.0.0/8, 198.51.100.9 }\n\t}\n${[...rs, ...bs].join('')}}\n`,
        );
    });
}

/** A whole listing: an ip table and an inet table, each with its own base chains. */
export const nftRulesetArb: fc.Arbitrary<string> = fc
  .tuple(tableArb('ip', 'a'), tableArb('inet', 'b'))
  .map(([a, b]) => `${a}${b}`);
