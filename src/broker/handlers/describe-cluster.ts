import { ApiKey, type DescribeClusterRequest, type DescribeClusterResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { UNREQUESTED_OPERATIONS, clusterOperations } from '../authorized-operations.js';
import type { ApiHandler } from '../api.js';

const BROKER_ENDPOINT = 1;

export const describeClusterHandler: ApiHandler<DescribeClusterRequest, DescribeClusterResponse> = {
  apiKey: ApiKey.DescribeCluster,
  handle({ broker, conn }, req) {
    if (req.endpointType !== BROKER_ENDPOINT) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: 'Only broker endpoints are served by this listener',
        endpointType: req.endpointType,
        clusterId: broker.clusterId,
        controllerId: -1,
        brokers: [],
        clusterAuthorizedOperations: UNREQUESTED_OPERATIONS,
      };
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType: BROKER_ENDPOINT,
      clusterId: broker.clusterId,
      controllerId: broker.advertisedControllerId(),
      brokers: broker.liveBrokers(conn.listenerName).map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack, isFenced: false })),
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? clusterOperations(broker.security, conn) : UNREQUESTED_OPERATIONS,
    };
  },
};
