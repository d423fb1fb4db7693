// Parameters of Prometheus' HTTP API as Prometheus parses them
// (web/api/v1/api.go parseTime, parseDuration): times as Unix seconds with a
// fraction or RFC 3339, durations as seconds or "1m30s"; all kept in ms.

import { GatewayError } from '../../../core/errors.js';
import { durationMs } from '../../../storage/query/promql/promql-lexer.js';

export type PromParams = Record<string, string | string[] | undefined>;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

export function badData(message: string): GatewayError {
  return new GatewayError('GW_ERR_PROMQL_INVALID', [message]);
}

/** One value of a parameter; of a repeated one the first, as Go's FormValue. */
export function param(params: PromParams, name: string): string | undefined {
  const v = params[name];
  return Array.isArray(v) ? v[0] : v;
}

export function params(params: PromParams, name: string): string[] {
  const v = params[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export function timeParam(params: PromParams, name: string, fallback?: number): number {
  const raw = param(params, name);
  if (raw === undefined || raw === '') {
    if (fallback === undefined) throw badData(`missing parameter "${name}"`);
    return fallback;
  }
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.round(seconds * 1000);
  if (RFC3339.test(raw)) {
    const ms = Date.parse(raw);
    if (Number.isFinite(ms)) return ms;
  }
  throw badData(`invalid parameter "${name}": cannot parse "${raw}" to a valid timestamp`);
}

export function durationParam(params: PromParams, name: string): number {
  const raw = param(params, name);
  if (raw === undefined || raw === '') throw badData(`missing parameter "${name}"`);
  const seconds = Number(raw);
  const ms = Number.isFinite(seconds)
    ? Math.round(seconds * 1000)
    : DURATION.test(raw)
      ? durationMs(raw)
      : Number.NaN;
  if (Number.isNaN(ms))
    throw badData(`invalid parameter "${name}": cannot parse "${raw}" to a valid duration`);
  if (ms <= 0)
    throw badData('zero or negative query resolution step widths are not accepted. Try a positive integer');
  return ms;
}

/** An application/x-www-form-urlencoded body, repeated keys (match[]) as arrays. */
export function parseForm(body: string): PromParams {
  const out: PromParams = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const prev = out[key];
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}
