// Liveness and readiness, for load balancers and orchestrators (Kubernetes probes):
//   GET /healthz  200 while the process runs and its event loop answers.
//   GET /readyz   200 once the broker can serve clients: its logs are recovered and its
//                 coordinators loaded (both done before the broker attaches), its Kafka listener
//                 is up, and in cluster mode it is registered in etcd (lease valid) and has
//                 applied every topic of the metadata; 503 otherwise. The JSON says which check
//                 failed, with Kafka-meaningful detail.
import { systemClock } from '../common/clock.js';
import type { HttpRoutes } from './context.js';

interface Check {
  ok: boolean;
  [detail: string]: unknown;
}

export const healthRoutes: HttpRoutes = (app, ctx) => {
  app.get('/healthz', async (_req, reply) => {
    const broker = ctx.broker;
    return reply.header('cache-control', 'no-store').send({
      status: 'ok',
      nodeId: broker?.nodeId ?? null,
      uptimeSeconds: Math.round((systemClock.now() - ctx.startedAt) / 1000),
      broker: broker ? 'started' : 'starting',
    });
  });

  app.get('/readyz', async (_req, reply) => {
    const broker = ctx.broker;
    const checks: Record<string, Check> = {};
    if (!broker) {
      checks.broker = { ok: false, reason: 'the broker is starting (recovering its logs, loading coordinators) or stopping' };
    } else {
      let partitions = 0;
      for (const t of broker.topics.values()) for (const p of t.partitions) if (p) partitions++;
      checks.logs = { ok: true, topics: broker.topics.size, partitions, logDir: broker.config.logDir };
      checks.coordinators = {
        ok: true,
        groups: broker.groupCoordinator.groups.size,
        transactionalIds: broker.transactionCoordinator.transactions.size,
      };
      const listeners = broker.listenerStats();
      checks.kafkaListener = {
        ok: listeners.length > 0 && broker.port > 0,
        listener: `${broker.advertised.host}:${broker.advertised.port}`,
        listeners: listeners.map((l) => ({ name: l.name, connections: l.connections })),
        connections: broker.connectionCount,
      };
      if (broker.cluster) {
        const store = broker.cluster.store;
        const registered = store.liveBrokers().some((b) => b.nodeId === broker.nodeId);
        const leaseValid = store.leaseValid();
        const topicsBehind = broker.metadataLag();
        checks.cluster = {
          ok: registered && leaseValid && topicsBehind === 0,
          registered,
          leaseValid,
          metadataTopicsNotApplied: topicsBehind,
          controllerId: broker.controllerId(),
          liveBrokers: store.liveBrokers().map((b) => b.nodeId),
        };
      }
    }
    const ready = Object.values(checks).every((c) => c.ok);
    return reply
      .status(ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: ready ? 'ready' : 'not ready', nodeId: broker?.nodeId ?? null, clusterId: broker?.clusterId ?? null, checks });
  });
};
