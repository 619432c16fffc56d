/**
 * The engine on a partial snapshot (rules, no address or route file): answers about
 * "connections to this host" hold whatever its addresses are, and nothing that rests on an
 * assumed route or on whether some address is the host's is certain.
 */
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../src/engine/addr.ts';
import type { NetworkContext } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/index.ts';
import type { Packet } from '../../src/model/trace.ts';
import { hostContext, o, ruleset, t } from './build.ts';
import { crossCheck, firstPacket } from './crosscheck.ts';

/** What a rules-only snapshot of a Docker host knows: docker0's subnet, not the host's addresses. */
const partial: NetworkContext = {
  family: 'ipv4',
  interfaces: ['lo', 'docker0'],
  localAddresses: ['172.17.0.1'],
  localAddressesComplete: false,
  foreignAddresses: ['172.17.0.0/16'],
  routes: [
    { destination: '172.17.0.0/16', device: 'docker0', provenance: 'derived' },
    { destination: 'default', device: '*other*', provenance: 'assumed' },
  ],
};

/** One host the partial context allows: its address 203.0.113.1 on eth0, the default via eth0. */
const world: NetworkContext = { ...hostContext, interfaces: ['lo', 'eth0', 'docker0'] };

const docker = ruleset({
  nat: {
    PREROUTING: { rules: [[[o.addrtype('dst', 'LOCAL')], t.jump('DOCKER')]] },
    DOCKER: {
      rules: [
        [[o.in('docker0')], t.ret()],
        [[o.not(o.in('docker0')), o.proto('tcp'), o.dport(8080)], t.dnat('172.17.0.2', 80)],
        [[o.proto('tcp'), o.dport(9000)], t.dnat('10.9.9.9', 9000)],
      ],
    },
  },
  filter: {
    INPUT: { policy: 'DROP', rules: [[[o.proto('tcp'), o.dport(22)], t.accept()]] },
    FORWARD: {
      policy: 'DROP',
      rules: [
        // the replies: without them no connection is made
        [[o.ctstate('RELATED', 'ESTABLISHED')], t.accept()],
        [[o.out('docker0'), o.dst('172.17.0.2'), o.proto('tcp'), o.dport(80)], t.accept()],
        [[o.proto('tcp'), o.dport(9000)], t.accept()],
        [[o.out('eth0')], t.drop()],
        [[o.proto('udp')], t.accept()],
      ],
    },
  },
});

const packet = (destination: string, port: number, extra: Partial<Packet> = {}): Packet => ({
  family: 'ipv4',
  protocol: 'tcp',
  source: '198.51.100.7',
  sourcePort: 40000,
  destination,
  destinationPort: port,
  inInterface: 'eth0',
  state: 'NEW',
  mark: 0,
  ...extra,
});

/**
 * First packets from a client on eth0 to each destination and port, TCP and UDP, with the
 * destination taken as the host's and as not.
 */
function arriving(destinations: readonly string[], ports: readonly number[]) {
  const addr = (a: string): bigint => parseAddress(a, 'ipv4') ?? 0n;
  return destinations.flatMap((dst) =>
    ports.flatMap((dport) =>
      [6, 17].flatMap((proto) =>
        [true, false].map((loc) =>
          firstPacket({
            iif: 'eth0',
            state: 'NEW',
            proto,
            src: addr('198.51.100.7'),
            dst: addr(dst),
            sport: 40000,
            dport,
            mark: 0,
            loc,
          }),
        ),
      ),
    ),
  );
}

describe('a rules-only Docker host', () => {
  const engine = createEngine(docker, partial);
  const r = engine.reach({ ingress: 'eth0', packets: { protocols: ['tcp', 'udp'] } });

  it('publishes 8080 to the container for every address of the host, certainly', () => {
    const toWeb = r.deliveredTo({ address: '172.17.0.2', port: 80, kind: 'forward' });
    // certainly for any destination that is the host's, whatever its address is
    const anyHostAddress = toWeb.certain.and({
      originalDestinationPorts: [{ from: 8080, to: 8080 }],
    });
    expect(anyHostAddress.isEmpty).toBe(false);
    expect(toWeb.certain.contains(packet('203.0.113.1', 8080, { destinationIsHost: true }))).toBe(
      true,
    );
    expect(toWeb.certain.contains(packet('198.18.4.4', 8080, { destinationIsHost: true }))).toBe(
      true,
    );
    // an address in the container subnet is known not to be the host's: no DNAT for it
    expect(toWeb.possible.contains(packet('172.17.0.9', 8080))).toBe(false);
    // nor is anything sent to an address that is not the host's
    expect(toWeb.possible.contains(packet('203.0.113.1', 8080, { destinationIsHost: false }))).toBe(
      false,
    );
  });

  it('calls forwarding over the assumed default route only possible', () => {
    const out = r.deliveredTo({ kind: 'forward', protocol: 'udp', outInterface: '*other*' });
    expect(out.possible.isEmpty).toBe(false);
    expect(out.certain.isEmpty).toBe(true);
    // the route to docker0's subnet is derived from the snapshot: that forwarding is certain
    const toBridge = r.deliveredTo({ kind: 'forward', protocol: 'udp', outInterface: 'docker0' });
    expect(toBridge.certain.isEmpty).toBe(false);
  });

  it('calls a DNAT to an address that may be the host its own only possible', () => {
    const to9000 = r.deliveredTo({ address: '10.9.9.9', port: 9000 });
    expect(to9000.possible.isEmpty).toBe(false);
    expect(to9000.certain.isEmpty).toBe(true);
  });

  it('traces to an address it cannot place as the host’s, and says so when that decides', () => {
    const tr = engine.trace(packet('203.0.113.1', 8080));
    expect(tr.verdict).toBe('accepted');
    expect(tr.delivery).toMatchObject({ kind: 'forward', address: '172.17.0.2', port: 80 });
    expect(tr.certainty).toBe('possible');
    expect(tr.assumptions[0]).toMatch(/203\.0\.113\.1 is taken to be an address of this host/);
    // told it is the host's address, the route into the container is derived: certain
    const told = engine.trace(packet('203.0.113.1', 8080, { destinationIsHost: true }));
    expect(told.certainty).toBe('certain');
    expect(told.assumptions).toEqual([]);
  });

  it('is certain of a packet one rule stops whether or not its destination is the host’s', () => {
    // kube-proxy's shape: a service with no endpoints is rejected in OUTPUT. Taken as the
    // host's, the packet would be routed to lo, else out of the default route; it is stopped
    // by the same rule either way, so the answer rests on nothing.
    const rejecting = ruleset({
      filter: {
        OUTPUT: {
          rules: [[[o.dst('10.96.0.10'), o.proto('tcp'), o.dport(80)], t.reject()]],
        },
      },
    });
    const tr = createEngine(rejecting, partial).trace(
      packet('10.96.0.10', 80, { inInterface: null, source: '172.17.0.1' }),
    );
    expect(tr.verdict).toBe('rejected');
    expect(tr.certainty).toBe('certain');
    expect(tr.assumptions).toEqual([]);
  });

  it('is not certain of a stop where only the other reading of the destination may differ', () => {
    // random seed 790: taken as the host's, the packet is certainly dropped; not the host's, it
    // meets a rule that may or may not drop it (the kernel connected it): the stop is a guess
    const rs = ruleset({
      filter: {
        INPUT: { policy: 'DROP', rules: [] },
        FORWARD: { rules: [[[o.recent()], t.drop()]] },
      },
    });
    const tr = createEngine(rs, partial).trace(packet('10.9.9.9', 80));
    expect(tr.verdict).toBe('dropped');
    expect(tr.certainty).toBe('possible');
    expect(tr.assumptions[0]).toMatch(/10\.9\.9\.9 is taken to be an address of this host/);
  });

  it('is not certain where only the connection’s later packets differ between the readings', () => {
    // random seed 3322, on the rules alone: the host's packet, DNATed in OUTPUT, is delivered
    // either way; taken as the host's, the first route, which OUTPUT's chains see for the later
    // packets too, is lo, and `-o lo --ctstate ESTABLISHED -j DROP` stops them
    const rs = ruleset({
      nat: { OUTPUT: { rules: [[[o.proto('tcp')], t.dnat('172.17.0.2', 80)]] } },
      filter: { OUTPUT: { rules: [[[o.out('lo'), o.ctstate('ESTABLISHED')], t.drop()]] } },
    });
    const engine = createEngine(rs, partial);
    const sent = packet('10.9.9.9', 80, { inInterface: null, source: '172.17.0.1' });
    const tr = engine.trace(sent);
    expect(tr.delivery).toMatchObject({ kind: 'forward', address: '172.17.0.2', port: 80 });
    expect(tr.answer).toMatchObject({ kind: 'onward', verdict: 'dropped' });
    expect(tr.certainty).toBe('possible');
    expect(tr.assumptions[0]).toMatch(/10\.9\.9\.9 is taken to be an address of this host/);
    const other = engine.trace({ ...sent, destinationIsHost: false });
    expect(other.delivery).toMatchObject({ kind: 'forward', address: '172.17.0.2', port: 80 });
    expect(other.answer).toBeUndefined();
  });

  it('names the notice’s unknown source only where some rule reads sources', () => {
    // the stop of the test above, where a rule could tell the host's addresses apart: from
    // which of them the notice comes is a guess the answer rests on
    const rejecting = ruleset({
      filter: {
        OUTPUT: {
          rules: [
            [[o.src('192.0.2.0/24'), o.proto('icmp')], t.drop()],
            [[o.dst('10.96.0.10'), o.proto('tcp'), o.dport(80)], t.reject()],
          ],
        },
      },
    });
    const tr = createEngine(rejecting, partial).trace(
      packet('10.96.0.10', 80, { inInterface: null, source: '127.0.0.1' }),
    );
    expect(tr.verdict).toBe('rejected');
    expect(tr.certainty).toBe('possible');
    expect(tr.assumptions[0]).toMatch(/10\.96\.0\.10 is taken to be an address of this host/);
  });

  it('names the assumed route in a trace that rests on it', () => {
    const tr = engine.trace(packet('8.8.8.8', 53, { protocol: 'udp', destinationIsHost: false }));
    expect(tr.verdict).toBe('accepted');
    expect(tr.certainty).toBe('possible');
    expect(tr.assumptions.join(' ')).toMatch(/route to 8\.8\.8\.8 .* is assumed/);
  });

  it('never claims certain what a host the snapshot allows does otherwise', () => {
    const packets = arriving(
      ['203.0.113.1', '8.8.8.8', '172.17.0.2', '172.17.0.1', '10.9.9.9'],
      [22, 80, 8080, 9000],
    );
    const result = crossCheck(docker, partial, packets, [world]);
    expect(result.failures).toEqual([]);
    expect(result.checked).toBeGreaterThan(packets.length);
  });
});

describe('a host whose forwarding the snapshot does not state', () => {
  // No sysctl.txt and nothing Docker wrote that implies it (an IPv6 ruleset, say): forwarding is
  // taken to be on, so what would be forwarded is looked at, but a host that does not forward
  // drops it.
  const unstated: NetworkContext = { ...partial, forwardingAssumed: true };
  const engine = createEngine(docker, unstated);
  const r = engine.reach({ ingress: 'eth0', packets: { protocols: ['tcp', 'udp'] } });

  it('calls a published port only possibly delivered, and says why', () => {
    const toWeb = r.deliveredTo({ address: '172.17.0.2', port: 80, kind: 'forward' });
    expect(toWeb.possible.contains(packet('203.0.113.1', 8080, { destinationIsHost: true }))).toBe(
      true,
    );
    expect(toWeb.certain.isEmpty).toBe(true);
    const tr = engine.trace(packet('203.0.113.1', 8080, { destinationIsHost: true }));
    expect(tr.verdict).toBe('accepted');
    expect(tr.certainty).toBe('possible');
    expect(tr.assumptions).toContain('IPv4 forwarding is assumed to be on');
  });

  it('is still certain of what reaches the host, not of which rule drops a forwarded packet', () => {
    expect(
      r
        .deliveredTo({ kind: 'local', port: 22 })
        .certain.contains(packet('203.0.113.1', 22, { destinationIsHost: true })),
    ).toBe(true);
    // dropped by FORWARD's policy if the host forwards, before FORWARD if it does not
    const tr = engine.trace(packet('172.17.0.2', 443));
    expect(tr.verdict).toBe('dropped');
    expect(tr.certainty).toBe('possible');
    expect(tr.assumptions).toContain('IPv4 forwarding is assumed to be on');
  });

  it('never claims certain what a host that forwards, or one that does not, does otherwise', () => {
    const packets = arriving(
      ['203.0.113.1', '172.17.0.2', '10.9.9.9', '8.8.8.8'],
      [22, 80, 8080, 9000, 53],
    );
    const result = crossCheck(docker, unstated, packets, [world, { ...world, forwarding: false }]);
    expect(result.failures).toEqual([]);
    expect(result.certainChecks).toBeGreaterThan(0);
  });
});

describe('a DNAT to the address a packet already has', () => {
  // nat OUTPUT sends the host's packets for 10.1.2.3 to 10.1.2.3 (port 80 to 8080): the address
  // is unchanged, so the kernel keeps the packet's route, and whether 10.1.2.3 is the host's
  // is what it was (random test, one CI run: the interpreter took it to be another machine's)
  const rs = ruleset({
    nat: {
      OUTPUT: {
        rules: [
          [[o.dst('10.1.2.3'), o.proto('tcp'), o.dport(80)], t.dnat('10.1.2.3', 8080)],
          [[o.dst('10.1.2.3')], t.dnat('10.1.2.3')],
        ],
      },
    },
  });
  const engine = createEngine(rs, partial);
  const own = (protocol: Packet['protocol'], port: number | null): Packet => ({
    ...packet('10.1.2.3', 0),
    protocol,
    source: '127.0.0.1',
    sourcePort: protocol === 'tcp' ? 40000 : null,
    destinationPort: port,
    inInterface: null,
  });

  it('delivers it here when it was the host’s, whatever the port became', () => {
    for (const p of [own('icmp', 8 << 8), own('tcp', 80), own('tcp', 22)]) {
      const tr = engine.trace({ ...p, destinationIsHost: true });
      expect(tr.verdict).toBe('accepted');
      expect(tr.delivery).toMatchObject({ kind: 'local', address: '10.1.2.3' });
      expect(tr.assumptions.join(' ')).not.toMatch(/taken not to be an address of this host/);
    }
  });

  it('agrees with the interpreter and with hosts that have the address, or not', () => {
    const addr = (a: string): bigint => parseAddress(a, 'ipv4') ?? 0n;
    const packets = [1, 6, 17].flatMap((proto) =>
      [true, false].flatMap((loc) =>
        [80, 22].map((dport) =>
          firstPacket({
            iif: null,
            state: 'NEW',
            proto,
            src: addr('127.0.0.1'),
            dst: addr('10.1.2.3'),
            sport: 40000,
            dport,
            mark: 0,
            loc,
          }),
        ),
      ),
    );
    const theirs: NetworkContext = {
      ...world,
      localAddresses: [...(world.localAddresses ?? []), '10.1.2.3'],
    };
    const result = crossCheck(rs, partial, packets, [world, theirs]);
    expect(result.failures).toEqual([]);
    expect(result.checked).toBeGreaterThan(packets.length);
  });
});
