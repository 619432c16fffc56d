/**
 * Comparing what the kernel did with what the engine says. The engine reasons about the first
 * packet of a connection; the kernel shows the whole connection. They correspond like this:
 *
 * - engine `dropped`  ↔ the probe timed out;
 * - engine `rejected` ↔ refused or unreachable (an ICMP error or a TCP reset, before the
 *   handshake is done or right after it: the prober's ECONNRESET counts as refused), as is an
 *   ICMP error for the prober's ACK (`TraceAnswer.errorBack`), which over veths overtakes the
 *   handshake;
 * - engine `accepted` ↔ connected to the listener at the delivery address (its identity says
 *   which: `host` or `<container>:<port>/<proto>`), or refused when nothing listens there.
 */
import type { NetworkContext } from '../../src/engine/context.ts';
import { restsOnNeighbours } from '../../src/engine/neighbours.ts';
import type { Packet, Trace } from '../../src/model/trace.ts';
import type { ProbeResult } from './netns.ts';
import type { Probe } from './probes.ts';
import { canonical6, EXTERNAL6 } from './ipv6.ts';
import { EXTERNAL, listensEverywhere, type LabTopology } from './topology.ts';

/** What a probe should observe: a class, plus the listener identity for a connection. */
export interface ExpectedObservation {
  readonly outcome: 'connected' | 'refused' | 'timeout';
  readonly identity: string | null;
  /** Why, in words (for failure messages). */
  readonly because: string;
  /**
   * A timeout agrees too: the outcome races the prober's own 1 s timeout, or rests on IPv6
   * neighbour discovery the rules may stop.
   */
  readonly orTimeout?: true;
}

export interface Comparison {
  readonly result: ProbeResult;
  readonly expected: ExpectedObservation | null;
  /**
   * True when the kernel's observation matches; null when the engine's answer is unobservable,
   * or possible and resting on a match it leaves undecided by design where the kernel differs.
   */
  readonly agree: boolean | null;
  /** The kernel differs from a possible answer that rests on an undecidable match (`agree` null). */
  readonly undecided?: true;
  readonly engine: string;
}

function hostListens(t: LabTopology, address: string, port: number, protocol: string): boolean {
  const v6 = address.includes(':');
  return t.hostListeners.some(
    (l) =>
      l.port === port &&
      l.protocol === protocol &&
      l.address.includes(':') === v6 &&
      (listensEverywhere(l) || l.address === address),
  );
}

/** The REJECT notices a socket hears as soft errors (Linux's `icmp_err_convert`, IPv6's table). */
const SOFT_ERRORS = /\b(net-unreachable|host-unreachable|no-route|addr-unreachable)\b/;

/**
 * Matches the engine leaves undecided by design: live state (a rate, a list of recent sources,
 * a connection count, a connection mark some rule sets) and header fields it does not follow
 * (length, TTL, TOS, the link-layer packet type). A possible trace that rests on one may pick
 * the other branch than the kernel's.
 */
const UNDECIDABLE = /-m (limit|recent|hashlimit|connlimit|connmark|length|ttl|tos|pkttype)\b/;

/** Whether a possible trace names, among its undecided rules, one of `UNDECIDABLE`'s. */
function restsOnUndecidable(trace: Trace): boolean {
  if (trace.certainty !== 'possible') return false;
  const steps = [...trace.steps, ...(trace.answer?.steps ?? [])];
  return steps.some((st) => st.uncertain && UNDECIDABLE.test(st.ruleText));
}

/** The observation the engine's trace predicts for this probe in this topology. */
export function expectObservation(t: LabTopology, trace: Trace): ExpectedObservation | null {
  const protocol = String(trace.packet.protocol);
  // the host's own datagram stopped on its way out: the send itself fails (EPERM)
  const out = trace.steps.at(-1)?.hook;
  if (
    trace.packet.inInterface === null &&
    protocol === 'udp' &&
    trace.verdict !== 'accepted' &&
    (trace.answer === undefined || trace.answer.kind === 'notice') &&
    (out === 'OUTPUT' || out === 'POSTROUTING')
  )
    return { outcome: 'refused', identity: null, because: `stopped in ${out}: the send fails` };
  // refused only when the prober's SYN is sent again, about a second on: a race with the
  // prober's own 1 s timeout (random seeds 3905, refused, and 4224, timed out)
  if (trace.answer?.resent === true)
    return {
      outcome: 'refused',
      identity: null,
      because: 'its SYN sent again is rejected, about a second on',
      orTimeout: true,
    };
  if (trace.verdict === 'dropped')
    return { outcome: 'timeout', identity: null, because: 'dropped' };
  // An ICMPv6 error for the SYN that gets back while the prober's connect() still holds its
  // socket (over the lab's veths the whole round trip runs inside that call) is dropped as a
  // soft error (TcpExtLockDroppedIcmps; measured on Linux 6.18, where IPv4 refuses at once): the
  // SYN sent again about a second on is refused, racing the prober's 1 s timeout (random6 seeds
  // 10, 17, 23). Over a real network the error comes after the call has let go, and refuses.
  if (
    trace.verdict === 'rejected' &&
    trace.packet.family === 'ipv6' &&
    protocol === 'tcp' &&
    !/tcp-reset/.test(trace.steps.at(-1)?.action ?? '')
  )
    return {
      outcome: 'refused',
      identity: null,
      because: 'rejected with an ICMPv6 error, which refuses the SYN sent again',
      orTimeout: true,
    };
  // a UDP socket takes an ICMP error of the soft kinds (network or host unreachable, IPv6's no
  // route or address unreachable) only with IP_RECVERR, which the prober does not set: it
  // hears nothing (random seeds randomw-19 and 189, `--reject-with icmp-net-unreachable`)
  if (
    trace.verdict === 'rejected' &&
    protocol === 'udp' &&
    SOFT_ERRORS.test(trace.steps.at(-1)?.action ?? '')
  )
    return { outcome: 'timeout', identity: null, because: 'rejected with a soft ICMP error' };
  if (trace.verdict === 'rejected')
    return { outcome: 'refused', identity: null, because: 'rejected' };
  // a datagram delivered whose reply is stopped: the prober hears nothing back (its one
  // datagram is answered where only the later ones are stopped)
  const a = trace.answer;
  const delivered = deliveryObservation(t, trace.delivery, protocol);
  if (
    a !== undefined &&
    (a.kind === 'reply' || a.kind === 'notice') &&
    trace.verdict === 'accepted'
  ) {
    // The engine, not told who listens in a container, speaks of a server's reply; where no
    // one listens to a datagram the container's answer is an ICMP error, whose fate is not
    // that reply's (random6 seed 61: DOCKER-USER's `-p udp … -j REJECT` of the replies let the
    // port unreachable through): refused, or not heard where the error is stopped too
    if (a.kind === 'reply' && protocol === 'udp' && delivered?.outcome === 'refused')
      return {
        outcome: 'refused',
        identity: null,
        because: `${delivered.because}; the datagram's reply stopped by ${a.stoppedBy ?? 'routing'}, its ICMP error not traced`,
        orTimeout: true,
      };
    return {
      outcome: 'timeout',
      identity: null,
      because: `delivered, its reply stopped by ${a.stoppedBy ?? 'routing'}`,
    };
  }
  // the prober's ACK rejected with an ICMP error that gets back: over the lab's veths the error
  // overtakes the handshake and `connect()` fails (random seed 1451; with the ACK delayed the
  // prober connected and timed out, which the trace says it may)
  if (a?.kind === 'onward' && a.errorBack === true && delivered?.outcome === 'connected')
    return {
      outcome: 'refused',
      identity: null,
      because: `the prober's ACK rejected by ${a.stoppedBy ?? '?'} with an ICMP error that overtakes the handshake`,
    };
  // a connection made whose server's (or, over TCP, the prober's) later packets are stopped:
  // the prober is not told who it reached (where nothing listens, the reset, as the
  // handshake's answer, gets back; a datagram is answered before the later ones are sent)
  if (
    (a?.kind === 'later' || (a?.kind === 'onward' && protocol === 'tcp')) &&
    delivered?.outcome === 'connected'
  )
    return {
      outcome: 'timeout',
      identity: null,
      because: `connected, the ${a.kind === 'later' ? "server's" : "prober's"} later packets stopped by ${a.stoppedBy ?? a.unrouted ?? 'routing'}`,
    };
  return delivered;
}

/** What the prober sees of a delivered connection: who answers, or a refusal. */
function deliveryObservation(
  t: LabTopology,
  d: Trace['delivery'],
  protocol: string,
): ExpectedObservation | null {
  if (d === null) return null;
  const port = d.port ?? -1;
  if (d.kind === 'local') {
    return hostListens(t, d.address, port, protocol)
      ? {
          outcome: 'connected',
          identity: 'host',
          because: `delivered to host ${d.address}:${port}`,
        }
      : {
          outcome: 'refused',
          identity: null,
          because: `delivered to host ${d.address}:${port}, nothing listens`,
        };
  }
  const c6 = t.v6?.containers.find((x) => x.address === canonical6(d.address));
  const c = t.containers.find((x) => x.address === d.address || x.name === c6?.name);
  if (!c) return null;
  return c.ports.includes(port)
    ? {
        outcome: 'connected',
        identity: `${c.name}:${port}/${protocol}`,
        because: `forwarded to ${c.name} ${d.address}:${port} via ${d.outInterface ?? '?'}`,
      }
    : {
        outcome: 'refused',
        identity: null,
        because: `forwarded to ${c.name}:${port}, nothing listens`,
      };
}

/** The kernel's observation reduced to the classes the engine can predict. */
export function observedClass(r: ProbeResult): 'connected' | 'refused' | 'timeout' | 'error' {
  return r.outcome === 'unreachable' ? 'refused' : r.outcome;
}

export function compare(t: LabTopology, result: ProbeResult, trace: Trace): Comparison {
  const expected = withNeighbours(trace, expectObservation(t, trace));
  const engine =
    `${trace.verdict} (${trace.certainty})` +
    (trace.delivery
      ? ` → ${trace.delivery.kind} ${trace.delivery.address}:${trace.delivery.port ?? ''}`
      : '');
  if (expected === null) return { result, expected, agree: null, engine };
  const seen = observedClass(result);
  const timedOut = expected.orTimeout === true && seen === 'timeout';
  const agree =
    (seen === expected.outcome || timedOut) &&
    (timedOut || expected.identity === null || expected.identity === result.identity) &&
    // a datagram a listener heard was delivered, whatever became of its answer
    (result.heard === undefined || trace.verdict === 'accepted');
  // the engine said it cannot tell, and which rule: nothing to hold it to
  if (!agree && restsOnUndecidable(trace))
    return {
      result,
      expected,
      agree: null,
      undecided: true,
      engine: `${engine}, resting on an undecidable match`,
    };
  return { result, expected, agree, engine };
}

/**
 * An accepted or rejected trace that rests on IPv6 neighbour discovery getting through, which
 * the rules may stop (`nd-input-drop`): nothing comes back, neither the answer nor a notice,
 * where it is stopped and no neighbour entry is held.
 */
function withNeighbours(
  trace: Trace,
  expected: ExpectedObservation | null,
): ExpectedObservation | null {
  if (expected === null || (trace.verdict !== 'accepted' && trace.verdict !== 'rejected'))
    return expected;
  if (!trace.assumptions.some(restsOnNeighbours)) return expected;
  return {
    ...expected,
    because: `${expected.because}, or nothing where neighbour discovery is stopped`,
    orTimeout: true,
  };
}

/** One line per probe, for the test log and failure messages. */
export function describeComparison(c: Comparison): string {
  const seen =
    `${c.result.outcome}${c.result.identity ? ` ${c.result.identity}` : ''}` +
    (c.result.heard !== undefined && c.result.outcome !== 'connected'
      ? ` (heard by ${c.result.heard})`
      : '');
  const mark = c.agree === null ? '?' : c.agree ? '=' : '≠';
  const want = c.expected
    ? `${c.expected.outcome}${c.expected.identity ? ` ${c.expected.identity}` : ''}`
    : 'unobservable';
  return `${mark} ${c.result.probe.description}: kernel ${seen}; engine ${c.engine} ⇒ ${want}`;
}

/** The lab host as the engine sees it: its interfaces, its own addresses and its routes. */
export function labContext(t: LabTopology, interfaces: readonly string[]): NetworkContext {
  return {
    family: 'ipv4',
    interfaces,
    // the lab turns route_localnet on where the topology says, and nowhere else
    routeLocalnet: {
      all: false,
      interfaces: new Map(interfaces.map((i) => [i, t.routeLocalnet.includes(i)])),
      unknown: 'off',
    },
    localAddresses: ['127.0.0.1', EXTERNAL.hostAddress, ...t.bridges.map((b) => b.gateway)],
    // the external interface is made before the bridges (netns.ts): its address is the first
    // of global scope
    masqueradeOutOfLo: EXTERNAL.hostAddress,
    // each interface's one address, which REDIRECT gives
    redirectAddresses: [
      { interface: 'lo', address: '127.0.0.1' },
      { interface: EXTERNAL.hostInterface, address: EXTERNAL.hostAddress },
      ...t.bridges.map((b) => ({ interface: b.name, address: b.gateway })),
    ],
    // bridges whose ports' packets br_netfilter hands to iptables
    bridges: t.bridgeNfCall ? t.bridges.map((b) => b.name) : [],
    // the lab host serves these and nothing else (netns.ts)
    listeners: t.hostListeners
      .filter((l) => !l.address.includes(':'))
      .map((l) => ({
        protocol: l.protocol,
        port: l.port,
        address: listensEverywhere(l) ? null : l.address,
      })),
    // bridge-nf-call-iptables off: what a bridge passes between its ports skips iptables
    ...(t.bridgeNfCall
      ? {}
      : {
          devicesBelow: t.containers.map((c) => ({
            interface: c.bridge,
            address: c.address,
            owner: `container ${c.name}'s port on ${c.bridge}`,
            fromHost: 'reaches' as const,
          })),
        }),
    // each route's source: the address of its interface
    routes: [
      { destination: '127.0.0.0/8', device: 'lo' },
      {
        destination: `203.0.113.0/${EXTERNAL.prefixLength}`,
        device: EXTERNAL.hostInterface,
        source: EXTERNAL.hostAddress,
      },
      ...t.bridges.map((b) => ({ destination: b.subnet, device: b.name, source: b.gateway })),
      ...[...new Set(t.rejected.map((x) => x.address))].map((a) => ({
        destination: `${a}/32`,
        device: EXTERNAL.hostInterface,
        source: EXTERNAL.hostAddress,
      })),
    ],
  };
}

/** The lab host's IPv6 side as the engine sees it. */
export function labContext6(
  t: LabTopology,
  interfaces: readonly string[],
  linkLocal: readonly string[] = [],
): NetworkContext {
  const v6 = t.v6;
  return {
    family: 'ipv6',
    interfaces,
    // `linkLocal`: the link-local addresses the kernel gave this run's interfaces, where known
    // (random seed nd-519: OUTPUT dropped ICMPv6 from the host's own link-local addresses, its
    // neighbour solicitations among them)
    localAddresses: [
      '::1',
      EXTERNAL6.hostAddress,
      ...(v6?.bridges ?? []).map((b) => b.gateway),
      ...linkLocal,
    ],
    bridges: (v6?.bridges ?? []).map((b) => b.name),
    listeners: [
      ...t.hostListeners
        .filter((l) => l.address.includes(':'))
        .map((l) => ({
          protocol: l.protocol,
          port: l.port,
          address: listensEverywhere(l) ? null : l.address,
        })),
    ],
    routes: [
      { destination: '::1/128', device: 'lo' },
      {
        destination: `2001:db8:ffff::/${EXTERNAL6.prefixLength}`,
        device: EXTERNAL.hostInterface,
        source: EXTERNAL6.hostAddress,
      },
      ...(v6?.bridges ?? []).map((b) => ({
        destination: b.subnet,
        device: b.name,
        source: b.gateway,
      })),
    ],
  };
}

/** The exact first packet a probe sends, as the engine models it. */
export function probePacket(p: Probe): Packet {
  return {
    family: p.family,
    protocol: p.protocol,
    source: p.source,
    sourcePort: p.sourcePort,
    destination: p.destination,
    destinationPort: p.port,
    inInterface: p.inInterface,
    state: 'NEW',
    mark: 0,
  };
}
