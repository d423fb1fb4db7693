// Query parameters, parsed once for both front-ends: the CLI passes its flag
// values, the HTTP API its query string. A bad value is a QueryParamError that
// names the parameter, so the API can say which one and the CLI can exit 2.

import { type ErrorCode, GatewayError } from '../../core/errors.js';
import type { ReadingsQuery } from '../port.js';
import {
  AGGREGATES,
  type Aggregate,
  type AnomalyQuery,
  type DeadLetterQuery,
  type ExportQuery,
  type SeriesQuery,
} from '../query-port.js';
import { parseTimeExpr } from '../time-expr.js';

export const BUCKETS = {
  '30s': 30_000,
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '6h': 21_600_000,
  '1d': 86_400_000,
} as const;
export type BucketName = keyof typeof BUCKETS;

/** A week of 1-minute buckets fits; a year of 30-second ones does not. */
export const DEFAULT_MAX_BUCKETS = 20_000;
export const DEFAULT_ANOMALY_LIMIT = 100;
export const MAX_ANOMALY_LIMIT = 10_000;

export const SERIES_DEFAULTS = { from: '-1h', to: 'now', bucket: '1m', agg: 'count,min,max,avg' } as const;
export const ANOMALY_DEFAULTS = { from: '-24h', to: 'now' } as const;

/** Beyond these, `export` streams every reading without holding them. */
export const DEFAULT_READINGS_LIMIT = 1000;
export const MAX_READINGS_LIMIT = 100_000;
export const DEFAULT_DEAD_LETTER_LIMIT = 100;
export const MAX_DEAD_LETTER_LIMIT = 10_000;
export const EXPORT_DEFAULTS = { to: 'now' } as const;
/** parquet is a file format: only the CLI writes it, to --out */
export const EXPORT_FORMATS = ['csv', 'ndjson', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const SERIES_PARAMS = ['device', 'metric', 'from', 'to', 'bucket', 'agg'] as const;
export const ANOMALY_PARAMS = ['device', 'from', 'to', 'limit'] as const;
export const READINGS_PARAMS = ['device', 'metric', 'from', 'to', 'limit'] as const;
export const DEAD_LETTER_PARAMS = ['device', 'limit'] as const;
export const EXPORT_PARAMS = ['device', 'metric', 'from', 'to', 'format'] as const;

/** Same alphabet as the ingest side accepts (pipelines/telemetry.ts NAME_PATTERN). */
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const DEVICE_GLOB = /^[A-Za-z0-9_.\-*?]{1,64}$/;
const LIMIT = /^\d{1,9}$/;

type QueryErrorCode = Extract<ErrorCode, `GW_ERR_QUERY_${string}`>;

export class QueryParamError extends GatewayError {
  /** the parameter at fault, as the HTTP API names it (`from`, `bucket`, `id`, …) */
  readonly param: string;

  constructor(code: QueryErrorCode, param: string, args: readonly unknown[], options?: { cause?: unknown }) {
    super(code, args, options);
    this.name = 'QueryParamError';
    this.param = param;
  }
}

/** Raw values by parameter name; arrays appear when an HTTP parameter is repeated. */
export type RawParams = Readonly<Record<string, unknown>>;

export interface ParsedSeries {
  query: SeriesQuery;
  bucket: BucketName;
}

export function parseSeriesParams(raw: RawParams, opts: { now: number; maxBuckets?: number }): ParsedSeries {
  rejectUnknown(raw, SERIES_PARAMS);
  const device = parseDevicePattern(required(raw, 'device'), 'device');
  const metric = parseName(required(raw, 'metric'), 'metric');
  const { from, to } = parseRange(raw, SERIES_DEFAULTS, opts.now);
  const bucket = parseBucket(optional(raw, 'bucket') ?? SERIES_DEFAULTS.bucket);
  const aggs = parseAggs(optional(raw, 'agg') ?? SERIES_DEFAULTS.agg);
  const bucketMs = BUCKETS[bucket];
  const maxBuckets = opts.maxBuckets ?? DEFAULT_MAX_BUCKETS;
  // Buckets are aligned to bucketMs, so a range can touch one more than its length suggests.
  const buckets = Math.floor((to - 1) / bucketMs) - Math.floor(from / bucketMs) + 1;
  if (buckets > maxBuckets)
    throw new QueryParamError('GW_ERR_QUERY_TOO_MANY_BUCKETS', 'bucket', ['bucket', buckets, maxBuckets]);
  return { query: { device, metric, from, to, bucketMs, aggs }, bucket };
}

export function parseAnomalyParams(raw: RawParams, opts: { now: number }): AnomalyQuery {
  rejectUnknown(raw, ANOMALY_PARAMS);
  const device = optional(raw, 'device');
  const { from, to } = parseRange(raw, ANOMALY_DEFAULTS, opts.now);
  const limit = limitOf(raw, DEFAULT_ANOMALY_LIMIT, MAX_ANOMALY_LIMIT);
  return {
    ...(device === undefined ? {} : { device: parseDevicePattern(device, 'device') }),
    from,
    to,
    limit,
  };
}

/** One series' raw readings; without from or to, that end is open. */
export function parseReadingsParams(raw: RawParams, opts: { now: number }): ReadingsQuery {
  rejectUnknown(raw, READINGS_PARAMS);
  const deviceId = parseDeviceId(raw.device);
  const metric = parseName(required(raw, 'metric'), 'metric');
  const fromText = optional(raw, 'from');
  const toText = optional(raw, 'to');
  const from = fromText === undefined ? undefined : parseTime(fromText, 'from', opts.now);
  const to = toText === undefined ? undefined : parseTime(toText, 'to', opts.now);
  if (from !== undefined && to !== undefined && to <= from) throw invalid('to', 'must be later than from');
  return {
    deviceId,
    metric,
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    limit: limitOf(raw, DEFAULT_READINGS_LIMIT, MAX_READINGS_LIMIT),
  };
}

export function parseDeadLetterParams(raw: RawParams): DeadLetterQuery {
  rejectUnknown(raw, DEAD_LETTER_PARAMS);
  const device = optional(raw, 'device');
  return {
    ...(device === undefined ? {} : { deviceId: parseDeviceId(device) }),
    limit: limitOf(raw, DEFAULT_DEAD_LETTER_LIMIT, MAX_DEAD_LETTER_LIMIT),
  };
}

/** `formats`: what this front-end can write (HTTP streams text only). */
export function parseExportParams(
  raw: RawParams,
  opts: { now: number; formats: readonly ExportFormat[] },
): { query: ExportQuery; format: ExportFormat } {
  rejectUnknown(raw, EXPORT_PARAMS);
  const device = optional(raw, 'device');
  const metric = optional(raw, 'metric');
  const from = parseTime(required(raw, 'from'), 'from', opts.now);
  const to = parseTime(optional(raw, 'to') ?? EXPORT_DEFAULTS.to, 'to', opts.now);
  if (to <= from) throw invalid('to', 'must be later than from');
  const formatText = required(raw, 'format');
  const format = opts.formats.find((f) => f === formatText);
  if (format === undefined) {
    const why = formatText === 'parquet' ? '; parquet is written by npm run query -- export --out FILE' : '';
    throw invalid('format', `"${formatText}" is not one of ${opts.formats.join(', ')}${why}`);
  }
  return {
    query: {
      ...(device === undefined ? {} : { device: parseDevicePattern(device, 'device') }),
      ...(metric === undefined ? {} : { metric: parseName(metric, 'metric') }),
      from,
      to,
    },
    format,
  };
}

/** One device id, no glob: `latest` answers for a single device. */
export function parseDeviceId(value: unknown, param = 'device'): string {
  const text = single(value, param);
  if (text === undefined || text === '')
    throw new QueryParamError('GW_ERR_QUERY_PARAM_MISSING', param, [param]);
  if (!NAME.test(text)) throw invalid(param, 'a device id must match [A-Za-z0-9_.-]{1,64} (no glob here)');
  return text;
}

export function parseDevicePattern(text: string, param: string): string {
  if (!DEVICE_GLOB.test(text))
    throw invalid(param, 'use a device id or a glob of [A-Za-z0-9_.-] with * and ?, up to 64 characters');
  return text;
}

export function parseBucket(text: string): BucketName {
  if (Object.hasOwn(BUCKETS, text)) return text as BucketName;
  throw invalid('bucket', `"${text}" is not one of ${Object.keys(BUCKETS).join(', ')}`);
}

export function parseAggs(text: string): Aggregate[] {
  const aggs: Aggregate[] = [];
  for (const part of text.split(',')) {
    const name = part.trim();
    const agg = AGGREGATES.find((a) => a === name);
    if (agg === undefined)
      throw invalid('agg', `"${name}" is not one of ${AGGREGATES.join(', ')} (comma-separated)`);
    if (!aggs.includes(agg)) aggs.push(agg);
  }
  return aggs;
}

export function parseTime(text: string, param: string, now: number): number {
  try {
    return parseTimeExpr(text, now);
  } catch (err) {
    throw invalid(param, `"${text}": use now, -15m, -1h, -7d, an ISO 8601 date or epoch ms`, err);
  }
}

function parseRange(
  raw: RawParams,
  defaults: { from: string; to: string },
  now: number,
): { from: number; to: number } {
  const from = parseTime(optional(raw, 'from') ?? defaults.from, 'from', now);
  const to = parseTime(optional(raw, 'to') ?? defaults.to, 'to', now);
  if (to <= from) throw invalid('to', 'must be later than from');
  return { from, to };
}

function parseName(text: string, param: string): string {
  if (!NAME.test(text)) throw invalid(param, 'must match [A-Za-z0-9_.-]{1,64}');
  return text;
}

function limitOf(raw: RawParams, fallback: number, max: number): number {
  const text = optional(raw, 'limit');
  return text === undefined ? fallback : parseLimit(text, max);
}

function parseLimit(text: string, max: number): number {
  const n = LIMIT.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= max)) throw invalid('limit', `must be a whole number from 1 to ${max}`);
  return n;
}

function rejectUnknown(raw: RawParams, known: readonly string[]): void {
  for (const name of Object.keys(raw)) {
    if (!known.includes(name)) throw invalid(name, `unknown parameter; expected one of ${known.join(', ')}`);
  }
}

function optional(raw: RawParams, param: string): string | undefined {
  return single(raw[param], param);
}

function required(raw: RawParams, param: string): string {
  const text = optional(raw, param);
  if (text === undefined || text === '')
    throw new QueryParamError('GW_ERR_QUERY_PARAM_MISSING', param, [param]);
  return text;
}

function single(value: unknown, param: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  throw invalid(param, 'give it once, as text');
}

function invalid(param: string, reason: string, cause?: unknown): QueryParamError {
  return new QueryParamError('GW_ERR_QUERY_INVALID', param, [param, reason], { cause });
}
