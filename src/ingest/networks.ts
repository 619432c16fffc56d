/**
 * `docker network inspect` output → `Network[]`: bridge interface names, subnets, and the bridge
 * driver options that change the rules (icc, masquerade, gateway modes, host binding addresses).
 */
import type { Diagnostic } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type { GatewayMode, Network, Subnet } from '../model/host.ts';
import { isCidr } from './daemon.ts';
import type { FieldContext } from './fields.ts';
import {
  arrayField,
  asObject,
  booleanField,
  kindWord,
  objectField,
  stringField,
  stringMapField,
} from './fields.ts';
import type { JsonValue } from './json.ts';
import { parseJson } from './json.ts';

const OPT = 'com.docker.network.bridge.';
const GATEWAY_MODES: readonly GatewayMode[] = ['nat', 'nat-unprotected', 'routed', 'isolated'];

export interface NetworksLoadResult {
  readonly networks: readonly Network[];
  readonly diagnostics: readonly Diagnostic[];
}

export function loadNetworks(text: string, file: string): NetworksLoadResult {
  const parsed = parseJson(text, file);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const ctx: FieldContext = { file, diagnostics };
  const top = parsed.value ?? parsed.partial;
  const networks: Network[] = [];
  if (top === null) return { networks, diagnostics };
  if (top.kind !== 'array') {
    diagnostics.push(
      diagnostic(
        'wrong-type',
        'error',
        `a networks file must be the JSON array printed by \`docker network inspect\`, found ${kindWord(top)}`,
        top.location,
      ),
    );
    return { networks, diagnostics };
  }
  top.items.forEach((item, i) => {
    const network = readNetwork(ctx, item, `networks[${i}]`);
    if (network !== null) networks.push(network);
  });
  return { networks, diagnostics };
}

/** The Linux bridge of a bridge-driver network (docker-firewall.md §4). */
export function bridgeInterfaceName(
  id: string,
  options: Readonly<Record<string, string>>,
  isDefaultBridge: boolean,
): string {
  const named = options[`${OPT}name`];
  if (named !== undefined && named !== '') return named;
  if (isDefaultBridge) return 'docker0';
  return `br-${id.slice(0, 12)}`;
}

function readNetwork(ctx: FieldContext, value: JsonValue, path: string): Network | null {
  const object = asObject(ctx, value, path);
  if (object === null) return null;
  const name = stringField(ctx, object, 'Name', path, 'required');
  const id =
    stringField(ctx, object, 'Id', path, 'required') ?? stringField(ctx, object, 'ID', path);
  if (name === null || id === null) return null;
  const driver = stringField(ctx, object, 'Driver', path, 'required') ?? 'bridge';
  const options = stringMapField(ctx, object, 'Options', path);
  const isDefaultBridge =
    driver === 'bridge' && (options[`${OPT}default_bridge`] === 'true' || name === 'bridge');
  const subnets: Subnet[] = [];
  const ipam = objectField(ctx, object, 'IPAM', path);
  const configs = ipam === null ? null : arrayField(ctx, ipam, 'Config', `${path}.IPAM`);
  (configs ?? []).forEach((c, i) => {
    const cpath = `${path}.IPAM.Config[${i}]`;
    const config = asObject(ctx, c, cpath);
    if (config === null) return;
    const cidr = stringField(ctx, config, 'Subnet', cpath);
    if (cidr === null) return;
    if (!isCidr(cidr)) {
      ctx.diagnostics.push(
        diagnostic(
          'invalid-value',
          'error',
          `${cpath}.Subnet "${cidr}" is not a CIDR`,
          config.location,
        ),
      );
      return;
    }
    const gateway = stringField(ctx, config, 'Gateway', cpath);
    const range = stringField(ctx, config, 'IPRange', cpath);
    if (range !== null && range !== '' && !isCidr(range))
      ctx.diagnostics.push(
        diagnostic(
          'invalid-value',
          'warning',
          `${cpath}.IPRange "${range}" is not a CIDR; addresses are taken to come from the whole subnet`,
          config.location,
        ),
      );
    subnets.push({
      family: cidr.includes(':') ? 'ipv6' : 'ipv4',
      cidr,
      gateway: gateway === '' ? null : gateway,
      ...(range !== null && range !== '' && isCidr(range) ? { ipRange: range } : {}),
    });
  });
  const flag = (key: string, fallback: boolean): boolean => {
    const v = options[`${OPT}${key}`];
    return v === undefined ? fallback : v === 'true' || v === '1';
  };
  const gatewayMode = (key: string): GatewayMode => {
    const v = options[`${OPT}${key}`];
    if (v === undefined || v === '') return 'nat';
    if ((GATEWAY_MODES as readonly string[]).includes(v)) return v as GatewayMode;
    ctx.diagnostics.push(
      diagnostic(
        'invalid-value',
        'warning',
        `${path}: option ${OPT}${key} "${v}" is not one of ${GATEWAY_MODES.join(', ')}; nat assumed`,
        object.location,
      ),
    );
    return 'nat';
  };
  const hostBinding = options[`${OPT}host_binding_ipv4`] ?? null;
  return {
    id,
    name,
    driver,
    bridgeName: driver === 'bridge' ? bridgeInterfaceName(id, options, isDefaultBridge) : null,
    subnets,
    internal: booleanField(ctx, object, 'Internal', path) ?? false,
    icc: flag('enable_icc', true),
    masquerade: flag('enable_ip_masquerade', true),
    // EnableIPv4 exists from API 1.48 (28.0); before that every network had IPv4.
    enableIPv4: booleanField(ctx, object, 'EnableIPv4', path) ?? true,
    enableIPv6: booleanField(ctx, object, 'EnableIPv6', path) ?? false,
    gatewayModeV4: gatewayMode('gateway_mode_ipv4'),
    gatewayModeV6: gatewayMode('gateway_mode_ipv6'),
    // 28+ accepts an IPv6 address in host_binding_ipv4; keep each where it belongs.
    hostBindingIpv4: hostBinding !== null && !hostBinding.includes(':') ? hostBinding : null,
    hostBindingIpv6:
      hostBinding !== null && hostBinding.includes(':')
        ? hostBinding
        : (options[`${OPT}host_binding_ipv6`] ?? null),
    isDefaultBridge,
    options,
    location: object.location,
  };
}
