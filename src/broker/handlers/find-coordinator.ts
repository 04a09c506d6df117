import { ApiKey, type FindCoordinatorRequest, type FindCoordinatorResponse, type FindCoordinatorResponseCoordinator } from '../../protocol/generated/index.js';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import { logWriteFailure } from '../../coordinator/write-errors.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';

const GROUP = 0;
const TRANSACTION = 1;
/** KIP-932 (v6+): the share coordinator of a share-partition, key "groupId:topicId:partition". */
const SHARE = 2;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** "groupId:topicId:partition" (the group id may hold colons), or null. */
function shareKey(key: string): { groupId: string; topicId: string; partition: number } | null {
  const last = key.lastIndexOf(':');
  const mid = last > 0 ? key.lastIndexOf(':', last - 1) : -1;
  if (mid <= 0) return null;
  const groupId = key.slice(0, mid);
  const topicId = key.slice(mid + 1, last);
  const partition = Number(key.slice(last + 1));
  if (!UUID_RE.test(topicId) || !/^\d+$/.test(key.slice(last + 1)) || !Number.isSafeInteger(partition) || partition > 2147483647) return null;
  return { groupId, topicId: topicId.toLowerCase(), partition };
}

export const findCoordinatorHandler: ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse> = {
  apiKey: ApiKey.FindCoordinator,
  async handle({ broker, apiVersion, conn }, req) {
    // The client's listener decides which of our addresses it gets.
    const self = broker.advertisedEndpoints.get(conn.listenerName) ?? broker.advertised;
    const locate = async (key: string): Promise<FindCoordinatorResponseCoordinator> => {
      const answer = (errorCode: number, message: string | null = null): FindCoordinatorResponseCoordinator =>
        errorCode === ErrorCode.NONE
          ? { key, nodeId: broker.nodeId, host: self.host, port: self.port, errorCode, errorMessage: null }
          : { key, nodeId: -1, host: '', port: -1, errorCode, errorMessage: message ?? errorName(errorCode) };
      if (req.keyType === SHARE) {
        // Asked by brokers (Kafka's share-partition leaders), so CLUSTER_ACTION, as in Kafka.
        if (apiVersion < 6) return answer(ErrorCode.UNSUPPORTED_VERSION, 'Share coordinator keys need FindCoordinator v6');
        const k = shareKey(key);
        if (!k) return answer(ErrorCode.INVALID_REQUEST, `Invalid share coordinator key ${key}: groupId:topicId:partition`);
        if (!broker.security.cluster(conn, Op.CLUSTER_ACTION)) return answer(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
        const coordinator = broker.shares.coordinator;
        if ((await coordinator.ensureTopic()) !== ErrorCode.NONE) return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE);
        if (!broker.cluster) return answer(ErrorCode.NONE);
        const t = broker.topics.get('__share_group_state');
        const s = t ? broker.partitionStates(t)[coordinator.partitionFor(k)] : undefined;
        const leader = s ? broker.liveBrokers(conn.listenerName).find((b) => b.nodeId === s.leader) : undefined;
        if (!leader) return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE);
        return { key, nodeId: leader.nodeId, host: leader.host, port: leader.port, errorCode: ErrorCode.NONE, errorMessage: null };
      }
      if (req.keyType !== GROUP && req.keyType !== TRANSACTION) return answer(ErrorCode.INVALID_REQUEST, `Unknown coordinator key type ${req.keyType}`);
      if (key === '') return answer(ErrorCode.INVALID_REQUEST, `The ${req.keyType === GROUP ? 'group' : 'transactional'} id must not be empty`);
      if (req.keyType === GROUP ? !broker.security.group(conn, Op.DESCRIBE, key) : !broker.security.transactionalId(conn, Op.DESCRIBE, key)) {
        return answer(req.keyType === GROUP ? ErrorCode.GROUP_AUTHORIZATION_FAILED : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      }
      try {
        // The first lookup creates the coordinator's internal topic.
        // When this broker leads the key's partition, the answer waits for its load.
        await (req.keyType === GROUP ? broker.groupCoordinator.ready(key) : broker.transactionCoordinator.ready(key));
      } catch (err) {
        logWriteFailure(broker.logger, err, { key }, 'cannot prepare the coordinator');
        return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
      if (broker.cluster) {
        // Cluster mode: the coordinator is the leader of the key's internal partition.
        const internal = req.keyType === GROUP ? '__consumer_offsets' : '__transaction_state';
        const index = req.keyType === GROUP ? broker.groupCoordinator.partitionFor(key) : broker.transactionCoordinator.partitionFor(key);
        const t = broker.topics.get(internal);
        const s = t ? broker.partitionStates(t)[index] : undefined;
        const leader = s ? broker.liveBrokers(conn.listenerName).find((b) => b.nodeId === s.leader) : undefined;
        if (!leader) return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE);
        return { key, nodeId: leader.nodeId, host: leader.host, port: leader.port, errorCode: ErrorCode.NONE, errorMessage: null };
      }
      return answer(ErrorCode.NONE);
    };
    if (apiVersion >= 4) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        nodeId: 0,
        host: '',
        port: 0,
        coordinators: await Promise.all(req.coordinatorKeys.map(locate)),
      };
    }
    const c = await locate(req.key);
    return {
      throttleTimeMs: 0,
      errorCode: c.errorCode,
      errorMessage: c.errorMessage,
      nodeId: c.nodeId,
      host: c.host,
      port: c.port,
      coordinators: [],
    };
  },
};
