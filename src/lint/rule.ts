/**
 * The shape of a lint rule: declarative metadata beside a `create(context)` that returns
 * listeners keyed by model node kind. Metadata is readable without running the rule; it drives
 * `dockwall rules`, the SARIF rule table, config validation and the docs meta test.
 */
import type { Exposure, FindingObject } from '../model/audit.ts';
import type { Severity, SourceLocation } from '../model/diagnostic.ts';
import type { Container, DockerHost, PublishedPort } from '../model/host.ts';
import type { Chain, Rule, Ruleset, Table } from '../model/ruleset.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { Certainty, Packet, TraceStep } from '../model/trace.ts';
import type { LintEngine } from './engine.ts';

/** `problem`: the firewall does not do what it looks like; `suggestion`: clean-up; `hardening`: safer settings. */
export type RuleType = 'problem' | 'suggestion' | 'hardening';

/** A JSON Schema object for a rule's options (draft 2020-12 subset; validated with ajv). */
export type OptionsSchema = Readonly<Record<string, unknown>>;

export interface RuleMeta<
  MessageIds extends string,
  Options extends object,
  NeedsEngine extends boolean = boolean,
> {
  /** The rule id: kebab-case, equal to the file name and the registry key (checked by a test). */
  readonly id: string;
  readonly type: RuleType;
  /** Severity used unless the config overrides it. */
  readonly severity: Severity;
  readonly docs: {
    /** One line: what the rule catches. */
    readonly description: string;
    readonly recommended: boolean;
    /** The rule's documentation page when it is not ours; `ruleDocs(meta)` reads it. */
    readonly url?: string;
  };
  /** Message templates with `{{placeholder}}` data. */
  readonly messages: Readonly<Record<MessageIds, string>>;
  /** JSON Schema of the options object; rules without options use `null` (stray options refused). */
  readonly schema: OptionsSchema | null;
  readonly defaultOptions: Options;
  /**
   * True when the rule needs the symbolic packet engine: it is skipped (with a diagnostic) without
   * it, and its context holds the engine and the exposures it discovered. A rule that declares
   * false may still use the engine when it ran (`context.engine` is then nullable) but never sees
   * the exposures: the type, not a review, keeps the declaration honest.
   */
  readonly requiresEngine: NeedsEngine;
}

/** Something that has a location in an input file: every model node. */
export interface Located {
  readonly location: SourceLocation;
}

export interface ReportDescriptor<MessageIds extends string> {
  readonly messageId: MessageIds;
  readonly data?: Readonly<Record<string, string | number>>;
  /** The model node the finding is about; its location is the finding's location. */
  readonly node: Located;
  /** What the finding is about, for ignores, baselines and fingerprints. */
  readonly object: FindingObject;
  /** Overrides the rule's severity for this one finding (e.g. sensitive ports rank higher). */
  readonly severity?: Severity;
  readonly certainty?: Certainty;
  /** What a possible finding rests on that the snapshot does not show (`Finding.assumptions`). */
  readonly assumptions?: readonly string[];
  readonly witness?: Packet | null;
  readonly trace?: readonly TraceStep[];
  readonly related?: readonly { readonly message: string; readonly location: SourceLocation }[];
}

interface BaseContext<MessageIds extends string, Options extends object> {
  readonly snapshot: Snapshot;
  readonly host: DockerHost;
  /** The rule's options, defaults merged with the config's. */
  readonly options: Options;
  report(descriptor: ReportDescriptor<MessageIds>): void;
  /**
   * Says that part of the rule's check was not made (and why): a note diagnostic, never silence.
   * Located at `location` when given (the chain or file it is about), else at the snapshot.
   */
  limited(message: string, location?: SourceLocation): void;
}

/** What a rule that requires the engine is given besides the model. */
export interface EngineAnswers {
  readonly engine: LintEngine;
  /** The exposure table the engine discovered before the rules ran. */
  readonly exposures: readonly Exposure[];
}

/** What a rule that does not require the engine is given: the engine when it could run. */
export interface OptionalEngine {
  readonly engine: LintEngine | null;
}

export type RuleContext<
  MessageIds extends string,
  Options extends object,
  NeedsEngine extends boolean = boolean,
> = BaseContext<MessageIds, Options> & (NeedsEngine extends true ? EngineAnswers : OptionalEngine);

/** Listeners the runner calls while it walks the model, in stable order, then `end`. */
export interface RuleListeners {
  readonly Ruleset?: (ruleset: Ruleset) => void;
  readonly Table?: (table: Table, ruleset: Ruleset) => void;
  readonly Chain?: (chain: Chain, table: Table, ruleset: Ruleset) => void;
  readonly Rule?: (rule: Rule, chain: Chain, table: Table, ruleset: Ruleset) => void;
  readonly Container?: (container: Container) => void;
  readonly PublishedPort?: (port: PublishedPort, container: Container) => void;
  readonly end?: () => void;
}

export interface RuleModule<
  MessageIds extends string = string,
  Options extends object = object,
  NeedsEngine extends boolean = boolean,
> {
  readonly meta: RuleMeta<MessageIds, Options, NeedsEngine>;
  create(context: RuleContext<MessageIds, Options, NeedsEngine>): RuleListeners;
}

/**
 * Identity helper that fixes the type parameters so `report({ messageId })` is checked and the
 * context matches `requiresEngine` (a rule that requires the engine says so twice:
 * `defineRule<MessageIds, Options, true>` and `requiresEngine: true`).
 */
export function defineRule<
  MessageIds extends string,
  Options extends object,
  NeedsEngine extends boolean = false,
>(
  rule: RuleModule<MessageIds, Options, NeedsEngine>,
): RuleModule<MessageIds, Options, NeedsEngine> {
  return rule;
}

/** Where a rule's documentation lives (the SARIF helpUri and `dockwall rules` link). */
export const DOCS_BASE = 'https://github.com/dockwall/dockwall/blob/main/docs/rules/';

export function ruleDocsUrl(id: string): string {
  return `${DOCS_BASE}${id}.md`;
}

/** A rule's documentation page: its own `docs.url`, else ours by its id. */
export function ruleDocs(meta: {
  readonly id: string;
  readonly docs: { readonly url?: string };
}): string {
  return meta.docs.url ?? ruleDocsUrl(meta.id);
}

/** Fills `{{name}}` placeholders; an unknown placeholder is left visible so tests catch it. */
export function formatMessage(
  template: string,
  data: Readonly<Record<string, string | number>> | undefined,
): string {
  const parts = templateParts(template);
  let out = parts.texts[0] ?? '';
  parts.keys.forEach((key, i) => {
    const value = data?.[key];
    out +=
      (value === undefined ? (parts.wholes[i] ?? '') : String(value)) + (parts.texts[i + 1] ?? '');
  });
  return out;
}

/** A message template cut at its `{{placeholders}}`: the texts around them, their keys. */
export interface TemplateParts {
  /** One more than the keys: the text before each placeholder, then the text after the last. */
  readonly texts: readonly string[];
  readonly keys: readonly string[];
  /** Each placeholder as written (kept when its data is missing). */
  readonly wholes: readonly string[];
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
/** Per template: a rule reports with a few templates, tens of thousands of times on big hosts. */
const cutTemplates = new Map<string, TemplateParts>();

export function templateParts(template: string): TemplateParts {
  let parts = cutTemplates.get(template);
  if (parts === undefined) {
    const texts: string[] = [];
    const keys: string[] = [];
    const wholes: string[] = [];
    let at = 0;
    for (const m of template.matchAll(PLACEHOLDER)) {
      texts.push(template.slice(at, m.index));
      keys.push(m[1] ?? '');
      wholes.push(m[0]);
      at = m.index + m[0].length;
    }
    texts.push(template.slice(at));
    parts = { texts, keys, wholes };
    cutTemplates.set(template, parts);
  }
  return parts;
}

/** Names listed in a message at most; the rest are counted. */
export const LIST_LIMIT = 10;

/**
 * Items as an English list — `a`, `a and b`, `a, b and c` — with at most `max` named and the
 * rest counted (`a, b, c and 297 more`), so a message stays short however many parties a
 * finding has.
 */
export function listOf(items: readonly string[], max: number = LIST_LIMIT): string {
  const shown = items.length > max ? items.slice(0, max) : [...items];
  const rest = items.length - shown.length;
  if (rest > 0) return `${shown.join(', ')} and ${rest} more`;
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1] ?? ''}`;
}
