import { randomBytes } from 'node:crypto';

/**
 * A new cluster id as Kafka makes one (`kafka-storage random-uuid`): 16 random bytes in URL-safe
 * base64 without padding, never starting with '-' (Kafka draws again then, so that the id can be
 * passed to a command-line tool: `--cluster-id -x…` reads as an option).
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
