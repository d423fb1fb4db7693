// The JSON answers, built in one place so that `npm run query -- series
// --format json` and `GET /api/series` print the very same document.

import { deadLetterColumns, jsonRows, readingColumns } from '../format-rows.js';
import type { DeadLetterRow, DeviceRow, ReadingRow, ReadingsQuery } from '../port.js';
import type {
  Aggregate,
  AnomalyRecord,
  LatestReading,
  SeriesPoint,
  SeriesResult,
  Tier,
} from '../query-port.js';
import type { BucketName, ParsedSeries } from './params.js';

export interface SeriesResponse {
  device: string;
  metric: string;
  from: number;
  to: number;
  bucket: BucketName;
  bucketMs: number;
  aggs: Aggregate[];
  /** the stored tier that answered: raw readings, 1-minute or 1-hour rollups */
  tier: Tier;
  /** devices matched by the device id or glob */
  devices: number;
  points: SeriesPoint[];
  /** the unit every matched series states, when they agree */
  unit?: string;
}

export interface DevicesResponse {
  devices: DeviceRow[];
}

export interface LatestResponse {
  deviceId: string;
  readings: LatestReading[];
}

export interface AnomaliesResponse {
  anomalies: AnomalyRecord[];
}

/**
 * Every point carries exactly the aggregates asked for, in that order, null
 * where a bucket has none, and points come in time order, whatever the backend
 * left out or added.
 */
export function seriesResponse(parsed: ParsedSeries, result: SeriesResult): SeriesResponse {
  const { query, bucket } = parsed;
  const points = result.points
    .map((p) => {
      const values: Partial<Record<Aggregate, number | null>> = {};
      for (const agg of query.aggs) values[agg] = p.values[agg] ?? null;
      return { bucketStart: p.bucketStart, values };
    })
    .sort((a, b) => a.bucketStart - b.bucketStart);
  return {
    device: query.device,
    metric: query.metric,
    from: query.from,
    to: query.to,
    bucket,
    bucketMs: query.bucketMs,
    aggs: [...query.aggs],
    tier: result.tier,
    devices: result.devices,
    points,
    ...(result.unit === undefined ? {} : { unit: result.unit }),
  };
}

export function latestResponse(deviceId: string, readings: readonly LatestReading[]): LatestResponse {
  return { deviceId, readings: [...readings].sort((a, b) => a.metric.localeCompare(b.metric)) };
}

/** Newest first: the dashboard and the CLI show the most recent at the top. */
export function anomaliesResponse(records: readonly AnomalyRecord[]): AnomaliesResponse {
  return { anomalies: [...records].sort((a, b) => b.ts - a.ts || a.deviceId.localeCompare(b.deviceId)) };
}

export interface ReadingsResponse {
  deviceId: string;
  metric: string;
  /** `npm run query -- readings --format json` prints exactly this array */
  readings: Record<string, unknown>[];
}

export interface DeadLettersResponse {
  /** `npm run query -- dead-letters --format json` prints exactly this array */
  deadLetters: Record<string, unknown>[];
}

export function readingsResponse(query: ReadingsQuery, rows: readonly ReadingRow[]): ReadingsResponse {
  return { deviceId: query.deviceId, metric: query.metric, readings: jsonRows(rows, readingColumns) };
}

export function deadLettersResponse(rows: readonly DeadLetterRow[]): DeadLettersResponse {
  return { deadLetters: jsonRows(rows, deadLetterColumns) };
}

/** One line that says what answered, for the table output and logs. */
export function seriesSummary(r: SeriesResponse): string {
  return `# ${r.device} ${r.metric}: ${counted(r.points.length, 'bucket')} of ${r.bucket} from tier ${r.tier}, ${counted(r.devices, 'device')}`;
}

/** "1 bucket", "2 buckets" */
function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
