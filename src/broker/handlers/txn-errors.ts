import { ErrorCode } from '../../protocol/errors.js';

/**
 * PRODUCER_FENCED exists from a version of each transactional API on; older clients know the
 * same situation as INVALID_PRODUCER_EPOCH.
 */
export function fencingError(code: number, apiVersion: number, fencedSince: number): number {
  return code === ErrorCode.PRODUCER_FENCED && apiVersion < fencedSince ? ErrorCode.INVALID_PRODUCER_EPOCH : code;
}
