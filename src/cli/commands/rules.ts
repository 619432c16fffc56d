/** `dockwall rules`: every lint rule with its default severity and what it catches. */
import { RULES } from '../../../rules/index.ts';
import type { RuleModule } from '../../lint/rule.ts';
import { ruleDocs } from '../../lint/rule.ts';
import type { Command, CommandIo } from '../command.ts';
import { parseCommandArgs, UsageError } from '../command.ts';

const usage = `Usage: dockwall rules [--format text|json|markdown]

List the audit rules, their default severity, whether they need the packet engine, and what
they catch. Severities and options can be changed in .dockwall.yaml (see docs/config.md).`;

export interface RuleListing {
  readonly id: string;
  readonly severity: string;
  readonly type: string;
  readonly requiresEngine: boolean;
  readonly recommended: boolean;
  readonly description: string;
  readonly docs: string;
}

export function listRules(rules: Readonly<Record<string, RuleModule>>): RuleListing[] {
  return Object.keys(rules)
    .sort()
    .map((id) => {
      const meta = (rules[id] as RuleModule).meta;
      return {
        id,
        severity: meta.severity,
        type: meta.type,
        requiresEngine: meta.requiresEngine,
        recommended: meta.docs.recommended,
        description: meta.docs.description,
        docs: ruleDocs(meta),
      };
    });
}

function text(list: readonly RuleListing[]): string {
  const idWidth = Math.max(...list.map((r) => r.id.length));
  const lines = list.map(
    (r) =>
      `${r.id.padEnd(idWidth)}  ${r.severity.padEnd(7)}  ${r.requiresEngine ? 'engine' : '      '}  ${r.description}`,
  );
  return `${'RULE'.padEnd(idWidth)}  SEVERITY  NEEDS   CATCHES\n${lines.join('\n')}\n`;
}

function markdown(list: readonly RuleListing[]): string {
  const rows = list.map(
    (r) =>
      `| [\`${r.id}\`](${r.docs}) | ${r.severity} | ${r.requiresEngine ? 'yes' : 'no'} | ${r.description} |`,
  );
  return `| Rule | Default severity | Needs engine | Catches |\n|---|---|---|---|\n${rows.join('\n')}\n`;
}

async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    format: { type: 'string', short: 'f' },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals.join(' ')}`);
  const format = values.format ?? 'text';
  const list = listRules(RULES);
  if (format === 'json') io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
  else if (format === 'markdown') io.stdout.write(markdown(list));
  else if (format === 'text') io.stdout.write(text(list));
  else throw new UsageError('--format must be text, json or markdown');
  return Promise.resolve(0);
}

export const rules: Command = {
  name: 'rules',
  summary: 'List the audit rules, their default severity and what they catch',
  usage,
  run,
};
