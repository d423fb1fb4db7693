// Errors as the HTTP API answers them: `{error: {code, message, param?}}` with
// a status that says whose fault it was. Codes are the contract, as everywhere.

import { type ErrorCode, GatewayError, isErrorCode } from '../../core/errors.js';
import { QueryParamError } from '../../storage/query/params.js';

export interface ApiErrorBody {
  error: { code: string; message: string; param?: string };
}

/** Client errors by code; everything unlisted is the server's (500). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  GW_ERR_QUERY_INVALID: 400,
  GW_ERR_QUERY_PARAM_MISSING: 400,
  GW_ERR_QUERY_TOO_MANY_BUCKETS: 400,
  GW_ERR_QUERY_NOT_FOUND: 404,
  GW_ERR_QUERY_UNAVAILABLE: 503,
  GW_ERR_STORAGE_BUSY: 503,
  GW_ERR_STORAGE_CLOSED: 503,
  GW_ERR_STORAGE_UNAVAILABLE: 503,
  GW_ERR_SHUTTING_DOWN: 503,
};

export function apiError(err: unknown): { status: number; body: ApiErrorBody } {
  if (err instanceof QueryParamError) {
    return {
      status: STATUS[err.code] ?? 400,
      body: { error: { code: err.code, message: err.message, param: err.param } },
    };
  }
  if (err instanceof GatewayError) {
    return { status: STATUS[err.code] ?? 500, body: { error: { code: err.code, message: err.message } } };
  }
  // Fastify's own client errors (a malformed URL, a bad header) keep their status and code.
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = typeof e.code === 'string' ? e.code : 'FST_ERR_BAD_REQUEST';
    return { status: e.statusCode, body: { error: { code, message: String(e.message) } } };
  }
  // A query that fails for no known reason is still a storage failure to the caller,
  // as storage/sqlite/sqlite-reader.ts does for its reads.
  const code: ErrorCode = isErrorCode(e.code) ? e.code : 'GW_ERR_STORAGE_IO';
  const wrapped = new GatewayError(code, [], { cause: err });
  return { status: STATUS[code] ?? 500, body: { error: { code, message: wrapped.message } } };
}
