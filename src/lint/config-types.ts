/** The resolved `.dockwall.yaml`: plain data the runner, ignores and baseline read. */
import type { Severity, SourceLocation } from '../model/diagnostic.ts';

export type FailOn = Severity | 'never';

export interface RuleSetting {
  /** `off` disables the rule. */
  readonly severity: Severity | 'off' | null;
  /** Options given in the config (merged over the rule's defaults by the runner). */
  readonly options: Readonly<Record<string, unknown>> | null;
  readonly location: SourceLocation | null;
}

/** An ignore matches a finding when every field it names equals the finding's. */
export interface Ignore {
  readonly rule: string;
  readonly container?: string;
  readonly port?: number;
  readonly chain?: string;
  readonly reason: string;
  /** ISO date (YYYY-MM-DD); after it the ignore no longer applies and is reported. */
  readonly expires?: string;
  readonly location: SourceLocation;
}

export interface ResolvedConfig {
  /** The config file read, or null for the built-in defaults. */
  readonly file: string | null;
  readonly rules: Readonly<Record<string, RuleSetting>>;
  readonly ignores: readonly Ignore[];
  readonly failOn: FailOn | null;
}

export const DEFAULT_CONFIG: ResolvedConfig = {
  file: null,
  rules: {},
  ignores: [],
  failOn: null,
};
