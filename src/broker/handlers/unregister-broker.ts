import { ApiKey, type UnregisterBrokerRequest, type UnregisterBrokerResponse } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import type { ApiHandler } from '../api.js';

// UnregisterBroker (kafka-cluster.sh unregister): removes a broker's registration from the
// cluster metadata. In cluster mode the registration is an etcd key bound to the broker's lease;
// the lease is revoked, so the controller moves leadership off that broker at once, and a broker
// still running registers again with a new incarnation (as Kafka's does on its next heartbeat).
// A single node is the only broker of its cluster: unregistering itself re-registers it at once.
export const unregisterBrokerHandler: ApiHandler<UnregisterBrokerRequest, UnregisterBrokerResponse> = {
  apiKey: ApiKey.UnregisterBroker,
  async handle({ broker }, req) {
    const answer = (errorCode: number, errorMessage: string | null = null): UnregisterBrokerResponse => ({ throttleTimeMs: 0, errorCode, errorMessage });
    let registered: boolean;
    try {
      registered = broker.cluster ? await broker.cluster.store.unregisterBroker(req.brokerId) : req.brokerId === broker.nodeId;
    } catch (err) {
      if (!(err instanceof KafkaError)) throw err;
      return answer(err.code, err.message);
    }
    if (!registered) return answer(ErrorCode.BROKER_ID_NOT_REGISTERED, `Broker ID ${req.brokerId} is not currently registered`);
    broker.logger.info({ brokerId: req.brokerId }, 'broker unregistered');
    return answer(ErrorCode.NONE);
  },
};
