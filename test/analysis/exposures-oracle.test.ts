/**
 * The discovered exposure table against the one dockwall used to enumerate: candidates taken
 * from the Docker model — every published port of containers.json, every host listener of
 * listeners.txt — each confirmed by tracing one packet from outside. Whatever that enumeration
 * would list, discovery must list too, with the same target, on every fixture snapshot.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { buildEngines, type FamilyEngine } from '../../src/analysis/engines.ts';
import { computeExposures } from '../../src/analysis/exposures.ts';
import { isLoopback } from '../../src/docker/bindings.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import type { Exposure } from '../../src/model/audit.ts';
import type { Family } from '../../src/model/ruleset.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import type { Packet } from '../../src/model/trace.ts';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures');

/** Every fixture directory that is a snapshot with a Docker model to enumerate from. */
function snapshotDirs(): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    const entries = readdirSync(dir, { withFileTypes: true });
    if (
      entries.some((e) => e.name === 'iptables-save.txt') &&
      existsSync(path.join(dir, 'containers.json'))
    )
      out.push(dir);
    if (depth === 0) return;
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name), depth - 1);
  };
  walk(fixtures, 3);
  return out.sort();
}

interface Candidate {
  readonly family: Family;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  /** The address the mapping or listener is bound to (a wildcard: any of the host's). */
  readonly bound: string;
  readonly port: number;
  /** What the old table named: a container, or a host process (null: unknown). */
  readonly name: string | null;
  readonly kind: 'container' | 'host';
}

const familyOf = (a: string): Family => (a.includes(':') ? 'ipv6' : 'ipv4');

/** The old enumeration's candidates: published ports and host listeners. */
function candidates(snapshot: Snapshot): Candidate[] {
  const out: Candidate[] = [];
  for (const c of snapshot.host.containers) {
    if (!c.running || c.networkMode.kind === 'host') continue;
    for (const p of c.published) {
      if (isLoopback(p.hostIp) || p.hostPort === null) continue;
      const family = p.hostIp === '' ? 'ipv4' : familyOf(p.hostIp);
      out.push({
        family,
        protocol: p.protocol,
        bound: p.hostIp,
        port: p.hostPort,
        name: c.name,
        kind: 'container',
      });
    }
  }
  for (const l of snapshot.host.listeners) {
    if (l.kind === 'docker-proxy' || l.kind === 'dockerd' || isLoopback(l.address)) continue;
    const families: Family[] =
      l.address === '*' ? ['ipv4', 'ipv6'] : [familyOf(l.address || '0.0.0.0')];
    for (const family of families)
      out.push({
        family,
        protocol: l.protocol,
        bound: l.address,
        port: l.port,
        name: l.process?.name ?? null,
        kind: 'host',
      });
  }
  return out;
}

const WILDCARDS = new Set(['', '*', '0.0.0.0', '::']);
const REMOTE: Record<Family, string> = { ipv4: '198.51.100.77', ipv6: '2001:db8:77::1' };

/** Interfaces a client outside the host arrives on, as engine classes with a concrete name. */
function outsideInterfaces(snapshot: Snapshot, fe: FamilyEngine): { cls: string; name: string }[] {
  const bridges = new Set(
    snapshot.host.networks.flatMap((n) => (n.bridgeName === null ? [] : [n.bridgeName])),
  );
  // with the host's interface list, a name it does not have receives nothing
  const listed = snapshot.files.some((f) => f.role === 'ip-addr' && f.status === 'read');
  return fe.engine.interfaceClasses
    .filter((c) => c !== 'lo' && !bridges.has(c) && !/^(veth|docker|br-)/.test(c))
    .filter((c) => !listed || (c !== '*other*' && !c.endsWith('*')))
    .map((cls) => ({
      cls,
      name: cls === '*other*' ? 'oracle0' : cls.endsWith('*') ? `${cls.slice(0, -1)}0` : cls,
    }));
}

function inCidrs(cidrs: readonly string[], address: string): boolean {
  const a = ipaddr.parse(address);
  return cidrs.some((c) => {
    const [net, len] = ipaddr.parseCIDR(c.includes('/') ? c : `${c}/${c.includes(':') ? 128 : 32}`);
    return net.kind() === a.kind() && a.match(net, len);
  });
}

function covers(e: Exposure, p: Packet, cls: string, c: Candidate): boolean {
  const port = p.destinationPort ?? -1;
  return (
    e.family === p.family &&
    e.protocol === p.protocol &&
    e.ports.some((r) => port >= r.from && port <= r.to) &&
    inCidrs(e.destinations, p.destination) &&
    e.reachableFrom.some((f) => f.interface === cls && inCidrs(f.sources, p.source)) &&
    (c.kind === 'container'
      ? e.target.name === c.name
      : e.target.kind === 'host' && (c.name === null || e.target.name?.includes(c.name) === true))
  );
}

describe('the discovered exposure table holds the enumerated one', () => {
  it('on every fixture snapshot with a Docker model', async () => {
    const dirs = snapshotDirs();
    expect(dirs.length).toBeGreaterThanOrEqual(10);
    const missing: string[] = [];
    let confirmed = 0;
    for (const dir of dirs) {
      const snapshot = await loadSnapshot({ directory: dir });
      const engines = buildEngines(snapshot);
      const { exposures } = computeExposures(snapshot, engines);
      for (const c of candidates(snapshot)) {
        const fe = engines.families.find((f) => f.family === c.family);
        if (fe === undefined) continue;
        const own = fe.host.context.localAddresses.filter((a) => !isLoopback(a));
        const specific = !WILDCARDS.has(c.bound);
        const destination = specific
          ? c.bound
          : (own[0] ?? (c.family === 'ipv4' ? '203.0.113.1' : '2001:db8:1::1'));
        for (const ingress of outsideInterfaces(snapshot, fe)) {
          const packet: Packet = {
            family: c.family,
            protocol: c.protocol,
            source: REMOTE[c.family],
            sourcePort: 40000,
            destination,
            destinationPort: c.port,
            inInterface: ingress.name,
            state: 'NEW',
            mark: 0,
            // the bound address, or one the snapshot lists, is the host's; any other is taken so
            ...(specific || own.length > 0 ? {} : { destinationIsHost: true }),
          };
          // what the enumeration listed: a candidate its one packet from outside reached
          if (fe.engine.trace(packet).verdict !== 'accepted') continue;
          confirmed += 1;
          if (!exposures.some((e) => covers(e, packet, ingress.cls, c)))
            missing.push(
              `${path.relative(fixtures, dir)}: ${c.kind} ${c.name ?? '?'} ${c.protocol}/${c.port} via ${ingress.cls} to ${destination}`,
            );
        }
      }
    }
    console.log(
      `enumerated exposures: ${confirmed} confirmed on ${dirs.length} fixture snapshots, ${confirmed - missing.length} discovered`,
    );
    expect(missing, 'enumerated but not discovered').toEqual([]);
    expect(confirmed).toBeGreaterThan(10);
  });
});
