// Key → partition, compatible with the Java client's default partitioner for keyed records:
// toPositive(murmur2(keyBytes)) % numPartitions, where murmur2 is MurmurHash2 (32-bit, seed
// 0x9747b28c) as the Java client computes it and toPositive clears the sign bit. kafkajs's
// DefaultPartitioner and librdkafka's "murmur2_random" pick the same partition for the same key;
// librdkafka's own default ("consistent_random", CRC32-based) does not.

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** MurmurHash2 of the bytes, as a signed 32-bit integer (the Java client's value). */
export function murmur2(data: Buffer): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition the Java client's default partitioner picks for a non-null key. */
export function partitionForKey(key: Buffer, numPartitions: number): number {
  return (murmur2(key) & 0x7fffffff) % numPartitions;
}
