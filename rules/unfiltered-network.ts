/**
 * unfiltered-network: a container on a macvlan or ipvlan network has its own address on the
 * network of a host interface. Its neighbours there reach every port it listens on, and the
 * host's firewall never sees those packets (src/docker/direct-networks.ts says why and when not);
 * a `-p` given to such a container does nothing. The exposure table is what passes the host's
 * netfilter, so these containers are not in it: this rule is where they are said.
 */
import type { Container, Protocol } from '../src/model/host.ts';
import { familyOfAddress } from '../src/docker/bindings.ts';
import { directEndpoints } from '../src/docker/direct-networks.ts';
import { newConnection, remoteClient } from '../src/analysis/packets.ts';
import { defineRule, listOf } from '../src/lint/rule.ts';

type MessageIds = 'direct' | 'directPublishes';

/** The ports the container says it serves: its exposed ports and the ones it asks to publish. */
function servedPorts(c: Container): { readonly port: number; readonly protocol: Protocol }[] {
  const seen = new Map<string, { port: number; protocol: Protocol }>();
  for (const p of [
    ...c.exposed,
    ...c.requested.map((r) => ({ port: r.containerPort, protocol: r.protocol })),
  ])
    seen.set(`${p.port}/${p.protocol}`, p);
  return [...seen.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

export default defineRule<MessageIds, object>({
  meta: {
    id: 'unfiltered-network',
    type: 'problem',
    severity: 'warning',
    docs: {
      description:
        "Containers on macvlan or ipvlan networks: reached at their own address on a host interface's network, where the host's firewall never sees them, whatever -p says",
      recommended: true,
    },
    messages: {
      direct:
        "Container {{container}} is on {{driver}} network {{network}}: its own address {{addresses}} is on {{parent}}'s network, whose hosts reach every port it listens on{{serves}} without this host's firewall seeing a packet (INPUT, FORWARD, DOCKER-USER and nftables alike).",
      directPublishes:
        "Container {{container}} is on {{driver}} network {{network}}: its own address {{addresses}} is on {{parent}}'s network, whose hosts reach every port it listens on{{serves}} without this host's firewall seeing a packet (INPUT, FORWARD, DOCKER-USER and nftables alike). Its -p {{mappings}} does nothing: Docker publishes no port on {{driver}} networks.",
    },
    schema: null,
    defaultOptions: {},
    requiresEngine: false,
  },
  create(context) {
    const { host } = context;
    return {
      Container(c) {
        if (!c.running) return;
        const served = servedPorts(c);
        // the witness asks for the port the user meant to publish, else the first it serves
        const [request] = c.requested;
        const first =
          request === undefined
            ? served[0]
            : { port: request.containerPort, protocol: request.protocol };
        // the -p requests Docker did not apply (on another network of the container it may)
        const ignored = c.requested.filter(
          (r) =>
            !c.published.some(
              (p) => p.containerPort === r.containerPort && p.protocol === r.protocol,
            ),
        );
        const mappings = ignored.map(
          (r) =>
            `${r.hostIp === '' ? '' : `${r.hostIp}:`}${r.hostPort === '' ? '' : `${r.hostPort}:`}${r.containerPort}/${r.protocol}`,
        );
        for (const { endpoint, direct } of directEndpoints(host, c)) {
          const addresses = [endpoint.ipv4, endpoint.ipv6].filter((a): a is string => a !== null);
          // a neighbour's new connection to the first port it serves: no rule of this host on
          // its way, so the trace is empty
          const to = addresses[0];
          const witness =
            to === undefined
              ? null
              : newConnection(
                  familyOfAddress(to),
                  first?.protocol ?? 'tcp',
                  remoteClient(familyOfAddress(to), host),
                  to,
                  first?.port ?? 80,
                  direct.parent,
                );
          context.report({
            messageId: mappings.length > 0 ? 'directPublishes' : 'direct',
            data: {
              container: c.name,
              driver: direct.driver,
              network: direct.network.name,
              addresses: addresses.length === 0 ? '(none listed)' : listOf(addresses),
              parent: direct.parent,
              serves:
                served.length === 0
                  ? ''
                  : ` (it serves ${listOf(served.map((p) => `${p.port}/${p.protocol}`))})`,
              mappings: listOf(mappings),
            },
            // at the ignored request, where the loader's ports-discarded-vlan-network is
            node: ignored[0] ?? c,
            object: { container: c.name, ...(to === undefined ? {} : { address: to }) },
            witness,
            trace: [],
            related: [
              {
                message: `${direct.driver} network ${direct.network.name}, parent ${direct.parent}, ${direct.mode} mode`,
                location: direct.network.location,
              },
            ],
          });
        }
      },
    };
  },
});
