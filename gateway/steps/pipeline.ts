import type { Logger } from 'pino';
import type { RunningAnalytics } from '../../pipelines/analytics/start-analytics.js';
import { createIngestPipeline, type IngestPipeline } from '../../pipelines/ingest-pipeline.js';
import type { StorageWriter } from '../../storage/port.js';
import type { GatewayConfig } from '../config.js';
import type { GatewayMetrics } from '../metrics.js';
import { createStorageAlarm } from '../storage-alarm.js';
import type { Started } from './lifecycle.js';

export interface PipelineStepDeps {
  config: Pick<
    GatewayConfig,
    | 'batchMaxReadings'
    | 'batchMaxDelayMs'
    | 'writeMaxInFlight'
    | 'queueHighWater'
    | 'deadLetterPayloadBytes'
    | 'maxPayloadBytes'
    | 'maxReadingsPerMessage'
    | 'maxFutureMs'
    | 'maxPastMs'
  >;
  logger: Logger;
  writer: Pick<StorageWriter, 'write'>;
  metrics: Pick<GatewayMetrics, 'observer' | 'probe'>;
  analytics: RunningAnalytics | undefined;
}

/** decode → validate → batch → group commit, for the broker and the consumer alike. */
export function pipelineStep(deps: PipelineStepDeps): Started<{ pipeline: IngestPipeline }> {
  const { config, metrics, analytics, writer } = deps;
  const alarm = createStorageAlarm(deps.logger);
  const pipeline = createIngestPipeline({
    write: (batch) => writer.write(batch),
    limits: config,
    batchMaxReadings: config.batchMaxReadings,
    batchMaxDelayMs: config.batchMaxDelayMs,
    writeMaxInFlight: config.writeMaxInFlight,
    highWaterReadings: config.queueHighWater,
    deadLetterPayloadBytes: config.deadLetterPayloadBytes,
    observer: {
      parsed: (p) => metrics.observer.parsed(p),
      settled: (s) => {
        metrics.observer.settled(s);
        alarm.settled(s);
        // Tapped after commit: see pipelines/analytics/committed-readings.ts.
        analytics?.committed(s);
      },
    },
  });
  metrics.probe({
    pendingReadings: () => pipeline.pendingReadings,
    parkedMessages: () => pipeline.parkedMessages,
  });
  // Commits everything admitted; the acks go out as each batch settles.
  return { provides: { pipeline }, stop: { drain: () => pipeline.drain() } };
}
