// Public library entry point: the model types. Stages add their entry points as they land.
export * from './model/index.ts';
// Host snapshot: a snapshot directory read into the model, then Docker knowledge over it.
export { loadSnapshot } from './cli/load-snapshot.ts';
export { readSnapshot } from './ingest/snapshot.ts';
export type { SnapshotInput } from './ingest/snapshot.ts';
export * from './docker/index.ts';
// Audit: one entry point (never throws), config, the rule registry and the reporters.
export { analyze } from './lint/analyze.ts';
export type { AnalyzeOptions } from './lint/analyze.ts';
export { loadConfig, parseConfig } from './lint/config.ts';
export type { ResolvedConfig, FailOn } from './lint/config-types.ts';
export { DEFAULT_CONFIG } from './lint/config-types.ts';
export { RULES } from '../rules/index.ts';
export { formatJson } from './report/json.ts';
export { formatSarif, toSarif } from './report/sarif.ts';
export { formatText } from './report/text.ts';
export { formatMarkdown } from './report/markdown.ts';
export { exitCode } from './report/exit-code.ts';
