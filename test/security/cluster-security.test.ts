// A three-broker cluster whose brokers talk to each other over a SASL_SSL listener (PLAIN, their
// own credentials from the JAAS config) while clients use a SASL_PLAINTEXT one, with ACLs on:
// replication (follower fetches need CLUSTER_ACTION) and transaction markers go over the secured
// listener, Metadata gives clients the client listener's addresses, and ACLs, SCRAM
// credentials and delegation tokens made on one broker apply on all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type RunningCluster } from '../../src/index.js';
import { Connection } from '../../src/client/connection.js';
import {
  ApiKey,
  type MetadataResponse,
  type CreateTopicsResponse,
  type CreateAclsResponse,
  type ProduceResponse,
  type CreateDelegationTokenResponse,
  type ExpireDelegationTokenResponse,
} from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { makePki } from '../helpers/certs.js';
import { etcdMissing } from '../helpers/etcd.js';
import { saslClusterConfig } from '../helpers/sasl-plain-acls.js';
import { waitUntil } from '../helpers/wait.js';

const pki = makePki();
after(() => pki.cleanup());

describe('a cluster with a secured inter-broker listener', { skip: etcdMissing }, () => {
  let cluster: RunningCluster;
  before(async () => {
    cluster = await startCluster({
      brokers: 3,
      config: {
        ...saslClusterConfig('SASL_SSL'),
        'ssl.keystore.location': pki.serverPemFile,
        'ssl.truststore.location': pki.caFile,
        'listener.name.client.sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256',
        'delegation.token.secret.key': 'the-cluster-token-secret',
        'broker.session.timeout.ms': 3000,
        'replica.lag.time.max.ms': 4000,
      },
    });
  });
  after(async () => cluster?.stop());

  const client = (i: number, user: string) =>
    Connection.connect({
      host: '127.0.0.1',
      port: cluster.brokers[i]!.broker.listenerPort('CLIENT'),
      security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: user, password: `${user}-pw` } },
    });
  const metadata = (c: Connection, topic: string) =>
    c.request<MetadataResponse>(ApiKey.Metadata, {
      topics: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000' }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });

  test('replication runs over SASL_SSL: the ISR is full and acks=all produce succeeds', async () => {
    const admin = await client(0, 'admin');
    try {
      const md0 = await metadata(admin, 'none');
      assert.deepEqual(
        md0.brokers.map((b) => b.port).sort(),
        cluster.brokers.map((b) => b.broker.listenerPort('CLIENT')).sort(),
        'clients get the CLIENT listener of every broker',
      );
      const created = await admin.request<CreateTopicsResponse>(ApiKey.CreateTopics, {
        // min.insync.replicas=3: acks=all succeeds only once both followers have fetched over SASL_SSL.
        topics: [{ name: 'secured', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [{ name: 'min.insync.replicas', value: '3' }] }],
        timeoutMs: 10000,
        validateOnly: false,
      });
      assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
      const md = await waitUntil(
        async () => {
          const m = await metadata(admin, 'secured');
          const p = m.topics[0]?.partitions[0];
          return p && p.isrNodes.length === 3 ? m : null;
        },
        { timeout: 20_000, message: 'the ISR of secured-0 to hold all three replicas' },
      );
      const leader = md.topics[0]!.partitions[0]!.leaderId;
      const leaderIndex = cluster.brokers.findIndex((b) => b.broker.nodeId === leader);
      const onLeader = await client(leaderIndex, 'admin');
      try {
        const batch = buildRecordBatch([{ key: null, value: Buffer.from('replicated securely') }]);
        const res = await onLeader.request<ProduceResponse>(ApiKey.Produce, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 10000,
          topicData: [{ name: 'secured', topicId: '00000000-0000-0000-0000-000000000000', partitionData: [{ index: 0, records: batch }] }],
        });
        assert.equal(res.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
      } finally {
        onLeader.close();
      }
    } finally {
      admin.close();
    }
  });

  test('ACLs made on one broker apply on the others; a client cannot fetch as a follower', async () => {
    const admin = await client(0, 'admin');
    try {
      const res = await admin.request<CreateAclsResponse>(ApiKey.CreateAcls, {
        creations: [{ resourceType: 2, resourceName: 'secured', resourcePatternType: 3, principal: 'User:alice', host: '*', operation: 8, permissionType: 3 }],
      });
      assert.equal(res.results[0]!.errorCode, ErrorCode.NONE);
    } finally {
      admin.close();
    }
    const alice = await client(2, 'alice');
    try {
      await waitUntil(async () => (await metadata(alice, 'secured')).topics[0]!.errorCode === ErrorCode.NONE, { timeout: 10_000, message: 'the ACL to reach broker 3' });
      const fetch = await alice.request<{ responses: { partitions: { errorCode: number }[] }[] }>(
        ApiKey.Fetch,
        {
          replicaId: 3,
          replicaState: { replicaId: -1, replicaEpoch: -1 },
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic: 'secured',
              topicId: '00000000-0000-0000-0000-000000000000',
              partitions: [
                {
                  partition: 0,
                  currentLeaderEpoch: -1,
                  fetchOffset: 0,
                  lastFetchedEpoch: -1,
                  logStartOffset: -1,
                  partitionMaxBytes: 1 << 20,
                  replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
                  highWatermark: -1,
                },
              ],
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
          clusterId: null,
        },
        { version: 12 }, // a follower fetch names its replica id (v15+ in replicaState)
      );
      assert.equal(fetch.responses[0]!.partitions[0]!.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    } finally {
      alice.close();
    }
  });

  test('a delegation token made on one broker authenticates on another until expired on a third', async () => {
    const alice = await client(0, 'alice');
    let token: CreateDelegationTokenResponse;
    try {
      token = await alice.request<CreateDelegationTokenResponse>(ApiKey.CreateDelegationToken, {
        ownerPrincipalType: null,
        ownerPrincipalName: null,
        renewers: [],
        maxLifetimeMs: -1,
      });
      assert.equal(token.errorCode, ErrorCode.NONE);
    } finally {
      alice.close();
    }
    const withToken = () =>
      Connection.connect({
        host: '127.0.0.1',
        port: cluster.brokers[2]!.broker.listenerPort('CLIENT'),
        security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-256', username: token.tokenId, password: token.hmac.toString('base64'), tokenAuth: true } },
      });
    const c = await waitUntil(() => withToken(), { timeout: 10_000, message: 'the token to reach broker 3' });
    c.close();
    const owner = await client(1, 'alice');
    try {
      // Broker 2 may not have seen the token yet: retry until it has.
      await waitUntil(
        async () =>
          (await owner.request<ExpireDelegationTokenResponse>(ApiKey.ExpireDelegationToken, { hmac: token.hmac, expiryTimePeriodMs: -1 })).errorCode === ErrorCode.NONE,
        { timeout: 10_000, message: 'broker 2 to expire the token' },
      );
    } finally {
      owner.close();
    }
    await waitUntil(
      async () => {
        try {
          (await withToken()).close();
          return false;
        } catch {
          return true;
        }
      },
      { timeout: 10_000, message: 'broker 3 to refuse the expired token' },
    );
  });
});
