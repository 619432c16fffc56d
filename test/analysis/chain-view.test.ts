/**
 * The chain view is one tree: `dockwall chains` (buildChainsView) and the review UI's chain pane
 * (buildModel → chainRows) list the same roots in the same order and show the same rules below
 * them, for real captures and for a dump with rules in every hook of every table.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildChainsView, type ChainNode } from '../../src/analysis/chain-view.ts';
import { formatChainsText } from '../../src/report/chains.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { analyze } from '../../src/lint/analyze.ts';
import { DEFAULT_CONFIG } from '../../src/lint/config-types.ts';
import { tableId } from '../../src/model/ruleset.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { firewallOf } from '../../src/model/snapshot.ts';
import { buildModel, chainRows, type ReviewModel } from '../../src/tui/view-model.ts';
import { repoRoot } from '../rules/tester.ts';
import { tempDir } from '../support/temp-dir.ts';

function reviewModel(snapshot: Snapshot): ReviewModel {
  const audit = analyze(snapshot, DEFAULT_CONFIG, { rules: {}, engines: null });
  const rulesets = [firewallOf(snapshot, 'ipv4'), firewallOf(snapshot, 'ipv6')].filter(
    (r) => r !== null,
  );
  return buildModel({ audit, rulesets, host: snapshot.host, ruleDoc: () => null, trace: null });
}

/** Roots as `family table chain (hook|unreferenced)`, in order. */
function cliRoots(snapshot: Snapshot): string[] {
  return buildChainsView(snapshot).families.flatMap((f) => [
    ...f.hooks.map((h) => `${f.family} ${h.table} ${h.chain} hook`),
    ...f.unreferenced.map((u) => `${f.family} ${u.table} ${u.chain} unreferenced`),
  ]);
}

function uiRoots(model: ReviewModel): string[] {
  return model.chainRoots.map(
    (r) =>
      `${r.family} ${tableId(r.table)} ${r.chain.name} ${r.unreferenced ? 'unreferenced' : 'hook'}`,
  );
}

/** Every rule the CLI tree shows under the hooks, as `family table chain #index`. */
function cliRules(snapshot: Snapshot): Set<string> {
  const out = new Set<string>();
  const walk = (family: string, node: ChainNode): void => {
    for (const r of node.rules) {
      out.add(`${family} ${node.table} ${node.chain} #${r.index}`);
      if (r.enters !== null) walk(family, r.enters);
      for (const d of r.dispatches) walk(family, d);
    }
  };
  for (const f of buildChainsView(snapshot).families) for (const h of f.hooks) walk(f.family, h);
  return out;
}

/** Every rule row of the UI tree under the hooks, with every jump that can be opened open. */
function uiRules(model: ReviewModel): Set<string> {
  let expanded = new Set(model.initialExpanded);
  for (;;) {
    const rows = chainRows(model, expanded);
    const more = rows.filter(
      (r) =>
        (r.kind === 'rule' && r.expandable && !r.expanded) || (r.kind === 'chain' && !r.expanded),
    );
    if (more.length === 0) {
      const out = new Set<string>();
      let family = '';
      let underHook = false;
      for (const row of rows) {
        if (row.kind === 'chain' && row.depth === 0) {
          const root = model.chainRoots.find((r) => r.key === row.key);
          family = root?.family ?? '';
          underHook = root?.unreferenced === false;
        } else if (row.kind === 'rule' && underHook) {
          out.add(`${family} ${row.rule.table} ${row.rule.chain} #${row.rule.index}`);
        }
      }
      return out;
    }
    expanded = new Set([...expanded, ...more.map((r) => r.key)]);
  }
}

const EVERY_HOOK = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -p udp -m udp --dport 53 -j NOTRACK
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
-A OUTPUT -j MARK --set-xmark 0x1/0xffffffff
-A POSTROUTING -j MARKED
:MARKED - [0:0]
-A MARKED -m mark --mark 0x1 -j RETURN
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:ORPHAN - [0:0]
:BEHIND-ORPHAN - [0:0]
-A INPUT -i lo -j ACCEPT
-A ORPHAN -j BEHIND-ORPHAN
-A BEHIND-ORPHAN -j DROP
COMMIT
*security
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -j ACCEPT
COMMIT
`;

describe('the chains command and the review UI show one chain tree', () => {
  const captures = [
    'fixtures/snapshots/28.5.2/s1-default-bridge-p8080',
    'fixtures/snapshots/28.5.2/s7-usernet-ipv6-ip6tables',
    'fixtures/snapshots/26.1.5/s0-new-daemon',
    'fixtures/snapshots/20.10.24/s8-host-none-container-modes',
    'fixtures/snapshots/29.7.2/s2a-nftables-portmap',
    'fixtures/snapshots/29.7.2/s3b-nftables-ipv6-dualstack',
    'fixtures/example-host',
  ];
  it.each(captures)('%s', async (dir) => {
    const snapshot = await loadSnapshot({ directory: path.join(repoRoot, dir) });
    const model = reviewModel(snapshot);
    expect(uiRoots(model)).toEqual(cliRoots(snapshot));
    expect(cliRoots(snapshot).length).toBeGreaterThan(4);
    expect([...uiRules(model)].sort()).toEqual([...cliRules(snapshot)].sort());
  });

  it('on a dump with rules in every hook: packet order, and orphans with what hangs off them', async () => {
    const dir = tempDir('dockwall-chain-view-');
    writeFileSync(path.join(dir, 'iptables-save.txt'), EVERY_HOOK);
    const snapshot = await loadSnapshot({ directory: dir });
    const expected = [
      'ipv4 nat PREROUTING hook',
      'ipv4 mangle FORWARD hook',
      'ipv4 filter FORWARD hook',
      'ipv4 filter INPUT hook',
      'ipv4 raw OUTPUT hook',
      'ipv4 mangle OUTPUT hook',
      'ipv4 nat OUTPUT hook',
      'ipv4 filter OUTPUT hook',
      'ipv4 security OUTPUT hook',
      'ipv4 mangle POSTROUTING hook',
      'ipv4 nat POSTROUTING hook',
      'ipv4 filter ORPHAN unreferenced',
      'ipv4 filter BEHIND-ORPHAN unreferenced',
    ];
    expect(cliRoots(snapshot)).toEqual(expected);
    const model = reviewModel(snapshot);
    expect(uiRoots(model)).toEqual(expected);
    expect([...uiRules(model)].sort()).toEqual([...cliRules(snapshot)].sort());
    expect(cliRules(snapshot)).toContain('ipv4 mangle MARKED #1');
  });

  it('on an nftables host: every base chain by hook and priority, across iptables-nft and native tables', async () => {
    // Docker 29's nftables tables (s2a), iptables-nft's FORWARD beside them, an operator's table
    const dir = tempDir('dockwall-chain-view-');
    const s2a = path.join(repoRoot, 'fixtures/snapshots/29.7.2/s2a-nftables-portmap');
    const capture = path.join(repoRoot, '../shared/captures/docker-29.7.2/s2a-nftables-portmap');
    const nft = path.join(dir, 'nft-ruleset.txt');
    writeFileSync(
      nft,
      `${readFileSync(`${capture}.nft-ruleset`, 'utf8')}${readFileSync(
        path.join(repoRoot, 'fixtures/nft/semantics/sets-and-vmaps.nft'),
        'utf8',
      )}`,
    );
    const snapshot = await loadSnapshot({
      directory: s2a,
      files: {
        iptables: path.join(repoRoot, 'fixtures/nft/semantics/iptables-nft-beside.iptables'),
        'nft-ruleset': nft,
      },
    });
    const v4 = cliRoots(snapshot).filter((r) => r.startsWith('ipv4 '));
    expect(v4).toEqual([
      'ipv4 ip docker-bridges raw-PREROUTING hook',
      'ipv4 ip docker-bridges nat-PREROUTING hook',
      'ipv4 inet operator forward hook',
      'ipv4 filter FORWARD hook',
      'ipv4 ip docker-bridges filter-FORWARD hook',
      'ipv4 filter INPUT hook',
      'ipv4 ip docker-bridges nat-OUTPUT hook',
      'ipv4 filter OUTPUT hook',
      'ipv4 ip docker-bridges nat-POSTROUTING hook',
    ]);
    const view = buildChainsView(snapshot);
    const forward = view.families[0]?.hooks.find((h) => h.chain === 'filter-FORWARD');
    expect(forward?.base).toEqual({ hook: 'FORWARD', hookName: 'forward', priority: 0 });
    expect(forward?.owner).toBe('docker');
    expect(view.families[0]?.hooks.find((h) => h.table === 'inet operator')).toMatchObject({
      owner: 'operator',
      base: { priority: -1 },
    });
    // the verdict map's chains hang below the rule that dispatches to them
    expect(forward?.rules[0]?.dispatches.map((d) => d.chain)).toEqual([
      'filter-forward-in__docker0',
      'filter-forward-in__bridge1',
    ]);
    const text = formatChainsText(view);
    const at = (line: string): number => text.indexOf(`\n${line}\n`);
    expect(
      at('inet operator forward policy ACCEPT [operator-written] priority -1 (filter - 1)'),
    ).toBeGreaterThan(at('-- FORWARD --'));
    expect(
      at('ip docker-bridges filter-FORWARD policy ACCEPT [Docker-managed] priority 0 (filter)'),
    ).toBeGreaterThan(at('filter FORWARD policy DROP [built-in] priority 0 (filter)'));
    const model = reviewModel(snapshot);
    expect(uiRoots(model)).toEqual(cliRoots(snapshot));
    expect([...uiRules(model)].sort()).toEqual([...cliRules(snapshot)].sort());
    expect(cliRules(snapshot)).toContain('ipv4 ip docker-bridges filter-forward-in__bridge1 #3');
    expect(
      chainRows(model, model.initialExpanded).map((r) => (r.kind === 'chain' ? r.title : '')),
    ).toContain(
      'ipv4 inet operator forward policy ACCEPT (4 rules) · forward priority -1 (filter - 1)',
    );
  });
});
