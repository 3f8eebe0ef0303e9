export * from './domain.js';
export * from './machine.js';
export * from './metrics.js';
export * from './sparkplug/datatype.js';
export * from './sparkplug/payload.js';
export * from './sparkplug/sequence.js';
export * from './sparkplug/state.js';
export * from './sparkplug/topic.js';
