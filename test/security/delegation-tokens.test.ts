// Delegation tokens end to end with our client: created, described, renewed and expired with
// Kafka's checks and error codes, used for SCRAM authentication (tokenauth=true) as their owner,
// refused once expired, and purged by the expiry check. The Java client's side is in
// test/compat/java/security-clients.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker, withBroker } from '../helpers/broker.js';
import { waitUntil } from '../helpers/wait.js';
import { Connection } from '../../src/client/connection.js';
import type { ScramMechanism } from '../../src/client/sasl.js';
import {
  ApiKey,
  type CreateAclsResponse,
  type CreateDelegationTokenResponse,
  type DescribeDelegationTokenResponse,
  type ExpireDelegationTokenResponse,
  type MetadataResponse,
  type RenewDelegationTokenResponse,
} from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const users = 'user_admin="admin-pw" user_alice="alice-pw" user_bob="bob-pw" user_carol="carol-pw"';
const jaas = `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-pw" ${users};`;

describe('delegation tokens', () => {
  const broker = suiteBroker({
    config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,ADMIN://127.0.0.1:0,SCRAM://127.0.0.1:0',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,ADMIN:SASL_PLAINTEXT,SCRAM:SASL_PLAINTEXT',
      'listener.name.admin.sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.admin.plain.sasl.jaas.config': jaas,
      'listener.name.scram.sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
      'inter.broker.listener.name': 'PLAINTEXT',
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:admin;User:ANONYMOUS',
      'delegation.token.secret.key': 'a-secret-shared-by-the-brokers',
      'delegation.token.expiry.check.interval.ms': 200,
      'auto.create.topics.enable': false,
    },
  });
  const conns: Connection[] = [];
  after(() => conns.forEach((c) => c.close()));
  const as = async (user: string) => {
    const c = await Connection.connect({
      host: '127.0.0.1',
      port: broker.broker.listenerPort('ADMIN'),
      security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: user, password: `${user}-pw` } },
    });
    conns.push(c);
    return c;
  };
  const withToken = async (tokenId: string, hmac: Buffer, mechanism: ScramMechanism = 'SCRAM-SHA-256') => {
    const c = await Connection.connect({
      host: '127.0.0.1',
      port: broker.broker.listenerPort('SCRAM'),
      security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism, username: tokenId, password: hmac.toString('base64'), tokenAuth: true } },
    });
    conns.push(c);
    return c;
  };
  const create = (c: Connection, body: { owner?: string; renewers?: string[]; maxLifetimeMs?: number } = {}) =>
    c.request<CreateDelegationTokenResponse>(ApiKey.CreateDelegationToken, {
      ownerPrincipalType: body.owner ? 'User' : null,
      ownerPrincipalName: body.owner ?? null,
      renewers: (body.renewers ?? []).map((r) => ({ principalType: 'User', principalName: r })),
      maxLifetimeMs: body.maxLifetimeMs ?? -1,
    });
  const renew = (c: Connection, hmac: Buffer, renewPeriodMs = -1) => c.request<RenewDelegationTokenResponse>(ApiKey.RenewDelegationToken, { hmac, renewPeriodMs });
  const expire = (c: Connection, hmac: Buffer, expiryTimePeriodMs: number) =>
    c.request<ExpireDelegationTokenResponse>(ApiKey.ExpireDelegationToken, { hmac, expiryTimePeriodMs });
  const describeTokens = (c: Connection, owners: string[] | null = null) =>
    c.request<DescribeDelegationTokenResponse>(ApiKey.DescribeDelegationToken, {
      owners: owners?.map((o) => ({ principalType: 'User', principalName: o })) ?? null,
    });

  let admin: Connection;
  before(async () => {
    await broker.ready;
    admin = await as('admin');
    // alice may describe topic t-alice: what her token's connections see in Metadata shows whose they are.
    const acl = (resourceType: number, resourceName: string, principal: string, operation: number) => ({
      resourceType,
      resourceName,
      resourcePatternType: 3,
      principal,
      host: '*',
      operation,
      permissionType: 3,
    });
    const res = await admin.request<CreateAclsResponse>(ApiKey.CreateAcls, {
      creations: [acl(2, 't-alice', 'User:alice', 8), acl(7, 'User:alice', 'User:bob', 13)],
    });
    assert.deepEqual(
      res.results.map((r) => r.errorCode),
      [0, 0],
    );
    await admin.request(ApiKey.CreateTopics, {
      topics: ['t-alice', 't-other'].map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })),
      timeoutMs: 10_000,
      validateOnly: false,
    });
  });

  test('a token authenticates SCRAM-SHA-256 and -512 as its owner, and cannot manage tokens', async () => {
    const alice = await as('alice');
    const t = await create(alice, { maxLifetimeMs: 3_600_000 });
    assert.equal(t.errorCode, ErrorCode.NONE);
    assert.equal(`${t.principalType}:${t.principalName}`, 'User:alice');
    assert.equal(`${t.tokenRequesterPrincipalType}:${t.tokenRequesterPrincipalName}`, 'User:alice');
    assert.equal(t.hmac.length, 64, 'HmacSHA512');
    assert.ok(t.expiryTimestampMs <= t.maxTimestampMs && t.maxTimestampMs - t.issueTimestampMs === 3_600_000);
    for (const m of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
      const c = await withToken(t.tokenId, t.hmac, m);
      const md = await c.request<MetadataResponse>(ApiKey.Metadata, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      assert.deepEqual(
        md.topics.map((x) => x.name),
        ['t-alice'],
        `${m}: the token's principal is User:alice`,
      );
      assert.equal((await create(c)).errorCode, ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED, 'tokens cannot create tokens');
      assert.equal((await describeTokens(c)).errorCode, ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED);
      assert.equal((await renew(c, t.hmac)).errorCode, ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED);
    }
    // A wrong HMAC, or an unknown token id, fails like a wrong password.
    await assert.rejects(withToken(t.tokenId, Buffer.alloc(64, 1)), /Authentication failed/);
    await assert.rejects(withToken('00000000-0000-0000-0000-000000000000', t.hmac), /Authentication failed/);
    // Without tokenauth the token id is no user.
    await assert.rejects(
      Connection.connect({
        host: '127.0.0.1',
        port: broker.broker.listenerPort('SCRAM'),
        security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-256', username: t.tokenId, password: t.hmac.toString('base64') } },
      }),
    );
  });

  test('not on an unauthenticated (PLAINTEXT) connection', async () => {
    const c = await Connection.connect({ host: '127.0.0.1', port: broker.broker.listenerPort('PLAINTEXT') });
    conns.push(c);
    assert.equal((await create(c)).errorCode, ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED);
    assert.equal((await describeTokens(c)).errorCode, ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED);
    assert.equal((await expire(c, Buffer.alloc(64), -1)).errorCode, ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED);
  });

  test('KIP-373 owners, renewers, describe visibility and ownership checks', async () => {
    const [alice, bob, carol] = [await as('alice'), await as('bob'), await as('carol')];
    // carol may not create tokens for alice; bob may (CREATE_TOKENS on USER User:alice).
    const refused = await create(carol, { owner: 'alice' });
    assert.equal(refused.errorCode, ErrorCode.DELEGATION_TOKEN_AUTHORIZATION_FAILED);
    const t = await create(bob, { owner: 'alice', renewers: ['carol'] });
    assert.equal(t.errorCode, ErrorCode.NONE);
    assert.equal(`${t.principalType}:${t.principalName}|${t.tokenRequesterPrincipalType}:${t.tokenRequesterPrincipalName}`, 'User:alice|User:bob');
    const c = await withToken(t.tokenId, t.hmac);
    const md = await c.request<MetadataResponse>(ApiKey.Metadata, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.deepEqual(
      md.topics.map((x) => x.name),
      ['t-alice'],
      'the owner is the principal, not the requester',
    );
    const badRenewer = await bob.request<CreateDelegationTokenResponse>(ApiKey.CreateDelegationToken, {
      ownerPrincipalType: null,
      ownerPrincipalName: null,
      renewers: [{ principalType: 'Group', principalName: 'x' }],
      maxLifetimeMs: -1,
    });
    assert.equal(badRenewer.errorCode, ErrorCode.INVALID_PRINCIPAL_TYPE);

    // Owner (alice), requester (bob) and renewer (carol) see the token; admin (super user) sees all.
    for (const who of [alice, bob, carol, admin]) {
      const d = await describeTokens(who);
      assert.equal(d.errorCode, ErrorCode.NONE);
      const mine = d.tokens.find((x) => x.tokenId === t.tokenId);
      assert.ok(mine, 'visible');
      assert.deepEqual(mine.hmac, t.hmac);
      assert.deepEqual(
        mine.renewers.map((r) => `${r.principalType}:${r.principalName}`),
        ['User:carol'],
      );
    }
    const filtered = await describeTokens(admin, ['carol']);
    assert.ok(
      filtered.tokens.some((x) => x.tokenId === t.tokenId),
      'an owners filter matches renewers too',
    );
    assert.deepEqual((await describeTokens(admin, [])).tokens, [], 'an empty owners list describes nothing');
    const dave = await describeTokens(admin, ['dave']);
    assert.deepEqual(dave.tokens, []);

    // Only the owner and the renewers renew or expire.
    assert.equal((await renew(bob, t.hmac)).errorCode, ErrorCode.DELEGATION_TOKEN_OWNER_MISMATCH, 'the requester is no renewer');
    const renewed = await renew(carol, t.hmac, 60_000);
    assert.equal(renewed.errorCode, ErrorCode.NONE);
    assert.ok(renewed.expiryTimestampMs > Date.now() + 50_000 && renewed.expiryTimestampMs <= Date.now() + 60_000);
    assert.equal((await renew(alice, Buffer.alloc(64, 7))).errorCode, ErrorCode.DELEGATION_TOKEN_NOT_FOUND);

    // Expired now (negative period): removed, no longer authenticates.
    const gone = await expire(alice, t.hmac, -1);
    assert.equal(gone.errorCode, ErrorCode.NONE);
    assert.equal((await renew(alice, t.hmac)).errorCode, ErrorCode.DELEGATION_TOKEN_NOT_FOUND);
    await assert.rejects(withToken(t.tokenId, t.hmac), /Authentication failed/);
    assert.ok(!(await describeTokens(admin)).tokens.some((x) => x.tokenId === t.tokenId));
  });

  test('a token past its expiry is refused, then purged; renewals stop at the max lifetime', async () => {
    const alice = await as('alice');
    const t = await create(alice, { maxLifetimeMs: 5_000 });
    assert.equal(t.errorCode, ErrorCode.NONE);
    assert.equal(t.maxTimestampMs - t.issueTimestampMs, 5_000);
    assert.equal(t.expiryTimestampMs, t.maxTimestampMs, 'expiry.time.ms (1 day) is capped by the max lifetime');
    const capped = await renew(alice, t.hmac, 3_600_000);
    assert.equal(capped.expiryTimestampMs, t.maxTimestampMs, 'a renewal never passes the max timestamp');
    const soon = await expire(alice, t.hmac, 300);
    assert.equal(soon.errorCode, ErrorCode.NONE);
    assert.ok(soon.expiryTimestampMs <= Date.now() + 300);
    await withToken(t.tokenId, t.hmac); // still valid
    await waitUntil(async () => !(await describeTokens(alice)).tokens.some((x) => x.tokenId === t.tokenId), {
      timeout: 10_000,
      interval: 100,
      message: 'the expired token is purged',
    });
    await assert.rejects(withToken(t.tokenId, t.hmac), /Authentication failed/);
    assert.equal((await renew(alice, t.hmac)).errorCode, ErrorCode.DELEGATION_TOKEN_NOT_FOUND);
    assert.ok(
      broker.logs.some((l) => l['msg'] === 'expired delegation token removed' && l['tokenId'] === t.tokenId),
      'the purge is logged',
    );
  });
});

test('without delegation.token.secret.key tokens are disabled', async (t) => {
  const broker = await withBroker(t, {
    config: {
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': jaas,
    },
  });
  const c = await Connection.connect({
    host: '127.0.0.1',
    port: broker.broker.listenerPort('SASL_PLAINTEXT'),
    security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: 'alice', password: 'alice-pw' } },
  });
  try {
    const created = await c.request<CreateDelegationTokenResponse>(ApiKey.CreateDelegationToken, {
      ownerPrincipalType: null,
      ownerPrincipalName: null,
      renewers: [],
      maxLifetimeMs: -1,
    });
    assert.equal(created.errorCode, ErrorCode.DELEGATION_TOKEN_AUTH_DISABLED);
    const described = await c.request<DescribeDelegationTokenResponse>(ApiKey.DescribeDelegationToken, { owners: null });
    assert.equal(described.errorCode, ErrorCode.DELEGATION_TOKEN_AUTH_DISABLED);
  } finally {
    c.close();
  }
});
