/**
 * What the kernel did under reverse path filtering (`rp_filter`) on the rp referee's router
 * (test/kernel/rp-filter-referee.test.ts): a client prefix 192.0.2.0/24 on in0, 198.51.100.0/24
 * and the default route on out0, 10.9.0.0/16 on d0, 10.10.0.0/16 routed out of na0, which has
 * no address. The engine's own test (test/engine/rp-filter.test.ts) holds the same cases.
 */

/**
 * The sources sent from: the client's prefix and its broadcast address, out0's prefix and
 * broadcast, d0's, na0's route, one the default route takes, and one of 0.0.0.0/8.
 */
export const RP_SOURCES = [
  '192.0.2.7',
  '192.0.2.255',
  '198.51.100.7',
  '198.51.100.255',
  '10.9.0.5',
  '10.9.255.255',
  '10.10.0.5',
  '203.0.113.5',
  '0.1.2.3',
] as const;

/** The sources the kernel routed from in0 (through the router and to it), by in0's setting. */
export const RP_ROUTED: Readonly<Record<'strict' | 'loose', readonly string[]>> = {
  strict: ['192.0.2.7'],
  loose: ['192.0.2.7', '198.51.100.7', '10.9.0.5', '10.10.0.5', '203.0.113.5', '0.1.2.3'],
};
