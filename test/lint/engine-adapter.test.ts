/** The lint engine port traces each distinct packet once: exposures and rules share witnesses. */
import { describe, expect, it } from 'vitest';
import type { NetworkContext } from '../../src/engine/context.ts';
import type { Engine } from '../../src/engine/types.ts';
import { adaptEngines } from '../../src/lint/engine-adapter.ts';
import { newConnection } from '../../src/analysis/packets.ts';
import type { Packet, Trace } from '../../src/model/trace.ts';

function countingEngine(): { engine: Engine; traced: Packet[] } {
  const traced: Packet[] = [];
  const trace = (packet: Packet): Trace => {
    traced.push(packet);
    return {
      packet,
      verdict: packet.destinationPort === 22 ? 'accepted' : 'dropped',
      certainty: 'certain',
      steps: [],
      delivery: null,
      uncertainRules: [],
      assumptions: [],
    };
  };
  // Only the members the adapter's trace uses: the rest of the engine is not exercised here.
  const engine = { family: 'ipv4', diagnostics: [], trace } as unknown as Engine;
  return { engine, traced };
}

describe('adaptEngines trace', () => {
  it('answers a repeated packet from the first trace and traces a different one', () => {
    const { engine, traced } = countingEngine();
    const context = { family: 'ipv4', interfaces: ['eth0'] } as unknown as NetworkContext;
    const lint = adaptEngines([{ engine, context }]);
    const ssh = newConnection('ipv4', 'tcp', '203.0.113.77', '192.0.2.10', 22, 'eth0');
    const web = newConnection('ipv4', 'tcp', '203.0.113.77', '192.0.2.10', 80, 'eth0');
    const first = lint.trace(ssh);
    expect(lint.trace({ ...ssh })).toBe(first);
    expect(first?.verdict).toBe('accepted');
    expect(lint.trace(web)?.verdict).toBe('dropped');
    expect(traced).toEqual([ssh, web]);
    // A family without a ruleset has no trace, and asking again does not change that.
    const v6 = newConnection('ipv6', 'tcp', '2001:db8::77', '2001:db8::1', 22, 'eth0');
    expect(lint.trace(v6)).toBeNull();
    expect(lint.trace(v6)).toBeNull();
  });
});
