// Wires the analytics: committed batches → series slots (main thread, a few
// typed arrays per batch) → one worker task at a time, in commit order, with
// whatever committed while the previous task ran (coalesceWhileBusy) → alert
// transitions stored through the writer, then published on alerts/{deviceId}.

import { Subject } from 'rxjs';
import { type ErrorCode, GatewayError } from '../../core/errors.js';
import { emptyWriteBatch } from '../../storage/empty-batch.js';
import type { AlertState, AnomalyRecord, StorageWriter } from '../../storage/port.js';
import { CLEARED, DEFAULT_CLEAR_AFTER } from '../analytics-workers/alert-lifecycle.js';
import { DETECTOR_DEFAULTS } from '../analytics-workers/anomaly-detector.js';
import type { ScoreOptions, ScoreResult, ScoreTask } from '../analytics-workers/score-readings.js';
import { coalesceWhileBusy } from '../coalesce-while-busy.js';
import type { SettledBatch } from '../commit-batches.js';
import { committedReadings, type ReadingChunk } from './committed-readings.js';
import { SeriesSlots } from './series-slots.js';

/** What goes out on alerts/{deviceId}, as JSON. */
export interface AlertMessage {
  state: AlertState;
  device: string;
  metric: string;
  /** the reading that raised or cleared the alert */
  ts: number;
  value: number;
  score: number;
  expected: [number, number];
}

export interface AnalyticsObserver {
  /** readings older than their series' newest scored one: judged against the baseline, not learnt from */
  late(count: number): void;
  /** readings left out as probable retransmits */
  skipped(count: number): void;
  /** readings not scored: the analytics were too far behind, or every series slot was out with a task */
  dropped(count: number): void;
  /** series whose detector state was dropped for a new series (maxSeries) */
  evicted(count: number): void;
  /** readings judged anomalous */
  anomalies(count: number): void;
  /** alert transitions stored and published */
  alerts(state: AlertState, count: number): void;
  /** from the release of a batch's acks to the publish of an alert raised or cleared by it */
  alertDelay(ms: number): void;
  failed(err: GatewayError): void;
}

export interface AnalyticsOptions {
  writer: Pick<StorageWriter, 'write'>;
  /** runs one task in the pool (analytics-pool.ts) or, in tests, in-process */
  runTask: (task: ScoreTask) => Promise<ScoreResult>;
  /** may return a promise: the next task waits for it, and drain() for the last */
  publishAlert: (alert: AlertMessage) => void | Promise<void>;
  observer: AnalyticsObserver;
  detector?: Partial<ScoreOptions>;
  /** series whose detector state is kept; the least recently seen give theirs up */
  maxSeries?: number;
  /** readings waiting for the worker beyond which new batches are not scored */
  maxQueuedReadings?: number;
  now?: () => number;
  /**
   * A task starts at least this long after the previous one started; what
   * commits meanwhile joins the next task. At a steady 5000 messages/s the
   * writer commits over 150 batches a second, and one task per batch, each a
   * hand-off and a wake-up of the worker, kept the analytics thread at 4–5 %
   * of a core. Default 0.
   */
  minTaskIntervalMs?: number;
  /** waits ms; tests pass virtual time */
  pause?: (ms: number) => Promise<void>;
}

export interface Analytics {
  /** The tap: call with every settled batch, after its messages were settled. */
  committed(settled: SettledBatch): void;
  /** Scores what has committed, stores and publishes its alerts, and resolves when done. */
  drain(): Promise<void>;
}

export const DEFAULT_MAX_SERIES = 100_000;
/** About 20 MB of typed arrays: over a minute of a 5000-device fleet's readings (15,000/s). */
export const DEFAULT_MAX_QUEUED_READINGS = 1_000_000;

export function createAnalytics(options: AnalyticsOptions): Analytics {
  const { observer } = options;
  const now = options.now ?? (() => performance.now());
  const scoreOptions: ScoreOptions = {
    ...DETECTOR_DEFAULTS,
    clearAfter: DEFAULT_CLEAR_AFTER,
    ...options.detector,
  };
  const maxQueued = options.maxQueuedReadings ?? DEFAULT_MAX_QUEUED_READINGS;
  const slots = new SeriesSlots(options.maxSeries ?? DEFAULT_MAX_SERIES);
  // Owned by whichever side holds it: one task at a time, so the detector
  // state is moved to the worker with the task and back with the result.
  let state: Float64Array = new Float64Array(0);
  let sent = 0;
  let finished = 0;
  let queued = 0;
  let evicted = 0;
  const fail = (code: ErrorCode, cause: unknown) => observer.failed(new GatewayError(code, [], { cause }));
  const minInterval = options.minTaskIntervalMs ?? 0;
  const pause = options.pause ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  const score = async (chunks: ReadingChunk[]): Promise<void> => {
    const task = ++sent;
    const { columns, ackedAt } = concat(chunks);
    queued -= columns.ts.length;
    let result: ScoreResult;
    try {
      const sending = state;
      state = new Float64Array(0);
      result = await options.runTask({
        ...columns,
        reset: slots.takeReassigned(),
        state: sending,
        options: scoreOptions,
      });
    } catch (err) {
      // The state went with the task: every series warms up again rather than analysis stopping.
      finished = task;
      fail('GW_ERR_ANALYTICS_TASK', err);
      return;
    }
    state = result.state;
    const records = toRecords(result, slots);
    finished = task;
    if (result.late > 0) observer.late(result.late);
    if (result.anomalous > 0) observer.anomalies(result.anomalous);
    if (records.length === 0) return;
    try {
      await options.writer.write({ ...emptyWriteBatch(), anomalies: records });
    } catch (err) {
      fail('GW_ERR_ANALYTICS_ALERTS_LOST', err);
      return;
    }
    await Promise.all(records.map((r) => options.publishAlert(toMessage(r))));
    const published = now();
    let cleared = 0;
    result.alerts.row.forEach((row, i) => {
      if (records[i]!.state === 'cleared') cleared++;
      observer.alertDelay(published - ackedAt(row));
    });
    if (records.length > cleared) observer.alerts('raised', records.length - cleared);
    if (cleared > 0) observer.alerts('cleared', cleared);
  };

  const input = new Subject<ReadingChunk[]>();
  const done = new Promise<void>((resolve) => {
    input
      .pipe(
        coalesceWhileBusy(
          (pending, next) => {
            pending.push(...next);
            return pending;
          },
          // One failed task is reported and the next one runs: an error must not end analytics for good.
          // Until the interval is over the task counts as running, so coalesceWhileBusy gathers what commits.
          async (chunks) => {
            const started = now();
            await score(chunks).catch((err: unknown) => fail('GW_ERR_ANALYTICS_TASK', err));
            const left = started + minInterval - now();
            if (left > 0 && !draining) await pause(left);
          },
        ),
      )
      .subscribe({ complete: () => resolve(), error: () => resolve() });
  });

  let draining = false;
  return {
    committed(settled) {
      if (draining) return;
      const stored = settled.error === undefined ? (settled.result?.inserted ?? 0) : 0;
      if (stored === 0) return;
      if (queued + settled.readings > maxQueued) {
        observer.dropped(stored);
        return;
      }
      const outcome = committedReadings(settled, slots, { task: sent + 1, finished, ackedAt: now() });
      if (outcome === undefined) return;
      if (outcome.skipped > 0) observer.skipped(outcome.skipped);
      if (outcome.unslotted > 0) observer.dropped(outcome.unslotted);
      if (slots.evicted > evicted) {
        observer.evicted(slots.evicted - evicted);
        evicted = slots.evicted;
      }
      const rows = outcome.chunk.ts.length;
      if (rows === 0) return;
      queued += rows;
      input.next([outcome.chunk]);
    },
    drain() {
      if (!draining) {
        draining = true;
        input.complete();
      }
      return done;
    },
  };
}

/** The chunks as one task's columns, and the ack time of each row. */
function concat(chunks: readonly ReadingChunk[]): {
  columns: Pick<ScoreTask, 'slot' | 'ts' | 'value'>;
  ackedAt: (row: number) => number;
} {
  let n = 0;
  for (const c of chunks) n += c.ts.length;
  const columns = { slot: new Uint32Array(n), ts: new Float64Array(n), value: new Float64Array(n) };
  const starts: number[] = [];
  let at = 0;
  for (const c of chunks) {
    starts.push(at);
    columns.slot.set(c.slot, at);
    columns.ts.set(c.ts, at);
    columns.value.set(c.value, at);
    at += c.ts.length;
  }
  const ackedAt = (row: number): number => {
    // The last chunk starting at or before the row.
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= row) lo = mid;
      else hi = mid - 1;
    }
    return chunks[lo]!.ackedAt;
  };
  return { columns, ackedAt };
}

function toRecords(result: ScoreResult, slots: SeriesSlots): AnomalyRecord[] {
  const a = result.alerts;
  const out: AnomalyRecord[] = [];
  for (let i = 0; i < a.slot.length; i++) {
    const s = a.slot[i]!;
    out.push({
      deviceId: slots.deviceName(s),
      metric: slots.metricName(s),
      ts: a.ts[i]!,
      value: a.value[i]!,
      score: a.score[i]!,
      expectedLow: a.low[i]!,
      expectedHigh: a.high[i]!,
      state: a.transition[i] === CLEARED ? 'cleared' : 'raised',
    });
  }
  return out;
}

function toMessage(r: AnomalyRecord): AlertMessage {
  return {
    state: r.state,
    device: r.deviceId,
    metric: r.metric,
    ts: r.ts,
    value: r.value,
    score: r.score,
    expected: [r.expectedLow, r.expectedHigh],
  };
}
