// The key and trust stores that Kafka's ssl.* settings name, for one side of a TLS connection: a
// broker listener, the broker's inter-broker client, the CLI's --command-config, the OAUTHBEARER
// JWKS endpoint's JAAS options. Each caller hands in how it reads a setting, so all of them read
// stores the same way (key-stores.ts) and fail the same way: a ConfigError naming the setting.
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ConfigError } from '../config/config.js';
import { configuredStoreType, loadKeyStore, loadTrustStore } from './key-stores.js';

/** What node:tls takes of a side's stores: key and chain (or a PKCS12 blob) and the trusted CAs. */
export type StoreMaterial = Pick<SecureContextOptions, 'key' | 'cert' | 'pfx' | 'passphrase' | 'ca'>;

/** One ssl.* setting's value, null or undefined when unset. */
export type SslSetting = (key: string) => string | null | undefined;

function readStore(location: string, key: string): Buffer {
  try {
    return readFileSync(location);
  } catch (err) {
    throw new ConfigError(`Cannot read ${key} ${location}: ${(err as Error).message}`);
  }
}

/**
 * The key, certificate and trusted CAs of ssl.keystore.* (or inline ssl.keystore.certificate.chain
 * and ssl.keystore.key) and ssl.truststore.* (or inline ssl.truststore.certificates), of any of
 * Kafka's store types. Checked by building a secure context from them, so a wrong password, a key
 * that does not match its certificate or a damaged store is a ConfigError here, before any
 * connection: `whose` says whose stores they are in its message ("listener SSL").
 */
export function storeMaterial(setting: SslSetting, whose: string): StoreMaterial {
  const get = (key: string) => setting(key) ?? null;
  let out: StoreMaterial = {};
  const location = get('ssl.keystore.location');
  const inlineChain = get('ssl.keystore.certificate.chain');
  const inlineKey = get('ssl.keystore.key');
  if (location) {
    out = loadKeyStore(
      {
        key: 'ssl.keystore.location',
        location,
        bytes: readStore(location, 'ssl.keystore.location'),
        type: configuredStoreType(get('ssl.keystore.type'), 'ssl.keystore.type'),
        password: get('ssl.keystore.password'),
      },
      get('ssl.key.password'),
    );
  } else if (inlineChain && inlineKey) {
    out.key = inlineKey;
    out.cert = inlineChain;
    out.passphrase = get('ssl.key.password') ?? undefined;
  }
  const trustLocation = get('ssl.truststore.location');
  const inlineTrust = get('ssl.truststore.certificates');
  if (trustLocation) {
    out.ca = loadTrustStore({
      key: 'ssl.truststore.location',
      location: trustLocation,
      bytes: readStore(trustLocation, 'ssl.truststore.location'),
      type: configuredStoreType(get('ssl.truststore.type'), 'ssl.truststore.type'),
      password: get('ssl.truststore.password'),
    });
  } else if (inlineTrust) {
    out.ca = inlineTrust;
  }
  try {
    createSecureContext(out);
  } catch (err) {
    const message = (err as Error).message;
    // node says "mac verify failure" for a PKCS12 password and "bad decrypt" for a PEM key's.
    const hint = /mac verify failure/i.test(message)
      ? ' (wrong ssl.keystore.password?)'
      : /bad decrypt|bad password|interrupted or cancelled/i.test(message)
        ? ' (wrong ssl.key.password?)'
        : '';
    throw new ConfigError(`The TLS key or trust store of ${whose} cannot be used: ${message}${hint}`);
  }
  return out;
}
