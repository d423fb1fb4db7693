// The query port: what the CLI, the HTTP API and the dashboard ask of stored
// data. Implementations run queries off the gateway's main thread.

import type { AnomalyRecord, DeadLetterRow, DeviceRow, ReadingRow, ReadingsQuery } from './port.js';
import type {
  PromEvaluation,
  PromResult,
  PromSeriesLabels,
  PromSeriesRange,
} from './query/promql/promql-plan.js';

export type { AnomalyRecord, DeadLetterRow, ReadingRow, ReadingsQuery };

export const AGGREGATES = [
  'count',
  'min',
  'max',
  'avg',
  'sum',
  'stddev',
  'p50',
  'p95',
  'p99',
  'last',
] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export type Tier = 'raw' | '1m' | '1h';

export interface SeriesQuery {
  /** a device id, or a glob (`sim-*`, `pi-?`) for a fleet-wide aggregate */
  device: string;
  metric: string;
  /** inclusive, epoch ms */
  from: number;
  /** exclusive, epoch ms */
  to: number;
  bucketMs: number;
  aggs: readonly Aggregate[];
}

export interface SeriesPoint {
  /** epoch ms of the bucket's start, aligned to bucketMs (UTC) */
  bucketStart: number;
  /** null where the bucket holds no readings for that aggregate */
  values: Partial<Record<Aggregate, number | null>>;
}

export interface SeriesResult {
  /** the coarsest tier that answers the bucket exactly */
  tier: Tier;
  bucketMs: number;
  /** how many devices matched the device pattern */
  devices: number;
  points: SeriesPoint[];
  /** the unit every matched series states, when they agree (pipelines/adapters/) */
  unit?: string;
}

export interface LatestReading {
  metric: string;
  ts: number;
  value: number;
  /** what the payload format stated for the series (pipelines/adapters/) */
  unit?: string;
  deviceClass?: string;
}

/** One metric across the fleet: the union of every device's metrics. */
export interface MetricRow {
  metric: string;
  /** devices that have stored readings of it */
  devices: number;
}

export interface AnomalyQuery {
  /** a device id or glob; all devices when absent */
  device?: string;
  from: number;
  to?: number;
  limit?: number;
}

export interface DeadLetterQuery {
  /** one device id; every device when absent */
  deviceId?: string;
  limit?: number;
}

/** Which readings an export holds: every stored reading in [from, to) that matches. */
export interface ExportQuery {
  /** a device id or glob; every device when absent */
  device?: string;
  /** one metric; every metric when absent */
  metric?: string;
  /** inclusive, epoch ms */
  from: number;
  /** exclusive, epoch ms */
  to: number;
}

/** One exported reading, the columns of every export format. */
export interface ExportRow {
  device: string;
  metric: string;
  /** epoch ms */
  ts: number;
  value: number;
  /** the series' unit; null while the schema records none */
  unit: string | null;
}

/**
 * Where the next page starts: the storage key (ts, series id) of the last row
 * sent. Keyset pagination: each page is a range seek on the primary key, so
 * page 10,000 costs what page 1 does, unlike OFFSET.
 */
export interface ExportCursor {
  ts: number;
  seriesId: number;
}

export interface ExportPage {
  /** in (ts, series id) order */
  rows: ExportRow[];
  /** absent on the last page */
  next?: ExportCursor;
}

export interface QueryService {
  devices(): Promise<DeviceRow[]>;
  latest(deviceId: string): Promise<LatestReading[]>;
  /** every metric any device has stored, by name */
  metrics(): Promise<MetricRow[]>;
  series(query: SeriesQuery): Promise<SeriesResult>;
  anomalies(query: AnomalyQuery): Promise<AnomalyRecord[]>;
  /** one series' raw readings, oldest first */
  readings(query: ReadingsQuery): Promise<ReadingRow[]>;
  /** newest first */
  deadLetters(query: DeadLetterQuery): Promise<DeadLetterRow[]>;
  /** at most `limit` readings after `after` (from the start when absent) */
  exportPage(query: ExportQuery, after: ExportCursor | undefined, limit: number): Promise<ExportPage>;
  /** the PromQL subset of the Prometheus-compatible API (storage/query/promql/); absent on test doubles */
  promql?(evaluation: PromEvaluation): Promise<PromResult>;
  /** the stored (device, metric) series, with data in `range` when given, for /api/v1/series and the label routes */
  promSeries?(range?: PromSeriesRange): Promise<PromSeriesLabels[]>;
  close(): Promise<void>;
}
