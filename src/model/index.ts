export * from './audit.ts';
export * from './diagnostic.ts';
export * from './host.ts';
export * from './ruleset.ts';
export * from './snapshot.ts';
export * from './trace.ts';
