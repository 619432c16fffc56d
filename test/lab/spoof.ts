/**
 * Packets with any source at all, for the referees of what routing refuses: a raw socket writes
 * the whole IP header.
 */
import type { Family } from '../../src/model/ruleset.ts';

/** Python: the Internet checksum of bytes. */
const CHECKSUM = [
  'def csum(b):',
  '    b += bytes(len(b) % 2)',
  "    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))",
  '    s = (s >> 16) + (s & 0xffff)',
  '    s += s >> 16',
  '    return ~s & 0xffff',
];

/**
 * Python that sends one UDP datagram to port 5000 from any source: the whole IP header written
 * (a raw socket), its checksums computed.
 */
export function spoof(family: Family, source: string, to: string): string {
  return [
    'import socket, struct',
    ...CHECKSUM,
    `src, dst = ${JSON.stringify(source)}, ${JSON.stringify(to)}`,
    "udp = struct.pack('!HHHH', 40000, 5000, 9, 0) + b'x'",
    ...(family === 'ipv4'
      ? [
          "ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 29, 1, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))",
          "ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]",
          's = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)',
          's.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)',
          's.sendto(ip + udp, (dst, 0))',
        ]
      : [
          's6, d6 = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)',
          "c = csum(s6 + d6 + struct.pack('!I3xB', len(udp), 17) + udp) or 0xffff",
          "udp = udp[:6] + struct.pack('!H', c) + udp[8:]",
          "ip = struct.pack('!IHBB16s16s', 6 << 28, len(udp), 17, 64, s6, d6)",
          's = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)',
          "s.sendto(ip + udp, (dst, 0, 0, socket.if_nametoindex('eth0')))",
        ]),
  ].join('\n');
}

/**
 * Python that writes one IPv6 UDP datagram to port 5000, from `source` to `to`, as an Ethernet
 * frame out of eth0 to the link address `mac` (a packet socket): a destination the sender's own
 * routing would keep (::1, an interface-local group) still leaves for the wire.
 */
export function frame6(source: string, to: string, mac: string): string {
  return [
    'import socket, struct',
    ...CHECKSUM,
    `s6 = socket.inet_pton(socket.AF_INET6, ${JSON.stringify(source)})`,
    `d6 = socket.inet_pton(socket.AF_INET6, ${JSON.stringify(to)})`,
    "udp = struct.pack('!HHHH', 40000, 5000, 9, 0) + b'x'",
    "c = csum(s6 + d6 + struct.pack('!I3xB', len(udp), 17) + udp) or 0xffff",
    "udp = udp[:6] + struct.pack('!H', c) + udp[8:]",
    "ip = struct.pack('!IHBB16s16s', 6 << 28, len(udp), 17, 64, s6, d6)",
    's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)',
    "s.bind(('eth0', 0))",
    `s.send(bytes.fromhex(${JSON.stringify(mac.replaceAll(':', ''))}) + s.getsockname()[4] + struct.pack('!H', 0x86dd) + ip + udp)`,
  ].join('\n');
}
