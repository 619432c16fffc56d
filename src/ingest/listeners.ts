/**
 * Listening sockets from `ss -Htlnup` (the collector's form: no header, Netid column, tcp and
 * udp) or `ss -ltnp` (header, no Netid column, tcp only; the form in shared captures).
 */
import type { Diagnostic } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type { Listener, ListenerProcessKind } from '../model/host.ts';

export interface ListenersLoadResult {
  readonly listeners: readonly Listener[];
  readonly diagnostics: readonly Diagnostic[];
}

export function loadListeners(text: string, file: string): ListenersLoadResult {
  const listeners: Listener[] = [];
  const diagnostics: Diagnostic[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || /^\s*(Netid\s+)?State\s+Recv-Q/.test(line)) return;
    const location = { file, line: i + 1, column: 1 };
    const result = parseLine(line);
    if (typeof result === 'string') {
      diagnostics.push(diagnostic('invalid-listener-line', 'warning', result, location));
      return;
    }
    if (result !== null) listeners.push({ ...result, location });
  });
  return { listeners, diagnostics };
}

function parseLine(line: string): Omit<Listener, 'location'> | null | string {
  const tokens = line.trim().split(/\s+/);
  let protocol: 'tcp' | 'udp' | null = null;
  if (/^(tcp|udp|raw|u_\w+|p_\w+|icmp6?|sctp|mptcp|tipc|nl|v_\w+|xdp)$/.test(tokens[0] ?? '')) {
    const netid = tokens.shift();
    if (netid === 'tcp' || netid === 'udp') protocol = netid;
    else return null; // not an IP listener dockwall reasons about
  }
  const state = tokens[0];
  if (state === undefined || tokens.length < 5) {
    return `cannot read this ss line (expected State Recv-Q Send-Q Local Peer [Process]): ${line}`;
  }
  if (protocol === null) protocol = state === 'UNCONN' ? 'udp' : 'tcp';
  if (protocol === 'tcp' && state !== 'LISTEN') return null; // established sockets are not listeners
  const local = tokens[3] ?? '';
  const split = /^(.*):([^:]+)$/.exec(local);
  if (split === null) return `cannot read local address "${local}"`;
  let address = split[1] ?? '';
  const portText = split[2] ?? '';
  if (!/^\d+$/.test(portText)) {
    return `port "${portText}" is a service name: collect with \`ss -n\` so ports are numbers`;
  }
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  address = address.replace(/%.*$/, ''); // zone or interface scope (127.0.0.53%lo)
  const processText = tokens.slice(5).join(' ');
  const proc = /users:\(\("([^"]*)",pid=(\d+)/.exec(processText);
  const process = proc === null ? null : { name: proc[1] ?? '', pid: Number(proc[2]) };
  return { protocol, address, port: Number(portText), process, kind: processKind(process) };
}

function processKind(process: { name: string } | null): ListenerProcessKind {
  if (process === null) return 'unknown';
  if (process.name === 'docker-proxy') return 'docker-proxy';
  if (process.name === 'dockerd') return 'dockerd';
  return 'other';
}
