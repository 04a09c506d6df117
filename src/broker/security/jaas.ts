// The broker reads JAAS values (sasl.jaas.config) with the client library's parser; a bad value
// is a configuration error.
import { ConfigError } from '../../config/config.js';
import { parseJaasEntry, type JaasEntry } from '../../client/jaas.js';

export type { JaasEntry };

export function parseJaas(text: string, where: string): JaasEntry {
  try {
    return parseJaasEntry(text, where);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}
