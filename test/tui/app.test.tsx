import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { SEQ } from './keys.ts';
import { renderApp, waitFor } from './render.tsx';
import { recordingTracer, sampleData, sampleFindings } from './sample.ts';

afterEach(() => {
  cleanup();
});

function lines(frame: string): string[] {
  return frame.split('\n');
}

describe('Findings pane', () => {
  it('shows the groups with counts and the selected finding, and moves with j', async () => {
    const app = renderApp(sampleData());
    const first = await app.ready('▼ ERROR (1)');
    expect(first).toContain('▼ WARNING (1)');
    expect(first).toContain('▼ NOTE (1)');
    expect(first).toMatch(/›\s+exposed-database\s+iptables\.txt:30\s+PostgreSQL/);
    const moved = await app.press('j', /›\s+docker-user-ineffective/);
    expect(moved).not.toMatch(/›\s+exposed-database/);
    // The frame fills the terminal: tab bar on top, key hints at the bottom.
    expect(lines(moved)).toHaveLength(24);
    expect(lines(moved)[0]).toContain('1 Findings 3');
    expect(lines(moved)[23]).toContain('q quit');
  });

  it('filters by severity and by text', async () => {
    const app = renderApp(sampleData());
    await app.ready('exposed-database');
    const noErrors = await app.press('e', 'shown 2/3');
    expect(noErrors).not.toContain('exposed-database');
    await app.press('x', 'shown 3/3');
    await app.press('/', '/█');
    await app.press(['s', 'h', 'a', 'd'], '/shad█');
    const filtered = await app.press(SEQ.enter, 'shown 1/3');
    expect(filtered).toContain('filter "shad"');
    expect(filtered).toContain('shadowed-rule');
    expect(filtered).not.toContain('exposed-database');
  });

  it('virtualises a long list: only the rows that fit are drawn', async () => {
    const app = renderApp(sampleData({ findings: sampleFindings(5000) }));
    const frame = await app.ready('shown 5003/5003');
    expect(frame).not.toContain('Generated rule 100 ');
    const end = await app.press('G', 'Generated rule 4999 is shadowed');
    expect(end).not.toContain('exposed-database');
    expect(lines(end)).toHaveLength(24);
  });
});

describe('Finding detail', () => {
  it('shows message, rule doc, witness and the trace with the deciding rule marked', async () => {
    const app = renderApp(sampleData());
    await app.ready('exposed-database');
    const detail = await app.press(SEQ.enter, 'Witness');
    expect(detail).toContain('ERROR  exposed-database  certain');
    expect(detail).toContain('PostgreSQL of container db is reachable');
    expect(detail).toContain('Databases published to every address');
    expect(detail).toContain('tcp 198.51.100.7:40000 → 192.0.2.10:5432 in eth0');
    // Six steps; the ACCEPT in DOCKER decided (▶), at its file line.
    expect(detail).toMatch(
      /FORWARD\n\s+3 filter\/FORWARD\s+#1\s+10 jump DOCKER-USER\s+-j DOCKER-USER/,
    );
    expect(detail).toMatch(/▶ 6 filter\/DOCKER\s+#1\s+30 ACCEPT\s+-d 172\.17\.0\.2\/32/);
    expect(detail).toMatch(/ 2 nat\/DOCKER\s+#1\s+81 DNAT 172\.17\.0\.2:5432/);
    const after = await app.press(SEQ.escape, '▼ ERROR (1)');
    expect(after).not.toContain('Witness');
  });
});

describe('Exposures pane', () => {
  it('lists host address:port/proto → target, certainty and sources, and Enter traces the witness', async () => {
    const { tracer, packets } = recordingTracer();
    const app = renderApp(sampleData({ tracer }));
    await app.ready('exposed-database');
    const pane = await app.press(SEQ.tab, 'host address:port/proto');
    expect(pane).toMatch(
      /›\s+0\.0\.0\.0:5432\/tcp\s+→ container db \(172\.17\.0\.2:5432\)\s+certain\s+0\.0\.0\.0\/0 via eth0/,
    );
    const traced = await app.press(SEQ.enter, 'Verdict');
    expect(packets).toHaveLength(1);
    expect(traced).toContain('Path of witness of exposure 0.0.0.0:5432/tcp');
    expect(traced).toContain('accepted: forwarded to 172.17.0.2:5432 via docker0');
  });
});

describe('Chains pane', () => {
  it('shows the hooks as a tree with lines, counters and finding counts, and opens jumps', async () => {
    const app = renderApp(sampleData());
    await app.ready('exposed-database');
    const pane = await app.press('3', 'filter FORWARD policy DROP (3 rules)');
    expect(pane).toMatch(/▸ #1 L10 1\.5Kp\/90\.0KB -j DOCKER-USER/);
    expect(pane).toContain('filter ORPHAN (1 rule) not reached from any hook  ⚑ 1');
    await app.press(SEQ.down, /›\s+▸ #1 L10/);
    await app.press(SEQ.down, /›\s+▸ #2 L11/);
    const open = await app.press(SEQ.enter, '-d 172.17.0.2/32');
    expect(open).toMatch(/▾ #2 L11 .*-o docker0 -j DOCKER/);
    expect(open).toMatch(/ {4}· #1 L30 .*--dport 5432 -j ACCEPT\s+⚑ 1/);
    const closed = await app.press(SEQ.left, /▸ #2 L11/);
    expect(closed).not.toContain('-d 172.17.0.2/32');
  });
});

describe('Containers pane', () => {
  it('shows mode with container: resolved, networks, ports and findings; Enter opens one', async () => {
    const app = renderApp(sampleData());
    await app.ready('exposed-database');
    const pane = await app.press('4', 'network mode');
    expect(pane).toMatch(
      /›\s+db\s+1\s+bridge \(bridge\)\s+bridge 172\.17\.0\.2\s+0\.0\.0\.0:5432→5432\/tcp/,
    );
    // sidecar shares db's namespace: same networks and ports, and db's findings.
    expect(pane).toMatch(
      /sidecar\s+1\s+container:db\s+bridge 172\.17\.0\.2\s+0\.0\.0\.0:5432→5432\/tcp/,
    );
    const detail = await app.press([SEQ.down, SEQ.enter], 'Findings (1)');
    expect(detail).toContain('sidecar  busybox  running');
    expect(detail).toContain('exposed-database');
  });
});

describe('Packet tracer', () => {
  it('edits the form, runs the trace and shows the path; errors are shown, not thrown', async () => {
    const { tracer, packets } = recordingTracer();
    const app = renderApp(sampleData({ tracer }));
    await app.ready('exposed-database');
    const form = await app.press('5', '[ Trace ]');
    expect(form).toMatch(/›\s+From address\s+\[198\.51\.100\.7/);
    await app.press([SEQ.down, SEQ.down, SEQ.enter], '[192.0.2.10:5432█');
    await app.press(
      [SEQ.backspace, SEQ.backspace, SEQ.backspace, SEQ.backspace, '8', '0'],
      '[192.0.2.10:80█',
    );
    await app.press(SEQ.enter, /›\s+Protocol/);
    const dropped = await app.press('t', 'Verdict');
    expect(packets.at(-1)).toMatchObject({ destinationPort: 80, inInterface: 'eth0' });
    expect(dropped).toContain('dropped');
    expect(dropped).toMatch(/▶ 1 filter\/FORWARD\s+-\s+3 policy DROP/);
    await app.press([SEQ.up, SEQ.enter], '[192.0.2.10:80█');
    await app.press([SEQ.backspace, SEQ.backspace, '9', SEQ.enter], /›\s+Protocol/);
    const failed = await app.press('t', 'Cannot trace: no route to 192.0.2.10');
    expect(failed).not.toContain('Verdict');
  });
});

describe('help and quitting', () => {
  it('shows the keymap on ? and hides it on Esc', async () => {
    const app = renderApp(sampleData());
    await app.ready('exposed-database');
    const help = await app.press('?', 'Keys (? or Esc closes this help)');
    expect(help).toMatch(/up k\s+move up/);
    expect(help).toMatch(/\/\s+filter findings by text/);
    const back = await app.press(SEQ.escape, 'exposed-database');
    expect(back).not.toContain('Keys (');
  });
});

describe('Diagnostics pane', () => {
  it('lists diagnostics with file and line, then what was assumed for missing files', async () => {
    const data = sampleData();
    const app = renderApp({
      ...data,
      audit: {
        ...data.audit,
        snapshot: {
          ...data.audit.snapshot,
          assumptions: [{ role: 'listeners', text: 'no listeners.txt: no host sockets are known' }],
        },
        diagnostics: [
          {
            code: 'unsupported-match',
            severity: 'warning',
            message: '-m recent is not modelled; treated as possibly matching',
            location: { file: '/snap/iptables-save.txt', line: 14, column: 22 },
          },
        ],
      },
    });
    await app.ready('exposed-database');
    const pane = await app.press('6', 'unsupported-match');
    expect(pane).toMatch(/›\s+warning\s+unsupported-match\s+iptables-save\.txt:14\s+-m recent/);
    expect(pane).toMatch(/assumed\s+listeners\s+\(missing input\)\s+no listeners\.txt/);
    expect(pane).toContain('6 Diagnostics 1');
  });
});

describe('Packet tracer with a tracer in another thread', () => {
  it('shows Tracing… until the answer arrives, then the path', async () => {
    const { tracer } = recordingTracer();
    let answer: (() => void) | null = null;
    const slow = (packet: Parameters<typeof tracer>[0]) =>
      new Promise<ReturnType<typeof tracer>>((resolve) => {
        answer = () => resolve(tracer(packet));
      });
    const app = renderApp(sampleData({ tracer: slow }));
    await app.ready('exposed-database');
    await app.press('5', '[ Trace ]');
    const waiting = await app.press('t', 'Tracing…');
    expect(waiting).not.toContain('Verdict');
    // The request leaves on the next turn; answer once it has.
    await waitFor(
      () => (answer === null ? '' : 'sent'),
      (t) => t === 'sent',
      'the request',
    );
    (answer as unknown as () => void)();
    const done = await app.ready('Verdict');
    expect(done).toContain('accepted: forwarded to 172.17.0.2:5432 via docker0');
  });
});
