import type { Logger } from 'pino';
import type { DeviceRegistry } from '../devices/device-registry.js';
import type { StorageWriter } from '../storage/port.js';
import type { QueryService } from '../storage/query-port.js';
import type { GatewayConfig } from './config.js';
import type { BoundAddress } from './listen.js';
import type { GatewayMetrics } from './metrics.js';
import { createAlertRelay } from './steps/alert-relay.js';
import { analyticsStep } from './steps/analytics.js';
import { brokerStep } from './steps/broker.js';
import { consumerStep } from './steps/consumer.js';
import { forwardStep } from './steps/forward.js';
import { httpStep } from './steps/http.js';
import { instrumentsStep } from './steps/instruments.js';
import { createLifecycle } from './steps/lifecycle.js';
import { listenersStep } from './steps/listeners.js';
import { pipelineStep } from './steps/pipeline.js';
import { queriesStep } from './steps/queries.js';
import { retentionStep } from './steps/retention.js';
import { securityStep } from './steps/security.js';
import { statsStep } from './steps/stats.js';
import { storageStep } from './steps/storage.js';

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

/**
 * Start-up is the list below, in order; close() runs it in reverse, phase by
 * phase (steps/lifecycle.ts). A step that fails leaves the started ones
 * stopped the same way.
 */
export async function startGateway(deps: GatewayDeps): Promise<RunningGateway> {
  const { config, logger, writer } = deps;
  const lifecycle = createLifecycle();
  const alerts = createAlertRelay();
  try {
    const { policy } = await lifecycle.start(storageStep({ config }));
    const { eventLoop, ackLatency, metrics } = await lifecycle.start(instrumentsStep());
    const { analytics } = await lifecycle.start(
      analyticsStep({ config, logger, writer, metrics, publishAlert: alerts.publish }),
    );
    await lifecycle.start(retentionStep({ writer, policy, logger }));
    const { query } = await lifecycle.start(queriesStep({ config, metrics }));
    const { pipeline } = await lifecycle.start(pipelineStep({ config, logger, writer, metrics, analytics }));
    const { security } = await lifecycle.start(
      securityStep({ config, registry: deps.registry, logger, metrics }),
    );
    const { broker, handle } = await lifecycle.start(
      brokerStep({ config, logger, metrics, ackLatency, pipeline, security, isDraining: lifecycle.stopping }),
    );
    alerts.attach(broker);
    const connectedClients = () => broker.connectedClients;
    const listeners = await lifecycle.start(listenersStep({ config, handle, metrics }));
    const { forwardState } = await lifecycle.start(forwardStep({ config, writer, metrics, logger }));
    const http = await lifecycle.start(
      httpStep({
        config,
        writer,
        metrics,
        eventLoop,
        connectedClients,
        ready: lifecycle.ready,
        query,
        security,
        forwardState,
      }),
    );
    await lifecycle.start(consumerStep({ config, logger, pipeline }));
    await lifecycle.start(
      statsStep({
        config,
        logger,
        metrics,
        writer,
        eventLoop,
        ackLatency,
        connectedClients,
        pendingReadings: () => pipeline.pendingReadings,
      }),
    );
    lifecycle.open();
    return { ...listeners, ...http, metrics, query, close: () => lifecycle.stop() };
  } catch (err) {
    await lifecycle.stop();
    throw err;
  }
}
