/** No loader throws, whatever the input: every problem must come back as a diagnostic. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadContainers } from '../../src/ingest/containers.ts';
import { loadDaemonFile } from '../../src/ingest/daemon.ts';
import { loadDockerVersion } from '../../src/ingest/docker-version.ts';
import { loadIpAddr, loadIpRoute, loadIpRule } from '../../src/ingest/ip.ts';
import { loadListeners } from '../../src/ingest/listeners.ts';
import { loadNetworks } from '../../src/ingest/networks.ts';
import { parseNft } from '../../src/ingest/nft/index.ts';
import { loadSysctl } from '../../src/ingest/sysctl.ts';

const ex = path.resolve(import.meta.dirname, '../../fixtures/example-host');
const real = {
  containers: JSON.parse(readFileSync(path.join(ex, 'containers.json'), 'utf8')) as unknown,
  networks: JSON.parse(readFileSync(path.join(ex, 'networks.json'), 'utf8')) as unknown,
  ipAddr: JSON.parse(readFileSync(path.join(ex, 'ip-addr.json'), 'utf8')) as unknown,
};

/** Every path (list of keys/indexes) into a JSON value. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  }
  return out;
}

/** A copy of `value` with the value at `at` replaced. */
function replaced(value: unknown, at: (string | number)[], by: unknown): unknown {
  if (at.length === 0) return by;
  const [head, ...rest] = at;
  if (Array.isArray(value)) {
    return (value as unknown[]).map((v, i) => (i === head ? replaced(v, rest, by) : v));
  }
  const obj = value as Record<string, unknown>;
  return { ...obj, [String(head)]: replaced(obj[String(head)], rest, by) };
}

function mutations(base: unknown) {
  const all = paths(base);
  return fc
    .tuple(fc.integer({ min: 0, max: all.length - 1 }), fc.jsonValue({ maxDepth: 2 }))
    .map(([i, by]) => JSON.stringify(replaced(base, all[i] ?? [], by), null, 1));
}

describe('loaders never throw', () => {
  it('on real inspect, network and ip output with one value replaced by anything', () => {
    fc.assert(
      fc.property(
        mutations(real.containers),
        mutations(real.networks),
        mutations(real.ipAddr),
        (c, n, a) => {
          const networks = loadNetworks(n, 'n.json').networks;
          const r = loadContainers(c, 'c.json', networks);
          expect(r.containers.length).toBeLessThanOrEqual(3);
          loadIpAddr(a, 'a.json');
          loadIpRoute(a, 'a.json');
        },
      ),
      { numRuns: 400 },
    );
  });

  it('on arbitrary JSON and arbitrary text', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 200 }), (value, text) => {
        const json = JSON.stringify(value);
        for (const t of [json, text]) {
          loadContainers(t, 'c.json', []);
          loadNetworks(t, 'n.json');
          loadDaemonFile(t, 'd.json');
          loadDockerVersion(t, 'v.json');
          loadIpAddr(t, 'a.json');
          loadIpRoute(t, 'r.json');
          loadIpRule(t, 'ip-rule.json', 'ipv4');
          loadIpRule(t, 'ip6-rule.json', 'ipv6');
          // parseNft turns a throw into an internal-error diagnostic: none may appear
          expect(parseNft(t, 'nft.json').diagnostics.map((d) => d.code)).not.toContain(
            'internal-error',
          );
          loadListeners(t, 'l.txt');
          loadSysctl(t, 's.txt');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reports a replaced field of a container at the replaced value', () => {
    const base = real.containers as { HostConfig: { NetworkMode: unknown } }[];
    const text = JSON.stringify(replaced(base, [1, 'HostConfig', 'NetworkMode'], [1, 2]), null, 2);
    const r = loadContainers(text, 'c.json', []);
    const d = r.diagnostics.find((x) => x.code === 'wrong-type');
    expect(d?.message).toBe(
      'containers[1].HostConfig.NetworkMode must be a string, found an array',
    );
    expect(text.split('\n')[(d?.location.line ?? 0) - 1]).toContain('"NetworkMode": [');
    expect(r.containers.map((c) => c.name)).toEqual(['shop-web-1', 'shop-db-1', 'node-exporter']);
  });
});
