import { createHistogram } from 'node:perf_hooks';

export interface AckLatencyWindow {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  count: number;
}

export interface AckLatency {
  /** One QoS 1/2 message: ms from its PUBLISH reaching the broker hook to its ack being released. */
  record(ms: number): void;
  /** Closes the current window and starts the next, as the event-loop monitor does. */
  rotate(): AckLatencyWindow;
}

/**
 * The gateway's own view of ack latency: what it held each message for
 * (decode, batch, group commit). A load generator's view adds its own
 * scheduling, the kernel and its garbage collector; comparing the two tells
 * whether a slow ack was the gateway's doing.
 */
export function createAckLatency(): AckLatency {
  // Microseconds: the histogram takes integers from 1.
  const histogram = createHistogram();
  const ms = (us: number) => (Number.isFinite(us) ? us / 1000 : 0);
  return {
    record(heldMs) {
      histogram.record(Math.max(1, Math.round(heldMs * 1000)));
    },
    rotate() {
      const window =
        histogram.count === 0
          ? { p50Ms: 0, p99Ms: 0, maxMs: 0, count: 0 }
          : {
              p50Ms: ms(histogram.percentile(50)),
              p99Ms: ms(histogram.percentile(99)),
              maxMs: ms(histogram.max),
              count: histogram.count,
            };
      histogram.reset();
      return window;
    },
  };
}
