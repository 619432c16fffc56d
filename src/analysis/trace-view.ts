/**
 * The trace view: one packet of a new connection as `dockwall trace` asks for it (the ingress
 * interface the host would see it on), and its engine trace told as the user reads it — the
 * NAT on the way, where it was delivered, to whom, and whether anything listens there.
 */
import { bindingReceives } from '../docker/bindings.ts';
import { describeAddress } from '../docker/address.ts';
import { buildNetworkContext, externalInterface } from '../docker/context.ts';
import { parseAddress } from '../engine/addr.ts';
import type { NetworkContext } from '../engine/context.ts';
import { createEngine } from '../engine/index.ts';
import { routeAddress } from '../engine/routing.ts';
import type { Diagnostic } from '../model/diagnostic.ts';
import type { Family, Ruleset } from '../model/ruleset.ts';
import { wasRead, type Snapshot } from '../model/snapshot.ts';
import type { Packet, Trace, TraceAnswer, TraceStep } from '../model/trace.ts';

export interface TraceRequest {
  readonly from: string;
  /** The ingress interface; absent: what routing says about `from`. */
  readonly in?: string;
  readonly to: { readonly address: string; readonly port: number };
  readonly proto: 'tcp' | 'udp';
}

export interface TraceDestination {
  readonly kind: 'container' | 'host' | 'forward';
  readonly name: string | null;
  readonly address: string;
  readonly port: number | null;
  readonly listening: boolean | null;
}

export interface TraceView {
  readonly result: Trace['verdict'];
  readonly certainty: Trace['certainty'];
  readonly packet: Packet;
  readonly destination: TraceDestination | null;
  readonly nat: string[];
  readonly steps: {
    readonly hook: string;
    readonly table: string;
    readonly chain: string;
    readonly rule: number | null;
    /** nftables: the rule's handle, when the listing shows it. */
    readonly handle?: number;
    readonly line: number | null;
    readonly file: string | null;
    readonly text: string;
    readonly action: string;
    readonly uncertain: boolean;
  }[];
  readonly uncertainRules: readonly string[];
  /** What the verdict rests on that the snapshot does not show (any makes it `possible`). */
  readonly assumptions: readonly string[];
  /** Why routing dropped the packet where no rule did; null otherwise. */
  readonly unrouted: string | null;
  /** Whose device below the host's IP stack took the packet (no step: the host never saw it). */
  readonly below: string | null;
  /** What goes back for the packet, when something stopped it on its way (`Trace.answer`). */
  readonly answer: (Omit<TraceAnswer, 'steps'> & { readonly steps: TraceView['steps'] }) | null;
}

/** The family of a plain address (no prefix), null when it is not one. */
export function addressFamily(text: string): Family | null {
  if (parseAddress(text, 'ipv4') !== null) return 'ipv4';
  if (parseAddress(text, 'ipv6') !== null) return 'ipv6';
  return null;
}

/**
 * Builds the engine for the ruleset of the request's family and traces its packet; the engine's
 * own diagnostics (jump loops, unmodelled options) come along for the caller to show.
 */
export function traceOne(
  snapshot: Snapshot,
  ruleset: Ruleset,
  request: TraceRequest,
): { readonly view: TraceView; readonly engineDiagnostics: readonly Diagnostic[] } {
  const context = buildNetworkContext(snapshot, ruleset.family);
  const engine = createEngine(ruleset, context);
  const packet = tracePacket(snapshot, context, request);
  return {
    view: traceView(snapshot, engine.trace(packet), request.proto),
    engineDiagnostics: engine.diagnostics,
  };
}

/**
 * The packet to trace: from an address of the host itself it is sent by the host (no ingress);
 * otherwise it arrives on the given interface, else on the one the host routes the source to,
 * else on the external interface.
 */
export function tracePacket(
  snapshot: Snapshot,
  context: NetworkContext,
  request: TraceRequest,
): Packet {
  const family = context.family;
  const route = routeAddress(context, request.from);
  const inInterface =
    request.in ??
    (route?.hostness === 'local' ? null : (route?.device ?? externalInterface(snapshot, family)));
  return {
    family,
    protocol: request.proto,
    source: request.from,
    sourcePort: 40000,
    destination: request.to.address,
    destinationPort: request.to.port,
    inInterface,
    state: 'NEW',
    mark: 0,
  };
}

/** Whether something listens at the delivered address and port, when the snapshot tells. */
function listening(
  snapshot: Snapshot,
  family: Family,
  kind: 'container' | 'host',
  address: string,
  port: number | null,
  proto: 'tcp' | 'udp',
  name: string | null,
): boolean | null {
  if (port === null) return null;
  if (kind === 'container') {
    const c = snapshot.host.containers.find((x) => x.name === name);
    if (c === undefined) return null;
    const known =
      c.published.some((p) => p.containerPort === port && p.protocol === proto) ||
      c.exposed.some((p) => p.port === port && p.protocol === proto);
    return known ? true : null;
  }
  const read = wasRead(snapshot, 'listeners');
  if (!read) return null;
  return snapshot.host.listeners.some(
    (l) => l.protocol === proto && l.port === port && bindingReceives(l.address, family, address),
  );
}

function viewStep(s: TraceStep): TraceView['steps'][number] {
  return {
    hook: s.hook,
    table: s.table,
    chain: s.chain,
    rule: s.rule,
    ...(s.handle === undefined ? {} : { handle: s.handle }),
    line: s.line,
    file: s.file,
    text: s.ruleText,
    action: s.action,
    uncertain: s.uncertain,
  };
}

export function traceView(snapshot: Snapshot, trace: Trace, proto: 'tcp' | 'udp'): TraceView {
  const family = trace.packet.family;
  let destination: TraceDestination | null = null;
  const d = trace.delivery;
  if (trace.verdict === 'accepted' && d !== null) {
    const who = describeAddress(snapshot, family, d.address);
    if (d.kind === 'local') {
      destination = {
        kind: 'host',
        name: who.name ?? null,
        address: d.address,
        port: d.port,
        listening: listening(snapshot, family, 'host', d.address, d.port, proto, null),
      };
    } else if (who.kind === 'container') {
      const name = who.name ?? null;
      destination = {
        kind: 'container',
        name,
        address: d.address,
        port: d.port,
        listening: listening(snapshot, family, 'container', d.address, d.port, proto, name),
      };
    } else {
      destination = {
        kind: 'forward',
        name: d.outInterface,
        address: d.address,
        port: d.port,
        listening: null,
      };
    }
  }
  const nat = trace.steps
    .filter((s) => /^(DNAT|SNAT|MASQUERADE|REDIRECT)\b/.test(s.action))
    .map((s) => `${s.table}/${s.chain}: ${s.action}`);
  return {
    result: trace.verdict,
    certainty: trace.certainty,
    packet: trace.packet,
    destination,
    nat,
    steps: trace.steps.map(viewStep),
    uncertainRules: trace.uncertainRules,
    assumptions: trace.assumptions,
    unrouted: trace.unrouted ?? null,
    below: trace.below ?? null,
    answer:
      trace.answer === undefined
        ? null
        : { ...trace.answer, steps: trace.answer.steps.map(viewStep) },
  };
}
