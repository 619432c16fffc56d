/** Host interfaces and routes from `ip -j addr show` and `ip -j route show table all`. */
import type { Diagnostic } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type { HostInterface, InterfaceAddress, Route } from '../model/host.ts';
import type { Family } from '../model/ruleset.ts';
import type { FieldContext } from './fields.ts';
import { arrayField, asObject, kindWord, numberField, objectField, stringField } from './fields.ts';
import type { JsonValue } from './json.ts';
import { parseJson } from './json.ts';

function topArray(
  text: string,
  file: string,
  what: string,
): { items: readonly JsonValue[]; diagnostics: Diagnostic[] } {
  const parsed = parseJson(text, file);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const top = parsed.value ?? parsed.partial;
  if (top === null) return { items: [], diagnostics };
  if (top.kind !== 'array') {
    diagnostics.push(
      diagnostic(
        'wrong-type',
        'error',
        `${what} must be a JSON array, found ${kindWord(top)}`,
        top.location,
      ),
    );
    return { items: [], diagnostics };
  }
  return { items: top.items, diagnostics };
}

export function loadIpAddr(
  text: string,
  file: string,
): { interfaces: readonly HostInterface[]; diagnostics: readonly Diagnostic[] } {
  const { items, diagnostics } = topArray(text, file, 'the output of `ip -j addr show`');
  const ctx: FieldContext = { file, diagnostics };
  const interfaces: HostInterface[] = [];
  items.forEach((item, i) => {
    const path = `ip-addr[${i}]`;
    const obj = asObject(ctx, item, path);
    if (obj === null) return;
    const name = stringField(ctx, obj, 'ifname', path, 'required');
    if (name === null) return;
    const flags = (arrayField(ctx, obj, 'flags', path) ?? []).flatMap((f) =>
      f.kind === 'string' ? [f.value] : [],
    );
    const linkinfo = objectField(ctx, obj, 'linkinfo', path);
    const kind =
      (linkinfo === null ? null : stringField(ctx, linkinfo, 'info_kind', `${path}.linkinfo`)) ??
      stringField(ctx, obj, 'link_type', path);
    const addresses: InterfaceAddress[] = [];
    (arrayField(ctx, obj, 'addr_info', path) ?? []).forEach((a, j) => {
      const apath = `${path}.addr_info[${j}]`;
      const addr = asObject(ctx, a, apath);
      if (addr === null) return;
      const family = stringField(ctx, addr, 'family', apath);
      const local = stringField(ctx, addr, 'local', apath);
      const prefix = numberField(ctx, addr, 'prefixlen', apath);
      if ((family !== 'inet' && family !== 'inet6') || local === null || prefix === null) return;
      addresses.push({
        family: family === 'inet' ? 'ipv4' : 'ipv6',
        address: local,
        prefixLength: prefix,
        scope: stringField(ctx, addr, 'scope', apath),
      });
    });
    interfaces.push({
      name,
      index: numberField(ctx, obj, 'ifindex', path),
      up: flags.includes('UP'),
      addresses,
      kind,
    });
  });
  return { interfaces, diagnostics };
}

function familyOf(...addresses: (string | null)[]): Family | null {
  for (const a of addresses)
    if (a !== null && a !== 'default') return a.includes(':') ? 'ipv6' : 'ipv4';
  return null;
}

/**
 * Routes. The collector stores IPv4 and IPv6 routes (`ip -j -4 …` and `ip -j -6 …`) in one
 * array; the family of each entry is read from its addresses, or, where it names none, from
 * the router preference `ip` prints for IPv6 routes alone.
 */
export function loadIpRoute(
  text: string,
  file: string,
): { routes: readonly Route[]; diagnostics: readonly Diagnostic[] } {
  const { items, diagnostics } = topArray(text, file, 'the output of `ip -j route show table all`');
  const ctx: FieldContext = { file, diagnostics };
  const routes: Route[] = [];
  items.forEach((item, i) => {
    const path = `ip-route[${i}]`;
    const obj = asObject(ctx, item, path);
    if (obj === null) return;
    const dst = stringField(ctx, obj, 'dst', path, 'required');
    if (dst === null) return;
    const gateway = stringField(ctx, obj, 'gateway', path);
    const source = stringField(ctx, obj, 'prefsrc', path);
    const type = stringField(ctx, obj, 'type', path) ?? 'unicast';
    // a route that names no address (`default dev he-ipv6`, `blackhole default`): `ip -j` prints
    // a router preference for every IPv6 route and for no IPv4 one
    const family =
      familyOf(dst, gateway, source) ??
      (obj.entries.some((e) => e.key === 'pref') ? 'ipv6' : 'ipv4');
    const table = obj.entries.find((e) => e.key === 'table')?.value;
    const destination =
      dst === 'default' || dst.includes('/') ? dst : `${dst}/${family === 'ipv4' ? 32 : 128}`;
    routes.push({
      family,
      destination,
      device: stringField(ctx, obj, 'dev', path),
      gateway,
      source,
      table:
        table === undefined
          ? 'main'
          : table.kind === 'number'
            ? String(table.value)
            : table.kind === 'string'
              ? table.value
              : 'main',
      type,
    });
  });
  return { routes, diagnostics };
}
