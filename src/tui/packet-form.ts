/**
 * The packet tracer form as plain data: its fields, their starting values, and the parse of
 * what the user typed into one concrete Packet (or the reason it is not one).
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Family } from '../model/ruleset.ts';
import type { Packet } from '../model/trace.ts';
import { addressPort, protocolText } from '../model/trace.ts';

export type FieldId = 'from' | 'in' | 'to' | 'proto';
export const FIELDS: readonly FieldId[] = ['from', 'in', 'to', 'proto'];
export const FIELD_LABELS: Readonly<Record<FieldId, string>> = {
  from: 'From address',
  in: 'Ingress interface',
  to: 'To address:port',
  proto: 'Protocol',
};

export type FormValues = Readonly<Record<FieldId, string>>;

/** A client's ephemeral port; rules on Docker hosts rarely test source ports. */
export const SOURCE_PORT = 40000;

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp', 'icmp', 'icmpv6']);

function familyOf(address: string): Family | null {
  if (isIPv4(address)) return 'ipv4';
  if (isIPv6(address)) return 'ipv6';
  return null;
}

/** `addr:port`, `[v6]:port`, or a bare address (for protocols without ports). */
function splitTarget(text: string): { address: string; port: string | null } {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) return { address: bracketed[1] ?? '', port: bracketed[2] ?? null };
  if (isIPv6(text)) return { address: text, port: null };
  const colon = text.lastIndexOf(':');
  return colon < 0
    ? { address: text, port: null }
    : { address: text.slice(0, colon), port: text.slice(colon + 1) };
}

export type ParsedForm =
  | { readonly ok: true; readonly packet: Packet }
  | { readonly ok: false; readonly field: FieldId; readonly message: string };

export function parseForm(values: FormValues): ParsedForm {
  const source = values.from.trim();
  const sourceFamily = familyOf(source);
  if (sourceFamily === null) {
    return { ok: false, field: 'from', message: `'${source}' is not an IPv4 or IPv6 address` };
  }
  const protoText = values.proto.trim().toLowerCase();
  const protoNumber = /^\d+$/.test(protoText) ? Number(protoText) : null;
  if (!PROTOCOLS.has(protoText) && (protoNumber === null || protoNumber > 255)) {
    return { ok: false, field: 'proto', message: 'expected tcp, udp, sctp, icmp, icmpv6 or 0-255' };
  }
  const protocol: Packet['protocol'] =
    protoNumber ?? (protoText as 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6');
  const hasPorts = protocol === 'tcp' || protocol === 'udp' || protocol === 'sctp';
  const { address, port } = splitTarget(values.to.trim());
  const destinationFamily = familyOf(address);
  if (destinationFamily === null) {
    return { ok: false, field: 'to', message: `'${address}' is not an IPv4 or IPv6 address` };
  }
  if (destinationFamily !== sourceFamily) {
    return { ok: false, field: 'to', message: 'source and destination are different families' };
  }
  let destinationPort: number | null = null;
  if (hasPorts) {
    const n = port === null || !/^\d+$/.test(port) ? NaN : Number(port);
    if (!(n >= 1 && n <= 65535)) {
      return {
        ok: false,
        field: 'to',
        message: `${protocolText(protocol)} needs ADDRESS:PORT (1-65535)`,
      };
    }
    destinationPort = n;
  }
  const iface = values.in.trim();
  return {
    ok: true,
    packet: {
      family: sourceFamily,
      protocol,
      source,
      sourcePort: hasPorts ? SOURCE_PORT : null,
      destination: address,
      destinationPort,
      // An empty interface means the host itself sends the packet (the OUTPUT path).
      inInterface: iface === '' ? null : iface,
      state: 'NEW',
      mark: 0,
    },
  };
}

/** The form's values for a packet, to trace a witness again from the tracer pane. */
export function valuesOf(packet: Packet): FormValues {
  return {
    from: packet.source,
    in: packet.inInterface ?? '',
    to: addressPort(packet.destination, packet.destinationPort),
    proto: protocolText(packet.protocol).replace(/^proto /, ''),
  };
}
