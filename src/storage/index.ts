// Public surface of the storage layer.
export * from './compression.js';
export * from './leader-epoch-cache.js';
export * from './log-config.js';
export * from './log-manager.js';
export * from './partition-log.js';
export * from './producer-state.js';
export * from './record-batch.js';
export * from './record-batch-builder.js';
export * from './records.js';
