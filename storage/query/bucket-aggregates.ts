// Turning merged rollup states (or raw readings) into the aggregates a
// series query asks for.

import { DDSketch } from '../../core/ddsketch.js';
import { GatewayError } from '../../core/errors.js';
import { stddevOf } from '../../core/rollup-state.js';
import type { Aggregate, SeriesPoint, Tier } from '../query-port.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const TIER_MS: Record<Tier, number> = { raw: 1, '1m': MINUTE_MS, '1h': HOUR_MS };

/** The coarsest tier whose buckets tile the requested bucket exactly. */
export function tierFor(bucketMs: number): Tier {
  if (bucketMs % HOUR_MS === 0) return '1h';
  if (bucketMs % MINUTE_MS === 0) return '1m';
  return 'raw';
}

export const PERCENTILES = { p50: 0.5, p95: 0.95, p99: 0.99 } as const;

function needsSketch(aggs: readonly Aggregate[]): boolean {
  return aggs.some((a) => a in PERCENTILES);
}

/** A bucket being merged; the sketch only when percentiles were asked for. */
export interface BucketState {
  count: number;
  sum: number;
  m2: number;
  min: number;
  max: number;
  lastTs: number;
  last: number;
  sketch: DDSketch | null;
  /** raw readings: the values themselves, for exact percentiles */
  values: number[] | null;
  /** stored rollup rows merged in: percentiles then come from the sketch */
  storedRows: number;
}

export function newBucket(withSketch: boolean): BucketState {
  return {
    count: 0,
    sum: 0,
    m2: 0,
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
    lastTs: Number.NEGATIVE_INFINITY,
    last: Number.NaN,
    sketch: withSketch ? new DDSketch() : null,
    values: null,
    storedRows: 0,
  };
}

/** What a merge touches: a bucket's state without its raw values (storage/query/promql/ merges windows with it). */
export type MergeTarget = Omit<BucketState, 'values' | 'storedRows'>;

export interface StoredState {
  count: number;
  sum: number;
  m2: number;
  min: number;
  max: number;
  lastTs: number;
  last: number;
  sketch?: Uint8Array;
}

/**
 * Chan et al.'s merge, as in pipelines/analytics/rollup-state.ts. Positional:
 * a fleet-wide query calls it for every stored row, and rows read as arrays
 * instead of objects cut a third of that query's time.
 */
export function mergeStored(
  into: MergeTarget,
  count: number,
  sum: number,
  m2: number,
  min: number,
  max: number,
  lastTs: number,
  last: number,
  sketch: Uint8Array | undefined,
): void {
  if (count === 0) return;
  if (into.count === 0) {
    into.m2 = m2;
  } else {
    const n = into.count + count;
    const delta = sum / count - into.sum / into.count;
    into.m2 += m2 + (delta * delta * into.count * count) / n;
  }
  into.count += count;
  into.sum += sum;
  if (min < into.min) into.min = min;
  if (max > into.max) into.max = max;
  if (lastTs >= into.lastTs) {
    into.lastTs = lastTs;
    into.last = last;
  }
  if (into.sketch !== null && sketch !== undefined) into.sketch.mergeEncoded(sketch);
}

function toPoint(bucketStart: number, b: BucketState, aggs: readonly Aggregate[]): SeriesPoint {
  const values: Partial<Record<Aggregate, number | null>> = {};
  const sorted = b.values === null ? null : Float64Array.from(b.values).sort();
  for (const agg of aggs) values[agg] = aggregate(agg, b, sorted);
  return { bucketStart, values };
}

function aggregate(agg: Aggregate, b: BucketState, sorted: Float64Array | null): number | null {
  if (agg === 'count') return b.count;
  if (b.count === 0) return null;
  switch (agg) {
    case 'min':
      return b.min;
    case 'max':
      return b.max;
    case 'sum':
      return b.sum;
    case 'avg':
      return b.sum / b.count;
    case 'stddev':
      return stddevOf(b);
    case 'last':
      return b.last;
    case 'p50':
    case 'p95':
    case 'p99': {
      const q = PERCENTILES[agg];
      // Raw readings alone answer exactly, with the sketch's rank convention.
      if (sorted !== null && b.storedRows === 0) return sorted[Math.floor(q * (sorted.length - 1))]!;
      const estimate = b.sketch?.quantile(q) ?? null;
      // The sketch's bin midpoint may lie just outside the data: a quantile never does.
      return estimate === null ? null : Math.min(b.max, Math.max(b.min, estimate));
    }
  }
}

/** A device id, or a glob of one with `*` and `?`. */
const DEVICE_GLOB = /^[A-Za-z0-9_.*?-]{1,64}$/;

/** Refuses anything but a device id or glob, before it reaches a backend's pattern syntax. */
export function checkDeviceGlob(device: string): string {
  if (!DEVICE_GLOB.test(device)) {
    throw new GatewayError('GW_ERR_QUERY_INVALID', [
      'device',
      `"${device}" is not a device id or glob (* and ?)`,
    ]);
  }
  return device;
}

/**
 * The buckets of one series query, whichever backend read the rows: raw
 * readings (kept for exact percentiles when asked) or stored rollup states.
 */
export function createSeriesBuckets(bucketMs: number, aggs: readonly Aggregate[]) {
  const buckets = new Map<number, BucketState>();
  const withSketch = needsSketch(aggs);
  const bucketOf = (start: number, sketch: boolean): BucketState => {
    const key = Math.floor(start / bucketMs) * bucketMs;
    let b = buckets.get(key);
    if (b === undefined) {
      b = newBucket(sketch);
      buckets.set(key, b);
    }
    return b;
  };
  return {
    /** whether stored rows must carry their sketches */
    withSketch,
    /**
     * A raw reading: of the raw tier, or of a minute still stale in a rollup
     * tier's range, which may share its bucket with stored rows.
     */
    addReading(ts: number, value: number): void {
      const b = bucketOf(ts, withSketch);
      mergeStored(b, 1, value, 0, value, value, ts, value, undefined);
      if (!withSketch) return;
      if (b.values === null) b.values = [];
      b.values.push(value);
      b.sketch!.add(value);
    },
    addStored(row: StoredState & { bucket: number }): void {
      const b = bucketOf(row.bucket, withSketch);
      b.storedRows++;
      mergeStored(b, row.count, row.sum, row.m2, row.min, row.max, row.lastTs, row.last, row.sketch);
    },
    /** A stored row as an array: bucket, count, sum, m2, min, max, last_ts, last_value, then the sketch when read (sqlite-queries.ts). */
    addStoredRow(row: readonly unknown[]): void {
      const r = row as [number, number, number, number, number, number, number, number, Uint8Array?];
      const b = bucketOf(r[0], withSketch);
      b.storedRows++;
      mergeStored(b, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]);
    },
    points(): SeriesPoint[] {
      return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([start, b]) => toPoint(start, b, aggs));
    },
  };
}

/**
 * A series answer is made of whole buckets: every bucket that overlaps
 * [from, to), over its whole span, whichever tier answers it. Then the tiers
 * and the raw readings agree on what each bucket holds.
 */
export function alignToBuckets(query: { from: number; to: number; bucketMs: number }): {
  from: number;
  to: number;
} {
  const { bucketMs } = query;
  return {
    from: Math.floor(query.from / bucketMs) * bucketMs,
    to: Math.ceil(query.to / bucketMs) * bucketMs,
  };
}
