// What the PromQL evaluator (promql-evaluate.ts) asks of a backend. Each
// backend's query worker implements it over its tier reader, inside one read
// snapshot, so the tier rows, the stale marks and the raw readings agree.

import { HOUR_MS, MINUTE_MS } from '../bucket-aggregates.js';
import type { TierSink } from '../tier-range.js';
import type { PromSeriesRange } from './promql-plan.js';

export interface StoredSeries {
  id: number;
  device: string;
  /** the unit a payload format stated for the series (docs/sensors.md); a label when set */
  unit?: string | null;
}

/** A reading with its series id, as `readings` and `readingsAt` give them. */
export type SeriesReading = (seriesId: number, ts: number, value: number) => void;

type Maybe<T> = T | Promise<T>;

export interface PromSource {
  /** every stored (device, metric) series of one metric */
  seriesOf(metric: string): Maybe<StoredSeries[]>;
  /**
   * The tier's buckets in [from, to), through the backend's tier reader
   * (fresh rows, raw readings of stale minutes). Stored rows carry their
   * series id at index 9, readings as the third argument of addReading.
   * `device` is a device id or `*`.
   */
  tier(
    tier: '1m' | '1h',
    range: { metric: string; device: string; from: number; to: number },
    sink: TierSink,
  ): Maybe<void>;
  /** raw readings of these series with `after < ts <= upTo` */
  readings(ids: readonly number[], after: number, upTo: number, each: SeriesReading): Maybe<void>;
  /** raw readings of these series at exactly these times */
  readingsAt(ids: readonly number[], times: readonly number[], each: SeriesReading): Maybe<void>;
  /**
   * The fleet tier of one metric (storage/fleet-rollup.ts), windows ending in
   * [from, to]: its rows (window end, then FLEET_COLUMNS), and the windows a
   * stale mark touches, whose rows must not be used. Absent on a backend
   * without the tier: the evaluator then aggregates per series.
   */
  fleet?(metric: string, from: number, to: number): Maybe<FleetRead>;
}

export interface FleetRead {
  rows: number[][];
  stale: number[];
}

/**
 * The parameters of the series-in-range statement both backends run: the
 * range's minutes (from, to) twice, then its hours (from, to) and the oldest
 * minute row. Only an hour wholly before that minute is asked: after it, the
 * minutes say more exactly whether a series had data in the range.
 */
export function seriesRangeParams(range: PromSeriesRange, oldestMinute: number | null): number[] {
  const from = Math.max(range.from, -8.64e15);
  const to = Math.min(range.to, 8.64e15);
  const minute = Math.floor(from / MINUTE_MS) * MINUTE_MS;
  const hour = Math.floor(from / HOUR_MS) * HOUR_MS;
  return [minute, to, minute, to, hour, to, (oldestMinute ?? 8.64e15) - HOUR_MS];
}
