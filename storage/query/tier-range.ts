// What a backend's tier reader takes and feeds (storage/sqlite/query/tier-reader.ts,
// storage/postgres/query/tier-reader.ts): one series query's range, and the
// buckets it adds rows and raw readings to (bucket-aggregates.ts createSeriesBuckets).

export interface TierSink {
  withSketch: boolean;
  /** `seriesId`: which series the reading is of, for sinks that keep series apart (storage/query/promql/) */
  addReading(ts: number, value: number, seriesId?: number): void;
  /** bucket, count, sum, m2, min, max, last_ts, last_value, sketch, series id */
  addStoredRow(row: readonly unknown[]): void;
}

export interface TierRange {
  metric: string;
  /** the backend's own pattern over device ids: GLOB for SQLite, LIKE for PostgreSQL */
  pattern: string;
  from: number;
  to: number;
}
