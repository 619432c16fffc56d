/**
 * The one order of texts in dockwall's output: by UTF-16 code unit, the same on every machine.
 * `localeCompare` follows the process's locale (under LANG=da_DK "aab" sorts after "zz"), so
 * reports, baselines and SARIF would differ between a CI runner and a laptop; it also loads
 * ICU's collator on first use (~10 ms of a 1,000-rule audit).
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
