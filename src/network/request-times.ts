// One request's way through the broker, as Kafka's RequestChannel.Request records it for its
// RequestMetrics: stamps on the monotonic clock (ms), kept as plain numbers in the connection's
// per-request slot, so that timing a request allocates nothing. The connection stamps what it
// sees (the frame received, the response's write started and finished); the request path
// stamps the rest and names, as `sink`, where the request's times go when it ends.

/** Where a request's times go, once, when it ends (src/broker/metrics.ts ApiMetrics). */
export interface RequestTimesSink {
  requestEnded(times: RequestTimes, endedAt: number): void;
}

export interface RequestTimes {
  /**
   * The socket read that completed the request's frame. A frame that waits in the connection's
   * buffer (reads paused, or behind the other frames of the same read) keeps this time.
   */
  receivedAt: number;
  /** The request path started on the frame (Kafka: a handler thread took it off the queue). */
  startedAt: number;
  /** Time parked waiting on others so far (a fetch in the purgatory, acks=all waiting for the ISR). */
  remoteMs: number;
  /** When the current park began; -1 when not parked. */
  parkedAt: number;
  /** The response was built and encoded (or found to be none); -1 until then. */
  completedAt: number;
  /** The response's bytes were handed to the socket; -1 until then, and for no response. */
  sendStartedAt: number;
  /** The throttle time the response carries (quotas), not time waited by the broker. */
  throttleMs: number;
  /** The request frame's size, without its size prefix. */
  requestBytes: number;
  /** Where the times go when the request ends; null until the request path takes the request on, and once it ended. */
  sink: RequestTimesSink | null;
}

/** Fresh times for a request received at `receivedAt` (the connection's slot starts the same way). */
export function newRequestTimes(receivedAt: number, requestBytes: number): RequestTimes {
  return { receivedAt, startedAt: receivedAt, remoteMs: 0, parkedAt: -1, completedAt: -1, sendStartedAt: -1, throttleMs: 0, requestBytes, sink: null };
}

/** Ends the request at `endedAt`: its sink records it, once (later calls do nothing). */
export function endRequestTimes(times: RequestTimes, endedAt: number): void {
  const sink = times.sink;
  if (sink === null) return;
  times.sink = null;
  sink.requestEnded(times, endedAt);
}
