// Byte-exact expectations written by hand from the protocol description, so that an encoder and
// decoder that agree with each other but not with Kafka cannot pass.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as gen from '../../src/protocol/generated/index.js';
import { ProtocolError, Reader, Writer, ZERO_UUID } from '../../src/protocol/primitives.js';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestFrame,
  encodeResponseFrame,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../src/protocol/headers.js';

/** Hex with optional spaces/newlines, `'text'` UTF-8 segments and `# comments`, e.g. `00 03 'foo'`. */
function hex(spec: string): Buffer {
  spec = spec.replace(/#[^\n]*/g, '');
  const parts: Buffer[] = [];
  const re = /'([^']*)'|([0-9a-fA-F]{2})|\s+/gy;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(spec)) !== null) {
    if (m[1] !== undefined) parts.push(Buffer.from(m[1], 'utf8'));
    else if (m[2] !== undefined) parts.push(Buffer.from(m[2], 'hex'));
    last = re.lastIndex;
  }
  assert.equal(last, spec.length, `bad hex spec near ${spec.slice(last)}`);
  return Buffer.concat(parts);
}

function encoded<T>(fn: (w: Writer, v: number, m: T) => void, version: number, m: T): Buffer {
  const w = new Writer();
  fn(w, version, m);
  return Buffer.from(w.finish());
}

test('ApiVersionsRequest v3: compact strings and an empty tag section', () => {
  const m: gen.ApiVersionsRequest = { clientSoftwareName: 'tributary', clientSoftwareVersion: '0.1.0', clusterId: null, nodeId: -1 };
  const bytes = hex(`0a 'tributary' 06 '0.1.0' 00`);
  assert.deepStrictEqual(encoded(gen.encodeApiVersionsRequest, 3, m), bytes);
  assert.deepStrictEqual(gen.decodeApiVersionsRequest(new Reader(bytes), 3), m);
  // v0-2 have no body at all; absent fields decode as their defaults.
  assert.equal(encoded(gen.encodeApiVersionsRequest, 0, { clientSoftwareName: '', clientSoftwareVersion: '', clusterId: null, nodeId: -1 }).length, 0);
  assert.deepStrictEqual(gen.decodeApiVersionsRequest(new Reader(Buffer.alloc(0)), 2), {
    clientSoftwareName: '',
    clientSoftwareVersion: '',
    clusterId: null,
    nodeId: -1,
  });
});

test('ApiVersionsResponse v3: tagged fields sorted by tag, only when non-default', () => {
  const m: gen.ApiVersionsResponse = {
    errorCode: 0,
    apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: 7,
    finalizedFeatures: [],
    zkMigrationReady: true,
  };
  const bytes = hex(`
    0000                      # error code
    02 0012 0000 0004 00      # one api key, with its empty tag section
    00000000                  # throttle
    02                        # two tagged fields
    01 08 0000000000000007    # tag 1 (finalized features epoch), 8 bytes
    03 01 01                  # tag 3 (zk migration ready), 1 byte
  `);
  assert.deepStrictEqual(encoded(gen.encodeApiVersionsResponse, 3, m), bytes);
  assert.deepStrictEqual(gen.decodeApiVersionsResponse(new Reader(bytes), 3), m);
});

test('MetadataRequest v1: classic array of int16-length strings, and a null array', () => {
  const m: gen.MetadataRequest = {
    topics: [
      { topicId: ZERO_UUID, name: 'foo' },
      { topicId: ZERO_UUID, name: 'bar-1' },
    ],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  };
  const bytes = hex(`00000002 0003 'foo' 0005 'bar-1'`);
  assert.deepStrictEqual(encoded(gen.encodeMetadataRequest, 1, m), bytes);
  assert.deepStrictEqual(gen.decodeMetadataRequest(new Reader(bytes), 1), m);

  const all = { ...m, topics: null };
  assert.deepStrictEqual(encoded(gen.encodeMetadataRequest, 1, all), hex('ffffffff'));
  assert.deepStrictEqual(gen.decodeMetadataRequest(new Reader(hex('ffffffff')), 1), all);
  // v0 cannot express a null topic list.
  assert.throws(() => encoded(gen.encodeMetadataRequest, 0, all), ProtocolError);
  assert.throws(() => gen.decodeMetadataRequest(new Reader(hex('ffffffff')), 0), ProtocolError);
  // v4 adds allow_auto_topic_creation.
  assert.deepStrictEqual(encoded(gen.encodeMetadataRequest, 4, { ...m, allowAutoTopicCreation: false }), hex(`00000002 0003 'foo' 0005 'bar-1' 00`));
});

function producePartition(over: Partial<gen.ProduceResponsePartitionProduceResponse> = {}): gen.ProduceResponsePartitionProduceResponse {
  return {
    index: 0,
    errorCode: 0,
    baseOffset: 42,
    logAppendTimeMs: -1,
    logStartOffset: 0,
    recordErrors: [],
    errorMessage: null,
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
    ...over,
  };
}

test('ProduceResponse v9: flexible encoding', () => {
  const m: gen.ProduceResponse = {
    responses: [{ name: 't', topicId: ZERO_UUID, partitionResponses: [producePartition()] }],
    throttleTimeMs: 0,
    nodeEndpoints: [],
  };
  const bytes = hex(`
    02 02 't'                 # one topic, name "t"
    02                        # one partition
    00000000 0000             # index, error
    000000000000002a          # base offset 42
    ffffffffffffffff          # log append time -1
    0000000000000000          # log start offset 0
    01                        # record errors: empty compact array
    00                        # error message: null
    00                        # partition tags
    00                        # topic tags
    00000000                  # throttle
    00                        # top-level tags
  `);
  assert.deepStrictEqual(encoded(gen.encodeProduceResponse, 9, m), bytes);
  assert.deepStrictEqual(gen.decodeProduceResponse(new Reader(bytes), 9), m);
});

test('ProduceResponse v10: tagged struct and tagged array with sizes', () => {
  const m: gen.ProduceResponse = {
    responses: [{ name: 't', topicId: ZERO_UUID, partitionResponses: [producePartition({ errorCode: 6, currentLeader: { leaderId: 2, leaderEpoch: 5 } })] }],
    throttleTimeMs: 0,
    nodeEndpoints: [{ nodeId: 2, host: 'h', port: 9092, rack: null }],
  };
  const bytes = hex(`
    02 02 't' 02
    00000000 0006 000000000000002a ffffffffffffffff 0000000000000000 01 00
    01 00 09 00000002 00000005 00                 # partition tags: tag 0 (current leader), 9 bytes
    00                                            # topic tags
    00000000                                      # throttle
    01 00 0d 02 00000002 02 'h' 00002384 00 00    # tag 0 (node endpoints), 13 bytes
  `);
  assert.deepStrictEqual(encoded(gen.encodeProduceResponse, 10, m), bytes);
  assert.deepStrictEqual(gen.decodeProduceResponse(new Reader(bytes), 10), m);
  // The same data cannot be expressed at v9 (CurrentLeader and NodeEndpoints are not ignorable).
  assert.throws(() => encoded(gen.encodeProduceResponse, 9, m), ProtocolError);
});

test('unknown tagged fields are skipped; known ones are read from their own size', () => {
  // ProduceResponse v9 with an unknown tag 5 of 3 bytes at the top level.
  const bytes = hex(`01 00000007 01 05 03 aabbcc`);
  const d = gen.decodeProduceResponse(new Reader(bytes), 9);
  assert.deepStrictEqual(d, { responses: [], throttleTimeMs: 7, nodeEndpoints: [] });
  // A known tag whose size claims more than is left is an error.
  assert.throws(() => gen.decodeProduceResponse(new Reader(hex(`01 00000007 01 00 09 01`)), 10), ProtocolError);
  // Extra bytes inside a known tag's payload are skipped (forward compatibility).
  const padded = hex(`01 00000007 01 00 03 01 00 ff`);
  assert.deepStrictEqual(gen.decodeProduceResponse(new Reader(padded), 10), { responses: [], throttleTimeMs: 7, nodeEndpoints: [] });
});

test('ignorable: a non-ignorable field with a non-default value refuses to be dropped', () => {
  const partition: gen.ListOffsetsResponseListOffsetsPartitionResponse = {
    partitionIndex: 0,
    errorCode: 0,
    timestamp: -1,
    offset: 5,
    leaderEpoch: 3,
  };
  const m: gen.ListOffsetsResponse = { throttleTimeMs: 0, topics: [{ name: 't', partitions: [partition] }] };
  assert.throws(() => encoded(gen.encodeListOffsetsResponse, 3, m), /leaderEpoch/);
  encoded(gen.encodeListOffsetsResponse, 4, m);
  encoded(gen.encodeListOffsetsResponse, 3, { ...m, topics: [{ name: 't', partitions: [{ ...partition, leaderEpoch: -1 }] }] });
  // ThrottleTimeMs of MetadataResponse is ignorable (absent before v3): silently dropped.
  const meta: gen.MetadataResponse = {
    throttleTimeMs: 100,
    brokers: [],
    clusterId: null,
    controllerId: -1,
    topics: [],
    clusterAuthorizedOperations: -2147483648,
    errorCode: 0,
  };
  assert.deepStrictEqual(encoded(gen.encodeMetadataResponse, 1, meta), hex(`00000000 ffffffff 00000000`));
});

test('nullable struct: int8 marker -1 for null, 1 before a present struct', () => {
  const base: gen.DescribeTopicPartitionsRequest = { topics: [{ name: 't' }], responsePartitionLimit: 2000, cursor: null };
  const nullBytes = hex(`02 02 't' 00 000007d0 ff 00`);
  assert.deepStrictEqual(encoded(gen.encodeDescribeTopicPartitionsRequest, 0, base), nullBytes);
  assert.deepStrictEqual(gen.decodeDescribeTopicPartitionsRequest(new Reader(nullBytes), 0), base);
  const withCursor = { ...base, cursor: { topicName: 't', partitionIndex: 3 } };
  const cursorBytes = hex(`02 02 't' 00 000007d0 01 02 't' 00000003 00 00`);
  assert.deepStrictEqual(encoded(gen.encodeDescribeTopicPartitionsRequest, 0, withCursor), cursorBytes);
  assert.deepStrictEqual(gen.decodeDescribeTopicPartitionsRequest(new Reader(cursorBytes), 0), withCursor);
});

test('FetchRequest v4 and uuid topic ids in v13', () => {
  const req: gen.FetchRequest = {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1 },
    maxWaitMs: 500,
    minBytes: 1,
    maxBytes: 0x7fffffff,
    isolationLevel: 1,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: 'x',
        topicId: ZERO_UUID,
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: 100,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: 1048576,
            replicaDirectoryId: ZERO_UUID,
            highWatermark: 2 ** 63, // INT64_MAX as a double: "not supported"
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
  const v4 = hex(`
    ffffffff 000001f4 00000001 7fffffff 01
    00000001 0001 'x' 00000001 00000000 0000000000000064 00100000
  `);
  assert.deepStrictEqual(encoded(gen.encodeFetchRequest, 4, req), v4);
  assert.deepStrictEqual(gen.decodeFetchRequest(new Reader(v4), 4), req);

  const id = '0123abcd-4567-89ef-0011-223344556677';
  const v13req = { ...req, replicaId: -1, topics: [{ ...req.topics[0]!, topic: '', topicId: id }] };
  const v13 = hex(`
    ffffffff 000001f4 00000001 7fffffff 01 00000000 ffffffff
    02 0123abcd456789ef0011223344556677
    02 00000000 ffffffff 0000000000000064 ffffffff ffffffffffffffff 00100000 00   # partition + its tags
    00                                                                          # topic tags
    01 01 00                                                                    # no forgotten topics, rack "", tags
  `);
  assert.deepStrictEqual(encoded(gen.encodeFetchRequest, 13, v13req), v13);
  assert.deepStrictEqual(gen.decodeFetchRequest(new Reader(v13), 13), v13req);
});

test('RequestHeader v2 keeps a classic nullable string client id, then tags', () => {
  const bytes = hex(`0012 0003 00000007 0003 'cli' 00`);
  const h: gen.RequestHeader = { requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: 'cli' };
  assert.deepStrictEqual(encoded(gen.encodeRequestHeader, 2, h), bytes);
  const r = new Reader(Buffer.concat([bytes, hex('aa')]));
  assert.deepStrictEqual(decodeRequestHeader(r), { apiKey: 18, apiVersion: 3, correlationId: 7, clientId: 'cli', headerVersion: 2 });
  assert.equal(r.offset, bytes.length);

  // Metadata v1 is not flexible: header v1, null client id, no tag section.
  const v1 = hex(`0003 0001 00000001 ffff`);
  const r1 = new Reader(v1);
  assert.deepStrictEqual(decodeRequestHeader(r1), { apiKey: 3, apiVersion: 1, correlationId: 1, clientId: null, headerVersion: 1 });
  assert.equal(r1.remaining, 0);

  // Unknown API key: assumed header v1.
  const r2 = new Reader(hex(`03e7 0000 00000009 0001 'x' 55`));
  assert.deepStrictEqual(decodeRequestHeader(r2), { apiKey: 999, apiVersion: 0, correlationId: 9, clientId: 'x', headerVersion: 1 });
  assert.equal(r2.remaining, 1);

  // A newer-than-known ApiVersions request is still read with the flexible header.
  assert.equal(requestHeaderVersion(18, 99), 2);
  assert.equal(requestHeaderVersion(18, 2), 1);
  assert.equal(requestHeaderVersion(0, 9), 2);
  assert.equal(requestHeaderVersion(0, 8), 1);
});

test('response header versions; ApiVersions always v0', () => {
  assert.equal(responseHeaderVersion(18, 3), 0);
  assert.equal(responseHeaderVersion(18, 4), 0);
  assert.equal(responseHeaderVersion(3, 9), 1);
  assert.equal(responseHeaderVersion(3, 8), 0);
  const frame = encodeResponseFrame(3, 9, 0x01020304, {
    throttleTimeMs: 0,
    brokers: [],
    clusterId: null,
    controllerId: 1,
    topics: [],
    clusterAuthorizedOperations: -2147483648,
    errorCode: 0,
  });
  assert.deepStrictEqual(frame, hex(`00000015 01020304 00  00000000 01 00 00000001 01 80000000 00`));
  const r = new Reader(frame, 4);
  assert.equal(decodeResponseHeader(r, 3, 9), 0x01020304);

  const av = encodeResponseFrame(18, 3, 5, {
    errorCode: 35,
    apiKeys: [],
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  });
  assert.deepStrictEqual(av, hex(`0000000c 00000005 0023 01 00000000 00`));
});

test('request frame: size prefix, header, body', () => {
  const frame = encodeRequestFrame(18, 3, 1, 'c', { clientSoftwareName: 'a', clientSoftwareVersion: 'b' });
  assert.deepStrictEqual(frame, hex(`00000011 0012 0003 00000001 0001 'c' 00 02 'a' 02 'b' 00`));
});

test('consumer protocol data: subscription v3 and assignment v0 (non-flexible)', () => {
  const sub: gen.ConsumerProtocolSubscription = {
    topics: ['a', 'b'],
    userData: null,
    ownedPartitions: [{ topic: 'a', partitions: [0, 2] }],
    generationId: 4,
    rackId: 'r1',
  };
  const bytes = hex(`00000002 0001 'a' 0001 'b' ffffffff 00000001 0001 'a' 00000002 00000000 00000002 00000004 0002 'r1'`);
  assert.deepStrictEqual(encoded(gen.encodeConsumerProtocolSubscription, 3, sub), bytes);
  assert.deepStrictEqual(gen.decodeConsumerProtocolSubscription(new Reader(bytes), 3), sub);
  const v0 = hex(`00000001 0001 'a' 00000000`);
  assert.deepStrictEqual(gen.decodeConsumerProtocolSubscription(new Reader(v0), 0), {
    topics: ['a'],
    userData: Buffer.alloc(0),
    ownedPartitions: [],
    generationId: -1,
    rackId: null,
  });
});

test('index: api specs, keys, flexible versions', () => {
  assert.equal(gen.ApiKey.Produce, 0);
  assert.equal(gen.ApiKey.Fetch, 1);
  assert.equal(gen.ApiKey.ApiVersions, 18);
  assert.equal(gen.ApiKey.DescribeTopicPartitions, 75);
  const keys = gen.apiSpecs.map((s) => s.apiKey);
  assert.deepStrictEqual(
    keys,
    [...keys].sort((a, b) => a - b),
  );
  assert.ok(!gen.apiByKey.has(4), 'LeaderAndIsr was removed in 4.0');
  const produce = gen.apiByKey.get(0)!;
  assert.equal(produce.name, 'Produce');
  assert.equal(produce.minVersion, 3);
  assert.equal(produce.maxVersion, 13); // Kafka 4.4: v13 names topics by id (KIP-516)
  assert.equal(produce.firstFlexibleVersion, 9);
  assert.deepStrictEqual(produce.listeners, ['broker']);
  assert.equal(gen.apiByKey.get(17)!.firstFlexibleVersion, Infinity); // SaslHandshake
  assert.equal(gen.apiByKey.get(78)!.latestVersionUnstable, false); // ShareFetch, stable since 4.1
  assert.equal(gen.apiByKey.get(22)!.latestVersionUnstable, true); // InitProducerId v6 (KIP-939)
  for (const spec of gen.apiSpecs) assert.equal((gen.ApiKey as Record<string, number>)[spec.name], spec.apiKey);
});
