/**
 * The hooks through which a chain can be entered at all, read from the ruleset's structure
 * alone: a built-in (base) chain is entered at its hook, a user chain at every hook of the
 * chains that jump or go to it. Whether packets arrive there is the walk's business; this says
 * where they could.
 */
import type { Hook } from '../model/trace.ts';
import { ruleActions, type Chain, type Ruleset, type Table } from '../model/ruleset.ts';

const HOOKS: readonly Hook[] = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

function ownHook(chain: Chain): Hook | null {
  if (chain.base !== undefined) {
    const h = chain.base.hook.toUpperCase();
    return (HOOKS as readonly string[]).includes(h) ? (h as Hook) : null;
  }
  return chain.builtin && (HOOKS as readonly string[]).includes(chain.name)
    ? (chain.name as Hook)
    : null;
}

function jumpsOf(chain: Chain): string[] {
  return chain.rules.flatMap((r) =>
    ruleActions(r).flatMap((t) => (t.kind === 'jump' ? [t.chain] : [])),
  );
}

/** Per table, the entry hooks of each chain by name (empty for a chain nothing leads to). */
export function entryHooks(ruleset: Ruleset): Map<Table, Map<string, Set<Hook>>> {
  const out = new Map<Table, Map<string, Set<Hook>>>();
  for (const t of ruleset.tables) {
    const byName = new Map<string, Set<Hook>>(t.chains.map((c) => [c.name, new Set<Hook>()]));
    const chains = new Map(t.chains.map((c) => [c.name, c]));
    for (const c of t.chains) {
      const hook = ownHook(c);
      if (hook === null) continue;
      // spread the hook down every jump chain (iteratively: chains may form loops)
      const todo = [c.name];
      while (todo.length > 0) {
        const name = todo.pop() ?? '';
        const hooks = byName.get(name);
        if (hooks === undefined || hooks.has(hook)) continue;
        hooks.add(hook);
        const chain = chains.get(name);
        // one by one: a chain of 100,000s of jumps is more than a call takes as arguments
        if (chain !== undefined) for (const j of jumpsOf(chain)) todo.push(j);
      }
    }
    out.set(t, byName);
  }
  return out;
}
