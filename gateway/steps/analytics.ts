import type { Logger } from 'pino';
import type { AlertMessage } from '../../pipelines/analytics/analytics.js';
import { type RunningAnalytics, startAnalytics } from '../../pipelines/analytics/start-analytics.js';
import type { StorageWriter } from '../../storage/port.js';
import type { GatewayConfig } from '../config.js';
import type { GatewayMetrics } from '../metrics.js';
import type { Started } from './lifecycle.js';

export interface AnalyticsStepDeps {
  config: Pick<GatewayConfig, 'analytics' | 'analyticsThreads' | 'alertClearAfter' | 'maxSeriesInMemory'>;
  logger: Logger;
  writer: Pick<StorageWriter, 'write'>;
  metrics: Pick<GatewayMetrics, 'analytics' | 'probePool'>;
  publishAlert: (topic: string, alert: AlertMessage) => Promise<void>;
}

/** Anomaly detection and alerts over committed readings, with --analytics on; undefined with it off. */
export function analyticsStep(deps: AnalyticsStepDeps): Started<{ analytics: RunningAnalytics | undefined }> {
  const { config, metrics } = deps;
  const analytics =
    config.analytics === 'on'
      ? startAnalytics({
          writer: deps.writer,
          logger: deps.logger,
          threads: config.analyticsThreads,
          clearAfter: config.alertClearAfter,
          maxSeries: config.maxSeriesInMemory,
          observer: metrics.analytics,
          publishAlert: deps.publishAlert,
        })
      : undefined;
  metrics.probePool('analytics', () => analytics?.utilization() ?? 0);
  return {
    provides: { analytics },
    // Every committed reading has reached the analytics once the pipeline has
    // drained; they score it and store and publish its alerts while the writer
    // and the broker are open.
    ...(analytics === undefined ? {} : { stop: { drain: () => analytics.close() } }),
  };
}
