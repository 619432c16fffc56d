// Types of eslint.boundaries.js for the test that checks it (test/lint/boundaries.test.ts).
export interface Stage {
  readonly folder: string;
  readonly files: readonly string[];
  readonly may: readonly string[];
  /** Files of the folder that may also use more folders (each named, each with its reason). */
  readonly exceptions?: readonly {
    readonly files: readonly string[];
    readonly may: readonly string[];
  }[];
}
export const STAGES: readonly Stage[];
export function boundaryConfigs(): {
  files: string[];
  rules: Record<string, ['error', { patterns: unknown[] }]>;
}[];
