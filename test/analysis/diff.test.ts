/**
 * `dockwall diff` on real captures: a published port added, an operator rule that closes it, one
 * that looks as if it did but does not (DOCKER-USER on the host port), identical snapshots — and
 * the JSON validated against docs/diff-result.schema.json, SARIF accepted by its shape.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { DiffResult } from '../../src/model/diff.ts';
import { main } from '../../src/cli/main.ts';
import { captureIo, repoRoot } from '../support/plan-scenarios.ts';
import { blocklistAddresses, writeBlocklistSnapshot } from '../support/blocklist.ts';
import { tempDir } from '../support/temp-dir.ts';

const snapshots = path.join(repoRoot, 'fixtures/snapshots/28.5.2');
const s0 = path.join(snapshots, 's0-new-daemon');
const s3 = path.join(snapshots, 's3-usernet-portmap');

/** s3 with rules added to DOCKER-USER (the capture's chain is empty). */
function withDockerUser(...rules: string[]): string {
  const dir = path.join(tempDir('dwdiff-'), 's3');
  cpSync(s3, dir, { recursive: true });
  const file = path.join(dir, 'iptables-save.txt');
  const text = readFileSync(file, 'utf8');
  writeFileSync(
    file,
    text.replace(
      '-A FORWARD -j DOCKER-FORWARD\n',
      `-A FORWARD -j DOCKER-FORWARD\n${rules.map((r) => `-A DOCKER-USER ${r}\n`).join('')}`,
    ),
  );
  return dir;
}

async function diff(before: string, after: string, ...args: string[]) {
  let out = '';
  const { io, err } = captureIo();
  const code = await main(['diff', before, after, '--format', 'json', ...args], {
    ...io,
    stdout: { write: (s: string) => ((out += s), true) },
  } as typeof io);
  return { code, err: err(), result: (out === '' ? null : JSON.parse(out)) as DiffResult | null };
}

const schema = JSON.parse(
  readFileSync(path.join(repoRoot, 'docs/diff-result.schema.json'), 'utf8'),
) as object;
const auditSchema = JSON.parse(
  readFileSync(path.join(repoRoot, 'docs/audit-result.schema.json'), 'utf8'),
) as object;
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(auditSchema, 'audit-result.schema.json');
const validate = ajv.compile(schema);

function valid(r: DiffResult | null): void {
  expect(validate(r), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
}

/** Docker 29.7.2's nftables capture behind a blocklist set of these addresses. */
const withBlocklist = (addresses: readonly string[]): string =>
  writeBlocklistSnapshot(path.join(tempDir('dwdiff-'), 's2a'), addresses);

describe('dockwall diff on real captures', () => {
  it('a published port added: gained, with a witness and its trace, exit 1', async () => {
    const { code, result } = await diff(s0, s3);
    valid(result);
    expect(code).toBe(1);
    const row = (e: DiffResult['gained'][number]) =>
      `${e.family} ${e.protocol} ${e.ports.map((p) => p.from).join()} → ${e.target.kind} ${e.target.name ?? '?'}${e.target.proxiedBy === null ? '' : ` via ${e.target.proxiedBy}`}`;
    // IPv4 is DNATed to c1; IPv6 reaches it through docker-proxy (the container has no IPv6).
    // The new network's bridge brings its broadcast address, where a datagram reaches the
    // host's sockets (INPUT accepts everything here): the broadcast row says one more.
    expect(result?.gained.map(row)).toEqual([
      'ipv4 tcp 8080 → container c1',
      'ipv4 udp 0 → host ?',
      'ipv6 tcp 8080 → container c1 via docker-proxy',
    ]);
    const g = result?.gained[0];
    expect(g?.witness.destinationPort).toBe(8080);
    expect(g?.trace.some((s) => s.action.startsWith('DNAT 192.0.2.2:80'))).toBe(true);
    expect(
      g?.trace.some((s) => s.table === 'filter' && s.chain === 'DOCKER' && s.action === 'ACCEPT'),
    ).toBe(true);
    // Before, port 8080 reached the host itself (INPUT accepts everything there); now it is
    // DNATed to c1: the host's own port 8080 is what is lost.
    expect(
      result?.lost.map(
        (e) => `${e.family} ${e.target.kind} ${e.ports.map((p) => `${p.from}-${p.to}`).join()}`,
      ),
    ).toEqual(['ipv4 host 8080-8080', 'ipv6 host 8080-8080']);
    // The reverse change loses c1, traced where it was reachable (and the broadcast address
    // of its network).
    const back = await diff(s3, s0);
    expect(back.code).toBe(1);
    expect(back.result?.lost.map((e) => e.target.name)).toEqual(['c1', null, 'c1']);
    expect(
      back.result?.lost[0]?.trace.some((s) =>
        s.file?.endsWith('s3-usernet-portmap/iptables-save.txt'),
      ),
    ).toBe(true);
  });

  it('an operator rule that closes it: lost, nothing gained, exit 0', async () => {
    const closed = withDockerUser(
      '-p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP',
    );
    const { code, result } = await diff(s3, closed);
    valid(result);
    expect(code).toBe(0);
    expect(result?.gained).toEqual([]);
    expect(result?.lost.map((e) => `${e.target.name} ${e.ports[0]?.from ?? 0}`)).toEqual([
      'c1 8080',
    ]);
  });

  it('a rule that only looks as if it closed it (DOCKER-USER --dport HOSTPORT): what it does close', async () => {
    const mistaken = withDockerUser('-p tcp -m tcp --dport 8080 -j DROP');
    const { code, result } = await diff(s3, mistaken);
    valid(result);
    expect(result?.gained).toEqual([]);
    // the published port is still open; what the rule drops is c1's replies to a client
    // sending from port 8080 (DOCKER-USER sees both directions): those clients are lost
    expect(
      result?.lost.map((e) => [
        e.target.name,
        e.ports,
        e.reachableFrom.map((r) => [r.sources, r.sourcePorts]),
      ]),
    ).toEqual([['c1', [{ from: 8080, to: 8080 }], [[['0.0.0.0/0'], [{ from: 8080, to: 8080 }]]]]]);
    expect(result?.summary.rulesChanged).toBe(1);
    // The mistake itself is a new error finding, so the gate still fails.
    expect(result?.findings.new.map((f) => f.ruleId)).toEqual(['docker-user-port-mismatch']);
    expect(code).toBe(1);
    expect((await diff(s3, mistaken, '--fail-on', 'never')).code).toBe(0);
  });

  it('a rule on one interface: the sides name interfaces differently, the gain is still seen', async () => {
    // Only the rule names eth0 (the capture lists no interfaces): BEFORE tells eth0 apart from
    // "any other interface", AFTER does not — its "any other" includes eth0.
    const closedOnEth0 = withDockerUser(
      '-i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP',
    );
    const reopened = await diff(closedOnEth0, s3);
    valid(reopened.result);
    expect(reopened.code).toBe(1);
    expect(
      reopened.result?.gained.map(
        (e) =>
          `${e.family} ${e.target.name ?? '?'} ${e.reachableFrom.map((r) => r.interface).join()}`,
      ),
    ).toEqual(['ipv4 c1 eth0']);
    expect(reopened.result?.gained[0]?.witness.inInterface).toBe('eth0');
    expect(reopened.result?.lost).toEqual([]);
    const closed = await diff(s3, closedOnEth0);
    expect(closed.code).toBe(0);
    expect(closed.result?.lost.map((e) => e.reachableFrom.map((r) => r.interface).join())).toEqual([
      'eth0',
    ]);
    expect(closed.result?.gained).toEqual([]);
  });

  it('a rule that closes part of it: the part that is lost, as the exact sources', async () => {
    const partly = withDockerUser(
      '-s 198.51.100.0/24 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP',
    );
    const { result } = await diff(s3, partly);
    valid(result);
    expect(result?.lost.flatMap((e) => e.reachableFrom.flatMap((f) => f.sources))).toEqual([
      '198.51.100.0/24',
    ]);
    const witness = result?.lost[0]?.witness.source ?? '';
    expect(witness.startsWith('198.51.100.')).toBe(true);
  });

  it('identical snapshots: nothing, exit 0; text and Markdown say so', async () => {
    const { code, result } = await diff(s3, s3);
    valid(result);
    expect(code).toBe(0);
    expect(result?.notes).toEqual(['Nothing reachable from outside changed.']);
    for (const format of ['text', 'markdown']) {
      const text = captureIo();
      let out = '';
      expect(
        await main(['diff', s3, s3, '--format', format], {
          ...text.io,
          stdout: { write: (s: string) => ((out += s), true) },
        } as typeof text.io),
      ).toBe(0);
      expect(out).toContain('0 gained, 0 lost');
      expect(out).toContain('Nothing reachable from outside changed.');
    }
  });

  it('Markdown for a pull request: the gained row with its witness, the trace folded', async () => {
    let out = '';
    const { io } = captureIo();
    await main(['diff', s0, s3, '--format', 'markdown'], {
      ...io,
      stdout: { write: (s: string) => ((out += s), true) },
    } as typeof io);
    const gained = out.slice(out.indexOf('## Gained'), out.indexOf('## Lost'));
    expect(gained).toMatch(
      /\| `0\.0\.0\.0:8080\/tcp` \| container c1 .*\| certain \| `tcp .*:8080/,
    );
    expect(gained).toContain('<details><summary>trace of');
    expect(gained).toMatch(/1\. `nat\/DOCKER#\d+ DNAT 192\.0\.2\.2:80/);
  });

  it('exits 2 when a side cannot be read, and 1 for a new finding at --fail-on', async () => {
    const missing = await diff(s3, path.join(repoRoot, 'no/such/snapshot'));
    expect(missing.code).toBe(2);
    // s0 → s3 adds findings (the published port); with --fail-on never nothing fails.
    expect((await diff(s0, s3, '--fail-on', 'never')).code).toBe(0);
    // The config's failOn is the default; the flag wins.
    const config = path.join(tempDir('dwdiff-'), 'dockwall.yaml');
    writeFileSync(config, 'failOn: never\n');
    expect((await diff(s0, s3, '--config', config)).code).toBe(0);
    expect((await diff(s0, s3, '--config', config, '--fail-on', 'error')).code).toBe(1);
  });

  it('a line the reader could not read fails the gate even when nothing changed', async () => {
    const garbled = withDockerUser('-p tcp --no-such-option 8080 -j DROP');
    const { code, result } = await diff(s3, garbled);
    valid(result);
    expect(result?.gained).toEqual([]);
    expect(result?.diagnostics.some((d) => d.severity === 'error')).toBe(true);
    expect(code).toBe(1);
  });

  it('two ruleset files: the same comparison, findings matched across the file names', async () => {
    const dir = tempDir('dwdiff-');
    const before = path.join(dir, 'old.rules');
    const after = path.join(dir, 'new.rules');
    cpSync(path.join(s3, 'iptables-save.txt'), before);
    cpSync(path.join(s3, 'iptables-save.txt'), after);
    const same = await diff(before, after);
    valid(same.result);
    expect(same.code).toBe(0);
    expect(same.result?.findings).toEqual({ new: [], fixed: [] });
    expect(same.result?.notes).toEqual(['Nothing reachable from outside changed.']);
    // The port published: gained, named from the rules Docker wrote (no containers.json).
    cpSync(path.join(s0, 'iptables-save.txt'), before);
    const added = await diff(before, after);
    valid(added.result);
    expect(added.code).toBe(1);
    expect(
      added.result?.gained.map((e) => `${e.family} ${e.target.kind} ${e.ports[0]?.from ?? 0}`),
    ).toEqual(['ipv4 container 8080']);
  });

  it('SARIF lists the gained exposure as a result located at the accepting rule', async () => {
    let out = '';
    const { io } = captureIo();
    const code = await main(['diff', s0, s3, '--format', 'sarif'], {
      ...io,
      stdout: { write: (s: string) => ((out += s), true) },
    } as typeof io);
    expect(code).toBe(1);
    const sarif = JSON.parse(out) as {
      runs: {
        tool: { driver: { rules: { id: string }[] } };
        results: {
          ruleId: string;
          ruleIndex: number;
          locations: { physicalLocation: { region: { startLine: number } } }[];
        }[];
      }[];
    };
    const run = sarif.runs[0];
    const gained = run?.results.find((r) => r.ruleId === 'exposure-gained');
    expect(gained).toBeDefined();
    expect(run?.tool.driver.rules[gained?.ruleIndex ?? -1]?.id).toBe('exposure-gained');
    expect(gained?.locations[0]?.physicalLocation.region.startLine).toBeGreaterThan(1);
  });
});

describe('dockwall diff on nftables (Docker 29.7.2, planned from the s2a capture’s Compose file)', () => {
  const scenario = path.join(repoRoot, 'fixtures/plan/29.7.2/s2a-nftables-portmap');
  const base = path.join(repoRoot, 'fixtures/plan/base/29.7.2-forwarding');

  async function plan(compose: string): Promise<string> {
    const out = path.join(tempDir('dwdiff-nft-'), 'planned');
    const { io, err } = captureIo();
    const args = [
      'plan',
      base,
      '--compose',
      compose,
      '--daemon',
      path.join(scenario, 'daemon.json'),
    ];
    expect(await main([...args, '--out', out], io), err()).toBe(0);
    return out;
  }

  /** The planned snapshot with an operator's own nftables table appended. */
  function withOperatorTable(dir: string, rule: string): string {
    const copy = path.join(tempDir('dwdiff-nft-'), 'edited');
    cpSync(dir, copy, { recursive: true });
    const file = path.join(copy, 'nft-ruleset.txt');
    writeFileSync(
      file,
      `${readFileSync(file, 'utf8')}table inet operator {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\t${rule}\n\t}\n}\n`,
    );
    return copy;
  }

  it('a service added, a rule that closes it, and one that looks as if it did', async () => {
    const full = await plan(path.join(scenario, 'compose.yaml'));
    const compose = readFileSync(path.join(scenario, 'compose.yaml'), 'utf8');
    const withoutWeb1 = path.join(tempDir('dwdiff-nft-'), 'c.yaml');
    writeFileSync(
      withoutWeb1,
      compose.replace(/ {2}web1:\n(?: {4}.*\n)+/, '').replace('[web1]', '[web0]'),
    );
    const small = await plan(withoutWeb1);

    const added = await diff(small, full);
    valid(added.result);
    expect(added.code).toBe(1);
    expect(
      added.result?.gained.map(
        (e) =>
          `${e.family} ${e.ports[0]?.from ?? 0} → ${e.target.name ?? '?'}${e.target.proxiedBy === null ? '' : ` via ${e.target.proxiedBy}`}`,
      ),
    ).toEqual([
      'ipv4 8081 → web1',
      // web1's network brings its bridge's broadcast address (see the captures' test above)
      'ipv4 0 → ?',
      'ipv6 8081 → web1 via docker-proxy',
    ]);
    expect(
      added.result?.gained[0]?.trace.some(
        (s) => s.table === 'ip docker-bridges' && s.action.startsWith('DNAT 192.0.2.2:80'),
      ),
    ).toBe(true);
    // What the host itself answered on 8081 before: only that port is lost, not the host's row.
    expect(
      added.result?.lost.map((e) => `${e.target.kind} ${JSON.stringify(e.target.ports)}`),
    ).toEqual(['host [{"from":8081,"to":8081}]', 'host [{"from":8081,"to":8081}]']);

    // Dropped by the original destination port: web1 over IPv4 is closed. IPv6 clients reach
    // docker-proxy on the host (INPUT), which a forward chain never sees: not closed.
    const closed = await diff(full, withOperatorTable(full, 'ct original proto-dst 8081 drop'));
    valid(closed.result);
    expect(closed.result?.gained).toEqual([]);
    expect(
      closed.result?.lost.filter((e) => e.target.kind === 'container').map((e) => e.family),
    ).toEqual(['ipv4']);

    // Dropped by the published port towards the containers' subnet: after Docker's DNAT the
    // port is 80, so nothing from outside is decided differently.
    const looks = await diff(
      full,
      withOperatorTable(full, 'ip daddr 192.0.2.0/24 tcp dport 8081 drop'),
    );
    valid(looks.result);
    expect([looks.result?.gained, looks.result?.lost]).toEqual([[], []]);
    expect(looks.result?.summary.rulesChanged).toBe(1);
    expect(looks.result?.notes[0]).toContain('although 1 rule line(s) differ');
    // The mistake itself is a new error finding, so the gate still fails.
    expect(looks.result?.findings.new.map((f) => f.ruleId)).toEqual(['nft-port-mismatch']);
    expect(looks.code).toBe(1);
  });
  it('a blocklist that drops five addresses fewer: gained from exactly those five', async () => {
    const blocked = blocklistAddresses(3000, 9);
    const freed = blocked.filter((_, i) => i % 600 === 0);
    const before = withBlocklist(blocked);
    const after = withBlocklist(blocked.filter((a) => !freed.includes(a)));
    const { code, result } = await diff(before, after);
    valid(result);
    expect(code).toBe(1);
    expect(result?.lost).toEqual([]);
    const web0 = result?.gained.filter((e) => e.family === 'ipv4' && e.target.name === 'web0');
    expect(web0?.map((e) => e.ports.map((p) => p.from).join())).toEqual(['8080']);
    const from = web0?.[0]?.reachableFrom ?? [];
    expect(from.flatMap((f) => f.sources).sort()).toEqual(freed.map((a) => `${a}/32`).sort());
    expect(from.every((f) => f.exceptSources === undefined)).toBe(true);
    expect(freed).toContain(web0?.[0]?.witness.source);
    // and the reverse: lost from those five, the rest of the world unchanged
    const back = await diff(after, before);
    expect(back.result?.gained).toEqual([]);
    expect(back.result?.lost.length).toBeGreaterThan(0);
  }, 60_000);
});
