/**
 * Address texts as the model carries them: a bare address (`10.0.0.2`, `fd00::2`) or one with
 * its prefix length (`172.17.0.0/16`, `fd00::/64`).
 */

/** The address without its prefix length (`192.168.0.1/24` → `192.168.0.1`). */
export function bareAddress(text: string): string {
  const slash = text.indexOf('/');
  return slash < 0 ? text : text.slice(0, slash);
}

/** The prefix of one address (`10.0.0.2` → `10.0.0.2/32`, `fd00::2` → `fd00::2/128`). */
export function hostPrefix(address: string): string {
  return `${address}/${address.includes(':') ? 128 : 32}`;
}

/** Every address of the family as one prefix (`0.0.0.0/0`, `::/0`). */
export function everyAddress(family: 'ipv4' | 'ipv6'): string {
  return family === 'ipv4' ? '0.0.0.0/0' : '::/0';
}
