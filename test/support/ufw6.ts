/**
 * ufw's IPv6 input and output as `ufw enable` writes them (its before6.rules, trimmed to what a
 * connection meets), with one port let in: every chain starts by dropping a type 0 routing
 * header, and neighbour discovery comes in only with a hop limit of 255, under an INPUT DROP
 * policy. The kernel's neighbour discovery carries no routing header and a hop limit of 255, so
 * both pass it. Used by the engine's tests and the kernel referee's `nd-ufw` scenario.
 */

/** The chains the rules use beside the built-in ones. */
export const UFW6_CHAINS: readonly string[] = [
  'ufw6-before-input',
  'ufw6-before-output',
  'ufw6-user-input',
];

/** ufw's IPv6 rules in iptables-save form, letting TCP `port` in. */
export function ufw6Rules(port: number): string[] {
  return [
    '-A INPUT -j ufw6-before-input',
    '-A OUTPUT -j ufw6-before-output',
    '-A ufw6-before-input -i lo -j ACCEPT',
    '-A ufw6-before-input -m rt --rt-type 0 -j DROP',
    '-A ufw6-before-input -p ipv6-icmp -m icmp6 --icmpv6-type 135 -m hl --hl-eq 255 -j ACCEPT',
    '-A ufw6-before-input -p ipv6-icmp -m icmp6 --icmpv6-type 136 -m hl --hl-eq 255 -j ACCEPT',
    '-A ufw6-before-input -p ipv6-icmp -m icmp6 --icmpv6-type 133 -m hl --hl-eq 255 -j ACCEPT',
    '-A ufw6-before-input -p ipv6-icmp -m icmp6 --icmpv6-type 134 -m hl --hl-eq 255 -j ACCEPT',
    '-A ufw6-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A ufw6-before-input -m conntrack --ctstate INVALID -j DROP',
    '-A ufw6-before-input -p ipv6-icmp -m icmp6 --icmpv6-type 1 -j ACCEPT',
    '-A ufw6-before-input -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT',
    '-A ufw6-before-input -j ufw6-user-input',
    `-A ufw6-user-input -p tcp -m tcp --dport ${port} -j ACCEPT`,
    '-A ufw6-before-output -o lo -j ACCEPT',
    '-A ufw6-before-output -m rt --rt-type 0 -j DROP',
    '-A ufw6-before-output -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT',
    '-A ufw6-before-output -p ipv6-icmp -m icmp6 --icmpv6-type 136 -j ACCEPT',
    '-A ufw6-before-output -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  ];
}
