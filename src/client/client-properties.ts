// Kafka's client security properties (what `--command-config client.properties` holds for
// Kafka's tools) turned into a connection's ClientSecurity: security.protocol, ssl.truststore.*
// and ssl.keystore.* (PEM; or librdkafka's ssl.ca.location / ssl.certificate.location /
// ssl.key.location), sasl.mechanism and sasl.jaas.config (username, password).
import { readFileSync } from 'node:fs';
import { parseJaasEntry } from './jaas.js';
import type { ClientSecurity, ClientSecurityProtocol, SaslCredentials, ScramMechanism } from './sasl.js';

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
    const tls: NonNullable<ClientSecurity['tls']> = {};
    const ca = props['ssl.truststore.location'] ?? props['ssl.ca.location'];
    if (ca) {
      if ((props['ssl.truststore.type'] ?? 'PEM').toUpperCase() !== 'PEM') throw new Error('ssl.truststore.type: only PEM trust stores are supported');
      tls.ca = read(ca, 'ssl.truststore.location');
    } else if (props['ssl.truststore.certificates']) {
      tls.ca = props['ssl.truststore.certificates'];
    }
    const keystore = props['ssl.keystore.location'];
    if (keystore) {
      const type = (props['ssl.keystore.type'] ?? (/\.(p12|pfx)$/i.test(keystore) ? 'PKCS12' : 'PEM')).toUpperCase();
      if (type === 'PKCS12') {
        tls.pfx = read(keystore, 'ssl.keystore.location');
        tls.passphrase = props['ssl.keystore.password'];
      } else if (type === 'PEM') {
        tls.key = tls.cert = read(keystore, 'ssl.keystore.location');
        tls.passphrase = props['ssl.key.password'];
      } else {
        throw new Error(`ssl.keystore.type ${type} is not supported (PEM, PKCS12)`);
      }
    } else if (props['ssl.certificate.location'] && props['ssl.key.location']) {
      tls.cert = read(props['ssl.certificate.location'], 'ssl.certificate.location');
      tls.key = read(props['ssl.key.location'], 'ssl.key.location');
      tls.passphrase = props['ssl.key.password'];
    }
    if (props['ssl.endpoint.identification.algorithm'] === '') tls.checkServerIdentity = () => undefined;
    out.tls = tls;
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
