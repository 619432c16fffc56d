/**
 * Routes the snapshot lists that still leave the way out open, on the README's example host.
 * Policy routing: wg-quick's full tunnel sends the replies to every client the main table's
 * default route would answer into the tunnel, unless they carry its mark — the exposures from
 * outside are then only possible, and say which rule; the kernel's default rules leave them
 * certain. A multipath default route: the kernel picks a next hop per flow. (The routing
 * decisions themselves are refereed by the kernel in test/kernel/routing-referee.test.ts.)
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildEngines } from '../../src/analysis/engines.ts';
import { computeExposures } from '../../src/analysis/exposures.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { repoRoot } from '../rules/tester.ts';
import { DEFAULT_RULES, WG_QUICK_RULES } from '../support/policy-rules.ts';
import { tempDir } from '../support/temp-dir.ts';

const EXAMPLE = path.join(repoRoot, 'fixtures/example-host');

/** The example host with a wg0 full tunnel's table, and `rules` as ip-rule.json (none: absent). */
function host(rules: readonly object[] | null): string {
  return variant(
    (routes) => [...routes, { dst: 'default', dev: 'wg0', table: '51820', flags: [] }],
    rules,
  );
}

/** The example host with its routes changed, and `rules` as ip-rule.json (none: absent). */
function variant(
  change: (routes: readonly { dst: string }[]) => readonly object[],
  rules: readonly object[] | null,
): string {
  const dir = path.join(tempDir('dockwall-policy-'), 'snap');
  cpSync(EXAMPLE, dir, { recursive: true });
  rmSync(path.join(dir, 'manifest.json'));
  const routes = JSON.parse(readFileSync(path.join(dir, 'ip-route.json'), 'utf8')) as {
    dst: string;
  }[];
  writeFileSync(path.join(dir, 'ip-route.json'), JSON.stringify(change(routes)));
  if (rules === null) rmSync(path.join(dir, 'ip-rule.json'));
  else writeFileSync(path.join(dir, 'ip-rule.json'), JSON.stringify(rules));
  return dir;
}

async function rows(dir: string) {
  const snapshot = await loadSnapshot({ directory: dir });
  const engines = buildEngines(snapshot);
  const exposures = computeExposures(snapshot, engines).exposures.filter(
    (e) => e.family === 'ipv4' && e.target.name === 'shop-web-1',
  );
  return { snapshot, engines, exposures };
}

/** The IPv4 trace of a TCP connection's first packet. */
function traceTcp(
  engines: ReturnType<typeof buildEngines>,
  source: string,
  destination: string,
  destinationPort: number,
  inInterface: string,
) {
  return engines.families
    .find((f) => f.family === 'ipv4')
    ?.engine.trace({
      family: 'ipv4',
      protocol: 'tcp',
      source,
      sourcePort: 40000,
      destination,
      destinationPort,
      inInterface,
      state: 'NEW',
      mark: 0,
    });
}

describe('policy routing on the example host', () => {
  it('doubts what wg-quick’s tunnel may take the replies of, naming its rule', async () => {
    const { exposures, engines } = await rows(host(WG_QUICK_RULES));
    expect(exposures.map((e) => e.certainty)).toEqual(['possible']);
    expect(exposures[0]?.assumptions.join('\n')).toContain(
      '`32765: not from all fwmark 0xca6c lookup 51820` may route the replies otherwise',
    );
    // the trace of a client's packet: delivered, the answer routed by the main table, possibly
    const tr = traceTcp(engines, '198.51.100.9', '203.0.113.10', 8080, 'eth0');
    expect(tr?.verdict).toBe('accepted');
    expect(tr?.certainty).toBe('possible');
    expect(tr?.assumptions).toContain(
      'the route to 198.51.100.9 (via eth0) is assumed: `32765: not from all fwmark 0xca6c lookup 51820` may route it otherwise',
    );
  });

  it('names the rule that sends a destination nowhere', async () => {
    const { engines } = await rows(
      host([
        { priority: 0, src: 'all', table: 'local' },
        { priority: 100, src: 'all', dst: '198.18.0.0', dstlen: 15, action: 'prohibit' },
        { priority: 32766, src: 'all', table: 'main' },
      ]),
    );
    const tr = traceTcp(engines, '172.18.0.2', '198.18.0.5', 443, 'br-5d1f0c3a9b7e');
    expect([tr?.verdict, tr?.certainty, tr?.unrouted]).toEqual([
      'dropped',
      'certain',
      'the route to 198.18.0.5 is a prohibit route (198.18.0.0/15, by `100: from all to 198.18.0.0/15 prohibit`), which sends nowhere',
    ]);
  });

  it('leaves the exposures certain under the kernel’s default rules', async () => {
    const { exposures } = await rows(host(DEFAULT_RULES));
    expect(exposures.map((e) => e.certainty)).toEqual(['certain']);
  });

  it('without ip-rule.json, doubts what the other table’s routes cover, and says why', async () => {
    const { exposures, snapshot } = await rows(host(null));
    expect(exposures.map((e) => e.certainty)).toEqual(['possible']);
    expect(exposures[0]?.assumptions.join('\n')).toContain(
      'with no ip-rule.json, a rule that looks up table 51820 may route the replies otherwise',
    );
    expect(snapshot.assumptions.map((a) => a.text)).toContain(
      'no ip-rule.json: IPv4 policy routing is not known: the main table is taken to decide, and what the routes of another table cover is only possible',
    );
  });
});

describe('a multipath default route on the example host', () => {
  it('answers the clients by one of its next hops, possibly', async () => {
    const dir = variant(
      (routes) =>
        routes.map((r) =>
          r.dst === 'default' && !('pref' in r)
            ? {
                dst: 'default',
                flags: [],
                nexthops: [
                  { gateway: '203.0.113.1', dev: 'eth0', weight: 1, flags: [] },
                  { gateway: '192.0.2.1', dev: 'eth1', weight: 1, flags: [] },
                ],
              }
            : r,
        ),
      DEFAULT_RULES,
    );
    const { exposures } = await rows(dir);
    // before, the route was dropped on reading: no default route, and no client outside answered
    expect(
      exposures.map((e) => [e.certainty, e.reachableFrom.map((r) => [r.interface, r.sources])]),
    ).toEqual([['possible', [['eth0', ['0.0.0.0/0']]]]]);
    expect(exposures[0]?.assumptions.join('\n')).toContain(
      "the multipath route default's next hop by eth1 may route the replies otherwise",
    );
  });
});
