export * from './batch.ts';
export * from './destination.ts';
export * from './metrics.ts';
export * from './overflow.ts';
export * from './record.ts';
export * from './types.ts';
