import { createServer, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from 'pino';
import type { SettledBatch } from '../pipelines/commit-batches.js';
import { createIngestPipeline } from '../pipelines/ingest-pipeline.js';
import type { StorageWriter } from '../storage/port.js';
import type { GatewayConfig } from './config.js';
import { createEventLoopMonitor } from './event-loop-monitor.js';
import { createHttpServer, listenHttp } from './http-server.js';
import { type BoundAddress, listen } from './listen.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { createPublishAuthorizer } from './publish-authorizer.js';
import { createStatsReporter } from './stats-reporter.js';
import { createStorageAlarm } from './storage-alarm.js';

export interface GatewayDeps {
  config: GatewayConfig;
  logger: Logger;
  writer: StorageWriter;
}

export interface RunningGateway {
  mqtt: BoundAddress;
  http: BoundAddress;
  metrics: GatewayMetrics;
  /** Stops accepting, drains and settles everything admitted. Does not close the writer. */
  close(): Promise<void>;
}

export async function startGateway(deps: GatewayDeps): Promise<RunningGateway> {
  const { config, logger, writer } = deps;
  const eventLoop = createEventLoopMonitor();
  let draining = false;
  let listening = false;
  let broker: Aedes | undefined;

  const metrics = createMetrics(() => ({
    eventLoop,
    connectedClients: () => broker?.connectedClients ?? 0,
    pendingReadings: () => pipeline.pendingReadings,
    parkedMessages: () => pipeline.parkedMessages,
  }));
  const alarm = createStorageAlarm(logger);
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
      settled: (s: SettledBatch) => {
        metrics.observer.settled(s);
        alarm.settled(s);
      },
    },
  });

  broker = await Aedes.createBroker({
    authorizePublish: createPublishAuthorizer({ pipeline, isDraining: () => draining }),
    connectTimeout: config.connectTimeoutMs,
  });
  broker.on('clientError', (client, err) => {
    logger.debug({ clientId: client.id, err: err.message }, 'client error');
  });

  // aedes only closes clients that finished CONNECT; shutdown must also end
  // sockets still in the handshake.
  const sockets = new Set<Socket>();
  const mqttServer = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker!.handle(socket);
  });

  const http = createHttpServer({
    registry: metrics.registry,
    storage: () => writer.health(),
    eventLoop: () => eventLoop.last(),
    connectedClients: () => broker?.connectedClients ?? 0,
    ready: () => listening && !draining,
  });

  let mqttAddress: BoundAddress;
  let httpAddress: BoundAddress;
  try {
    mqttAddress = await listen(mqttServer, 'MQTT', config.host, config.mqttPort);
    httpAddress = await listenHttp(http, config.host, config.httpPort);
  } catch (err) {
    mqttServer.close();
    await http.close();
    await new Promise<void>((resolve) => broker!.close(() => resolve()));
    eventLoop.stop();
    throw err;
  }
  listening = true;

  const stats = createStatsReporter({
    logger,
    intervalMs: config.statsIntervalMs,
    totals: metrics.totals,
    eventLoop,
    connectedClients: () => broker?.connectedClients ?? 0,
    pendingReadings: () => pipeline.pendingReadings,
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      const stopped = new Promise<void>((resolve) => mqttServer.close(() => resolve()));
      await pipeline.drain();
      await new Promise<void>((resolve) => broker!.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await stopped;
      await http.close();
      stats.stop();
      eventLoop.stop();
    })();
    return closing;
  };

  return { mqtt: mqttAddress, http: httpAddress, metrics, close };
}
