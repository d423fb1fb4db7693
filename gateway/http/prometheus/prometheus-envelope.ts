// Prometheus' JSON envelope: {"status":"success","data":…} and
// {"status":"error","errorType":…,"error":…}, with the status codes of
// web/api/v1/api.go (bad_data 400, execution 422, unavailable 503, internal 500).

import { type ErrorCode, GatewayError } from '../../../core/errors.js';
import { QueryParamError } from '../../../storage/query/params.js';
import type { PromResult } from '../../../storage/query/promql/promql-plan.js';

export type ErrorType = 'bad_data' | 'execution' | 'unavailable' | 'internal' | 'not_found';

const STATUS: Record<ErrorType, number> = {
  bad_data: 400,
  execution: 422,
  unavailable: 503,
  internal: 500,
  not_found: 404,
};

const TYPE: Partial<Record<ErrorCode, ErrorType>> = {
  GW_ERR_PROMQL_INVALID: 'bad_data',
  GW_ERR_PROMQL_UNSUPPORTED: 'bad_data',
  GW_ERR_QUERY_INVALID: 'bad_data',
  GW_ERR_PROMQL_TOO_LARGE: 'execution',
  GW_ERR_QUERY_UNAVAILABLE: 'unavailable',
  GW_ERR_STORAGE_BUSY: 'unavailable',
  GW_ERR_STORAGE_CLOSED: 'unavailable',
  GW_ERR_STORAGE_UNAVAILABLE: 'unavailable',
  GW_ERR_SHUTTING_DOWN: 'unavailable',
};

export interface PromErrorBody {
  status: 'error';
  errorType: ErrorType;
  error: string;
}

export function promError(err: unknown): { status: number; body: PromErrorBody } {
  let type: ErrorType = 'internal';
  if (err instanceof GatewayError || err instanceof QueryParamError) type = TYPE[err.code] ?? 'internal';
  else {
    // fastify's own client errors: an unparsable body, an unsupported media type.
    const status = (err as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500)
      type = status === 404 ? 'not_found' : 'bad_data';
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: STATUS[type], body: { status: 'error', errorType: type, error: message } };
}

export function success(data: unknown): { status: 'success'; data: unknown } {
  return { status: 'success', data };
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64) for the values Prometheus renders as strings. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

export function matrix(result: PromResult) {
  return {
    resultType: 'matrix',
    result: result.series.map((s) => ({
      metric: s.labels,
      values: s.times.map((t, i) => [t / 1000, formatValue(s.values[i]!)]),
    })),
  };
}

export function vector(result: PromResult) {
  return {
    resultType: 'vector',
    result: result.series.map((s) => ({
      metric: s.labels,
      value: [s.times[0]! / 1000, formatValue(s.values[0]!)],
    })),
  };
}
