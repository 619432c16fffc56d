/**
 * An interface's own IPv4 `forwarding` switch (`NetworkContext.unforwardedFrom`), as the kernel
 * referee measured it (test/kernel/routing-referee.test.ts): what arrives on an interface whose
 * switch is off is not forwarded, certainly, and still delivered to the host; the out-interface's
 * switch decides nothing.
 */
import { describe, expect, it } from 'vitest';
import { newConnection } from '../../src/analysis/packets.ts';
import type { NetworkContext } from '../../src/engine/context.ts';
import { createEngine } from '../../src/engine/index.ts';
import { traceFate } from '../lab/router-lab.ts';
import { o, ruleset, t } from './build.ts';
import { crossCheck, newPackets } from './crosscheck.ts';

const ROUTER: NetworkContext = {
  family: 'ipv4',
  interfaces: ['lo', 'in0', 'out0'],
  localAddresses: ['192.0.2.1', '198.51.100.1'],
  routes: [
    { destination: '192.0.2.0/24', device: 'in0' },
    { destination: '198.51.100.0/24', device: 'out0' },
    { destination: 'default', device: 'out0' },
  ],
  forwarding: true,
};

const rules = ruleset({
  filter: {
    INPUT: { policy: 'ACCEPT', rules: [] },
    FORWARD: { policy: 'ACCEPT', rules: [[[o.proto('udp')], t.accept()]] },
  },
});

const fate = (context: NetworkContext, from: string, iif: string, to: string): string => {
  const tr = createEngine(rules, context).trace(newConnection('ipv4', 'udp', from, to, 5000, iif));
  return `${traceFate(tr)} ${tr.certainty}`;
};

describe('an interface whose own IPv4 forwarding is off', () => {
  const off: NetworkContext = { ...ROUTER, unforwardedFrom: ['in0'] };

  it('forwards nothing that arrives there, and delivers to the host still', () => {
    expect(fate(ROUTER, '192.0.2.2', 'in0', '198.51.100.2')).toBe('forwarded certain');
    expect(fate(off, '192.0.2.2', 'in0', '198.51.100.2')).toBe('dropped certain');
    // (possible: no listener is listed, so whether an answer gets back is not known)
    expect(fate(off, '192.0.2.2', 'in0', '192.0.2.1')).toBe('delivered possible');
    expect(fate(ROUTER, '192.0.2.2', 'in0', '192.0.2.1')).toBe('delivered possible');
    // the out-interface's switch decides nothing: from out0, forwarded to in0
    expect(fate(off, '198.51.100.2', 'out0', '192.0.2.2')).toBe('forwarded certain');
  });

  it('leaves it out of discovery', () => {
    const forwarded = (context: NetworkContext, ingress: string): number =>
      createEngine(rules, context)
        .discover({ ingress, protocols: ['udp'] })
        .flows.filter((f) => f.delivery.kind === 'forward').length;
    expect(forwarded(ROUTER, 'in0')).toBeGreaterThan(0);
    expect(forwarded(off, 'in0')).toBe(0);
    expect(forwarded(off, 'out0')).toBe(forwarded(ROUTER, 'out0'));
  });

  it('agrees with the interpreter', () => {
    const packets = newPackets('ipv4', [
      ['in0', '192.0.2.2', '198.51.100.2'],
      ['in0', '192.0.2.2', '192.0.2.1'],
      ['out0', '198.51.100.2', '192.0.2.2'],
    ]);
    expect(crossCheck(rules, off, packets).failures).toEqual([]);
  });
});
