import type { ApiHandler } from '../api.js';
import { apiVersionsHandler } from './api-versions.js';
import { saslAuthenticateHandler, saslHandshakeHandler } from './sasl.js';
import { alterUserScramCredentialsHandler, describeUserScramCredentialsHandler } from './scram-credentials.js';
import { createAclsHandler, deleteAclsHandler, describeAclsHandler } from './acls.js';
import { createDelegationTokenHandler, describeDelegationTokenHandler, expireDelegationTokenHandler, renewDelegationTokenHandler } from './delegation-tokens.js';
import { envelopeHandler } from './envelope.js';
import { describeClientQuotasHandler } from './describe-client-quotas.js';
import { alterClientQuotasHandler } from './alter-client-quotas.js';
import { metadataHandler } from './metadata.js';
import { describeTopicPartitionsHandler } from './describe-topic-partitions.js';
import { createTopicsHandler } from './create-topics.js';
import { deleteTopicsHandler } from './delete-topics.js';
import { produceHandler } from './produce.js';
import { fetchHandler } from './fetch.js';
import { listOffsetsHandler } from './list-offsets.js';
import { offsetForLeaderEpochHandler } from './offset-for-leader-epoch.js';
import { initProducerIdHandler } from './init-producer-id.js';
import { describeClusterHandler } from './describe-cluster.js';
import { updateFeaturesHandler } from './update-features.js';
import { describeQuorumHandler } from './describe-quorum.js';
import { unregisterBrokerHandler } from './unregister-broker.js';
import { deleteRecordsHandler } from './delete-records.js';
import { findCoordinatorHandler } from './find-coordinator.js';
import { joinGroupHandler } from './join-group.js';
import { syncGroupHandler } from './sync-group.js';
import { heartbeatHandler } from './heartbeat.js';
import { leaveGroupHandler } from './leave-group.js';
import { offsetCommitHandler } from './offset-commit.js';
import { offsetFetchHandler } from './offset-fetch.js';
import { offsetDeleteHandler } from './offset-delete.js';
import { listGroupsHandler } from './list-groups.js';
import { describeGroupsHandler } from './describe-groups.js';
import { deleteGroupsHandler } from './delete-groups.js';
import { describeConfigsHandler } from './describe-configs.js';
import { getTelemetrySubscriptionsHandler } from './get-telemetry-subscriptions.js';
import { pushTelemetryHandler } from './push-telemetry.js';
import { listConfigResourcesHandler } from './list-config-resources.js';
import { alterConfigsHandler } from './alter-configs.js';
import { incrementalAlterConfigsHandler } from './incremental-alter-configs.js';
import { createPartitionsHandler } from './create-partitions.js';
import { describeLogDirsHandler } from './describe-log-dirs.js';
import { alterReplicaLogDirsHandler } from './alter-replica-log-dirs.js';
import { electLeadersHandler } from './elect-leaders.js';
import { describeProducersHandler } from './describe-producers.js';
import { addPartitionsToTxnHandler } from './add-partitions-to-txn.js';
import { addOffsetsToTxnHandler } from './add-offsets-to-txn.js';
import { endTxnHandler } from './end-txn.js';
import { txnOffsetCommitHandler } from './txn-offset-commit.js';
import { writeTxnMarkersHandler } from './write-txn-markers.js';
import { describeTransactionsHandler } from './describe-transactions.js';
import { listTransactionsHandler } from './list-transactions.js';
import { alterPartitionReassignmentsHandler, listPartitionReassignmentsHandler } from './partition-reassignments.js';
import { consumerGroupDescribeHandler, consumerGroupHeartbeatHandler } from './consumer-group-heartbeat.js';
import { streamsGroupDescribeHandler, streamsGroupHeartbeatHandler, streamsGroupTopologyDescriptionUpdateHandler } from './streams-group-heartbeat.js';
import {
  alterShareGroupOffsetsHandler,
  deleteShareGroupOffsetsHandler,
  describeShareGroupOffsetsHandler,
  shareAcknowledgeHandler,
  shareFetchHandler,
  shareGroupDescribeHandler,
  shareGroupHeartbeatHandler,
} from './share.js';
import {
  deleteShareGroupStateHandler,
  initializeShareGroupStateHandler,
  readShareGroupStateHandler,
  readShareGroupStateSummaryHandler,
  writeShareGroupStateHandler,
} from './share-state.js';

export const apiHandlers: ApiHandler[] = [
  envelopeHandler,
  shareGroupHeartbeatHandler,
  shareGroupDescribeHandler,
  shareFetchHandler,
  shareAcknowledgeHandler,
  describeShareGroupOffsetsHandler,
  alterShareGroupOffsetsHandler,
  deleteShareGroupOffsetsHandler,
  initializeShareGroupStateHandler,
  readShareGroupStateHandler,
  writeShareGroupStateHandler,
  deleteShareGroupStateHandler,
  readShareGroupStateSummaryHandler,
  saslHandshakeHandler,
  saslAuthenticateHandler,
  alterUserScramCredentialsHandler,
  describeUserScramCredentialsHandler,
  createAclsHandler,
  describeAclsHandler,
  deleteAclsHandler,
  createDelegationTokenHandler,
  renewDelegationTokenHandler,
  expireDelegationTokenHandler,
  describeDelegationTokenHandler,
  describeClientQuotasHandler,
  alterClientQuotasHandler,
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  offsetForLeaderEpochHandler,
  apiVersionsHandler,
  createTopicsHandler,
  deleteTopicsHandler,
  initProducerIdHandler,
  describeClusterHandler,
  updateFeaturesHandler,
  describeQuorumHandler,
  unregisterBrokerHandler,
  deleteRecordsHandler,
  findCoordinatorHandler,
  joinGroupHandler,
  syncGroupHandler,
  heartbeatHandler,
  leaveGroupHandler,
  offsetCommitHandler,
  offsetFetchHandler,
  offsetDeleteHandler,
  listGroupsHandler,
  describeGroupsHandler,
  deleteGroupsHandler,
  describeConfigsHandler,
  alterConfigsHandler,
  incrementalAlterConfigsHandler,
  createPartitionsHandler,
  describeLogDirsHandler,
  alterReplicaLogDirsHandler,
  electLeadersHandler,
  alterPartitionReassignmentsHandler,
  listPartitionReassignmentsHandler,
  describeProducersHandler,
  addPartitionsToTxnHandler,
  addOffsetsToTxnHandler,
  endTxnHandler,
  txnOffsetCommitHandler,
  writeTxnMarkersHandler,
  describeTransactionsHandler,
  listTransactionsHandler,
  describeTopicPartitionsHandler,
  consumerGroupHeartbeatHandler,
  consumerGroupDescribeHandler,
  streamsGroupHeartbeatHandler,
  streamsGroupDescribeHandler,
  streamsGroupTopologyDescriptionUpdateHandler,
  getTelemetrySubscriptionsHandler,
  pushTelemetryHandler,
  listConfigResourcesHandler,
];
