// The analytics as the gateway runs them: the pool, the scoring and the
// alert publisher together, behind three calls.
import type { Logger } from 'pino';
import type { StorageWriter } from '../../storage/port.js';
import type { SettledBatch } from '../commit-batches.js';
import { type AlertMessage, type AnalyticsObserver, createAnalytics } from './analytics.js';
import { createAnalyticsPool } from './analytics-pool.js';

export interface RunningAnalytics {
  committed(settled: SettledBatch): void;
  /** utilisation of the worker pool, 0..1 */
  utilization(): number;
  /** Scores what has committed, stores and publishes its alerts, stops the pool. Before the writer closes. */
  close(): Promise<void>;
}

/**
 * At most 20 tasks a second, whatever the commit rate: it adds at most 50 ms
 * to an alert, against the 2 s the anomalies bench holds alerts to.
 */
export const ANALYTICS_TASK_INTERVAL_MS = 50;

export function startAnalytics(deps: {
  writer: Pick<StorageWriter, 'write'>;
  logger: Logger;
  threads: number;
  /** consecutive normal readings that clear a raised alert */
  clearAfter: number;
  /** series whose detector state is kept in memory */
  maxSeries: number;
  observer: Omit<AnalyticsObserver, 'failed'>;
  publishAlert: (topic: string, alert: AlertMessage) => void | Promise<void>;
}): RunningAnalytics {
  const pool = createAnalyticsPool({ threads: deps.threads });
  let failures = 0;
  const analytics = createAnalytics({
    writer: deps.writer,
    runTask: (task) => pool.run(task),
    detector: { clearAfter: deps.clearAfter },
    maxSeries: deps.maxSeries,
    minTaskIntervalMs: ANALYTICS_TASK_INTERVAL_MS,
    publishAlert: (alert) => deps.publishAlert(`alerts/${alert.device}`, alert),
    observer: {
      ...deps.observer,
      failed(err) {
        // A storage failure is already logged by the ingest side; say it once here.
        if (failures++ === 0) deps.logger.warn({ err, code: err.code }, `analytics: ${err.message}`);
      },
    },
  });
  return {
    committed: (settled) => analytics.committed(settled),
    utilization: () => pool.utilization,
    async close() {
      await analytics.drain();
      await pool.close();
    },
  };
}
