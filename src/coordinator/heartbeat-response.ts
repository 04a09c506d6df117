// The answer of a ConsumerGroupHeartbeat (KIP-848) or a ShareGroupHeartbeat (KIP-932): the two
// RPCs answer with the same fields, partitions by topic id.

export interface HeartbeatResponse {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: { topicPartitions: { topicId: string; partitions: number[] }[] } | null;
}

/** A refused heartbeat: the error, and no member, epoch 0, no interval, no assignment. */
export function heartbeatFailure(errorCode: number, errorMessage: string | null = null): HeartbeatResponse {
  return { errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null };
}
