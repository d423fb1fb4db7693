// Errors as the HTTP API answers them: `{error: {code, message, param?}}` with
// a status that says whose fault it was. Codes are the contract, as everywhere:
// fastify's own errors (schema validation, unknown routes, malformed requests)
// are given GW_ERR_* codes here too. Routes under /api/v1/ answer in
// Prometheus' shape instead; their plugin sets its own handlers.

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
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
  GW_ERR_ROUTE_NOT_FOUND: 404,
  GW_ERR_QUERY_UNAVAILABLE: 503,
  GW_ERR_STORAGE_BUSY: 503,
  GW_ERR_STORAGE_CLOSED: 503,
  GW_ERR_STORAGE_UNAVAILABLE: 503,
  GW_ERR_SHUTTING_DOWN: 503,
};

/** One entry of fastify's `validation` array (an ajv error). */
interface SchemaIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

export function apiError(err: unknown): { status: number; body: ApiErrorBody } {
  const fromSchema = validationError(err);
  if (fromSchema !== undefined) return apiError(fromSchema);
  if (err instanceof QueryParamError) {
    return {
      status: STATUS[err.code] ?? 400,
      body: { error: { code: err.code, message: err.message, param: err.param } },
    };
  }
  if (err instanceof GatewayError) {
    return { status: STATUS[err.code] ?? 500, body: { error: { code: err.code, message: err.message } } };
  }
  // fastify's other client errors (a malformed URL, a bad header, a body it cannot parse) keep their status.
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const wrapped = new GatewayError('GW_ERR_HTTP_REQUEST', [
      String(e.code ?? e.statusCode),
      String(e.message),
    ]);
    return { status: e.statusCode, body: { error: { code: wrapped.code, message: wrapped.message } } };
  }
  // A query that fails for no known reason is still a storage failure to the caller,
  // as storage/sqlite/sqlite-reader.ts does for its reads.
  const code: ErrorCode = isErrorCode(e.code) ? e.code : 'GW_ERR_STORAGE_IO';
  const wrapped = new GatewayError(code, [], { cause: err });
  return { status: STATUS[code] ?? 500, body: { error: { code, message: wrapped.message } } };
}

/**
 * A schema refusal as the shared parser words it: a missing required
 * parameter is GW_ERR_QUERY_PARAM_MISSING, anything else GW_ERR_QUERY_INVALID,
 * naming the parameter as the CLI names its flag.
 */
function validationError(err: unknown): QueryParamError | undefined {
  const issues = (err as { validation?: unknown }).validation;
  if (!Array.isArray(issues) || issues.length === 0) return undefined;
  const issue = issues[0] as SchemaIssue;
  if (issue.keyword === 'required' && typeof issue.params.missingProperty === 'string') {
    const param = issue.params.missingProperty;
    return new QueryParamError('GW_ERR_QUERY_PARAM_MISSING', param, [param], { cause: err });
  }
  const param = issue.instancePath.split('/')[1] ?? String(issue.params.additionalProperty ?? 'request');
  return new QueryParamError('GW_ERR_QUERY_INVALID', param, [param, issue.message ?? issue.keyword], {
    cause: err,
  });
}

export function sendApiError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  const { status, body } = apiError(err);
  if (status >= 500) request.log.error({ err }, 'HTTP API error');
  return reply.code(status).send(body);
}

/**
 * Unknown routes answer in the same shape, with a code, as every other error.
 * fastify answers a known path asked with another method as not found, not
 * 405 (fastify/fastify#862), so that lands here too. A plugin registered with
 * a prefix may set its own not-found handler for that prefix (fastify's
 * lib/fourOhFour.js): the /api/v1 plugin may, for Prometheus' shape.
 */
export function sendNotFound(request: FastifyRequest, reply: FastifyReply) {
  const err = new GatewayError('GW_ERR_ROUTE_NOT_FOUND', [request.method, request.url.split('?')[0]]);
  return reply.code(404).send({ error: { code: err.code, message: err.message } });
}
