// KIP-932 on the share-partition leader's side: where a share-partition's durable state is read
// and written (Kafka's Persister). The share coordinator of a (group, topic, partition) key is the
// leader of the key's __share_group_state partition. When that is this broker, the call goes to
// its own ShareCoordinator in process; in cluster mode, when it is another broker, it goes there
// as an inter-broker ReadShareGroupState / WriteShareGroupState / DeleteShareGroupState /
// ReadShareGroupStateSummary request (answered by handlers/share-state.ts).
//
// Errors are the share coordinator's codes: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS /
// COORDINATOR_NOT_AVAILABLE while the coordinator moves (a connection failure is
// COORDINATOR_NOT_AVAILABLE), FENCED_STATE_EPOCH and FENCED_LEADER_EPOCH when a newer writer won.
import {
  ApiKey,
  type DeleteShareGroupStateResponse,
  type ReadShareGroupStateResponse,
  type ReadShareGroupStateSummaryResponse,
  type WriteShareGroupStateResponse,
} from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { DeliveryState, type ShareCoordinator, type SharePartitionState, type ShareStateKey } from '../../coordinator/share-coordinator.js';

export interface PeerNode {
  nodeId: number;
  host: string;
  port: number;
}

/** What the persister needs of the broker (Broker fits through a small adapter). */
export interface SharePersisterHost {
  readonly coordinator: ShareCoordinator;
  readonly clustered: boolean;
  /** The live broker leading __share_group_state partition `index` (its inter-broker address), 'self', or null. */
  stateLeader(index: number): PeerNode | 'self' | null;
  /** Sends one share-state request to `peer`; rejects (KafkaError) when it cannot be reached. */
  call<Res>(peer: PeerNode, apiKey: number, body: unknown): Promise<Res>;
}

/** A summary of one share-partition's state (ReadShareGroupStateSummary). */
export interface ShareStateSummary {
  stateEpoch: number;
  leaderEpoch: number;
  startOffset: number;
  /** Records at or past the start offset whose delivery is complete (acknowledged or archived). */
  deliveryCompleteCount: number;
}

type Route = { local: true } | { local: false; peer: PeerNode } | number;

function completeCount(s: SharePartitionState): number {
  let n = 0;
  for (const b of s.stateBatches) if (b.deliveryState === DeliveryState.ACKNOWLEDGED || b.deliveryState === DeliveryState.ARCHIVED) n += b.lastOffset - b.firstOffset + 1;
  return n;
}

export class SharePersister {
  constructor(private readonly host: SharePersisterHost) {}

  get coordinator(): ShareCoordinator {
    return this.host.coordinator;
  }

  /** Where the share coordinator of `k` is: here, another broker, or an error code. */
  private async route(k: ShareStateKey): Promise<Route> {
    const coordinator = this.host.coordinator;
    if (!this.host.clustered || coordinator.owns(k)) return { local: true };
    const created = await coordinator.ensureTopic();
    if (created !== ErrorCode.NONE) return created;
    if (coordinator.owns(k)) return { local: true };
    const leader = this.host.stateLeader(coordinator.partitionFor(k));
    if (leader === null) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    // Led here by the metadata but not loaded (yet): the local coordinator waits or answers why.
    if (leader === 'self') return { local: true };
    return { local: false, peer: leader };
  }

  private async remote<Res>(peer: PeerNode, apiKey: number, body: unknown): Promise<Res | number> {
    try {
      return await this.host.call<Res>(peer, apiKey, body);
    } catch (err) {
      return err instanceof KafkaError ? err.code : ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  /** The state, null when none was ever written, or an error code. */
  async read(k: ShareStateKey, leaderEpoch: number): Promise<SharePartitionState | null | number> {
    const route = await this.route(k);
    if (typeof route === 'number') return route;
    if (route.local) return this.host.coordinator.read(k, leaderEpoch);
    const res = await this.remote<ReadShareGroupStateResponse>(route.peer, ApiKey.ReadShareGroupState, {
      groupId: k.groupId,
      topics: [{ topicId: k.topicId, partitions: [{ partition: k.partition, leaderEpoch }] }],
    });
    if (typeof res === 'number') return res;
    const p = res.results.find((t) => t.topicId === k.topicId)?.partitions.find((x) => x.partition === k.partition);
    if (!p) return ErrorCode.UNKNOWN_SERVER_ERROR;
    if (p.errorCode !== ErrorCode.NONE) return p.errorCode;
    if (p.startOffset < 0) return null;
    return {
      stateEpoch: p.stateEpoch,
      leaderEpoch,
      startOffset: p.startOffset,
      stateBatches: p.stateBatches.map((b) => ({ firstOffset: b.firstOffset, lastOffset: b.lastOffset, deliveryState: b.deliveryState, deliveryCount: b.deliveryCount })),
    };
  }

  /** Replaces the state (a full snapshot): NONE or an error code. */
  async write(k: ShareStateKey, state: SharePartitionState): Promise<number> {
    const route = await this.route(k);
    if (typeof route === 'number') return route;
    if (route.local) return this.host.coordinator.write(k, state);
    const res = await this.remote<WriteShareGroupStateResponse>(route.peer, ApiKey.WriteShareGroupState, {
      groupId: k.groupId,
      topics: [
        {
          topicId: k.topicId,
          partitions: [
            {
              partition: k.partition,
              stateEpoch: state.stateEpoch,
              leaderEpoch: state.leaderEpoch,
              startOffset: state.startOffset,
              deliveryCompleteCount: completeCount(state),
              stateBatches: state.stateBatches,
            },
          ],
        },
      ],
    });
    if (typeof res === 'number') return res;
    return res.results.find((t) => t.topicId === k.topicId)?.partitions.find((x) => x.partition === k.partition)?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
  }

  /** Forgets the state: NONE or an error code. */
  async delete(k: ShareStateKey): Promise<number> {
    const route = await this.route(k);
    if (typeof route === 'number') return route;
    if (route.local) return this.host.coordinator.delete(k);
    const res = await this.remote<DeleteShareGroupStateResponse>(route.peer, ApiKey.DeleteShareGroupState, {
      groupId: k.groupId,
      topics: [{ topicId: k.topicId, partitions: [{ partition: k.partition }] }],
    });
    if (typeof res === 'number') return res;
    return res.results.find((t) => t.topicId === k.topicId)?.partitions.find((x) => x.partition === k.partition)?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
  }

  /**
   * Summaries of many share-partitions of one group (the admin's view): one request per share
   * coordinator. Each key maps to its summary, null (no state), or an error code.
   */
  async summaries(groupId: string, keys: { topicId: string; partition: number }[]): Promise<Map<string, ShareStateSummary | null | number>> {
    const out = new Map<string, ShareStateSummary | null | number>();
    const byPeer = new Map<number, { peer: PeerNode; keys: { topicId: string; partition: number }[] }>();
    await Promise.all(
      keys.map(async ({ topicId, partition }) => {
        const k = { groupId, topicId, partition };
        const id = `${topicId}:${partition}`;
        const route = await this.route(k);
        if (typeof route === 'number') return out.set(id, route);
        if (!route.local) {
          let entry = byPeer.get(route.peer.nodeId);
          if (!entry) byPeer.set(route.peer.nodeId, (entry = { peer: route.peer, keys: [] }));
          entry.keys.push({ topicId, partition });
          return;
        }
        const s = await this.host.coordinator.summary(k);
        out.set(
          id,
          typeof s === 'number' || s === null
            ? s
            : { stateEpoch: s.stateEpoch, leaderEpoch: s.leaderEpoch, startOffset: s.startOffset, deliveryCompleteCount: completeCount(s) },
        );
      }),
    );
    await Promise.all(
      [...byPeer.values()].map(async ({ peer, keys: ks }) => {
        const topics = new Map<string, number[]>();
        for (const { topicId, partition } of ks) topics.set(topicId, [...(topics.get(topicId) ?? []), partition]);
        const res = await this.remote<ReadShareGroupStateSummaryResponse>(peer, ApiKey.ReadShareGroupStateSummary, {
          groupId,
          topics: [...topics].map(([topicId, parts]) => ({ topicId, partitions: parts.map((partition) => ({ partition, leaderEpoch: -1 })) })),
        });
        for (const { topicId, partition } of ks) {
          const id = `${topicId}:${partition}`;
          if (typeof res === 'number') {
            out.set(id, res);
            continue;
          }
          const p = res.results.find((t) => t.topicId === topicId)?.partitions.find((x) => x.partition === partition);
          if (!p) out.set(id, ErrorCode.UNKNOWN_SERVER_ERROR);
          else if (p.errorCode !== ErrorCode.NONE) out.set(id, p.errorCode);
          else if (p.startOffset < 0) out.set(id, null);
          else out.set(id, { stateEpoch: p.stateEpoch, leaderEpoch: p.leaderEpoch, startOffset: p.startOffset, deliveryCompleteCount: Math.max(0, p.deliveryCompleteCount) });
        }
      }),
    );
    return out;
  }
}
