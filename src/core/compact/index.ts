export * from './json-span.ts';
export * from './layout.ts';
export * from './manifest.ts';
export * from './map-record.ts';
export * from './order.ts';
export * from './plan.ts';
export * from './redact.ts';
export * from './time.ts';
