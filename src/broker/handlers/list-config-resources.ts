import { ApiKey, type ListConfigResourcesRequest, type ListConfigResourcesResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ResourceType } from '../config-admin.js';
import type { ApiHandler } from '../api.js';
import { Op } from '../security/security.js';

const LISTABLE: number[] = [ResourceType.TOPIC, ResourceType.BROKER, ResourceType.CLIENT_METRICS, ResourceType.GROUP];

/**
 * ListConfigResources (Kafka 4.0's ListClientMetricsResources, KIP-714): v0 lists the
 * CLIENT_METRICS resources; v1 (KIP-1142) any of the given types, all listable ones when none is given (GROUP: the groups
 * with configs set, as Kafka lists them).
 */
export const listConfigResourcesHandler: ApiHandler<ListConfigResourcesRequest, ListConfigResourcesResponse> = {
  apiKey: ApiKey.ListConfigResources,
  handle({ broker, apiVersion, conn }, req) {
    // Kafka asks for DESCRIBE_CONFIGS on the cluster.
    if (!broker.security.cluster(conn, Op.DESCRIBE_CONFIGS)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, configResources: [] };
    const types = apiVersion === 0 ? [ResourceType.CLIENT_METRICS] : req.resourceTypes.length === 0 ? LISTABLE : req.resourceTypes;
    if (types.some((t) => !LISTABLE.includes(t))) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, configResources: [] };
    const out: { resourceName: string; resourceType: number }[] = [];
    for (const t of types) {
      if (t === ResourceType.CLIENT_METRICS) for (const name of broker.telemetry.resources.keys()) out.push({ resourceName: name, resourceType: t });
      else if (t === ResourceType.TOPIC) for (const name of broker.topics.keys()) out.push({ resourceName: name, resourceType: t });
      else if (t === ResourceType.BROKER) for (const b of broker.liveBrokers()) out.push({ resourceName: String(b.nodeId), resourceType: t });
      // As Kafka: the groups that have configs set (kafka-configs --describe --entity-type groups).
      else if (t === ResourceType.GROUP) for (const name of broker.groupsWithConfigs()) out.push({ resourceName: name, resourceType: t });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, configResources: out };
  },
};
