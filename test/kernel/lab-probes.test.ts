/**
 * The lab's own honesty: it sends every probe of a namespace at once, so what it observes must
 * not depend on how many ICMP errors the kernel sends in one go. The kernel's ICMP budget (a
 * burst of 50 per namespace every 20 ms) once turned some refusals into timeouts at random.
 * Needs root; in CI a missing capability is a failure.
 */
import { describe, expect, it } from 'vitest';
import { buildLab, destroyLab, labCapability, labSuffix, runProbes } from '../lab/netns.ts';
import type { Probe } from '../lab/probes.ts';
import { deriveTopology, EXTERNAL } from '../lab/topology.ts';

const capability = labCapability();
const inCi = process.env['CI'] === 'true';

/** A host with no rules: every datagram to a closed port is answered with port unreachable. */
const OPEN_HOST = {
  name: 'lab-burst',
  iptablesSave:
    '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n',
};

describe('the lab', () => {
  if (!capability.ok && !inCi) {
    it.skip(`skipped: cannot build network namespaces here (${capability.reason})`, () => {});
    return;
  }
  it('sees a burst of 200 datagrams to closed ports refused, every one', async () => {
    expect(capability.ok, capability.reason).toBe(true);
    const topology = deriveTopology(OPEN_HOST);
    const lab = await buildLab(topology, labSuffix('burst', 0));
    try {
      const probes: Probe[] = Array.from({ length: 200 }, (_, i) => ({
        id: `b${String(i)}`,
        family: 'ipv4',
        origin: { kind: 'client' },
        protocol: 'udp',
        source: EXTERNAL.clientAddress,
        sourcePort: 40000 + i,
        destination: EXTERNAL.hostAddress,
        port: 30000 + i,
        inInterface: EXTERNAL.hostInterface,
        bridged: false,
        description: `client → ${EXTERNAL.hostAddress}:${String(30000 + i)}/udp (closed)`,
      }));
      const outcomes = (await runProbes(lab, probes)).map((r) => r.outcome);
      expect(outcomes.filter((o) => o !== 'refused')).toEqual([]);
    } finally {
      destroyLab(lab);
    }
  }, 60_000);
});
