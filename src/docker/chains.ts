/**
 * Which iptables chains Docker creates and re-writes (flushes on restart), per rule-layout era.
 * Rules a user adds to these chains do not survive a daemon restart; DOCKER-USER is the user's.
 */
import type { LayoutEra } from '../model/host.ts';

const CLASSIC: Readonly<Record<string, readonly string[]>> = {
  filter: [
    'DOCKER',
    'DOCKER-ISOLATION',
    'DOCKER-ISOLATION-STAGE-1',
    'DOCKER-ISOLATION-STAGE-2',
    'DOCKER-INGRESS',
  ],
  nat: ['DOCKER', 'DOCKER-INGRESS'],
};
const V28: Readonly<Record<string, readonly string[]>> = {
  filter: [
    'DOCKER',
    'DOCKER-FORWARD',
    'DOCKER-BRIDGE',
    'DOCKER-CT',
    'DOCKER-ISOLATION-STAGE-1',
    'DOCKER-ISOLATION-STAGE-2',
    'DOCKER-INGRESS',
  ],
  nat: ['DOCKER', 'DOCKER-INGRESS'],
};
const V29: Readonly<Record<string, readonly string[]>> = {
  filter: [
    'DOCKER',
    'DOCKER-FORWARD',
    'DOCKER-BRIDGE',
    'DOCKER-CT',
    'DOCKER-INTERNAL',
    'DOCKER-INGRESS',
  ],
  nat: ['DOCKER', 'DOCKER-INGRESS'],
};

const BY_ERA: Readonly<
  Record<'classic' | 'v28' | 'v29', Readonly<Record<string, readonly string[]>>>
> = {
  classic: CLASSIC,
  v28: V28,
  v29: V29,
};

/**
 * True when Docker owns `chain` of `table` in `era`. For `none` and `nftables` (no iptables
 * layout of its own) any chain some Docker version created counts: such chains are leftovers
 * Docker may delete or rebuild.
 */
export function isDockerManagedChain(table: string, chain: string, era: LayoutEra): boolean {
  const sets = era === 'none' || era === 'nftables' ? Object.values(BY_ERA) : [BY_ERA[era]];
  return sets.some((s) => s[table]?.includes(chain) === true);
}

/**
 * Docker's own chains: every chain any Docker version creates is named DOCKER or DOCKER-…, and
 * Docker deletes or rebuilds them (leftovers of another version included), so rules an operator
 * adds there do not last. DOCKER-USER is created by Docker but is the operator's. Which of them
 * the host's Docker rewrites in its layout is `isDockerManagedChain`.
 */
export function isDockerChain(name: string): boolean {
  return name === 'DOCKER' || (name.startsWith('DOCKER-') && name !== 'DOCKER-USER');
}
