/**
 * A host with one link, for engine tests that trace a single connection to it: eth0 holding
 * 203.0.113.1/24 (and 2001:db8:1::1/64 over IPv6), and the SSH connection a client there opens.
 */
import type { NetworkContext } from '../../src/engine/context.ts';
import type { Packet } from '../../src/model/trace.ts';

export const HOST4: NetworkContext = {
  family: 'ipv4',
  interfaces: ['lo', 'eth0'],
  localAddresses: ['203.0.113.1'],
  routes: [{ destination: '203.0.113.0/24', device: 'eth0', source: '203.0.113.1' }],
};

export const HOST6: NetworkContext = {
  family: 'ipv6',
  interfaces: ['lo', 'eth0'],
  localAddresses: ['2001:db8:1::1'],
  routes: [
    { destination: 'default', device: 'eth0' },
    { destination: '2001:db8:1::/64', device: 'eth0', source: '2001:db8:1::1' },
  ],
};

/** A client's first packet to the host's port 22 over IPv4, arriving on eth0. */
export const SSH4: Packet = {
  family: 'ipv4',
  protocol: 'tcp',
  source: '203.0.113.9',
  sourcePort: 40000,
  destination: '203.0.113.1',
  destinationPort: 22,
  inInterface: 'eth0',
  state: 'NEW',
  mark: 0,
};

/** The same over IPv6. */
export const SSH6: Packet = {
  ...SSH4,
  family: 'ipv6',
  source: '2001:db8:9::9',
  destination: '2001:db8:1::1',
};
