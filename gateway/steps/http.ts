import type { StorageWriter } from '../../storage/port.js';
import type { QueryService } from '../../storage/query-port.js';
import type { GatewaySecurity } from '../auth/security.js';
import type { GatewayConfig } from '../config.js';
import type { EventLoopMonitor } from '../event-loop-monitor.js';
import type { ForwardState } from '../forward/forward-state.js';
import { createHttpServer, type HttpDeps, listenHttp } from '../http-server.js';
import type { BoundAddress } from '../listen.js';
import type { GatewayMetrics } from '../metrics.js';
import type { Started } from './lifecycle.js';

export interface HttpStepDeps {
  config: Pick<GatewayConfig, 'host' | 'httpPort' | 'metricsHost' | 'metricsPort'>;
  writer: Pick<StorageWriter, 'health'>;
  metrics: Pick<GatewayMetrics, 'registry' | 'totals'>;
  eventLoop: EventLoopMonitor;
  connectedClients: () => number;
  /** what /readyz reports: the gateway serves and is not draining */
  ready: () => boolean;
  query: QueryService;
  security: Pick<GatewaySecurity, 'httpGuard'>;
  /** with --forward: the store-and-forward state (steps/forward.ts) */
  forwardState?: () => ForwardState | undefined;
}

/**
 * /healthz, /readyz, /metrics, the query API and the dashboard. It closes
 * after the drain, so /readyz answers "not ready" while the gateway drains.
 */
export async function httpStep(
  deps: HttpStepDeps,
): Promise<Started<{ http: BoundAddress; ops?: BoundAddress }>> {
  const { config, metrics, security } = deps;
  const common: HttpDeps = {
    registry: metrics.registry,
    storage: () => deps.writer.health(),
    eventLoop: () => deps.eventLoop.last(),
    connectedClients: deps.connectedClients,
    ready: deps.ready,
    totals: () => metrics.totals,
    ...(deps.forwardState === undefined ? {} : { forward: deps.forwardState }),
  };
  const http = createHttpServer({
    ...common,
    query: deps.query,
    guard: security.httpGuard(config.metricsHost === '' ? 'all' : 'public'),
  });
  // --metrics-host: /healthz, /readyz and /metrics on a listener of their own
  // (say, an internal interface), and no longer on the public one.
  const ops =
    config.metricsHost === '' ? undefined : createHttpServer({ ...common, guard: security.httpGuard('ops') });
  const close = async () => {
    await http.close();
    await ops?.close();
  };
  try {
    const httpAddress = await listenHttp(http, config.host, config.httpPort);
    const opsAddress =
      ops === undefined ? undefined : await listenHttp(ops, config.metricsHost, config.metricsPort);
    return {
      provides: { http: httpAddress, ...(opsAddress === undefined ? {} : { ops: opsAddress }) },
      stop: { close },
    };
  } catch (err) {
    await close();
    throw err;
  }
}
