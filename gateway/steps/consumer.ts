import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { IngestPipeline } from '../../pipelines/ingest-pipeline.js';
import type { GatewayConfig } from '../config.js';
import { startConsumer } from '../consumer/start-consumer.js';
import type { Started } from './lifecycle.js';

export interface ConsumerStepDeps {
  config: Pick<
    GatewayConfig,
    'ingest' | 'shareGroup' | 'ingestClientId' | 'ingestSessions' | 'ingestUsername' | 'ingestPassword'
  >;
  logger: Logger;
  pipeline: IngestPipeline;
}

/** Consumer mode (gateway/consumer/, docs/scale-out.md): the same pipeline, fed by an external broker. */
export async function consumerStep(deps: ConsumerStepDeps): Promise<Started<Record<string, never>>> {
  const { config, logger, pipeline } = deps;
  if (config.ingest === '') return { provides: {} };
  const consumer = await startConsumer({
    url: config.ingest,
    shareGroup: config.shareGroup,
    clientId: config.ingestClientId === '' ? `sensor-gateway-${hostname()}` : config.ingestClientId,
    sessions: config.ingestSessions,
    ...(config.ingestUsername === '' ? {} : { username: config.ingestUsername }),
    ...(config.ingestPassword === '' ? {} : { password: config.ingestPassword }),
    pipeline,
    logger,
  });
  logger.info({ shareGroup: config.shareGroup, clientIds: consumer.clientIds }, 'ingest: subscribed');
  return {
    provides: {},
    stop: {
      refuse: () => consumer.quiesce(),
      // The acks of everything admitted go out before DISCONNECT, so the
      // sessions close once the pipeline has drained (the same drain the
      // pipeline step awaits next), and before the analytics flush.
      drain: async () => {
        await pipeline.drain();
        await consumer.close();
      },
    },
  };
}
