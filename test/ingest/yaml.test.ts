/** YAML nested deeper than JSON may be: a located refusal, never a stack overflow. */
import { describe, expect, it } from 'vitest';
import { MAX_NESTING } from '../../src/ingest/json.ts';
import { readYaml, yamlTooDeep } from '../../src/ingest/yaml.ts';

const flow = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
/** `n` block mappings, each inside the one above. */
const block = (n: number): string =>
  Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' x\n';

describe('YAML nesting', () => {
  it(`reads ${MAX_NESTING} nested collections, and refuses one more where it starts`, () => {
    const ok = readYaml(flow(MAX_NESTING), 'a.yaml');
    expect(ok.diagnostics).toEqual([]);
    expect(ok.value?.kind).toBe('array');
    const deep = readYaml(flow(MAX_NESTING + 1), 'a.yaml');
    expect(deep.value).toBeNull();
    expect(deep.diagnostics).toEqual([
      {
        code: 'input-too-large',
        severity: 'error',
        message: `the document is nested deeper than ${MAX_NESTING} levels; dockwall does not read a document this deep`,
        location: { file: 'a.yaml', line: 1, column: MAX_NESTING + 1 },
      },
    ]);
  });

  it('counts block mappings by indentation too', () => {
    expect(yamlTooDeep(block(MAX_NESTING))).toBeNull();
    expect(yamlTooDeep(block(MAX_NESTING + 1))).toEqual({
      line: MAX_NESTING + 1,
      column: MAX_NESTING + 1,
    });
  });

  it('a bomb of 200,000 levels is refused quickly, without overflowing the stack', () => {
    const started = performance.now();
    const r = readYaml(`services:\n  web:\n    labels: ${flow(200_000)}\n`, 'compose.yaml');
    expect(r.diagnostics.map((d) => [d.code, d.location.line])).toEqual([['input-too-large', 3]]);
    expect(r.diagnostics[0]?.message).not.toMatch(/call stack/);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
