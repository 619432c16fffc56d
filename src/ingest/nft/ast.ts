/**
 * The nftables ruleset as both inputs say it, before it means anything: `nft -j list ruleset`
 * JSON and `nft list ruleset` text are each read into this one syntax tree (shaped after
 * libnftables-json), and one builder (`build.ts`) turns it into the model. So every expression
 * is understood in one place whatever the input format.
 */
import type { SourceLocation } from '../../model/diagnostic.ts';

interface At {
  readonly at: SourceLocation;
}

/** Expressions: selectors on the left of a match, values on the right, keys and data of maps. */
export type NftExpr =
  /** A number, a string (quoted or a bare word: `established`, `10.0.0.1`, `"eth0"`), a boolean. */
  | (At & {
      readonly k: 'value';
      readonly value: string | number | boolean;
      readonly quoted: boolean;
    })
  | (At & { readonly k: 'prefix'; readonly addr: NftExpr; readonly len: number })
  | (At & { readonly k: 'range'; readonly from: NftExpr; readonly to: NftExpr })
  /** An anonymous set `{ a, b }`; in a map, its items are `mapping`s. */
  | (At & { readonly k: 'set'; readonly items: readonly NftExpr[] })
  /** `@name`: a named set or map. */
  | (At & { readonly k: 'ref'; readonly name: string })
  | (At & { readonly k: 'concat'; readonly items: readonly NftExpr[] })
  /** A comma list of flags or states (`established,related`, `fin,syn`). */
  | (At & { readonly k: 'list'; readonly items: readonly NftExpr[] })
  /** `key : data` inside a map's elements. */
  | (At & { readonly k: 'mapping'; readonly key: NftExpr; readonly data: NftExpr })
  /** A set element with attributes (`timeout`, `comment`); only the value matters here. */
  | (At & { readonly k: 'elem'; readonly value: NftExpr })
  | (At & { readonly k: 'payload'; readonly protocol: string; readonly field: string })
  /**
   * An IPv6 extension header's field (`rt type`), an IPv4 option's (`ip option lsrr type`), or,
   * with `field` null, whether the header is there (`exthdr rt exists`, `ip option rr exists`).
   */
  | (At & {
      readonly k: 'exthdr';
      readonly family: 'ipv4' | 'ipv6';
      readonly header: string;
      readonly field: string | null;
    })
  | (At & { readonly k: 'meta'; readonly key: string })
  | (At & {
      readonly k: 'ct';
      readonly key: string;
      readonly dir: 'original' | 'reply' | null;
    })
  | (At & { readonly k: 'fib'; readonly result: string; readonly flags: readonly string[] })
  | (At & {
      readonly k: 'binop';
      readonly op: '&' | '|' | '^' | '<<' | '>>';
      readonly left: NftExpr;
      readonly right: NftExpr;
    })
  /** `key map data`: a lookup (`tcp dport map @ports`). */
  | (At & { readonly k: 'map'; readonly key: NftExpr; readonly data: NftExpr })
  /** A verdict as a value (in a verdict map's elements). */
  | (At & { readonly k: 'verdict'; readonly verdict: string; readonly chain: string | null })
  /** An expression read but not understood (`numgen …`, `osf …`, `@nh,16,8`), kept whole. */
  | (At & { readonly k: 'other'; readonly name: string; readonly text: string });

export type NftMatchOp = '==' | '!=' | '<' | '>' | '<=' | '>=' | 'in';

/** Statements: what one rule says, in order. */
export type NftStmt =
  | (At & {
      readonly k: 'match';
      readonly op: NftMatchOp;
      readonly left: NftExpr;
      readonly right: NftExpr;
    })
  | (At & { readonly k: 'counter'; readonly packets: bigint | null; readonly bytes: bigint | null })
  /** accept, drop, continue, return, jump, goto. */
  | (At & { readonly k: 'verdict'; readonly verdict: string; readonly chain: string | null })
  | (At & { readonly k: 'reject'; readonly with: string })
  | (At & {
      readonly k: 'log';
      readonly prefix: string | null;
      readonly level: string | null;
      readonly group: number | null;
    })
  /** Conditions that depend on state dockwall cannot see: limit, quota, ct count, meters. */
  | (At & { readonly k: 'stateful'; readonly name: string; readonly text: string })
  | (At & {
      readonly k: 'nat';
      readonly kind: 'dnat' | 'snat' | 'masquerade' | 'redirect';
      readonly family: string | null;
      readonly addr: NftExpr | null;
      readonly port: NftExpr | null;
      readonly flags: readonly string[];
    })
  /** `meta mark set …`, `ct mark set …`. */
  | (At & { readonly k: 'mangle'; readonly key: NftExpr; readonly value: NftExpr })
  | (At & { readonly k: 'notrack' })
  | (At & { readonly k: 'vmap'; readonly key: NftExpr; readonly data: NftExpr })
  /** `add @set { … }`, `update @set { … }`, `delete @set { … }`: a set changed at run time. */
  | (At & { readonly k: 'setop'; readonly op: string; readonly set: string })
  | (At & { readonly k: 'queue'; readonly text: string })
  /** Any other statement (`xt target …`, `tproxy`, `fwd`, `dup`, `flow add`, …), kept whole. */
  | (At & { readonly k: 'other'; readonly name: string; readonly text: string });

export interface NftRuleAst {
  readonly at: SourceLocation;
  /** The rule as written (text input) or as nft would print it (JSON input). */
  readonly text: string;
  readonly handle: number | null;
  readonly comment: string | null;
  readonly stmts: readonly NftStmt[];
}

export interface NftChainAst {
  readonly at: SourceLocation;
  readonly name: string;
  readonly handle: number | null;
  /** Base chain properties; `devices` null when the listing does not say. */
  readonly base: {
    readonly type: string;
    readonly hook: string;
    readonly priority: number | null;
    readonly priorityText: string;
    readonly policy: string | null;
    readonly devices: readonly string[] | null;
    readonly at: SourceLocation;
  } | null;
  readonly rules: readonly NftRuleAst[];
}

export interface NftSetAst {
  readonly at: SourceLocation;
  readonly name: string;
  readonly map: boolean;
  /** Key type(s) as written; for maps also the data type. */
  readonly type: string;
  readonly dataType: string | null;
  readonly flags: readonly string[];
  /** The elements as written (`mapping`s for maps); null when the listing shows none. */
  readonly elements: readonly NftExpr[] | null;
  readonly hasTimeout: boolean;
}

export interface NftTableAst {
  readonly at: SourceLocation;
  readonly family: string;
  readonly name: string;
  readonly handle: number | null;
  readonly chains: readonly NftChainAst[];
  readonly sets: readonly NftSetAst[];
}

export interface NftRulesetAst {
  readonly version: string | null;
  readonly tables: readonly NftTableAst[];
}
