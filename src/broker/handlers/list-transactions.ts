import { ApiKey, type ListTransactionsRequest, type ListTransactionsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ALL_TXN_STATES } from '../../coordinator/transaction-state.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';

export const listTransactionsHandler: ApiHandler<ListTransactionsRequest, ListTransactionsResponse> = {
  apiKey: ApiKey.ListTransactions,
  handle({ broker, conn }, req) {
    // Kafka's order: the coordinator's state first (not active, loading), then the pattern.
    const unavailable = broker.transactionCoordinator.listError();
    if (unavailable !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: unavailable, unknownStateFilters: [], transactionStates: [] };
    // v2: only transactional ids the whole pattern matches (Java's Pattern.matcher().matches()).
    let pattern: RegExp | null = null;
    if (req.transactionalIdPattern !== null && req.transactionalIdPattern !== '') {
      try {
        pattern = new RegExp(`^(?:${req.transactionalIdPattern})$`, 'u');
      } catch {
        return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REGULAR_EXPRESSION, unknownStateFilters: [], transactionStates: [] };
      }
    }
    const known = new Set<string>(ALL_TXN_STATES);
    const unknownStateFilters = req.stateFilters.filter((s) => !known.has(s));
    const states = req.stateFilters.filter((s) => known.has(s));
    // Only unknown states asked for: nothing can match them.
    const listed = req.stateFilters.length > 0 && states.length === 0 ? [] : broker.transactionCoordinator.list(states, req.producerIdFilters, req.durationFilter);
    // Only the transactional ids the principal may describe are listed.
    const matches = (pattern === null ? listed : listed.filter((t) => pattern.test(t.transactionalId))).filter((t) =>
      broker.security.transactionalId(conn, Op.DESCRIBE, t.transactionalId, false),
    );
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      unknownStateFilters,
      transactionStates: matches.map((t) => ({ transactionalId: t.transactionalId, producerId: t.producerId, transactionState: t.state })),
    };
  },
};
