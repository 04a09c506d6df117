// Feature flags (KIP-584): the features this broker supports, and their finalized levels as kept
// in the metadata store (UpdateFeatures, kafka-features.sh). Before the first UpdateFeatures a
// cluster runs at the defaults: transaction.version 2, so Kafka 4.x clients use transactions V2.
import type { MetadataStore, StoredFeatures } from '../cluster/metadata-port.js';

export const TRANSACTION_VERSION_FEATURE = 'transaction.version';

/** The supported range of each feature (what ApiVersions' supportedFeatures reports). */
export const SUPPORTED_FEATURES: ReadonlyMap<string, { min: number; max: number }> = new Map([[TRANSACTION_VERSION_FEATURE, { min: 0, max: 2 }]]);

/** The levels a cluster runs at until an UpdateFeatures changes them. */
const DEFAULT_FEATURES: StoredFeatures = { epoch: 1, levels: { [TRANSACTION_VERSION_FEATURE]: 2 } };

/** The finalized features: the stored ones, else the defaults. */
export function finalizedFeatures(metadata: MetadataStore): StoredFeatures {
  return metadata.finalizedFeatures() ?? structuredClone(DEFAULT_FEATURES);
}

/** The finalized level of a feature, 0 when it is not finalized. */
export function finalizedLevel(metadata: MetadataStore, feature: string): number {
  return finalizedFeatures(metadata).levels[feature] ?? 0;
}
