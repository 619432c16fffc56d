// Public library entry point: the model types. Stages add their entry points as they land.
export * from './model/index.ts';
