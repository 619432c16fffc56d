/**
 * Stable finding fingerprints: rule id + the object the finding is about + the snapshot file's
 * name. Never line numbers, so a re-collected snapshot with shifted lines keeps its fingerprints
 * (baselines and SARIF `partialFingerprints` rely on this).
 */
import { createHash } from 'node:crypto';
import type { FindingObject } from '../model/audit.ts';

const OBJECT_KEYS = [
  'container',
  'port',
  'protocol',
  'table',
  'chain',
  'rule',
  'address',
  'setting',
  'more',
] as const;

/** `container=web,port=8080,…` in a fixed key order. */
export function objectKey(object: FindingObject): string {
  return OBJECT_KEYS.filter((k) => object[k] !== undefined)
    .map((k) => `${k}=${String(object[k])}`)
    .join(',');
}

/** The file name without its directory: snapshots move between machines. */
export function fileKey(file: string): string {
  const parts = file.split(/[\\/]/);
  return parts[parts.length - 1] ?? file;
}

/** What a fingerprint is the hash of: two findings with the same identity share it. */
export function findingIdentity(ruleId: string, object: FindingObject, file: string): string {
  return `${ruleId}\u0000${objectKey(object)}\u0000${fileKey(file)}`;
}

export function fingerprint(ruleId: string, object: FindingObject, file: string): string {
  return createHash('sha256')
    .update(findingIdentity(ruleId, object, file))
    .digest('hex')
    .slice(0, 32);
}
