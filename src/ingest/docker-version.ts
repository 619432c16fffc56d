/** `docker version --format '{{json .}}'` → the engine (server) version. */
import type { Diagnostic } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type { FieldContext } from './fields.ts';
import { objectField, stringField } from './fields.ts';
import { parseJson } from './json.ts';

export function loadDockerVersion(
  text: string,
  file: string,
): { version: string | null; diagnostics: readonly Diagnostic[] } {
  const parsed = parseJson(text, file);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const ctx: FieldContext = { file, diagnostics };
  const top = parsed.value;
  if (top === null) return { version: null, diagnostics };
  if (top.kind !== 'object') {
    diagnostics.push(
      diagnostic('wrong-type', 'error', 'docker-version.json must be a JSON object', top.location),
    );
    return { version: null, diagnostics };
  }
  const server = objectField(ctx, top, 'Server', 'docker-version');
  if (server === null) {
    diagnostics.push(
      diagnostic(
        'missing-field',
        'warning',
        'docker-version.json has no Server part (the daemon was not reachable when it was collected); the engine version is unknown',
        top.location,
      ),
    );
    return { version: null, diagnostics };
  }
  return {
    version: stringField(ctx, server, 'Version', 'docker-version.Server', 'required'),
    diagnostics,
  };
}
