// GET /api/*: the JSON query API over the query port, plus the small stats
// document the dashboard polls. Each route declares its schema
// (route-schemas.ts): fastify validates the parameters with it and
// @fastify/swagger makes /api/openapi.json of it. Parameters then go through
// the same parser as the CLI's flags (storage/query/params.ts), so both
// refuse the same input alike, and answers come from storage/query/responses.ts,
// so both answer alike.

import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { GatewayError } from '../../core/errors.js';
import { EXPORT_CONTENT_TYPES, exportText } from '../../storage/query/export-stream.js';
import {
  parseAnomalyParams,
  parseDeadLetterParams,
  parseDeviceId,
  parseExportParams,
  parseReadingsParams,
  parseSeriesParams,
  QueryParamError,
  type RawParams,
} from '../../storage/query/params.js';
import {
  anomaliesResponse,
  deadLettersResponse,
  latestResponse,
  readingsResponse,
  seriesResponse,
} from '../../storage/query/responses.js';
import type { QueryService } from '../../storage/query-port.js';
import type { ForwardState } from '../forward/forward-state.js';
import type { IngestTotals } from '../metrics.js';
import { sendApiError } from './api-errors.js';
import { ROUTE_SCHEMAS as S, SHARED_SCHEMAS } from './route-schemas.js';

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

const OPENAPI_INFO = {
  title: 'Sensor gateway query API',
  version: '1',
  description:
    'Stored readings and their rollups. Every error answers {"error": {"code", "message", "param"}}; ' +
    'the code is stable, the message is for people.',
};

/** Register with `{ prefix: '/api' }`. */
export function createApiRoutes(deps: ApiDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const query = (): QueryService => {
    if (deps.query === undefined) throw new GatewayError('GW_ERR_QUERY_UNAVAILABLE');
    return deps.query;
  };

  return async (app: FastifyInstance) => {
    app.setErrorHandler(sendApiError);
    // The answers are built by storage/query/responses.ts, shared with the CLI:
    // the response schemas document them and must not reshape them.
    app.setSerializerCompiler(() => (data) => JSON.stringify(data));
    for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
    await app.register(fastifySwagger, {
      openapi: { openapi: '3.1.0', info: OPENAPI_INFO },
      // Shared schemas under their own names (components/schemas/ApiError), not
      // def-0 (fastify/fastify-swagger#286, the option added by #459).
      refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    });

    app.get('/openapi.json', { schema: S.openapi }, async () => app.swagger());
    app.get('/stats', { schema: S.stats }, async () => deps.stats());

    app.get('/devices', { schema: S.devices }, async (req) => {
      noParams(req.query as RawParams);
      return { devices: await query().devices() };
    });

    // The union of every device's metrics: what a fleet-wide series may be asked for.
    app.get('/metrics', { schema: S.metrics }, async (req) => {
      noParams(req.query as RawParams);
      return { metrics: await query().metrics() };
    });

    app.get<{ Params: { id: string } }>('/devices/:id/latest', { schema: S.latest }, async (req) => {
      noParams(req.query as RawParams);
      const deviceId = parseDeviceId(req.params.id, 'id');
      const readings = await query().latest(deviceId);
      if (readings.length === 0) throw new QueryParamError('GW_ERR_QUERY_NOT_FOUND', 'id', [deviceId]);
      return latestResponse(deviceId, readings);
    });

    app.get('/series', { schema: S.series }, async (req) => {
      const parsed = parseSeriesParams(req.query as RawParams, {
        now: now(),
        ...(deps.maxBuckets === undefined ? {} : { maxBuckets: deps.maxBuckets }),
      });
      return seriesResponse(parsed, await query().series(parsed.query));
    });

    app.get('/anomalies', { schema: S.anomalies }, async (req) => {
      const parsed = parseAnomalyParams(req.query as RawParams, { now: now() });
      return anomaliesResponse(await query().anomalies(parsed));
    });

    app.get('/readings', { schema: S.readings }, async (req) => {
      const parsed = parseReadingsParams(req.query as RawParams, { now: now() });
      return readingsResponse(parsed, await query().readings(parsed));
    });

    app.get('/dead-letters', { schema: S.deadLetters }, async (req) => {
      const parsed = parseDeadLetterParams(req.query as RawParams);
      return deadLettersResponse(await query().deadLetters(parsed));
    });

    app.get('/export', { schema: S.export }, async (req, reply) => {
      const { query: range, format } = parseExportParams(req.query as RawParams, {
        now: now(),
        formats: ['csv', 'ndjson'],
      });
      const service = query();
      // One row read before the status line goes out: a store that cannot be
      // read (no database, server down) still answers with a status and a code.
      await service.exportPage(range, undefined, 1);
      const text = format === 'csv' ? 'csv' : 'ndjson';
      return reply.type(EXPORT_CONTENT_TYPES[text]).send(exportText(service, range, text));
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
