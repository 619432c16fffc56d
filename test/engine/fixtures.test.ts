import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../src/engine/addr.ts';
import type { NetworkContext } from '../../src/engine/context.ts';
import type { Concrete } from '../../src/engine/interpret.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import { allOptions, type Family, type Ruleset } from '../../src/model/ruleset.ts';
import { crossCheck, firstPacket } from './crosscheck.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const captures = path.resolve(repoRoot, '../shared/captures');
const goldens = path.resolve(repoRoot, '../shared/reference/moby-golden/iptabler');

/** A host like the capture lab's: ext0 on 203.0.113.0/24 plus the bridges the captures use. */
function labContext(family: Family): NetworkContext {
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
        for (const o of allOptions(r)) {
          if (o.type === 'address' || o.type === 'ct-address') addrs.add(o.value.address);
          if (o.type === 'port') for (const x of o.ranges) ports.add(x.from).add(x.to);
          if (o.type === 'interface') ifaces.add(o.wildcard ? `${o.name}7` : o.name);
        }
        const tg = r.target;
        if (tg?.kind === 'DNAT')
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

function packetsFor(rs: Ruleset, ctx: NetworkContext, n: number, seed: number): Concrete[] {
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

function fixtureFiles(): string[] {
  const out: string[] = [];
  if (existsSync(captures)) {
    for (const d of readdirSync(captures)) {
      const dir = path.join(captures, d);
      if (!existsSync(dir) || d.endsWith('.md')) continue;
      for (const f of readdirSync(dir))
        if (/\.ip6?tables-save$/.test(f)) out.push(path.join(dir, f));
    }
  }
  if (existsSync(goldens)) {
    for (const f of readdirSync(goldens))
      if (!f.startsWith('cleaned') && /__ip6?tables\.golden$/.test(f))
        out.push(path.join(goldens, f));
  }
  return out.sort();
}

const files = fixtureFiles();

describe.skipIf(files.length === 0)(
  'engine agrees with the interpreter on real Docker rulesets (needs ../shared)',
  () => {
    // Real dockerd captures get thousands of packets each; moby's golden files (one bridge under
    // every option combination, hundreds of near-identical rulesets) 200 each.
    const packetsPer = (file: string): number => (file.startsWith(captures) ? 2000 : 200);
    it(`on ${files.filter((f) => f.startsWith(captures)).length} captures (2,000 random packets each) and ${files.filter((f) => !f.startsWith(captures)).length} moby goldens (200 each)`, () => {
      let total = 0;
      let certain = 0;
      const failures: string[] = [];
      for (const [i, file] of files.entries()) {
        const text = readFileSync(file, 'utf8');
        const family: Family = /ip6tables/.test(path.basename(file)) ? 'ipv6' : 'ipv4';
        const { ruleset } = parseIptables(text, { file, family });
        const ctx = labContext(family);
        const r = crossCheck(ruleset, ctx, packetsFor(ruleset, ctx, packetsPer(file), 1000 + i));
        total += r.checked;
        certain += r.certainChecks;
        for (const f of r.failures.slice(0, 2)) failures.push(`${path.basename(file)}: ${f}`);
      }
      console.log(
        `fixtures: ${files.length} rulesets, ${total} packet verdicts agree (${certain} against the certain set)`,
      );
      expect(failures).toEqual([]);
      expect(certain).toBeGreaterThan(total / 3);
      // ~300,000 verdicts: about 40 s of CPU alone, several times that on a shared, loaded machine.
    }, 600_000);
  },
);
