import { type AckLatency, createAckLatency } from '../ack-latency.js';
import { startStallSampler } from '../cpu-wait.js';
import { createEventLoopMonitor, type EventLoopMonitor } from '../event-loop-monitor.js';
import { createMetrics, type GatewayMetrics } from '../metrics.js';
import type { Started } from './lifecycle.js';

export interface Instruments {
  eventLoop: EventLoopMonitor;
  ackLatency: AckLatency;
  metrics: GatewayMetrics;
}

/** What every later step reports to: the event-loop monitor, ack latency and the Prometheus metrics. */
export function instrumentsStep(): Started<Instruments> {
  const eventLoop = createEventLoopMonitor(10, startStallSampler());
  const ackLatency = createAckLatency();
  const metrics = createMetrics();
  metrics.probe({ eventLoop });
  return {
    provides: { eventLoop, ackLatency, metrics },
    stop: { close: () => eventLoop.stop() },
  };
}
