import { describe, expect, it } from 'vitest';
import {
  daemonConfigOf,
  daemonConfigProblems,
  defaultDaemonConfig,
} from '../../src/docker/daemon-config.ts';
import type { DockerVersion } from '../../src/docker/version.ts';
import { loadDaemonFile } from '../../src/ingest/daemon.ts';
import { parseDockerVersion } from '../../src/docker/version.ts';

const v = (t: string) => parseDockerVersion(t);

/** daemon.json as read, and the configuration in effect with the version's defaults. */
function loadDaemonConfig(text: string, file: string, version: DockerVersion | null) {
  const r = loadDaemonFile(text, file);
  return { ...r, config: daemonConfigOf(version, r.daemon) };
}

describe('loadDaemonFile, then daemonConfigOf', () => {
  it('takes values from the file with their key location and Docker defaults otherwise', () => {
    const text =
      '{\n  "iptables": true,\n  "userland-proxy": false,\n  "ip": "127.0.0.1",\n  "log-driver": "json-file"\n}\n';
    const r = loadDaemonConfig(text, 'daemon.json', v('28.5.2'));
    expect(r.diagnostics).toEqual([]);
    expect(r.config.userlandProxy).toEqual({
      value: false,
      source: 'file',
      location: { file: 'daemon.json', line: 3, column: 3, endLine: 3, endColumn: 19 },
    });
    expect(r.config.ip.value).toBe('127.0.0.1');
    expect(r.config.icc).toEqual({ value: true, source: 'default' });
    expect(r.config.ip6tables).toEqual({ value: true, source: 'default' });
    expect(r.config.otherKeys).toEqual(['log-driver']);
  });

  it('uses the defaults of the version: ip6tables off before 27, on from 27', () => {
    expect(defaultDaemonConfig(v('26.1.5')).ip6tables.value).toBe(false);
    expect(defaultDaemonConfig(v('27.0.1')).ip6tables.value).toBe(true);
    expect(defaultDaemonConfig(v('20.10.24')).userlandProxy.value).toBe(true);
  });

  it('reports unknown keys (dockerd refuses them) and wrong types, with locations', () => {
    const text =
      '{\n  "iptable": false,\n  "icc": "false",\n  "ip": "0.0.0.300",\n  "default-address-pools": [{"base": "10.10.0.0/16", "size": 24}, {"base": "x"}]\n}';
    const r = loadDaemonConfig(text, 'daemon.json', null);
    const byCode = r.diagnostics.map((d) => [d.code, d.location.line, d.message]);
    expect(byCode).toEqual([
      [
        'unknown-daemon-key',
        2,
        'unknown daemon.json key "iptable": dockerd refuses to start with it',
      ],
      ['wrong-type', 3, 'daemon.json "icc" must be true or false, found a string'],
      ['invalid-value', 4, 'daemon.json "ip" must be an IP address, found "0.0.0.300"'],
      ['missing-field', 5, 'daemon.json "default-address-pools" item needs both "base" and "size"'],
    ]);
    expect(r.config.icc.source).toBe('default');
    expect(r.config.defaultAddressPools.value).toEqual([{ base: '10.10.0.0/16', size: 24 }]);
  });

  it('type-checks firewall keys it does not interpret', () => {
    const text =
      '{\n  "mtu": "1500",\n  "default-gateway": "10.0.0.300",\n  "features": {"swarm-nftables": "yes"},\n  "userland-proxy-path": "/usr/bin/docker-proxy"\n}';
    const r = loadDaemonConfig(text, 'daemon.json', null);
    expect(r.diagnostics.map((d) => [d.code, d.location.line])).toEqual([
      ['wrong-type', 2],
      ['invalid-value', 3],
      ['wrong-type', 4],
    ]);
    expect(r.config.otherKeys).toEqual([
      'mtu',
      'default-gateway',
      'features',
      'userland-proxy-path',
    ]);
  });

  it('reads nested network options and the firewall backend', () => {
    const text = JSON.stringify({
      'firewall-backend': 'nftables',
      'default-network-opts': {
        bridge: { 'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1' },
      },
      'bridge-accept-fwmark': '0x1/0xff',
    });
    const r = loadDaemonConfig(text, 'daemon.json', v('29.1.0'));
    expect(r.diagnostics).toEqual([]);
    expect(r.config.firewallBackend.value).toBe('nftables');
    expect(r.config.defaultNetworkOpts.value).toEqual({
      bridge: { 'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1' },
    });
    expect(r.config.bridgeAcceptFwmark.value).toBe('0x1/0xff');
  });

  it('falls back to defaults when the file is not JSON, and says so', () => {
    const r = loadDaemonConfig('{ "iptables": false, }', 'daemon.json', null);
    expect(r.diagnostics.map((d) => d.code)).toEqual(['invalid-json', 'daemon-config-unreadable']);
    expect(r.diagnostics[0]?.location).toMatchObject({ line: 1, column: 22 });
    expect(r.daemon).toEqual({ settings: {}, otherKeys: [] });
    expect(r.config.iptables).toEqual({ value: true, source: 'default' });
  });

  it('sets only the keys the file names', () => {
    const r = loadDaemonFile('{"icc": false, "debug": true}', 'daemon.json');
    expect(Object.keys(r.daemon.settings)).toEqual(['icc']);
    expect(r.daemon.otherKeys).toEqual(['debug']);
    expect(daemonConfigOf(null, null)).toEqual(defaultDaemonConfig(null));
  });

  it('warns that ip6tables needs experimental before 27', () => {
    const r = loadDaemonConfig('{"ip6tables": true}', 'daemon.json', v('26.1.5'));
    expect(r.diagnostics).toEqual([]);
    const problems = daemonConfigProblems(r.config, v('26.1.5'));
    expect(problems.map((d) => d.code)).toEqual(['daemon-option-ignored']);
    expect(daemonConfigProblems(r.config, v('27.0.1'))).toEqual([]);
  });
});
