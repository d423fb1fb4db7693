import type { Logger } from 'pino';
import type { StorageWriter } from '../../storage/port.js';
import type { AckLatency } from '../ack-latency.js';
import type { GatewayConfig } from '../config.js';
import type { EventLoopMonitor } from '../event-loop-monitor.js';
import type { GatewayMetrics } from '../metrics.js';
import { createStatsReporter } from '../stats-reporter.js';
import type { Started } from './lifecycle.js';

/** The periodic stats line; it keeps reporting through the drain and stops with the last servers. */
export function statsStep(deps: {
  config: Pick<GatewayConfig, 'statsIntervalMs'>;
  logger: Logger;
  metrics: Pick<GatewayMetrics, 'totals' | 'writerLoad'>;
  writer: Pick<StorageWriter, 'takeLoad'>;
  eventLoop: EventLoopMonitor;
  ackLatency: AckLatency;
  connectedClients: () => number;
  pendingReadings: () => number;
}): Started<Record<string, never>> {
  const stats = createStatsReporter({
    logger: deps.logger,
    intervalMs: deps.config.statsIntervalMs,
    totals: deps.metrics.totals,
    eventLoop: deps.eventLoop,
    ackLatency: deps.ackLatency,
    // One window's load feeds both the stats line and /metrics.
    writerLoad: () => {
      const load = deps.writer.takeLoad();
      deps.metrics.writerLoad(load);
      return load;
    },
    connectedClients: deps.connectedClients,
    pendingReadings: deps.pendingReadings,
  });
  return { provides: {}, stop: { close: () => stats.stop() } };
}
