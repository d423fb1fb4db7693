// Wires the analytics: committed readings → minute windows (main thread,
// appends only) → worker pool (statistics, sketches, detection) → the writer
// (rollups and anomalies, merged in the same writer thread as readings) and
// alerts/{deviceId} on the broker.

import { asyncScheduler, concatMap, type SchedulerLike, Subject } from 'rxjs';
import { emptyWriteBatch } from '../../storage/empty-batch.js';
import type { StorageWriter } from '../../storage/port.js';
import type { AnomalyRecord } from '../../storage/query-port.js';
import { DETECTOR_DEFAULTS, type DetectorOptions } from '../analytics-workers/anomaly-detector.js';
import type { WindowResult, WindowTask } from '../analytics-workers/window-compute.js';
import type { SettledBatch } from '../commit-batches.js';
import { committedReadings, createNewestTs, type ReadingChunk } from './committed-readings.js';
import { minuteWindows, type WindowBatch } from './minute-windows.js';
import { SeriesRegistry } from './series-registry.js';

export interface AlertMessage {
  device: string;
  metric: string;
  ts: number;
  value: number;
  score: number;
  expected: [number, number];
}

export interface AnalyticsObserver {
  tooLate(count: number): void;
  skipped(count: number): void;
  anomalies(count: number): void;
  failed(err: unknown): void;
}

export interface AnalyticsOptions {
  writer: Pick<StorageWriter, 'write'>;
  /** runs one task in the pool (analytics-pool.ts) or, in tests, in-process */
  runTask: (task: WindowTask) => Promise<WindowResult>;
  /** may return a promise: drain() waits for it, so alerts go out before the broker closes */
  publishAlert: (alert: AlertMessage) => void | Promise<void>;
  observer: AnalyticsObserver;
  latenessMs: number;
  emitDelayMs?: number;
  tickMs?: number;
  detector?: Partial<DetectorOptions>;
  scheduler?: SchedulerLike;
}

export interface Analytics {
  /** The tap: call with every settled batch, after its messages were settled. */
  committed(settled: SettledBatch): void;
  /** Closes every open minute, writes the last rollups and resolves when done. */
  drain(): Promise<void>;
}

export const DEFAULT_EMIT_DELAY_MS = 5_000;
/** ~6 ms of writer time (measured ~25 µs per row for both tiers) */
export const ROLLUP_ROWS_PER_WRITE = 256;
export const DEFAULT_TICK_MS = 1_000;

export function createAnalytics(options: AnalyticsOptions): Analytics {
  const registry = new SeriesRegistry();
  const newest = createNewestTs();
  const detectorOptions: DetectorOptions = { ...DETECTOR_DEFAULTS, ...options.detector };
  const scheduler = options.scheduler ?? asyncScheduler;
  const input = new Subject<ReadingChunk>();
  // Owned by whichever side holds it: windows are processed one at a time
  // (concatMap), so the detector state is moved to the worker and back.
  let detector: Float64Array = new Float64Array(0);
  const failed = (err: unknown): void => {
    options.observer.failed(err);
  };

  const process = async (batch: WindowBatch): Promise<void> => {
    const detect = batch.kind === 'close';
    const task: WindowTask = {
      detect,
      series: batch.series,
      ts: batch.ts,
      value: batch.value,
      detector: detect ? detector : new Float64Array(0),
      detectorOptions,
    };
    let result: WindowResult;
    try {
      result = await options.runTask(task);
    } catch (err) {
      // The detector went with the task; start it over rather than stop analysing.
      if (detect) detector = new Float64Array(0);
      failed(err);
      return;
    }
    if (detect) detector = result.detector;
    const anomalies = toAnomalies(result, registry);
    if (anomalies.length > 0) {
      try {
        await options.writer.write({ ...emptyWriteBatch(), anomalies });
      } catch (err) {
        failed(err);
        return;
      }
    }
    if (anomalies.length > 0) options.observer.anomalies(anomalies.length);
    const published: Array<void | Promise<void>> = [];
    for (const a of anomalies) {
      published.push(
        options.publishAlert({
          device: a.deviceId,
          metric: a.metric,
          ts: a.ts,
          value: a.value,
          score: a.score,
          expected: [a.expectedLow, a.expectedHigh],
        }),
      );
    }
    await Promise.all(published);
  };

  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  input
    .pipe(
      minuteWindows({
        latenessMs: options.latenessMs,
        emitDelayMs: options.emitDelayMs ?? DEFAULT_EMIT_DELAY_MS,
        tickMs: options.tickMs ?? DEFAULT_TICK_MS,
        scheduler,
        tooLate: (n) => options.observer.tooLate(n),
      }),
      // One failed minute (a full disk, a worker error) is reported and the
      // next minute is analysed: an error must not end analytics for good.
      concatMap((batch) => process(batch).catch((err: unknown) => failed(err))),
    )
    .subscribe({
      complete: () => resolveDone(),
      // Still settles drain(), so shutdown never waits on a dead stream.
      error: (err) => {
        failed(err);
        resolveDone();
      },
    });

  let draining = false;
  let drained: Promise<void> | undefined;
  return {
    committed(settled) {
      if (draining) return;
      const outcome = committedReadings(settled, registry, newest);
      if (outcome === undefined) return;
      if (outcome.skipped > 0) options.observer.skipped(outcome.skipped);
      if (outcome.chunk.ts.length > 0) input.next(outcome.chunk);
    },
    drain() {
      if (drained === undefined) {
        draining = true;
        input.complete();
        drained = done;
      }
      return drained;
    },
  };
}

function toAnomalies(result: WindowResult, registry: SeriesRegistry): AnomalyRecord[] {
  const a = result.anomalies;
  const out: AnomalyRecord[] = [];
  for (let i = 0; i < a.series.length; i++) {
    const s = a.series[i]!;
    out.push({
      deviceId: registry.deviceName(s),
      metric: registry.metricName(s),
      ts: a.ts[i]!,
      value: a.value[i]!,
      score: a.score[i]!,
      expectedLow: a.low[i]!,
      expectedHigh: a.high[i]!,
    });
  }
  return out;
}
