// createHttpServer with stand-ins for everything the gateway normally passes.
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createHttpGuard } from '../../gateway/auth/http-guard.js';
import { createHttpServer } from '../../gateway/http-server.js';
import type { IngestTotals } from '../../gateway/metrics.js';
import type { QueryService } from '../../storage/query-port.js';

export function zeroTotals(): IngestTotals {
  return {
    messages: 0,
    acked: 0,
    readingsStored: 0,
    duplicates: 0,
    rejected: 0,
    deadLetters: 0,
    writeFailures: 0,
    batches: 0,
  };
}

export function httpServerWith(opts: {
  query?: QueryService;
  /** a function is called on every read, so a test can make the totals move */
  totals?: IngestTotals | (() => IngestTotals);
  connectedClients?: () => number;
  /** /api answers 401 without `Authorization: Bearer <apiToken>` */
  apiToken?: string;
  /** the server's clock for `from`/`to` (default Date.now) */
  now?: () => number;
}): FastifyInstance {
  const fixed = zeroTotals();
  const totals =
    typeof opts.totals === 'function'
      ? opts.totals
      : () => (opts.totals as IngestTotals | undefined) ?? fixed;
  return createHttpServer({
    registry: new Registry(),
    storage: () => ({ state: 'ok', pendingBatches: 0 }),
    eventLoop: () => ({ p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0 }),
    connectedClients: opts.connectedClients ?? (() => 0),
    ready: () => true,
    totals,
    query: opts.query,
    ...(opts.now === undefined ? {} : { now: opts.now }),
    ...(opts.apiToken === undefined
      ? {}
      : { guard: createHttpGuard({ role: 'all', apiTokenRequired: true, apiToken: opts.apiToken }) }),
  });
}
