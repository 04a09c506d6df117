// Kafka's client security properties (what `--command-config client.properties` holds for
// Kafka's tools) turned into a connection's ClientSecurity: security.protocol; ssl.truststore.*
// and ssl.keystore.* of any of Kafka's store types (JKS, PKCS12, PEM; read by src/keystores/, as
// the broker reads its own, so src/client/ only ever gets node:tls options), or librdkafka's
// ssl.ca.location / ssl.certificate.location / ssl.key.location (PEM); sasl.mechanism and
// sasl.jaas.config (username, password).
import { readFileSync } from 'node:fs';
import { parseJaasEntry } from '../client/jaas.js';
import type { ClientSecurity, ClientSecurityProtocol, SaslCredentials, ScramMechanism } from '../client/sasl.js';
import { storeMaterial } from '../keystores/ssl-stores.js';

const PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];

function read(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${key}: cannot read ${path}: ${(err as Error).message}`);
  }
}

export function securityFromProperties(props: Record<string, string>): ClientSecurity {
  const protocol = (props['security.protocol'] ?? 'PLAINTEXT').toUpperCase();
  if (!PROTOCOLS.includes(protocol)) throw new Error(`security.protocol ${protocol} is not one of ${PROTOCOLS.join(', ')}`);
  const out: ClientSecurity = { protocol: protocol as ClientSecurityProtocol };
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    // librdkafka's names stand in for Kafka's when Kafka's are unset: its CA file is a PEM trust
    // store, its certificate and key files the inline PEM key store.
    const pemFile = (key: string) => (props[key] ? read(props[key], key).toString('utf8') : undefined);
    const pair = props['ssl.certificate.location'] && props['ssl.key.location'];
    const setting = (key: string): string | undefined => {
      if (Object.hasOwn(props, key)) return props[key];
      if (key === 'ssl.truststore.location') return props['ssl.ca.location'];
      if (key === 'ssl.keystore.certificate.chain' && pair) return pemFile('ssl.certificate.location');
      if (key === 'ssl.keystore.key' && pair) return pemFile('ssl.key.location');
      return undefined;
    };
    // Kafka verifies the broker's host name unless ssl.endpoint.identification.algorithm is empty.
    const verifyHost = props['ssl.endpoint.identification.algorithm'] !== '';
    out.tls = { ...storeMaterial(setting, 'this client'), ...(verifyHost ? {} : { checkServerIdentity: () => undefined }) };
  }
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    const mechanism = (props['sasl.mechanism'] ?? props['sasl.mechanisms'] ?? 'GSSAPI').toUpperCase();
    if (mechanism === 'OAUTHBEARER') {
      const token = props['sasl.oauthbearer.token'];
      if (!token) throw new Error('OAUTHBEARER from a properties file needs sasl.oauthbearer.token (Tributary only: the JWT itself)');
      out.sasl = { mechanism: 'OAUTHBEARER', token };
    } else if (['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'].includes(mechanism)) {
      let username = props['sasl.username'];
      let password = props['sasl.password'];
      const jaas = props['sasl.jaas.config'];
      let tokenAuth = false;
      if (jaas) {
        const options = parseJaasEntry(jaas, 'sasl.jaas.config').options;
        username = options.get('username') ?? username;
        password = options.get('password') ?? password;
        // ScramLoginModule's tokenauth="true": username and password are a delegation token's id and HMAC.
        tokenAuth = (options.get('tokenauth') ?? '').toLowerCase() === 'true';
      }
      if (username === undefined || password === undefined) throw new Error(`${mechanism} needs username and password in sasl.jaas.config`);
      out.sasl =
        mechanism === 'PLAIN'
          ? ({ mechanism: 'PLAIN', username, password } satisfies SaslCredentials)
          : ({ mechanism: mechanism as ScramMechanism, username, password, ...(tokenAuth ? { tokenAuth } : {}) } satisfies SaslCredentials);
    } else {
      throw new Error(`sasl.mechanism ${mechanism} is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)`);
    }
  }
  return out;
}
