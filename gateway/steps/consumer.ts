import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { GatewayError } from '../../core/errors.js';
import type { IngestPipeline } from '../../pipelines/ingest-pipeline.js';
import { instanceId } from '../../storage/open-storage.js';
import type { GatewayConfig } from '../config.js';
import { startAmqpConsumer } from '../consumer/amqp-consumer.js';
import { startConsumer } from '../consumer/start-consumer.js';
import type { Started } from './lifecycle.js';

export interface ConsumerStepDeps {
  config: Pick<
    GatewayConfig,
    | 'db'
    | 'ingest'
    | 'shareGroup'
    | 'ingestClientId'
    | 'ingestSessions'
    | 'ingestUsername'
    | 'ingestPassword'
    | 'ingestQueue'
    | 'ingestPrefetch'
  >;
  logger: Logger;
  pipeline: IngestPipeline;
}

interface Consumer {
  quiesce(): void;
  close(): Promise<void>;
}

/** Consumer mode (gateway/consumer/, docs/scale-out.md): the same pipeline, fed by an external broker. */
export async function consumerStep(deps: ConsumerStepDeps): Promise<Started<Record<string, never>>> {
  const { config, pipeline } = deps;
  if (config.ingest === '') return { provides: {} };
  const consumer = /^amqps?:/.test(config.ingest) ? await startAmqp(deps) : await startMqtt(deps);
  return {
    provides: {},
    stop: {
      refuse: () => consumer.quiesce(),
      // The acks of everything admitted go out before the connections close,
      // so they close once the pipeline has drained (the same drain the
      // pipeline step awaits next), and before the analytics flush.
      drain: async () => {
        await pipeline.drain();
        await consumer.close();
      },
    },
  };
}

async function startAmqp({ config, logger, pipeline }: ConsumerStepDeps): Promise<Consumer> {
  const consumer = await startAmqpConsumer({
    url: config.ingest,
    queue: config.ingestQueue,
    prefetch: config.ingestPrefetch,
    pipeline,
    logger,
  });
  logger.info({ queue: consumer.queue, prefetch: config.ingestPrefetch }, 'ingest: consuming');
  return consumer;
}

async function startMqtt({ config, logger, pipeline }: ConsumerStepDeps): Promise<Consumer> {
  const consumer = await startConsumer({
    url: config.ingest,
    shareGroup: config.shareGroup,
    clientId: config.ingestClientId === '' ? defaultClientId(config.db) : config.ingestClientId,
    sessions: config.ingestSessions,
    ...(config.ingestUsername === '' ? {} : { username: config.ingestUsername }),
    ...(config.ingestPassword === '' ? {} : { password: config.ingestPassword }),
    pipeline,
    logger,
  });
  logger.info({ shareGroup: config.shareGroup, clientIds: consumer.clientIds }, 'ingest: subscribed');
  return consumer;
}

/**
 * sensor-gateway-{host}-{id}, the id kept in the instance's own database: a
 * second gateway on the same host (its own database) gets its own sessions
 * instead of taking over the first one's, and a restart finds its own again.
 * On a shared PostgreSQL store nothing in the database tells instances apart,
 * so the ClientId must be given.
 */
function defaultClientId(db: string): string {
  const id = instanceId(db);
  if (id === null) {
    throw new GatewayError('GW_ERR_CONFIG_INVALID', [
      '--ingest mqtt://… with a PostgreSQL store needs --ingest-client-id, one per gateway instance',
    ]);
  }
  return `sensor-gateway-${hostname()}-${id}`;
}
