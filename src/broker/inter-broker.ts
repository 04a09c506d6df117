// Requests one broker sends another in cluster mode: the transaction coordinator's
// WriteTxnMarkers to the leaders of a transaction's partitions on other brokers, a partition
// leader's AddPartitionsToTxn (KIP-890 verification, V2 implicit addition) to the coordinator, a
// share-partition leader's share-state calls to a share coordinator (KIP-932). One connection
// per peer, opened on first use and dropped on any failure (the next call reconnects).
import { Connection } from '../client/connection.js';
import type { ClientSecurity } from '../client/sasl.js';
import {
  ApiKey,
  apiByKey,
  type EnvelopeRequest,
  type EnvelopeResponse,
  type AddPartitionsToTxnRequest,
  type AddPartitionsToTxnResponse,
  type WriteTxnMarkersRequest,
  type WriteTxnMarkersResponse,
} from '../protocol/generated/index.js';
import { ErrorCode, KafkaError, errorName } from '../protocol/errors.js';
import { encodeRequestFrame, decodeResponseHeader } from '../protocol/headers.js';
import { Reader } from '../protocol/primitives.js';
import { addressBytes, serializePrincipal } from './forwarded-principal.js';

export interface PeerAddress {
  nodeId: number;
  host: string;
  port: number;
}

export interface RemoteMarker {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
  transactionVersion: number;
  topics: Map<string, number[]>;
}

const DONE: readonly number[] = [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.TRANSACTION_COORDINATOR_FENCED];

/** The client id of requests between brokers (a forwarded admin request is never forwarded again). */
export const INTER_BROKER_CLIENT_ID = 'tributary-inter-broker';

export class InterBrokerClient {
  private readonly peers = new Map<number, { address: string; connection: Promise<Connection> }>();

  constructor(
    private readonly clientId: string,
    /** The broker's inter-broker TLS/SASL settings (Broker.interBrokerSecurity), read at each connect. */
    private readonly security: () => ClientSecurity = () => ({ protocol: 'PLAINTEXT' }),
  ) {}

  private connect(peer: PeerAddress): Promise<Connection> {
    const address = `${peer.host}:${peer.port}`;
    const known = this.peers.get(peer.nodeId);
    if (known && known.address === address) return known.connection;
    if (known)
      void known.connection.then(
        (c) => c.close(),
        () => undefined,
      );
    let connection: Promise<Connection>;
    try {
      connection = Connection.connect({
        host: peer.host,
        port: peer.port,
        clientId: this.clientId,
        connectTimeoutMs: 5000,
        requestTimeoutMs: 10_000,
        security: this.security(),
      });
    } catch (err) {
      connection = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.peers.set(peer.nodeId, { address, connection });
    connection.catch(() => this.peers.delete(peer.nodeId));
    return connection;
  }

  /**
   * A connection of its own to `peer` (a follower's fetcher: its long polls must not hold up
   * other requests). The caller closes it.
   */
  openDedicated(peer: PeerAddress, clientId: string, requestTimeoutMs: number): Promise<Connection> {
    return Connection.connect({ host: peer.host, port: peer.port, clientId, connectTimeoutMs: 5000, requestTimeoutMs, security: this.security() });
  }

  /**
   * Sends one transaction's markers for the partitions `peer` leads. Resolves when all are
   * written (or have nothing to write); throws a retriable KafkaError otherwise.
   */
  async writeTxnMarkers(peer: PeerAddress, marker: RemoteMarker): Promise<void> {
    const body: WriteTxnMarkersRequest = {
      markers: [
        {
          producerId: marker.producerId,
          producerEpoch: marker.producerEpoch,
          transactionResult: marker.commit,
          coordinatorEpoch: marker.coordinatorEpoch,
          transactionVersion: marker.transactionVersion,
          topics: [...marker.topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
        },
      ],
    };
    // v2 carries the transaction version (KIP-1228): a V2 marker is checked strictly.
    const res = await this.call<WriteTxnMarkersResponse>(peer, ApiKey.WriteTxnMarkers, body, ErrorCode.COORDINATOR_NOT_AVAILABLE, { maxVersion: 2 });
    for (const m of res.markers) {
      for (const t of m.topics) {
        for (const p of t.partitions) {
          // Done, or nothing left to do: the topic is gone, or a newer producer epoch or coordinator
          // epoch already ended the transaction there (as the local write skips them).
          if (DONE.includes(p.errorCode)) continue;
          throw new KafkaError(p.errorCode, `WriteTxnMarkers ${t.name}-${p.partitionIndex} on broker ${peer.nodeId}: ${errorName(p.errorCode)}`);
        }
      }
    }
  }

  /**
   * A partition leader asks the transaction coordinator `peer` to verify or add partitions
   * (AddPartitionsToTxn v5, the batched inter-broker form). Rejects when the peer cannot be
   * reached; the connection is dropped then.
   */
  addPartitionsToTxn(peer: PeerAddress, request: AddPartitionsToTxnRequest): Promise<AddPartitionsToTxnResponse> {
    return this.call<AddPartitionsToTxnResponse>(peer, ApiKey.AddPartitionsToTxn, request, ErrorCode.NETWORK_EXCEPTION, { version: 5 });
  }

  /**
   * Sends an admin request to `peer` (the controller) and returns its answer: a broker forwarding
   * what only the controller decides. Connection failures become NOT_CONTROLLER (retriable: the
   * client finds the controller again).
   */
  forward<Res>(peer: PeerAddress, apiKey: number, body: unknown): Promise<Res> {
    return this.call<Res>(peer, apiKey, body, ErrorCode.NOT_CONTROLLER);
  }

  /**
   * One request to `peer` and its answer. When the peer cannot be reached (or the request times
   * out) the connection is dropped, so the next call reconnects, and the call rejects with a
   * KafkaError of `failure`: the code that has the caller's caller find the peer again.
   */
  private async call<Res>(
    peer: PeerAddress,
    apiKey: number,
    body: unknown,
    failure: number,
    opts: { version?: number; maxVersion?: number; timeoutMs?: number } = {},
  ): Promise<Res> {
    try {
      const c = await this.connect(peer);
      return await c.request<Res>(apiKey, body, opts);
    } catch (err) {
      this.dropPeer(peer.nodeId);
      throw new KafkaError(failure, `${apiByKey.get(apiKey)?.name ?? apiKey} to broker ${peer.nodeId} failed: ${(err as Error).message}`);
    }
  }

  /**
   * Runs a request on `peer` as another principal (KIP-590 Envelope): the HTTP admin API reaching
   * the leader of a partition or the coordinator of a group. The inner request is encoded at the
   * highest version both brokers serve, capped by `maxVersion` (the version its body was built
   * for). Resolves with the peer's decoded answer; rejects with a KafkaError: the envelope's own
   * error (the peer refused to act for the caller), UNSUPPORTED_VERSION when the peer takes no
   * envelopes or no common version, NETWORK_EXCEPTION when it cannot be reached.
   */
  async forwardAs<Res>(
    peer: PeerAddress,
    caller: { principal: string; host: string; clientId: string },
    apiKey: number,
    body: unknown,
    maxVersion: number,
    timeoutMs: number,
  ): Promise<Res> {
    const spec = apiByKey.get(apiKey)!;
    let c: Connection;
    try {
      c = await this.connect(peer);
    } catch (err) {
      throw new KafkaError(ErrorCode.NETWORK_EXCEPTION, `cannot reach broker ${peer.nodeId}: ${(err as Error).message}`);
    }
    const theirs = c.brokerVersions.get(apiKey);
    if (!c.supports(ApiKey.Envelope) || !theirs) {
      throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `broker ${peer.nodeId} does not run ${spec.name} forwarded from another broker (no Envelope support)`);
    }
    const version = Math.min(maxVersion, theirs.maxVersion);
    if (version < theirs.minVersion) throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `no common ${spec.name} version with broker ${peer.nodeId}`);
    let requestData: Buffer;
    try {
      requestData = encodeRequestFrame(apiKey, version, 0, caller.clientId, body).subarray(4);
    } catch (err) {
      throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `${spec.name} v${version} for broker ${peer.nodeId}: ${(err as Error).message}`);
    }
    const envelope: EnvelopeRequest = { requestData, requestPrincipal: serializePrincipal(caller.principal), clientHostAddress: addressBytes(caller.host) };
    let res: EnvelopeResponse;
    try {
      res = await c.request<EnvelopeResponse>(ApiKey.Envelope, envelope, { version: 0, timeoutMs });
    } catch (err) {
      this.dropPeer(peer.nodeId);
      throw new KafkaError(ErrorCode.NETWORK_EXCEPTION, `${spec.name} forwarded to broker ${peer.nodeId} failed: ${(err as Error).message}`);
    }
    if (res.errorCode !== ErrorCode.NONE || !res.responseData) {
      const code = res.errorCode || ErrorCode.UNKNOWN_SERVER_ERROR;
      throw new KafkaError(code, `broker ${peer.nodeId} refused ${spec.name} forwarded on the caller's behalf: ${errorName(code)}`);
    }
    const r = new Reader(res.responseData);
    decodeResponseHeader(r, apiKey, version);
    return spec.decodeResponse(r, version) as Res;
  }

  /**
   * A request this broker makes of `peer` as itself (over the inter-broker listener), e.g. the
   * group coordinator's ListOffsets to the leaders of its groups' partitions for the lag metrics.
   * Rejects with NETWORK_EXCEPTION when the peer cannot be reached; the connection is dropped then.
   */
  request<Res>(peer: PeerAddress, apiKey: number, body: unknown, timeoutMs: number): Promise<Res> {
    return this.call<Res>(peer, apiKey, body, ErrorCode.NETWORK_EXCEPTION, { timeoutMs });
  }

  /**
   * A share-partition leader's call to the share coordinator `peer` (KIP-932:
   * Read/Write/Delete/InitializeShareGroupState, ReadShareGroupStateSummary). Connection failures
   * become COORDINATOR_NOT_AVAILABLE (retriable: the caller finds the coordinator again).
   */
  shareState<Res>(peer: PeerAddress, apiKey: number, body: unknown): Promise<Res> {
    return this.call<Res>(peer, apiKey, body, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  }

  /**
   * The group coordinator tells another broker that a share group member left its group (or
   * timed out of it): a ShareAcknowledge with the final session epoch and no acknowledgements,
   * from a broker, ends the member's share session there and releases what it holds at once
   * (Tributary's own use of the request; Kafka waits for the session's end or the locks).
   */
  async shareMemberLeft(peer: PeerAddress, groupId: string, memberId: string): Promise<number> {
    const res = await this.call<{ errorCode: number }>(peer, ApiKey.ShareAcknowledge, { groupId, memberId, shareSessionEpoch: -1, topics: [] }, ErrorCode.NETWORK_EXCEPTION, {
      version: 1,
    });
    return res.errorCode;
  }

  /** Forgets a peer whose request failed and closes its connection: the next call reconnects. */
  private dropPeer(nodeId: number): void {
    const entry = this.peers.get(nodeId);
    this.peers.delete(nodeId);
    void entry?.connection.then(
      (c) => c.close(),
      () => undefined,
    );
  }

  close(): void {
    for (const { connection } of this.peers.values())
      void connection.then(
        (c) => c.close(),
        () => undefined,
      );
    this.peers.clear();
  }
}
