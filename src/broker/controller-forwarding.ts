// Admin requests only the active controller decides (ElectLeaders, AlterPartitionReassignments):
// a broker that is not the controller forwards them over the inter-broker listener, as Kafka's
// brokers forward to the KRaft controller (KIP-590). The client's permissions were checked
// where it connected; the controller sees the inter-broker principal. A request that arrives
// forwarded is never forwarded again (no ping-pong while the controller changes): it gets
// NOT_CONTROLLER, which clients retry after finding the controller again.
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { RequestContext } from './api.js';
import { INTER_BROKER_CLIENT_ID } from './inter-broker.js';

export async function forwardToController<Res>(ctx: RequestContext, apiKey: number, body: unknown): Promise<Res> {
  const { broker } = ctx;
  const notController = (why: string) => new KafkaError(ErrorCode.NOT_CONTROLLER, `This broker is not the active controller (${why}).`);
  if (ctx.clientId === INTER_BROKER_CLIENT_ID) throw notController('a forwarded request is not forwarded again');
  const id = broker.controllerId();
  if (id < 0) throw notController('an election is under way');
  if (id === broker.nodeId) throw notController('it is still taking over');
  const peer = broker.liveBrokers().find((b) => b.nodeId === id);
  if (!peer) throw notController(`the controller ${id} is not live`);
  return broker.interBroker.forward<Res>(peer, apiKey, body);
}
