/**
 * Interface classes two engines share. Each engine tells ingress interfaces apart by the names
 * its own snapshot gives (`eth0`, a `veth*` wildcard class, `*other*` for every name nobody
 * listed), so one side's `*other*` may hold an `eth0` the other side names. Comparing their
 * reachable sets needs the common refinement: every name or class either side tells apart, and
 * what each side's class stands for in it — limited to what both sides count as outside the
 * host (a bridge Docker creates in one snapshot is inside there, and no client sends from it).
 */
import type { InterfaceDomain } from '../engine/space.ts';
import { buildInterfaceDomain, OTHER_INTERFACE } from '../engine/space.ts';

/** One side's engine for a family: its classes and those a client outside sends from. */
export interface SideInterfaces {
  readonly classes: readonly string[];
  readonly external: readonly string[];
}

function domainOf(classes: readonly string[]): InterfaceDomain {
  const wildcard = (c: string): boolean => c.endsWith('*');
  return buildInterfaceDomain(
    classes.filter((c) => !wildcard(c)),
    classes.filter((c) => wildcard(c) && c !== OTHER_INTERFACE).map((c) => c.slice(0, -1)),
  );
}

export interface CommonInterfaces {
  /** Common classes outside the host on both sides (a side without this family has no say). */
  readonly names: readonly string[];
  /** The common classes, of `names`, one side's class (`side` 0 or 1) stands for. */
  expand(side: 0 | 1, name: string): readonly string[];
}

export function commonInterfaces(
  a: SideInterfaces | null,
  b: SideInterfaces | null,
): CommonInterfaces {
  const sides = [a, b].map((s) =>
    s === null ? null : { domain: domainOf(s.classes), external: new Set(s.external) },
  );
  const common = domainOf([...(a?.classes ?? []), ...(b?.classes ?? [])]);
  const names: string[] = [];
  const maps = [new Map<string, string[]>(), new Map<string, string[]>()];
  common.names.forEach((name, i) => {
    const own = sides.map((side) =>
      side === null
        ? null
        : // A name neither side lists is in each side's `*other*` (no side has a prefix the
          // common domain lacks); any other class is placed by a name of it.
          name === OTHER_INTERFACE
          ? OTHER_INTERFACE
          : (side.domain.names[side.domain.classOf(common.representative(i))] ?? OTHER_INTERFACE),
    );
    if (own.some((c, s) => c !== null && sides[s]?.external.has(c) !== true)) return;
    names.push(name);
    own.forEach((c, s) => {
      const map = maps[s];
      if (c !== null && map !== undefined) map.set(c, [...(map.get(c) ?? []), name]);
    });
  });
  return { names, expand: (side, name) => maps[side]?.get(name) ?? [] };
}
