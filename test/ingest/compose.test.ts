import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { interpolate } from '../../src/ingest/compose-interpolate.ts';
import { loadCompose, normaliseProjectName, readCompose } from '../../src/ingest/compose.ts';
import type { Diagnostic } from '../../src/model/diagnostic.ts';
import { tempDir } from '../support/temp-dir.ts';

const at = { file: 'compose.yaml', line: 3, column: 7 };
const one = (text: string, env: Record<string, string> = {}) =>
  readCompose([{ path: 'compose.yaml', text }], { env });

function interp(text: string, env: Record<string, string | undefined>) {
  const diagnostics: Diagnostic[] = [];
  return { value: interpolate(text, env, at, diagnostics), diagnostics };
}

describe('Compose interpolation', () => {
  it('substitutes $VAR and ${VAR}, and $$ is a literal dollar', () => {
    expect(interp('$HOST:${PORT}/tcp $$5', { HOST: '127.0.0.1', PORT: '8080' }).value).toBe(
      '127.0.0.1:8080/tcp $5',
    );
  });

  it('applies :- and - defaults as Compose does (empty counts as unset only with the colon)', () => {
    const env = { EMPTY: '', SET: 'x' };
    expect(interp('${UNSET:-d} ${EMPTY:-d} ${SET:-d}', env).value).toBe('d d x');
    expect(interp('${UNSET-d}|${EMPTY-d}|${SET-d}', env).value).toBe('d||x');
  });

  it('applies :+ and + replacements, and nested defaults', () => {
    const env = { EMPTY: '', SET: 'x', INNER: '9' };
    expect(interp('${SET:+on}|${EMPTY:+on}|${EMPTY+on}|${UNSET+on}', env).value).toBe('on||on|');
    expect(interp('${UNSET:-${INNER:-1}0}', env).value).toBe('90');
  });

  it('reports a required variable, at the value, and an unset one as a warning', () => {
    const required = interp('${DB_PORT:?set the database port}', {});
    expect(required.diagnostics.map((d) => [d.severity, d.location])).toEqual([['error', at]]);
    expect(required.diagnostics[0]?.message).toContain(
      'DB_PORT is missing a value: set the database port',
    );
    const unset = interp('${NOPE}', {});
    expect(unset.value).toBe('');
    expect(unset.diagnostics[0]?.severity).toBe('warning');
  });

  it('reports malformed templates instead of guessing', () => {
    for (const bad of ['${}', '${PORT', '$-x', '${PORT!x}']) {
      expect(
        interp(bad, {}).diagnostics.some((d) => d.severity === 'error'),
        bad,
      ).toBe(true);
    }
  });
});

describe('Compose reader', () => {
  it('reads short port syntax with addresses, IPv6 brackets, ranges and protocols', () => {
    const p = one(`services:
  web:
    image: nginx
    ports:
      - "8080:80"
      - "127.0.0.1:8443:443/tcp"
      - "[::1]:5353:53/udp"
      - "9000-9001:7000-7001"
      - 3000
      - "127.0.0.1::6379"
`);
    expect(p.diagnostics).toEqual([]);
    const ports = p.services[0]?.ports ?? [];
    expect(ports.map((x) => [x.hostIp, x.published, x.target, x.protocol])).toEqual([
      [null, { from: 8080, to: 8080 }, { from: 80, to: 80 }, 'tcp'],
      ['127.0.0.1', { from: 8443, to: 8443 }, { from: 443, to: 443 }, 'tcp'],
      ['::1', { from: 5353, to: 5353 }, { from: 53, to: 53 }, 'udp'],
      [null, { from: 9000, to: 9001 }, { from: 7000, to: 7001 }, 'tcp'],
      [null, null, { from: 3000, to: 3000 }, 'tcp'],
      ['127.0.0.1', null, { from: 6379, to: 6379 }, 'tcp'],
    ]);
    expect(ports[1]?.location).toEqual({ file: 'compose.yaml', line: 6, column: 9 });
  });

  it('reads long port syntax', () => {
    const p = one(`services:
  db:
    image: postgres
    ports:
      - target: 5432
        published: "15432"
        host_ip: 10.0.0.5
        protocol: tcp
        mode: host
`);
    expect(p.services[0]?.ports[0]).toMatchObject({
      target: { from: 5432, to: 5432 },
      published: { from: 15432, to: 15432 },
      hostIp: '10.0.0.5',
      mode: 'host',
    });
  });

  it('interpolates port values from the environment', () => {
    const p = one(
      `services:\n  db:\n    image: postgres\n    ports: ["\${BIND:-127.0.0.1}:\${PORT}:5432"]\n`,
      { PORT: '5433' },
    );
    expect(p.services[0]?.ports[0]).toMatchObject({
      hostIp: '127.0.0.1',
      published: { from: 5433 },
    });
  });

  it('says where a port, a key or a value is not understood, and reads the rest', () => {
    const p = one(`services:
  web:
    image: nginx
    ports: ["80:80:80:x", "8080:80/icmp", "1-2:3-5"]
    expose: ["abc"]
    network_mode: bridge
    hostnme: typo
networks:
  front:
    drivr: bridge
`);
    const messages = p.diagnostics.map((d) => `${d.location.line}:${d.severity}:${d.code}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        '4:error:compose-invalid',
        '5:error:compose-invalid',
        '7:warning:compose-unknown-key',
        '10:warning:compose-unknown-key',
      ]),
    );
    expect(p.diagnostics.filter((d) => d.location.line === 4)).toHaveLength(3);
    expect(p.services[0]?.networkMode).toBe('bridge');
  });

  it('reads service networks as a list or a map, with addresses and priorities', () => {
    const p = one(`services:
  a:
    image: x
    networks: [front, back]
  b:
    image: x
    networks:
      front:
        ipv4_address: 172.30.0.10
        gw_priority: 5
      back: {}
networks:
  front:
    ipam:
      config: [{ subnet: 172.30.0.0/24, gateway: 172.30.0.1 }]
  back:
    internal: true
    enable_ipv6: true
`);
    expect(p.services[0]?.networks?.map((n) => n.name)).toEqual(['front', 'back']);
    expect(p.services[1]?.networks?.[0]).toMatchObject({
      name: 'front',
      ipv4Address: '172.30.0.10',
      gwPriority: 5,
    });
    expect(p.networks.find((n) => n.key === 'front')?.ipam[0]).toEqual({
      subnet: '172.30.0.0/24',
      gateway: '172.30.0.1',
      ipRange: null,
    });
    expect(p.networks.find((n) => n.key === 'back')).toMatchObject({
      internal: true,
      enableIpv6: true,
    });
  });

  it('merges files as docker compose -f a -f b: later scalars win, ports add up', () => {
    const p = readCompose(
      [
        { path: 'a.yaml', text: 'services:\n  web:\n    image: nginx:1\n    ports: ["80:80"]\n' },
        {
          path: 'b.yaml',
          text: 'services:\n  web:\n    image: nginx:2\n    ports: ["80:80", "443:443"]\n',
        },
      ],
      { env: {} },
    );
    expect(p.services[0]?.image).toBe('nginx:2');
    expect(p.services[0]?.ports.map((x) => x.target.from)).toEqual([80, 443]);
  });

  it('names the project as Compose does', () => {
    expect(one('name: My_App\nservices: {}\n').name).toBe('my_app');
    expect(one('services: {}\n', { COMPOSE_PROJECT_NAME: 'fromenv' }).name).toBe('fromenv');
    expect(normaliseProjectName('-Web Shop!')).toBe('webshop');
  });

  it('reports YAML errors with their place and does not throw on hostile input', () => {
    const broken = one('services:\n  web:\n    image: [unclosed\n');
    expect(broken.diagnostics.some((d) => d.code === 'yaml-syntax' && d.location.line >= 3)).toBe(
      true,
    );
    const laughs = one(
      'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n',
    );
    // Aliases are shared, not expanded: 9^7 values stay a few dozen nodes, read in full.
    expect(laughs.diagnostics.map((d) => d.code)).toEqual(Array(7).fill('compose-unknown-key'));
    expect(one('- just\n- a list\n').diagnostics[0]?.message).toContain('must be a mapping');
    expect(one('services:\n  a: {image: x}\n  a: {image: y}\n').diagnostics[0]?.code).toBe(
      'duplicate-key',
    );
  });

  it('reads .env beside the first file, the process environment winning', async () => {
    const dir = tempDir('dwcompose-');
    writeFileSync(path.join(dir, '.env'), '# ports\nPORT=8080\nexport HOST="0.0.0.0"\n');
    writeFileSync(
      path.join(dir, 'compose.yaml'),
      'services:\n  w:\n    image: x\n    ports: ["${HOST}:${PORT}:80"]\n',
    );
    const p = await loadCompose(['compose.yaml'], { env: { PORT: '9090' }, cwd: dir });
    expect(p.diagnostics).toEqual([]);
    expect(p.services[0]?.ports[0]).toMatchObject({ hostIp: '0.0.0.0', published: { from: 9090 } });
    expect(p.name).toBe(normaliseProjectName(path.basename(dir)));
    const missing = await loadCompose(['nope.yaml'], { env: {}, cwd: dir });
    expect(missing.diagnostics[0]).toMatchObject({
      code: 'file-not-found',
      location: { file: 'nope.yaml' },
    });
  });
});
