// Public surface of the storage layer.
export * from '../protocol/records/compression.js';
export * from './leader-epoch-cache.js';
export * from './log-config.js';
export * from './log-manager.js';
export * from './partition-log.js';
export * from './producer-state.js';
export * from '../protocol/records/record-batch.js';
export * from '../protocol/records/record-batch-builder.js';
export * from '../protocol/records/records.js';
