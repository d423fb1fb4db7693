// /api/v1/*: the Prometheus-compatible query API that Grafana's built-in
// Prometheus data source and promtool speak (docs/grafana.md). The PromQL
// subset runs in the query workers (storage/query/promql/); this file parses
// Prometheus' parameters and answers in Prometheus' envelope, errors included.

import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../../../core/errors.js';
import { matcherTest, seriesLabel } from '../../../storage/query/promql/promql-aggregate.js';
import { parsePromQL, parseSeriesSelector } from '../../../storage/query/promql/promql-parser.js';
import type {
  PromEvaluation,
  PromSeriesLabels,
  PromSeriesRange,
} from '../../../storage/query/promql/promql-plan.js';
import type { QueryService } from '../../../storage/query-port.js';
import { ANOMALY_METRIC, anomalySeries } from './anomaly-series.js';
import { matrix, promError, success, vector } from './prometheus-envelope.js';
import {
  badData,
  durationParam,
  type PromParams,
  param,
  params,
  parseForm,
  timeParam,
} from './prometheus-params.js';

export interface PrometheusDeps {
  query?: QueryService | undefined;
  now?: () => number;
  /** the gateway's own version, for buildinfo's `revision` */
  gatewayVersion?: string;
}

/**
 * Grafana reads `version` to pick the calls it makes; this is the Prometheus
 * API level these routes follow (that of promtool 2.42, the client tested).
 */
export const PROMETHEUS_API_VERSION = '2.42.0';

type Handler = (p: PromParams) => Promise<unknown>;

/** Register with `{ prefix: '/api/v1' }`. */
export function prometheusRoutes(deps: PrometheusDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  /** The anomaly records answer their own metric; every other metric is stored readings. */
  const evaluate = (ev: PromEvaluation) => {
    if (ev.plan.metric !== ANOMALY_METRIC) return query().promql(ev);
    if (deps.query === undefined) throw new GatewayError('GW_ERR_QUERY_UNAVAILABLE');
    return anomalySeries(deps.query, ev);
  };
  const query = () => {
    const q = deps.query;
    if (q?.promql === undefined || q.promSeries === undefined)
      throw new GatewayError('GW_ERR_QUERY_UNAVAILABLE');
    return q as QueryService & Required<Pick<QueryService, 'promql' | 'promSeries'>>;
  };

  return async (app: FastifyInstance) => {
    // Scoped to this plugin: promtool and Grafana POST form bodies.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
      done(null, parseForm(body as string)),
    );
    app.setErrorHandler((err, _req, reply) => sendError(reply, err));
    app.setNotFoundHandler((req, reply) =>
      sendError(
        reply,
        Object.assign(new Error(`no such endpoint ${req.method} ${req.url}`), { statusCode: 404 }),
      ),
    );

    const route = (path: string, handler: Handler) => {
      const run = async (req: FastifyRequest) => success(await handler(merged(req)));
      app.get(path, run);
      app.post(path, run);
    };

    route('/query', async (p) => {
      const t = timeParam(p, 'time', now());
      const plan = parsePromQL(required(p, 'query'));
      return vector(await evaluate({ plan, start: t, end: t, step: 0 }));
    });

    route('/query_range', async (p) => {
      const start = timeParam(p, 'start');
      const end = timeParam(p, 'end');
      const step = durationParam(p, 'step');
      if (end < start) throw badData('end timestamp must not be before start time');
      const plan = parsePromQL(required(p, 'query'));
      return matrix(await evaluate({ plan, start, end, step }));
    });

    route('/labels', async (p) => {
      const found = await matching(p);
      if (found.length === 0) return [];
      // Every stored series has these two; unit where a payload format stated one.
      return found.some((s) => s.unit != null) ? ['__name__', 'device', 'unit'] : ['__name__', 'device'];
    });

    app.get<{ Params: { name: string } }>('/label/:name/values', async (req) => {
      const p = merged(req);
      const values = new Set<string>();
      for (const s of await matching(p)) {
        const v = labelOf(s, req.params.name);
        if (v !== '') values.add(v);
      }
      return success([...values].sort());
    });

    route('/series', async (p) => {
      if (params(p, 'match[]').length === 0) throw badData('no match[] parameter provided');
      return (await matching(p)).map((s) => ({
        __name__: s.metric,
        device: s.device,
        ...(s.unit == null ? {} : { unit: s.unit }),
      }));
    });

    route('/metadata', async (p) => {
      const metric = param(p, 'metric');
      const out: Record<string, { type: string; help: string; unit: string }[]> = {};
      for (const s of await query().promSeries()) {
        if (metric !== undefined && s.metric !== metric) continue;
        out[s.metric] = [{ type: 'gauge', help: `sensor readings of ${s.metric}`, unit: s.unit ?? '' }];
      }
      return out;
    });

    route('/status/buildinfo', async () => ({
      version: PROMETHEUS_API_VERSION,
      revision: deps.gatewayVersion ?? '',
      branch: '',
      buildUser: '',
      buildDate: '',
      goVersion: '',
    }));
  };

  /** The stored series matched by any match[] (all of them without one), with data between start and end. */
  async function matching(p: PromParams): Promise<PromSeriesLabels[]> {
    const range = timeRange(p);
    const selectors = params(p, 'match[]').map(parseSeriesSelector);
    const all = await query().promSeries(range);
    if (selectors.length === 0) return all;
    const tests = selectors.map((matchers) => matchers.map((m) => matcherTest(m, labelOf)));
    return all.filter((s) => tests.some((all) => all.every((test) => test(s))));
  }
}

function labelOf(s: PromSeriesLabels, name: string): string {
  return name === '__name__' ? s.metric : seriesLabel(s, name);
}

/**
 * start and end of the series and label routes; either alone leaves the
 * other side open, as Prometheus' minTime and maxTime do. Neither: every
 * stored series, without a look at the tiers.
 */
function timeRange(p: PromParams): PromSeriesRange | undefined {
  const start = param(p, 'start');
  const end = param(p, 'end');
  if ((start === undefined || start === '') && (end === undefined || end === '')) return undefined;
  const from = timeParam(p, 'start', Number.NEGATIVE_INFINITY);
  const to = timeParam(p, 'end', Number.POSITIVE_INFINITY);
  if (to < from) throw badData('end timestamp must not be before start time');
  return { from, to };
}

function required(p: PromParams, name: string): string {
  const v = param(p, name);
  if (v === undefined || v === '') throw badData(`missing parameter "${name}"`);
  return v;
}

/** The query string and a form body, as Go's ParseForm merges them. */
function merged(req: FastifyRequest): PromParams {
  const body = typeof req.body === 'object' && req.body !== null ? (req.body as PromParams) : {};
  const query = (req.query ?? {}) as PromParams;
  const out: PromParams = { ...query };
  for (const [k, v] of Object.entries(body)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : [...params({ k: prev }, 'k'), ...params({ k: v }, 'k')];
  }
  return out;
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const { status, body } = promError(err);
  if (status >= 500 && body.errorType === 'internal') reply.log.error({ err }, 'Prometheus API error');
  return reply.code(status).send(body);
}
