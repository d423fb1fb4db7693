import { Aedes } from 'aedes';
import type { Logger } from 'pino';
import type { ErrorCode } from '../../core/errors.js';
import { createDeviceNumbers } from '../../pipelines/device-numbers.js';
import type { IngestPipeline } from '../../pipelines/ingest-pipeline.js';
import type { AckLatency } from '../ack-latency.js';
import { createGatewayAdapters } from '../adapters-setup.js';
import type { GatewaySecurity } from '../auth/security.js';
import type { GatewayConfig } from '../config.js';
import { createConnectionMemos } from '../connection-memo.js';
import { createConnectionGuard } from '../limits/connection-guard.js';
import { createPublishThrottle } from '../limits/publish-throttle.js';
import { createSlowSubscriberGuard } from '../limits/slow-subscriber-guard.js';
import { limitSubscriptions } from '../limits/subscription-limit.js';
import type { HandleConnection } from '../listeners/mqtt-listener.js';
import type { GatewayMetrics } from '../metrics.js';
import { createPublishAuthorizer } from '../publish-authorizer.js';
import { createPublishLane, type PublishLane } from '../publish-lane.js';
import { createResendMemory } from '../resend-memory.js';
import { skipUnroutedTelemetry } from '../telemetry-routing.js';
import type { Started } from './lifecycle.js';

export interface BrokerStepDeps {
  config: Pick<
    GatewayConfig,
    | 'maxPacketBytes'
    | 'maxPayloadBytes'
    | 'deviceRate'
    | 'deviceBurst'
    | 'connectionRate'
    | 'connectionBurst'
    | 'tcpKeepaliveS'
    | 'maxConnections'
    | 'maxSubscriptionsPerClient'
    | 'drainTimeoutMs'
    | 'connectTimeoutMs'
    | 'keepaliveLimitS'
    | 'maxInflightQos2'
    | 'adapters'
    | 'adapterTimeZone'
    | 'influxPrecision'
  >;
  logger: Logger;
  metrics: Pick<GatewayMetrics, 'limitHit' | 'ackHeld' | 'rateLimitHeld' | 'probe'>;
  ackLatency: AckLatency;
  pipeline: IngestPipeline;
  security: GatewaySecurity;
  /** shutdown has begun: publishes are refused from then on */
  isDraining: () => boolean;
}

export interface Broker {
  broker: Aedes;
  /** every MQTT listener hands its connections here: the connection guard, then aedes */
  handle: HandleConnection;
}

/** The embedded aedes broker, its hooks and protective limits; it holds each ack until the commit. */
export async function brokerStep(deps: BrokerStepDeps): Promise<Started<Broker>> {
  const { config, logger, metrics, security } = deps;
  const limitHit = (code: ErrorCode, err?: Error) => {
    metrics.limitHit(code);
    if (err !== undefined) logger.debug({ code, err: err.message }, 'limit');
  };
  if (config.maxPacketBytes < config.maxPayloadBytes + 1024)
    logger.warn(
      { maxPacketBytes: config.maxPacketBytes, maxPayloadBytes: config.maxPayloadBytes },
      'max-packet-bytes leaves no room for the largest payload: big messages will close connections',
    );
  const adapters = createGatewayAdapters(config);
  // Made once the broker exists; the publish hook needs it only once clients publish.
  let lane: PublishLane | undefined;
  // One memo per connection, for the lane and the hook alike.
  const memos = createConnectionMemos();
  const broker = await Aedes.createBroker({
    ...security.brokerHooks({
      publish: createPublishAuthorizer({
        pipeline: deps.pipeline,
        isDraining: deps.isDraining,
        adapters: adapters.registry,
        memos,
        deviceNumbers: createDeviceNumbers(),
        throttle: createPublishThrottle({
          device: { ratePerSecond: config.deviceRate, burst: config.deviceBurst },
          connection: { ratePerSecond: config.connectionRate, burst: config.connectionBurst },
          onHeld: (scope) => metrics.rateLimitHeld(scope),
        }),
        allowedMetrics: (client) => security.allowedMetrics(client),
        acked: (ms) => {
          deps.ackLatency.record(ms);
          metrics.ackHeld(ms);
        },
        // A client's in-flight window is far below 64; twice the connection cap
        // keeps devices that reconnect through a storm.
        resends: createResendMemory({ perClient: 64, maxClients: 2 * config.maxConnections }),
        beforeAedesAck: (client) => lane?.flushAcks(client),
      }),
      subscribe: limitSubscriptions({ maxPerClient: config.maxSubscriptionsPerClient, onLimit: limitHit }),
    }),
    authorizeForward: createSlowSubscriberGuard({ drainTimeoutMs: config.drainTimeoutMs, onLimit: limitHit }),
    connectTimeout: config.connectTimeoutMs,
    keepaliveLimit: config.keepaliveLimitS,
    drainTimeout: config.drainTimeoutMs,
    maxInflightInbound: config.maxInflightQos2,
  });
  adapters.attach(broker);
  // Before any client connects: every subscription must be counted.
  skipUnroutedTelemetry(broker);
  const publishLane = createPublishLane(broker, { memos });
  lane = publishLane;
  let laneWarned = false;
  broker.on('clientError', (client, err) => {
    logger.debug({ clientId: client.id, err: err.message }, 'client error');
    // aedes' own drain timeout (lib/client.js) ends a subscriber that stopped reading
    if (err.message === 'drain timeout') limitHit('GW_ERR_SUBSCRIBER_STALLED');
  });
  metrics.probe({ connectedClients: () => broker.connectedClients });
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
    connectionGuard.accept(stream, (conn, size) => {
      const client = broker.handle(conn, req);
      if (!publishLane.attach(client, size) && !laneWarned) {
        laneWarned = true;
        logger.warn(
          "aedes' Client is not the one the publish lane knows (aedes 1.2.0): publishes take aedes' own path",
        );
      }
      return client;
    });
  };
  return {
    provides: { broker, handle },
    // After the drain and the analytics' last alerts: the acks have gone out.
    stop: { disconnect: () => new Promise<void>((resolve) => broker.close(() => resolve())) },
  };
}
