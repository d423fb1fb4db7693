import { createServer, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { Aedes } from 'aedes';
import type { Logger } from 'pino';
import type { ErrorCode } from '../core/errors.js';
import { GatewayError } from '../core/errors.js';
import { type DeviceRegistry, emptyDeviceRegistry } from '../devices/device-registry.js';
import { type RunningAnalytics, startAnalytics } from '../pipelines/analytics/start-analytics.js';
import type { SettledBatch } from '../pipelines/commit-batches.js';
import { createIngestPipeline } from '../pipelines/ingest-pipeline.js';
import { openQueryService } from '../storage/open-storage.js';
import type { StorageWriter } from '../storage/port.js';
import type { QueryService } from '../storage/query-port.js';
import { retentionPolicy } from '../storage/retention-policy.js';
import { createRetention } from '../storage/retention-scheduler.js';
import { createAckLatency } from './ack-latency.js';
import { createGatewaySecurity } from './auth/security.js';
import type { GatewayConfig } from './config.js';
import { type RunningConsumer, startConsumer } from './consumer/start-consumer.js';
import { createEventLoopMonitor } from './event-loop-monitor.js';
import { createHttpServer, listenHttp } from './http-server.js';
import { createConnectionGuard } from './limits/connection-guard.js';
import { createPublishThrottle } from './limits/publish-throttle.js';
import { createSlowSubscriberGuard } from './limits/slow-subscriber-guard.js';
import { limitSubscriptions } from './limits/subscription-limit.js';
import { type BoundAddress, listen } from './listen.js';
import type { HandleConnection, MqttListener } from './listeners/mqtt-listener.js';
import { startExtraListeners } from './listeners/start-listeners.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { createPublishAuthorizer } from './publish-authorizer.js';
import { createResendMemory } from './resend-memory.js';
import { createStatsReporter } from './stats-reporter.js';
import { createStorageAlarm } from './storage-alarm.js';

export interface GatewayDeps {
  config: GatewayConfig;
  logger: Logger;
  writer: StorageWriter;
  /** the device registry (devices/device-registry.ts); without one, no device can authenticate */
  registry?: DeviceRegistry;
}

export interface RunningGateway {
  mqtt: BoundAddress;
  http: BoundAddress;
  /** MQTT over TLS, when --tls-cert and --tls-key are given */
  tls?: BoundAddress;
  /** MQTT over WebSocket (path /mqtt), with --ws */
  ws?: BoundAddress;
  /** the separate /healthz, /readyz, /metrics listener, with --metrics-host */
  ops?: BoundAddress;
  metrics: GatewayMetrics;
  /** stored data and rollups, queried off the main thread (storage/sqlite/query/) */
  query: QueryService;
  /** Stops accepting, drains and settles everything admitted. Does not close the writer. */
  close(): Promise<void>;
}

export async function startGateway(deps: GatewayDeps): Promise<RunningGateway> {
  const { config, logger, writer } = deps;
  const policy = retentionPolicy(config);
  // A reading accepted as late as --max-past-ms must outlive its own ack.
  if (policy.raw !== null && policy.raw <= config.maxPastMs) {
    throw new GatewayError('GW_ERR_CONFIG_INVALID', [
      `retentionRaw (${config.retentionRaw}) must be longer than maxPastMs (${config.maxPastMs} ms), or readings accepted that late would be deleted right after their ack`,
    ]);
  }
  const retention = createRetention({
    writer,
    policy,
    onError: (err) => logger.warn({ err }, 'retention step failed'),
  });
  const eventLoop = createEventLoopMonitor();
  const ackLatency = createAckLatency();
  let draining = false;
  let listening = false;
  let broker: Aedes | undefined;

  const metrics = createMetrics(() => ({
    eventLoop,
    connectedClients: () => broker?.connectedClients ?? 0,
    pendingReadings: () => pipeline.pendingReadings,
    parkedMessages: () => pipeline.parkedMessages,
    workerPools: () => ({ analytics: analytics?.utilization() ?? 0, query: query.utilization }),
  }));
  // Tapped after commit: see pipelines/analytics/committed-readings.ts.
  const analytics: RunningAnalytics | undefined =
    config.analytics === 'on'
      ? startAnalytics({
          writer,
          logger,
          threads: config.analyticsThreads,
          clearAfter: config.alertClearAfter,
          maxSeries: config.maxSeriesInMemory,
          observer: metrics.analytics,
          publishAlert: (topic, alert) =>
            new Promise<void>((resolve) => {
              if (broker === undefined) return resolve();
              const payload = JSON.stringify(alert);
              const packet = { cmd: 'publish', topic, payload, qos: 0, dup: false, retain: false } as const;
              broker.publish(packet, () => resolve());
            }),
        })
      : undefined;
  // SQLite or PostgreSQL, as --db names it (storage/open-storage.ts).
  const query = openQueryService(config.db, {
    threads: config.queryThreads,
    cpuShare: config.queryCpuPercent / 100,
  });
  let consumer: RunningConsumer | undefined;
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
        analytics?.committed(s);
      },
    },
  });

  const limitHit = (code: ErrorCode, err?: Error) => {
    metrics.limitHit(code);
    if (err !== undefined) logger.debug({ code, err: err.message }, 'limit');
  };
  if (config.maxPacketBytes < config.maxPayloadBytes + 1024)
    logger.warn(
      { maxPacketBytes: config.maxPacketBytes, maxPayloadBytes: config.maxPayloadBytes },
      'max-packet-bytes leaves no room for the largest payload: big messages will close connections',
    );
  // Device identity and ACLs (gateway/auth/): CONNECT hooks, then the ACL in
  // front of the ingest authorizer and the subscription limit.
  const security = createGatewaySecurity({
    config,
    registry: deps.registry ?? emptyDeviceRegistry(),
    logger,
    onRefused: (code) => metrics.authRefused(code),
  });
  broker = await Aedes.createBroker({
    ...security.brokerHooks({
      publish: createPublishAuthorizer({
        pipeline,
        isDraining: () => draining,
        throttle: createPublishThrottle({
          device: { ratePerSecond: config.deviceRate, burst: config.deviceBurst },
          connection: { ratePerSecond: config.connectionRate, burst: config.connectionBurst },
          onHeld: (scope) => metrics.rateLimitHeld(scope),
        }),
        allowedMetrics: (client) => security.allowedMetrics(client),
        acked: (ms) => {
          ackLatency.record(ms);
          metrics.ackHeld(ms);
        },
        // A client's in-flight window is far below 64; twice the connection cap
        // keeps devices that reconnect through a storm.
        resends: createResendMemory({ perClient: 64, maxClients: 2 * config.maxConnections }),
      }),
      subscribe: limitSubscriptions({ maxPerClient: config.maxSubscriptionsPerClient, onLimit: limitHit }),
    }),
    authorizeForward: createSlowSubscriberGuard({ drainTimeoutMs: config.drainTimeoutMs, onLimit: limitHit }),
    connectTimeout: config.connectTimeoutMs,
    keepaliveLimit: config.keepaliveLimitS,
    drainTimeout: config.drainTimeoutMs,
    maxInflightInbound: config.maxInflightQos2,
  });
  broker.on('clientError', (client, err) => {
    logger.debug({ clientId: client.id, err: err.message }, 'client error');
    // aedes' own drain timeout (lib/client.js) ends a subscriber that stopped reading
    if (err.message === 'drain timeout') limitHit('GW_ERR_SUBSCRIBER_STALLED');
  });

  // aedes only closes clients that finished CONNECT; shutdown must also end
  // sockets still in the handshake.
  const sockets = new Set<Socket>();
  // Every MQTT listener (TCP, TLS, WebSocket) admits through this one guard:
  // the connection cap is over all of them, and each stream gets the packet-size check.
  const connectionGuard = createConnectionGuard({
    maxConnections: config.maxConnections,
    maxPacketBytes: config.maxPacketBytes,
    tcpKeepaliveMs: config.tcpKeepaliveS * 1000,
    onRefused: limitHit,
    logger,
  });
  const handle: HandleConnection = (stream, req) => {
    connectionGuard.accept(stream, (conn) => broker!.handle(conn, req));
  };
  const mqttServer = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    handle(socket);
  });
  let extraListeners: MqttListener[] = [];

  const http = createHttpServer({
    registry: metrics.registry,
    storage: () => writer.health(),
    eventLoop: () => eventLoop.last(),
    connectedClients: () => broker?.connectedClients ?? 0,
    ready: () => listening && !draining,
    totals: () => metrics.totals,
    query,
    guard: security.httpGuard(config.metricsHost === '' ? 'all' : 'public'),
  });
  // --metrics-host: /healthz, /readyz and /metrics on a listener of their own
  // (say, an internal interface), and no longer on the public one.
  const opsHttp =
    config.metricsHost === ''
      ? undefined
      : createHttpServer({
          registry: metrics.registry,
          storage: () => writer.health(),
          eventLoop: () => eventLoop.last(),
          connectedClients: () => broker?.connectedClients ?? 0,
          ready: () => listening && !draining,
          totals: () => metrics.totals,
          guard: security.httpGuard('ops'),
        });

  let mqttAddress: BoundAddress;
  let httpAddress: BoundAddress;
  let opsAddress: BoundAddress | undefined;
  try {
    mqttAddress = await listen(mqttServer, 'MQTT', config.host, config.mqttPort);
    extraListeners = await startExtraListeners(config, handle, {
      onRefused: (code) => metrics.authRefused(code),
    });
    httpAddress = await listenHttp(http, config.host, config.httpPort);
    if (opsHttp !== undefined) opsAddress = await listenHttp(opsHttp, config.metricsHost, config.metricsPort);
    // Consumer mode (gateway/consumer/, docs/scale-out.md): the same pipeline, fed by an external broker.
    if (config.ingest !== '') {
      consumer = await startConsumer({
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
    }
  } catch (err) {
    mqttServer.close();
    for (const l of extraListeners) l.destroyConnections();
    await Promise.all(extraListeners.map((l) => l.close()));
    await http.close();
    await opsHttp?.close();
    await new Promise<void>((resolve) => broker!.close(() => resolve()));
    await analytics?.close();
    await query.close();
    eventLoop.stop();
    throw err;
  }
  listening = true;
  security.start();
  retention.start();

  const stats = createStatsReporter({
    logger,
    intervalMs: config.statsIntervalMs,
    totals: metrics.totals,
    eventLoop,
    ackLatency,
    writerLoad: () => writer.takeLoad(),
    connectedClients: () => broker?.connectedClients ?? 0,
    pendingReadings: () => pipeline.pendingReadings,
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      const stopped = new Promise<void>((resolve) => mqttServer.close(() => resolve()));
      const extraStopped = Promise.all(extraListeners.map((l) => l.close()));
      security.stop();
      consumer?.quiesce();
      await pipeline.drain();
      await consumer?.close();
      // Every committed reading has reached the analytics; score it and store its alerts while the writer is open.
      await retention.stop();
      await analytics?.close();
      await new Promise<void>((resolve) => broker!.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      for (const l of extraListeners) l.destroyConnections();
      await stopped;
      await extraStopped;
      await http.close();
      await opsHttp?.close();
      await query.close();
      stats.stop();
      eventLoop.stop();
    })();
    return closing;
  };

  const listenerAddress = (name: string) => extraListeners.find((l) => l.name === name)?.address;
  const tls = listenerAddress('tls');
  const ws = listenerAddress('ws');
  return {
    mqtt: mqttAddress,
    http: httpAddress,
    ...(tls === undefined ? {} : { tls }),
    ...(ws === undefined ? {} : { ws }),
    ...(opsAddress === undefined ? {} : { ops: opsAddress }),
    metrics,
    query,
    close,
  };
}
