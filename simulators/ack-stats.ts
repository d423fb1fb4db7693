// Counters and ack-latency histograms of one simulator run. Latency is kept
// in microseconds so that sub-millisecond acks from a local broker still
// resolve; the interval histogram feeds the live line and is folded into the
// run's total each time it is read.

import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface Counters {
  messagesSent: number;
  messagesAcked: number;
  /** publishes whose callback reported an error: they will never be acked */
  messagesFailed: number;
  readingsSent: number;
  readingsAcked: number;
  /** messages that replayed buffered readings after being offline */
  replayMessages: number;
  replayReadings: number;
  /** readings lost because a device's offline buffer was full */
  readingsOverflowed: number;
  connects: number;
  reconnects: number;
  disconnects: number;
  inFlight: number;
  connected: number;
  /** worst delay between a device's due time and when it was served */
  maxLagMs: number;
}

export interface AckStats {
  readonly counters: Counters;
  readonly errors: Map<string, number>;
  recordAckMs(ms: number): void;
  countError(kind: string): void;
  /** Latency since the previous call (ms), for live progress. */
  takeInterval(): LatencySummary;
  /** Latency over the whole run (ms). */
  total(): LatencySummary;
}

function newHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

function summarize(h: hdr.Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

export function createAckStats(): AckStats {
  const interval = newHistogram();
  const whole = newHistogram();
  const counters: Counters = {
    messagesSent: 0,
    messagesAcked: 0,
    messagesFailed: 0,
    readingsSent: 0,
    readingsAcked: 0,
    replayMessages: 0,
    replayReadings: 0,
    readingsOverflowed: 0,
    connects: 0,
    reconnects: 0,
    disconnects: 0,
    inFlight: 0,
    connected: 0,
    maxLagMs: 0,
  };
  const errors = new Map<string, number>();
  return {
    counters,
    errors,
    recordAckMs(ms) {
      interval.recordValue(Math.max(1, Math.round(ms * 1000)));
    },
    countError(kind) {
      errors.set(kind, (errors.get(kind) ?? 0) + 1);
    },
    takeInterval() {
      const s = summarize(interval);
      whole.add(interval);
      interval.reset();
      return s;
    },
    total() {
      whole.add(interval);
      interval.reset();
      return summarize(whole);
    },
  };
}

/** A stable, short name for an error: a socket errno, a CONNACK return code, or the message. */
export function errorKind(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e && typeof e.code === 'string') return e.code;
  if (e && typeof e.code === 'number') return `connack_${e.code}`;
  const message = e && typeof e.message === 'string' ? e.message : String(err);
  return message
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 40);
}
