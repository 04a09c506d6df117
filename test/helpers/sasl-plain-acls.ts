// A broker with one SASL_PLAINTEXT listener, PLAIN users and Kafka's StandardAuthorizer, for the
// tests of what a principal may do: `admin` is the super user (and the broker's own login), every
// user's password is `<user>-pw`. saslClusterConfig is the same for a cluster with an inter-broker
// listener.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Connection } from '../../src/client/connection.js';
import { scramSaltedPassword } from '../../src/client/sasl.js';
import { ApiKey, type AlterUserScramCredentialsResponse } from '../../src/protocol/generated/index.js';

/** The broker config (merge overrides in with a spread). */
export function saslPlainAclConfig(users: string[]): Record<string, string> {
  const all = ['admin', ...users.filter((u) => u !== 'admin')].map((u) => `user_${u}="${u}-pw"`).join(' ');
  return {
    listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
    'sasl.enabled.mechanisms': 'PLAIN',
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-pw" ${all};`,
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users': 'User:admin',
    'security.inter.broker.protocol': 'SASL_PLAINTEXT',
    'sasl.mechanism.inter.broker.protocol': 'PLAIN',
  };
}

/**
 * The config of a SASL cluster with two listeners: the brokers log in to each other as `broker` on
 * INTERNAL (`internal`: SASL_PLAINTEXT, or SASL_SSL with the keystore merged in), clients use the
 * SASL_PLAINTEXT CLIENT listener, which logs in as `admin`; PLAIN users broker and admin (the super
 * users) and alice, StandardAuthorizer. The cluster tests with ACLs share it; merge the rest in.
 */
export function saslClusterConfig(internal: 'SASL_PLAINTEXT' | 'SASL_SSL'): Record<string, string> {
  const jaas = (self: string) =>
    `org.apache.kafka.common.security.plain.PlainLoginModule required username="${self}" password="${self}-pw" user_broker="broker-pw" user_admin="admin-pw" user_alice="alice-pw";`;
  return {
    listeners: 'CLIENT://127.0.0.1:0,INTERNAL://127.0.0.1:0',
    'listener.security.protocol.map': `CLIENT:SASL_PLAINTEXT,INTERNAL:${internal}`,
    'inter.broker.listener.name': 'INTERNAL',
    'sasl.enabled.mechanisms': 'PLAIN',
    'sasl.mechanism.inter.broker.protocol': 'PLAIN',
    'listener.name.internal.plain.sasl.jaas.config': jaas('broker'),
    'listener.name.client.plain.sasl.jaas.config': jaas('admin'),
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users': 'User:broker;User:admin',
  };
}

/** A client connection to the broker's listener as `user`. */
export function connectAs(port: number, user: string): Promise<Connection> {
  return Connection.connect({
    host: '127.0.0.1',
    port,
    security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: user, password: `${user}-pw` } },
  });
}

/**
 * Gives `user` SCRAM-SHA-256 and SCRAM-SHA-512 credentials for `password` (4096 iterations), set
 * through AlterUserScramCredentials by admin on the SASL_PLAINTEXT listener at `port`, and asserts
 * that the broker took them: the client tests that log in with SCRAM start with it.
 */
export async function addScramUser(port: number, user: string, password: string): Promise<void> {
  const c = await connectAs(port, 'admin');
  try {
    const upsertions = (['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const).map((m, i) => {
      const salt = randomBytes(16);
      return { name: user, mechanism: i + 1, iterations: 4096, salt, saltedPassword: scramSaltedPassword(m, password, salt, 4096) };
    });
    const res = await c.request<AlterUserScramCredentialsResponse>(ApiKey.AlterUserScramCredentials, { deletions: [], upsertions });
    assert.deepEqual(
      res.results.map((r) => r.errorCode),
      [0],
    );
  } finally {
    c.close();
  }
}
