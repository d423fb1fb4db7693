// GET /api/*: the JSON query API over the query port, plus the small stats
// document the dashboard polls. Parameters go through the same parser as the
// CLI's flags (storage/query/params.ts), so both refuse the same input alike.

import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import { GatewayError } from '../../core/errors.js';
import {
  parseAnomalyParams,
  parseDeviceId,
  parseSeriesParams,
  QueryParamError,
  type RawParams,
} from '../../storage/query/params.js';
import { anomaliesResponse, latestResponse, seriesResponse } from '../../storage/query/responses.js';
import type { QueryService } from '../../storage/query-port.js';
import type { ForwardState } from '../forward/forward-state.js';
import type { IngestTotals } from '../metrics.js';
import { apiError } from './api-errors.js';
import { openApiDocument } from './openapi.js';

/** What GET /api/stats answers: the running totals; rates are differences between two polls. */
export interface GatewayStats {
  /** epoch ms when these figures were read */
  at: number;
  connectedClients: number;
  totals: IngestTotals;
  /** with --forward (docs/edge.md) */
  forward?: ForwardState;
}

export interface ApiDeps {
  /** absent while no query backend is wired: the data routes then answer 503 */
  query?: QueryService | undefined;
  stats: () => GatewayStats;
  now?: () => number;
  maxBuckets?: number;
}

/** Register with `{ prefix: '/api' }`. */
export function createApiRoutes(deps: ApiDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const query = (): QueryService => {
    if (deps.query === undefined) throw new GatewayError('GW_ERR_QUERY_UNAVAILABLE');
    return deps.query;
  };

  return async (app: FastifyInstance) => {
    app.setErrorHandler((err, _req, reply) => send(reply, err));

    app.get('/openapi.json', async () => openApiDocument());

    app.get('/stats', async () => deps.stats());

    app.get('/devices', async (req) => {
      noParams(req.query as RawParams);
      return { devices: await query().devices() };
    });

    // The union of every device's metrics: what a fleet-wide series may be asked for.
    app.get('/metrics', async (req) => {
      noParams(req.query as RawParams);
      return { metrics: await query().metrics() };
    });

    app.get<{ Params: { id: string } }>('/devices/:id/latest', async (req) => {
      noParams(req.query as RawParams);
      const deviceId = parseDeviceId(req.params.id, 'id');
      const readings = await query().latest(deviceId);
      if (readings.length === 0) throw new QueryParamError('GW_ERR_QUERY_NOT_FOUND', 'id', [deviceId]);
      return latestResponse(deviceId, readings);
    });

    app.get('/series', async (req) => {
      const parsed = parseSeriesParams(req.query as RawParams, {
        now: now(),
        ...(deps.maxBuckets === undefined ? {} : { maxBuckets: deps.maxBuckets }),
      });
      return seriesResponse(parsed, await query().series(parsed.query));
    });

    app.get('/anomalies', async (req) => {
      const parsed = parseAnomalyParams(req.query as RawParams, { now: now() });
      return anomaliesResponse(await query().anomalies(parsed));
    });
  };
}

function noParams(raw: RawParams): void {
  const [name] = Object.keys(raw);
  if (name !== undefined)
    throw new QueryParamError('GW_ERR_QUERY_INVALID', name, [
      name,
      'unknown parameter; this route takes none',
    ]);
}

function send(reply: FastifyReply, err: unknown): FastifyReply {
  const { status, body } = apiError(err);
  if (status >= 500) reply.log.error({ err }, 'query API error');
  return reply.code(status).send(body);
}
