/**
 * Random packets for cross-checking real rulesets: a host like the capture lab's, and packets
 * built from the addresses, ports and interfaces the rules mention, so they meet the rules.
 */
import fc from 'fast-check';
import { parseAddress } from '../../src/engine/addr.ts';
import type { NetworkContext } from '../../src/engine/context.ts';
import type { Concrete } from '../../src/engine/interpret.ts';
import { forEveryOption, ruleActions, type Family, type Ruleset } from '../../src/model/ruleset.ts';
import { firstPacket } from './crosscheck.ts';

/** A host like the capture lab's: ext0 on 203.0.113.0/24 plus the bridges the captures use. */
export function labContext(family: Family): NetworkContext {
  const v4 = family === 'ipv4';
  return {
    family,
    interfaces: ['lo', 'ext0', 'docker0', 'bridge1', 'br-dummy', 'bridgeICC', 'bridgeNoICC'],
    localAddresses: v4
      ? [
          '127.0.0.1',
          '203.0.113.1',
          '172.17.0.1',
          '192.0.2.1',
          '192.168.0.1',
          '172.18.0.1',
          '172.19.0.1',
        ]
      : ['::1', '2001:db8:ffff::1', 'fd00:dead:beef::1', 'fd00:db8:1::1', 'fd49:efd7:54aa::1'],
    routes: v4
      ? [
          { destination: 'default', device: 'ext0' },
          { destination: '203.0.113.0/24', device: 'ext0' },
          { destination: '172.17.0.0/16', device: 'docker0' },
          { destination: '192.0.2.0/24', device: 'bridge1' },
          { destination: '192.168.0.0/24', device: 'br-dummy' },
          { destination: '172.18.0.0/16', device: 'bridgeICC' },
          { destination: '172.19.0.0/16', device: 'bridgeNoICC' },
        ]
      : [
          { destination: 'default', device: 'ext0' },
          { destination: 'fd00:dead:beef::/64', device: 'docker0' },
          { destination: 'fd00:db8:1::/64', device: 'bridge1' },
          { destination: 'fd49:efd7:54aa::/64', device: 'br-dummy' },
        ],
  };
}

/** Addresses and ports the rules mention, so random packets meet the rules. */
function pools(
  rs: Ruleset,
  ctx: NetworkContext,
): { addrs: bigint[]; ports: number[]; ifaces: string[] } {
  const addrs = new Set<string>([...ctx.localAddresses]);
  const ports = new Set<number>([22, 80, 8080, 53, 443, 9999]);
  const ifaces = new Set<string>([...ctx.interfaces, 'veth1', 'wlan0']);
  for (const t of rs.tables) {
    for (const c of t.chains) {
      for (const r of c.rules) {
        forEveryOption(r, (o) => {
          if (o.type === 'address' || o.type === 'ct-address') addrs.add(o.value.address);
          if (o.type === 'port') for (const x of o.ranges) ports.add(x.from).add(x.to);
          if (o.type === 'interface') ifaces.add(o.wildcard ? `${o.name}7` : o.name);
        });
        for (const tg of ruleActions(r))
          if (tg.kind === 'DNAT')
            for (const x of tg.to) if (x.addresses !== null) addrs.add(x.addresses.from);
      }
    }
  }
  addrs.add(rs.family === 'ipv4' ? '198.51.100.20' : '2001:db8:5::20');
  addrs.add(rs.family === 'ipv4' ? '172.17.0.2' : 'fe80::1');
  const parsed = [...addrs]
    .map((a) => parseAddress(a, rs.family))
    .filter((a): a is bigint => a !== null);
  return { addrs: parsed, ports: [...ports], ifaces: [...ifaces] };
}

export function packetsFor(rs: Ruleset, ctx: NetworkContext, n: number, seed: number): Concrete[] {
  const p = pools(rs, ctx);
  const arb = fc
    .record({
      iif: fc.constantFrom<string | null>(...p.ifaces, null),
      state: fc.constantFrom('NEW', 'NEW', 'NEW', 'ESTABLISHED', 'RELATED', 'INVALID' as const),
      proto: fc.constantFrom(6, 6, 17, rs.family === 'ipv4' ? 1 : 58),
      src: fc.constantFrom(...p.addrs),
      dst: fc.constantFrom(...p.addrs),
      sport: fc.constantFrom(40000, 80),
      dport: fc.constantFrom(...p.ports),
      mark: fc.constantFrom(0, 0x10000),
    })
    .map(firstPacket);
  return fc.sample(arb, { numRuns: n, seed });
}
