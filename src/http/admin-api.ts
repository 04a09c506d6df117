// The JSON admin API under /api/v1 (read-only so far): the cluster, topics, consumer groups and
// their lag. Lag is computed by the broker from committed offsets and its high watermarks, the
// numbers `kafka-consumer-groups --describe` shows, so no Burrow or lag exporter is needed.
// In cluster mode each broker answers for the groups it coordinates and the partitions it hosts.
import type { Broker } from '../broker/broker.js';
import type { HttpRoutes } from './context.js';

interface PartitionLagJson {
  topic: string;
  partition: number;
  committedOffset: number;
  /** The partition's high watermark (log end offset, as consumers see it). */
  endOffset: number;
  lag: number;
}

export interface GroupLagJson {
  groupId: string;
  state: string;
  protocolType: string;
  members: number;
  totalLag: number;
  partitions: PartitionLagJson[];
}

/** One group's lag, or null when this broker knows nothing of it (no members, no offsets). */
export function groupLagJson(broker: Broker, groupId: string): GroupLagJson | null {
  const gc = broker.groupCoordinator;
  const group = gc.groups.get(groupId);
  if (!group && !gc.offsets.has(groupId)) return null;
  const partitions = gc
    .lag(groupId, (topic, partition) => broker.partition(topic, partition)?.highWatermark)
    .map((l) => ({ topic: l.topic, partition: l.partition, committedOffset: l.committed, endOffset: l.end, lag: l.lag }))
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  return {
    groupId,
    state: group?.state ?? 'Empty',
    protocolType: group?.protocolType ?? '',
    members: group?.members.size ?? 0,
    totalLag: partitions.reduce((s, p) => s + p.lag, 0),
    partitions,
  };
}

/** Every group this broker coordinates or holds offsets of. */
function groupIds(broker: Broker): string[] {
  const gc = broker.groupCoordinator;
  const ids = new Set<string>();
  for (const g of gc.groups.values()) if (g.state !== 'Dead') ids.add(g.groupId);
  for (const id of gc.offsets.keys()) ids.add(id);
  return [...ids].sort();
}

export const adminApiRoutes: HttpRoutes = (app, ctx) => {
  // Every route needs the broker: 503 while it starts or stops.
  app.addHook('onRequest', async (_req, reply) => {
    if (!ctx.broker) return reply.status(503).header('retry-after', '1').send({ error: 'the broker is not running yet' });
  });
  const broker = () => ctx.broker!;

  app.get('/cluster', (_req, reply) => {
    const b = broker();
    return reply.send({
      clusterId: b.clusterId,
      nodeId: b.nodeId,
      controllerId: b.controllerId(),
      brokers: b.liveBrokers().map((x) => ({ nodeId: x.nodeId, host: x.host, port: x.port, rack: x.rack })),
    });
  });

  app.get('/topics', (_req, reply) => {
    const b = broker();
    return reply.send({
      topics: [...b.topics.values()]
        .map((t) => ({ name: t.name, topicId: t.id, internal: t.internal, partitions: t.partitions.length }))
        .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)),
    });
  });

  app.get<{ Params: { topic: string } }>('/topics/:topic', (req, reply) => {
    const b = broker();
    const t = b.topics.get(req.params.topic);
    if (!t) return reply.status(404).send({ error: `unknown topic ${req.params.topic}`, errorCode: 'UNKNOWN_TOPIC_OR_PARTITION' });
    const states = b.partitionStates(t);
    return reply.send({
      name: t.name,
      topicId: t.id,
      internal: t.internal,
      configs: Object.fromEntries([...t.configs].map(([k, v]) => [k, v.value])),
      partitions: states.map((s, i) => {
        const p = t.partitions[i];
        return {
          partition: i,
          leader: s.leader,
          leaderEpoch: s.leaderEpoch,
          replicas: s.replicas,
          isr: s.isr,
          // Offsets and size are known for the replicas hosted on this broker only.
          logStartOffset: p?.logStartOffset ?? null,
          highWatermark: p?.highWatermark ?? null,
          logEndOffset: p?.logEndOffset ?? null,
          sizeBytes: p?.sizeInBytes ?? null,
        };
      }),
    });
  });

  app.get('/groups', (_req, reply) => {
    const b = broker();
    return reply.send({
      groups: groupIds(b).map((id) => {
        const g = groupLagJson(b, id)!;
        return { groupId: g.groupId, state: g.state, protocolType: g.protocolType, members: g.members, totalLag: g.totalLag };
      }),
    });
  });

  app.get<{ Params: { group: string } }>('/groups/:group/lag', (req, reply) => {
    const lag = groupLagJson(broker(), req.params.group);
    if (!lag) return reply.status(404).send({ error: `unknown group ${req.params.group}`, errorCode: 'GROUP_ID_NOT_FOUND' });
    return reply.send(lag);
  });

  /** Every group's lag at once (what a lag exporter would poll). */
  app.get('/lag', (_req, reply) => {
    const b = broker();
    return reply.send({ groups: groupIds(b).map((id) => groupLagJson(b, id)!) });
  });
};
