import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { wrapError } from '../core/errors.js';
import type { StorageHealth } from '../storage/port.js';
import type { QueryService } from '../storage/query-port.js';
import type { OnRequestHook } from './auth/http-guard.js';
import type { EventLoopWindow } from './event-loop-monitor.js';
import type { ForwardState } from './forward/forward-state.js';
import { sendApiError, sendNotFound } from './http/api-errors.js';
import { createApiRoutes } from './http/api-routes.js';
import { dashboardRoutes } from './http/dashboard-routes.js';
import { prometheusRoutes } from './http/prometheus/prometheus-routes.js';
import type { BoundAddress } from './listen.js';
import type { IngestTotals } from './metrics.js';

export interface HttpDeps {
  registry: Registry;
  storage: () => StorageHealth;
  eventLoop: () => EventLoopWindow;
  connectedClients: () => number;
  /** false before the MQTT listener is up and while draining */
  ready: () => boolean;
  /** running totals for /api/stats and the dashboard */
  totals: () => IngestTotals;
  /** answers /api/devices, /api/series, …; without it those answer 503 GW_ERR_QUERY_UNAVAILABLE */
  query?: QueryService | undefined;
  /** the clock of `from`/`to` in queries; tests pin it */
  now?: () => number;
  /** runs first on every request: the /api bearer token and which routes this listener serves (gateway/auth/http-guard.ts) */
  guard?: OnRequestHook;
  /** with --forward: the backlog owed upstream, for /healthz and /api/stats */
  forward?: () => ForwardState | undefined;
}

export function createHttpServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  // Every error and unknown route in the API's shape; a plugin registered with
  // its own prefix (the Prometheus-compatible /api/v1) may set its own.
  app.setErrorHandler(sendApiError);
  app.setNotFoundHandler(sendNotFound);
  if (deps.guard !== undefined) app.addHook('onRequest', deps.guard);

  app.get('/healthz', async (_req, reply) => {
    const storage = deps.storage();
    const ok = storage.state === 'ok';
    // A backlog is not a failure (it is what store and forward is for): shown, not judged.
    const forward = deps.forward?.();
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'failing',
      storage,
      eventLoop: deps.eventLoop(),
      connectedClients: deps.connectedClients(),
      ...(forward === undefined ? {} : { forward }),
    });
  });

  app.get('/readyz', async (_req, reply) => {
    const ready = deps.ready() && deps.storage().state === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await deps.registry.metrics();
    return reply.type(deps.registry.contentType).send(body);
  });

  app.register(
    createApiRoutes({
      query: deps.query,
      ...(deps.now === undefined ? {} : { now: deps.now }),
      stats: () => {
        const forward = deps.forward?.();
        return {
          at: Date.now(),
          connectedClients: deps.connectedClients(),
          totals: deps.totals(),
          ...(forward === undefined ? {} : { forward }),
        };
      },
    }),
    { prefix: '/api' },
  );
  app.register(
    prometheusRoutes({ query: deps.query, ...(deps.now === undefined ? {} : { now: deps.now }) }),
    { prefix: '/api/v1' },
  );
  app.register(dashboardRoutes);

  return app;
}

export async function listenHttp(app: FastifyInstance, host: string, port: number): Promise<BoundAddress> {
  try {
    await app.listen({ host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw wrapError('GW_ERR_PORT_IN_USE', err, 'HTTP', port, host);
    throw wrapError('GW_ERR_LISTEN', err, 'HTTP', port, `${host} (${code ?? (err as Error).message})`);
  }
  const address = app.server.address();
  return typeof address === 'object' && address !== null
    ? { host: address.address, port: address.port }
    : { host, port };
}
