/**
 * The engine against the interpreter on random nftables rulesets: the hook pipeline (base chains
 * of two tables and iptables' tables on the same hooks, priority order, an accept ending only
 * its own chain, NAT for the first packet until a binding), sets, verdict maps and statements in
 * order — read from nft text by the real reader.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../src/engine/addr.ts';
import type { Concrete } from '../../src/engine/interpret.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import { parseNft } from '../../src/ingest/nft/index.ts';
import { combineRulesets } from '../../src/model/firewall.ts';
import { crossCheck, firstPacket } from './crosscheck.ts';
import { hostContext } from './build.ts';
import { nftRulesetArb } from './nft-gen.ts';

const addr = (a: string): bigint => parseAddress(a, 'ipv4') ?? 0n;
const packetArb: fc.Arbitrary<Concrete> = fc
  .record({
    iif: fc.constantFrom('eth0', 'docker0', 'veth12', 'lo', 'wlan0', null),
    state: fc.constantFrom('NEW', 'NEW', 'NEW', 'ESTABLISHED', 'RELATED', 'INVALID' as const),
    proto: fc.constantFrom(6, 6, 17, 1),
    src: fc.constantFrom('203.0.113.7', '172.17.0.2', '10.9.9.9', '127.0.0.1', '198.51.100.9'),
    dst: fc.constantFrom(
      '203.0.113.1',
      '172.17.0.2',
      '172.17.0.1',
      '10.1.2.3',
      '8.8.8.8',
      '127.0.0.1',
    ),
    sport: fc.constantFrom(22, 40000),
    dport: fc.constantFrom(22, 53, 80, 443, 8080, 3128, 9999),
    mark: fc.constantFrom(0, 1, 0x10),
  })
  .map((r) => firstPacket({ ...r, src: addr(r.src), dst: addr(r.dst) }));

/** iptables' own tables on the same hooks, so both kinds of base chain meet. */
const IPTABLES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i docker0 -j ACCEPT
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.3:80
COMMIT
`;

describe('symbolic engine agrees with the interpreter on nftables rulesets', () => {
  it('random ip + inet tables beside iptables tables, random packets', () => {
    const iptables = parseIptables(IPTABLES, { file: 'iptables', family: 'ipv4' }).ruleset;
    let total = 0;
    let certain = 0;
    let firstFailure: string | null = null;
    const out = fc.check(
      fc.property(
        nftRulesetArb,
        fc.array(packetArb, { minLength: 50, maxLength: 50 }),
        (text, packets) => {
          const read = parseNft(text, 'random.nft');
          const errors = read.diagnostics.filter((d) => d.severity !== 'note');
          if (errors.length > 0) {
            firstFailure ??= `reader: ${errors.map((d) => `${d.location.line}: ${d.message}`).join('; ')}\n${text}`;
            return false;
          }
          const rs = combineRulesets(iptables, read.ruleset, 'ipv4');
          if (rs === null) return false;
          const r = crossCheck(rs, hostContext, packets);
          total += r.checked;
          certain += r.certainChecks;
          if (r.failures.length > 0) firstFailure ??= `${r.failures[0] ?? ''}\n${text}`;
          return r.failures.length === 0;
        },
      ),
      { numRuns: Number(process.env.ENGINE_RUNS ?? 60), endOnFailure: true },
    );
    expect(firstFailure).toBeNull();
    expect(out.failed).toBe(false);
    console.log(
      `random nft rulesets: ${total} packet verdicts checked, ${certain} against the certain set`,
    );
    expect(certain).toBeGreaterThan(1000);
  });
});
