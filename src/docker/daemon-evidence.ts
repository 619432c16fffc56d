/**
 * dockerd also takes its options from command-line flags and systemd drop-ins, which daemon.json
 * does not show. The default bridge's options and the rules reveal the values in effect; where
 * they contradict the effective configuration read from daemon.json (or its defaults), say so.
 */
import type { Diagnostic } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type { DaemonConfig, Network, Setting } from '../model/host.ts';
import type { Ruleset } from '../model/ruleset.ts';
import { ruleAddress, rulesOf } from './rules.ts';

const OPT = 'com.docker.network.bridge.';

function origin(setting: Setting<unknown>, key: string): string {
  return setting.source === 'file'
    ? `daemon.json sets "${key}" to ${JSON.stringify(setting.value)}`
    : `daemon.json does not set "${key}" (Docker's default: ${JSON.stringify(setting.value)})`;
}

export function checkDaemonAgainstHost(
  daemon: DaemonConfig,
  networks: readonly Network[],
  ipv4: Ruleset | null,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const bridge = networks.find((n) => n.isDefaultBridge);
  if (bridge !== undefined) {
    const compare = (
      key: string,
      setting: Setting<boolean | string>,
      option: string,
      flag: (v: string) => string,
    ): void => {
      const raw = bridge.options[`${OPT}${option}`];
      if (raw === undefined) return;
      const same =
        typeof setting.value === 'boolean'
          ? (raw === 'true') === setting.value
          : raw === setting.value;
      if (same) return;
      out.push(
        diagnostic(
          'daemon-config-mismatch',
          'warning',
          `${origin(setting, key)}, but the default bridge runs with ${option}=${raw}: dockerd runs with ${flag(raw)} (a command-line flag, a systemd drop-in, or daemon.json changed since dockerd started), so ${raw} is in effect`,
          bridge.location,
          'put the option in daemon.json so the configuration is in one place',
        ),
      );
    };
    compare('icc', daemon.icc, 'enable_icc', (v) => `--icc=${v}`);
    compare('ip-masq', daemon.ipMasq, 'enable_ip_masquerade', (v) => `--ip-masq=${v}`);
    compare('ip', daemon.ip, 'host_binding_ipv4', (v) => `--ip=${v}`);
  }
  // With the userland proxy on, Docker's nat OUTPUT jump skips loopback (`! -d 127.0.0.0/8`).
  const jump = rulesOf(ipv4, 'nat', 'OUTPUT').find(
    (r) => r.target?.kind === 'jump' && r.target.chain === 'DOCKER',
  );
  if (jump !== undefined) {
    const skipsLoopback = jump.core.some(
      (o) =>
        o.type === 'address' && o.field === 'dst' && o.negated && o.value.address === '127.0.0.0',
    );
    const proxyOn = daemon.userlandProxy.value;
    if (skipsLoopback !== proxyOn && ruleAddress(jump, 'dst') === null) {
      out.push(
        diagnostic(
          'daemon-config-mismatch',
          'warning',
          `${origin(daemon.userlandProxy, 'userland-proxy')}, but Docker's nat OUTPUT rule is written for userland-proxy=${String(skipsLoopback)}: dockerd runs with --userland-proxy=${String(skipsLoopback)} (a command-line flag, a systemd drop-in, or daemon.json changed since dockerd started), which is in effect`,
          jump.location,
        ),
      );
    }
  }
  return out;
}
