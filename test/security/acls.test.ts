// ACLs with StandardAuthorizer semantics, set and enforced through real clients (kafkajs over
// SASL_PLAINTEXT with PLAIN users): every refusal answers Kafka's error code, Metadata hides
// topics, DENY beats ALLOW, PREFIXED patterns and implied operations work, and the ACLs survive
// a restart.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { suiteBroker } from '../helpers/broker.js';
import { connectAs, saslPlainAclConfig } from '../helpers/sasl-plain-acls.js';
import { ApiKey, type MetadataResponse, type DescribeAclsResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs;

describe('ACLs (StandardAuthorizer)', () => {
  const broker = suiteBroker({
    config: saslPlainAclConfig(['alice', 'bob']),
  });
  const kafka = (user: string) =>
    new Kafka({
      clientId: `acl-${user}`,
      brokers: [broker.bootstrap],
      sasl: { mechanism: 'plain', username: user, password: `${user}-pw` },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
  const conn = (user: string) => connectAs(broker.port, user);
  /** kafkajs nests the broker's error (originalError, errors[], cause): the Kafka error types found. */
  const types = (err: unknown, depth = 0): string[] => {
    if (!err || typeof err !== 'object' || depth > 4) return [];
    const e = err as { type?: unknown; errors?: unknown; originalError?: unknown; cause?: unknown };
    return [
      ...(typeof e.type === 'string' ? [e.type] : []),
      ...(Array.isArray(e.errors) ? e.errors.flatMap((x) => types(x, depth + 1)) : []),
      ...types(e.originalError, depth + 1),
      ...types(e.cause, depth + 1),
    ];
  };
  const errType = (type: string) => (err: unknown) => {
    assert.ok(types(err).includes(type), `expected ${type}, got ${String(err)} (${types(err).join(', ')})`);
    return true;
  };
  const allow = (
    resourceType: number,
    resourceName: string,
    principal: string,
    operation: number,
    patternType = ResourcePatternTypes.LITERAL,
    permissionType = AclPermissionTypes.ALLOW,
  ) => ({
    resourceType,
    resourceName,
    resourcePatternType: patternType,
    principal,
    host: '*',
    operation,
    permissionType,
  });

  test('the super user sets up topics and ACLs; alice is refused what she lacks, with Kafka codes', async () => {
    const admin = kafka('admin').admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'orders' }, { topic: 'orders-eu' }, { topic: 'secret' }], waitForLeaders: true });
      // alice: nothing yet.
      const aliceAdmin = kafka('alice').admin();
      await aliceAdmin.connect();
      try {
        await assert.rejects(aliceAdmin.createTopics({ topics: [{ topic: 'alice-new' }] }), errType('TOPIC_AUTHORIZATION_FAILED'));
        const md = await aliceAdmin.fetchTopicMetadata();
        assert.deepEqual(md.topics, [], 'Metadata hides every topic alice may not describe');
      } finally {
        await aliceAdmin.disconnect();
      }
      const producer = kafka('alice').producer();
      await producer.connect();
      try {
        await assert.rejects(producer.send({ topic: 'orders', messages: [{ value: 'x' }] }), errType('TOPIC_AUTHORIZATION_FAILED'));
      } finally {
        await producer.disconnect();
      }

      // WRITE on the prefix "orders" (which implies DESCRIBE), READ on group "billing".
      await admin.createAcls({
        acl: [
          allow(AclResourceTypes.TOPIC, 'orders', 'User:alice', AclOperationTypes.WRITE, ResourcePatternTypes.PREFIXED),
          allow(AclResourceTypes.TOPIC, 'orders', 'User:alice', AclOperationTypes.READ, ResourcePatternTypes.PREFIXED),
          allow(AclResourceTypes.GROUP, 'billing', 'User:alice', AclOperationTypes.READ),
          // ...but never orders-eu.
          allow(AclResourceTypes.TOPIC, 'orders-eu', 'User:alice', AclOperationTypes.WRITE, ResourcePatternTypes.LITERAL, AclPermissionTypes.DENY),
        ],
      });
      const listed = await admin.describeAcls({
        resourceType: AclResourceTypes.TOPIC,
        resourcePatternType: ResourcePatternTypes.ANY,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      });
      assert.deepEqual(listed.resources.map((r) => `${r.resourceName}/${r.resourcePatternType}/${r.acls.length}`).sort(), [
        `orders-eu/${ResourcePatternTypes.LITERAL}/1`,
        `orders/${ResourcePatternTypes.PREFIXED}/2`,
      ]);
    } finally {
      await admin.disconnect();
    }

    const aliceAdmin = kafka('alice').admin();
    await aliceAdmin.connect();
    try {
      const md = await aliceAdmin.fetchTopicMetadata();
      assert.deepEqual(md.topics.map((t) => t.name).sort(), ['orders', 'orders-eu'], 'READ/WRITE imply DESCRIBE; secret stays hidden');
    } finally {
      await aliceAdmin.disconnect();
    }
    const producer = kafka('alice').producer();
    await producer.connect();
    try {
      await producer.send({ topic: 'orders', messages: [{ value: 'paid' }] });
      await assert.rejects(producer.send({ topic: 'orders-eu', messages: [{ value: 'x' }] }), errType('TOPIC_AUTHORIZATION_FAILED'), 'DENY beats the prefixed ALLOW');
    } finally {
      await producer.disconnect();
    }
  });

  test('group, transactional id and cluster refusals', async () => {
    // A group alice has no READ on: FindCoordinator and JoinGroup answer GROUP_AUTHORIZATION_FAILED.
    const c = await conn('alice');
    try {
      const found = await c.request<{ coordinators: { errorCode: number }[] }>(ApiKey.FindCoordinator, { key: '', keyType: 0, coordinatorKeys: ['not-billing'] });
      assert.equal(found.coordinators[0]!.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
      const joined = await c.request<{ errorCode: number }>(ApiKey.JoinGroup, {
        groupId: 'not-billing',
        sessionTimeoutMs: 10000,
        rebalanceTimeoutMs: 10000,
        memberId: '',
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        reason: null,
      });
      assert.equal(joined.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
      // SyncGroup v5+ must name its protocol type and name: Kafka refuses one that does not
      // before it checks the ACL; one that does is refused by the ACL.
      const sync = (protocolType: string | null, protocolName: string | null) =>
        c.request<{ errorCode: number }>(
          ApiKey.SyncGroup,
          { groupId: 'not-billing', generationId: 1, memberId: 'm', groupInstanceId: null, protocolType, protocolName, assignments: [] },
          { version: 5 },
        );
      assert.equal((await sync(null, 'range')).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      assert.equal((await sync('consumer', null)).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      assert.equal((await sync('consumer', 'range')).errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
    } finally {
      c.close();
    }
    // A transactional id alice has no WRITE on (kafkajs reports its FindCoordinator refusal as "coordinator not found").
    const t = await conn('alice');
    try {
      const found = await t.request<{ coordinators: { errorCode: number }[] }>(ApiKey.FindCoordinator, { key: '', keyType: 1, coordinatorKeys: ['alice-tx'] });
      assert.equal(found.coordinators[0]!.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      const init = await t.request<{ errorCode: number }>(ApiKey.InitProducerId, {
        transactionalId: 'alice-tx',
        transactionTimeoutMs: 60000,
        producerId: -1,
        producerEpoch: -1,
      });
      assert.equal(init.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    } finally {
      t.close();
    }
    // bob has no ACL at all: an idempotent producer needs IDEMPOTENT_WRITE or WRITE on some topic.
    const bob = await conn('bob');
    try {
      const res = await bob.request<{ errorCode: number }>(ApiKey.InitProducerId, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
      assert.equal(res.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      const acls = await bob.request<DescribeAclsResponse>(ApiKey.DescribeAcls, {
        resourceTypeFilter: 1,
        resourceNameFilter: null,
        patternTypeFilter: 1,
        principalFilter: null,
        hostFilter: null,
        operation: 1,
        permissionType: 1,
      });
      assert.equal(acls.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      // Topics named explicitly answer TOPIC_AUTHORIZATION_FAILED whether they exist or not.
      const md = await bob.request<MetadataResponse>(
        ApiKey.Metadata,
        {
          topics: [
            { name: 'secret', topicId: '00000000-0000-0000-0000-000000000000' },
            { name: 'no-such-topic', topicId: '00000000-0000-0000-0000-000000000000' },
          ],
          allowAutoTopicCreation: true,
          includeClusterAuthorizedOperations: true,
          includeTopicAuthorizedOperations: false,
        },
        { version: 10 },
      ); // cluster authorized operations exist in v8-v10
      assert.deepEqual(
        md.topics.map((t) => t.errorCode),
        [ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.TOPIC_AUTHORIZATION_FAILED],
      );
      assert.equal(md.clusterAuthorizedOperations, 0, 'bob may do nothing on the cluster');
    } finally {
      bob.close();
    }
    // alice, with WRITE on orders*, may be an idempotent producer (KIP-679).
    const alice = await conn('alice');
    try {
      const res = await alice.request<{ errorCode: number }>(ApiKey.InitProducerId, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
      assert.equal(res.errorCode, ErrorCode.NONE);
      const md = await alice.request<MetadataResponse>(ApiKey.Metadata, {
        topics: [{ name: 'orders', topicId: '00000000-0000-0000-0000-000000000000' }],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: true,
      });
      // READ(3), WRITE(4), DESCRIBE(8) implied.
      assert.equal(md.topics[0]!.topicAuthorizedOperations, (1 << 3) | (1 << 4) | (1 << 8));
    } finally {
      alice.close();
    }
  });

  test('the consumer in its allowed group reads; DeleteAcls removes by filter; ACLs survive a restart', async () => {
    const consumer = kafka('alice').consumer({ groupId: 'billing' });
    await consumer.connect();
    const got: string[] = [];
    try {
      await consumer.subscribe({ topic: 'orders', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
      const deadline = Date.now() + 20_000;
      while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(got, ['paid']);

    await broker.restart();
    const admin = kafka('admin').admin();
    await admin.connect();
    try {
      const before = await admin.describeAcls({
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      });
      assert.equal(before.resources.flatMap((r) => r.acls).length, 4, 'all four ACLs are back after the restart');
      const deleted = await admin.deleteAcls({
        filters: [
          {
            resourceType: AclResourceTypes.TOPIC,
            resourceName: 'orders-eu',
            resourcePatternType: ResourcePatternTypes.MATCH,
            operation: AclOperationTypes.ANY,
            permissionType: AclPermissionTypes.ANY,
          },
        ],
      });
      // MATCH on orders-eu finds the literal DENY and both prefixed "orders" ALLOWs.
      assert.equal(deleted.filterResponses[0]!.matchingAcls.length, 3);
      const after = await admin.describeAcls({
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      });
      assert.deepEqual(
        after.resources.map((r) => r.resourceName),
        ['billing'],
      );
    } finally {
      await admin.disconnect();
    }
  });
});
