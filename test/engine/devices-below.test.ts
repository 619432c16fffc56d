/**
 * Devices below the host's IP stack (a macvlan or ipvlan container's address on eth0): what
 * arrives on their parent for their address never meets the host's netfilter. The trace says
 * so with no step; the symbolic walks (reach, discovery) leave those packets out, on that
 * interface only. What the host itself sends to such an address leaves the parent for the wire
 * and never reaches the device (measured: a macvlan parent's namespace times out where a
 * neighbour connects).
 */
import { describe, expect, it } from 'vitest';
import type { NetworkContext } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/index.ts';
import { newConnection } from '../../src/analysis/packets.ts';
import type { Packet } from '../../src/model/trace.ts';
import { hostContext, o, ruleset, t } from './build.ts';

/** A host that drops everything it is asked to forward or deliver, but ssh. */
const closed = ruleset({
  filter: {
    INPUT: { policy: 'DROP', rules: [[[o.proto('tcp'), o.dport(22)], t.accept()]] },
    FORWARD: { policy: 'DROP', rules: [[[o.in('eth0')], t.drop()]] },
  },
});

const below: NetworkContext = {
  ...hostContext,
  devicesBelow: [
    {
      interface: 'eth0',
      address: '203.0.113.53',
      owner: "container web's macvlan device",
      fromHost: 'never',
    },
  ],
};

/** A new TCP connection from a remote client, arriving on `inInterface`. */
const connection = (destination: string, port: number, inInterface: string): Packet =>
  newConnection('ipv4', 'tcp', '203.0.113.77', destination, port, inInterface);

describe('a device below the host', () => {
  const engine = createEngine(closed, below);

  it('takes what arrives on its parent for its address: no step of this host, certain', () => {
    const tr = engine.trace(connection('203.0.113.53', 80, 'eth0'));
    expect(tr.verdict).toBe('accepted');
    expect(tr.certainty).toBe('certain');
    expect(tr.steps).toEqual([]);
    expect(tr.delivery).toEqual({
      kind: 'forward',
      address: '203.0.113.53',
      port: 80,
      outInterface: 'eth0',
    });
    expect(tr.below).toContain("container web's macvlan device");
  });

  it('leaves the host its own traffic: another address, another interface', () => {
    const other = engine.trace(connection('203.0.113.54', 80, 'eth0'));
    expect(other.verdict).toBe('dropped');
    expect(other.below).toBeUndefined();
    const elsewhere = engine.trace(connection('203.0.113.53', 80, 'docker0'));
    expect(elsewhere.below).toBeUndefined();
    // without the device the same packet meets the host's FORWARD drop
    const plain = createEngine(closed, hostContext).trace(connection('203.0.113.53', 80, 'eth0'));
    expect(plain.verdict).toBe('dropped');
    expect(plain.steps.length).toBeGreaterThan(0);
  });

  it('is left out of the symbolic walks on its parent only', () => {
    const to = { protocols: ['tcp' as const], destinations: ['203.0.113.53'] };
    const onParent = engine.reach({ ingress: 'eth0', packets: to });
    // the host meets none of them: neither delivered nor stopped, the device took them all
    expect(onParent.query.isEmpty).toBe(true);
    expect(onParent.delivered).toEqual([]);
    expect(onParent.stopped).toEqual([]);
    const plain = createEngine(closed, hostContext).reach({ ingress: 'eth0', packets: to });
    expect(plain.stopped.length).toBeGreaterThan(0);
    const fromDocker0 = engine.reach({ ingress: 'docker0', packets: to });
    expect(fromDocker0.stopped.length).toBeGreaterThan(0);
  });

  it("does not reach the device from the host's own address", () => {
    const fromHost = { ...connection('203.0.113.53', 80, 'eth0'), inInterface: null };
    const tr = engine.trace({ ...fromHost, source: '203.0.113.1' });
    expect(tr.verdict).toBe('dropped');
    expect(tr.certainty).toBe('certain');
    expect(tr.unrouted).toContain('does not hand them to its devices');
    const r = engine.reach({
      ingress: null,
      packets: { protocols: ['tcp'], destinations: ['203.0.113.53'] },
    });
    expect(r.delivered).toEqual([]);
    expect(r.stopped.map((g) => g.reason)).toEqual([
      'no route',
      'sent by the host to a device below its parent',
    ]);
    // the host does not send a packet from a loopback address away (route_localnet is off)
    expect(r.stopped[0]?.packets.possible.sources()).toEqual(['127.0.0.0/8']);
    // a vepa device: the switch may send the frame back, so only possibly not delivered
    const vepa = createEngine(closed, {
      ...below,
      devicesBelow: (below.devicesBelow ?? []).map((d) => ({ ...d, fromHost: 'hairpin' as const })),
    });
    const maybe = vepa.trace({ ...fromHost, source: '203.0.113.1' });
    expect([maybe.verdict, maybe.certainty]).toEqual(['accepted', 'possible']);
    const rv = vepa.reach({
      ingress: null,
      packets: { protocols: ['tcp'], destinations: ['203.0.113.53'] },
    });
    expect(rv.deliveredAll.certain.isEmpty).toBe(true);
    expect(rv.deliveredAll.possible.isEmpty).toBe(false);
  });
});

describe('a destination on a path the engine does not model', () => {
  const open = ruleset({ filter: { FORWARD: { policy: 'ACCEPT', rules: [] } } });
  const context: NetworkContext = {
    ...hostContext,
    unmodelledPaths: [{ address: '203.0.113.60', why: 'an ipvlan l3s device' }],
  };
  it('is delivered only possibly, in the trace and in reach', () => {
    const engine = createEngine(open, context);
    const tr = engine.trace(connection('203.0.113.60', 80, 'eth0'));
    expect([tr.verdict, tr.certainty, tr.assumptions]).toEqual([
      'accepted',
      'possible',
      ['an ipvlan l3s device'],
    ]);
    const r = engine.reach({
      ingress: 'eth0',
      packets: { protocols: ['tcp'], destinations: ['203.0.113.60'] },
    });
    expect(r.deliveredAll.certain.isEmpty).toBe(true);
    expect(r.deliveredAll.possible.isEmpty).toBe(false);
    // the same walk without it: certain
    const plain = createEngine(open, hostContext).reach({
      ingress: 'eth0',
      packets: { protocols: ['tcp'], destinations: ['203.0.113.60'] },
    });
    expect(plain.deliveredAll.certain.isEmpty).toBe(false);
  });
});
