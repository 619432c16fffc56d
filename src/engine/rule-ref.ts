/** How a rule reference is said in text: `filter/INPUT#3`, or `filter/INPUT policy`. */
import type { RuleRef } from './types.ts';

export function ruleRefText(r: RuleRef): string {
  return `${r.table}/${r.chain}${r.index === null ? ' policy' : `#${r.index}`}`;
}
