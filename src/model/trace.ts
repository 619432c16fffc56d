/**
 * Packets and traces as plain data: what the engine hands to rules, reporters and the UI.
 *
 * A Packet is one concrete packet (a witness picked from a set, or the packet a user traces);
 * a Trace is the rule-by-rule path it takes through netfilter, with source lines.
 */
import type { Family } from './ruleset.ts';

export type IpProtocol = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6' | number;

export interface Packet {
  readonly family: Family;
  readonly protocol: IpProtocol;
  readonly source: string;
  readonly sourcePort: number | null;
  readonly destination: string;
  readonly destinationPort: number | null;
  /** Ingress interface; null for a packet the host itself sends (OUTPUT path). */
  readonly inInterface: string | null;
  /** Conntrack state of the packet when it is not the first of a new connection. */
  readonly state: 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED';
  readonly mark: number;
  /**
   * Whether the destination is an address of this host, given only when the snapshot cannot tell
   * (it lists no addresses) and the packet was picked as one that is (or is not). Absent: the
   * snapshot decides, or, when it cannot, the destination is taken to be the host's.
   */
  readonly destinationIsHost?: boolean;
}

/**
 * An ICMP packet's type and code, which its `destinationPort` holds (type << 8 | code); null for
 * a packet of another protocol or without one.
 */
export function icmpTypeOf(p: Packet): { readonly type: number; readonly code: number } | null {
  if ((p.protocol !== 'icmp' && p.protocol !== 'icmpv6') || p.destinationPort === null) return null;
  return { type: p.destinationPort >> 8, code: p.destinationPort & 255 };
}

/** `addr:port`, with an IPv6 address in brackets so the port stays readable (not escaped). */
export function addressPort(address: string, port: number | null): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return port === null ? host : `${host}:${port}`;
}

/** A packet's protocol as written: its name, or `proto N` for one without a name. */
export function protocolText(protocol: Packet['protocol']): string {
  return typeof protocol === 'number' ? `proto ${protocol}` : protocol;
}

export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** One rule (or chain policy) the packet met. */
export interface TraceStep {
  readonly hook: Hook;
  readonly table: string;
  readonly chain: string;
  /** 1-based rule index in the chain; null when the chain's policy (or end of a user chain) decided. */
  readonly rule: number | null;
  /** nftables: the rule's handle, when the listing shows it. */
  readonly handle?: number;
  /** File line of the rule (or of the chain declaration for a policy step); null when unknown. */
  readonly line: number | null;
  readonly file: string | null;
  /** The rule as printed canonically (empty for policy steps). */
  readonly ruleText: string;
  /** What happened: `jump DOCKER-USER`, `DNAT 172.17.0.2:80`, `ACCEPT`, `policy DROP`, `RETURN`, `MARK 0x1`… */
  readonly action: string;
  /** True when the rule's match could not be decided for this packet (an unmodelled match). */
  readonly uncertain: boolean;
}

export type Verdict = 'accepted' | 'dropped' | 'rejected';
export type Certainty = 'certain' | 'possible';

/** Where an accepted packet ends up. */
export interface Delivery {
  /** `local`: a socket of the host (INPUT); `forward`: routed out of an interface. */
  readonly kind: 'local' | 'forward';
  readonly address: string;
  readonly port: number | null;
  /** Egress interface for forwarded packets. */
  readonly outInterface: string | null;
}

/**
 * What went back for a new connection's first packet and was stopped on its way: the server's
 * `reply` (for TCP, the SYN-ACK: the connection is never made) or a REJECT's `notice` (the
 * sender hears nothing, as if dropped).
 */
export interface TraceAnswer {
  /**
   * The server's reply, a REJECT's notice, the server's later packets (after a handshake that
   * was made on an untracked first packet, where those alone are stopped), or the sender's
   * later packets (`onward`: answered, where those alone are stopped, by a rule on the state).
   */
  readonly kind: 'reply' | 'notice' | 'later' | 'onward';
  /** The answer's own headers: from the server (or the rejecting host) to the sender. */
  readonly packet: Packet;
  readonly verdict: 'dropped' | 'rejected';
  readonly steps: readonly TraceStep[];
  /** The rule (or policy) that stopped it: `table/chain#index` or `table/chain#policy`. */
  readonly stoppedBy: string | null;
  /** Why routing stopped it where no rule did. */
  readonly unrouted: string | null;
  /**
   * The sender's later packets (`onward`) were rejected with an ICMP error that gets back to it:
   * a connected socket takes it as a soft error, a `connect()` it overtakes fails.
   */
  readonly errorBack?: true;
  /**
   * The sender's SYN, sent again after its answer was stopped, was rejected with a reset that
   * gets back: it is refused about a second after it began.
   */
  readonly resent?: true;
}

export interface Trace {
  readonly packet: Packet;
  readonly verdict: Verdict;
  readonly certainty: Certainty;
  readonly steps: readonly TraceStep[];
  /** The packet after NAT, where it was delivered; null when dropped or rejected. */
  readonly delivery: Delivery | null;
  /** Rules whose unmodelled matches made the verdict uncertain (`table/chain#index`). */
  readonly uncertainRules: readonly string[];
  /**
   * Facts the verdict rests on that the snapshot does not show and were assumed (an assumed
   * route, a destination taken to be the host's); any makes the certainty `possible`.
   */
  readonly assumptions: readonly string[];
  /** Why routing dropped the packet where no rule did: no route, a loopback destination from outside. */
  readonly unrouted?: string;
  /**
   * Whose device below the host's IP stack took the packet (a macvlan or ipvlan container's):
   * the host's netfilter never saw it, so the trace has no step and the verdict is the device's.
   */
  readonly below?: string;
  /**
   * The answer, when a rule (or routing) stopped it: a TCP connection whose reply is stopped,
   * and a REJECT whose notice is, are `dropped`; a UDP datagram is still delivered (`accepted`).
   */
  readonly answer?: TraceAnswer;
}
