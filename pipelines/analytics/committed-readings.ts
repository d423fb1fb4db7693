// The analytics tap: readings leave the ingest pipeline only once their
// write has committed. Tapping after commit rather than after validation
// means a reading whose write failed (and whose client will resend it) never
// enters a rollup, and the tap runs after the settle that released the acks,
// so analytics can never delay one.

import type { SettledBatch } from '../commit-batches.js';
import type { SeriesRegistry } from './series-registry.js';

/** Committed readings, columnar, named by series id. */
export interface ReadingChunk {
  series: Uint32Array;
  ts: Float64Array;
  value: Float64Array;
}

export interface ChunkOutcome {
  chunk: ReadingChunk;
  /** readings left out as probable retransmits */
  skipped: number;
}

/**
 * The storage reports how many readings of a batch were duplicates, not
 * which. Usually none are; when some are, a reading no newer than the newest
 * one this series already fed the analytics is taken for a retransmit and
 * left out, so a resend after a lost PUBACK does not count twice.
 * `newest` holds that ts per series id and is updated here.
 */
export function committedReadings(
  settled: SettledBatch,
  registry: SeriesRegistry,
  newest: { get(series: number): number; set(series: number, ts: number): void },
): ChunkOutcome | undefined {
  if (settled.error !== undefined || settled.result === undefined || settled.result.inserted === 0) {
    return undefined;
  }
  const suspectDuplicates = settled.result.duplicates > 0;
  const n = settled.readings;
  const series = new Uint32Array(n);
  const ts = new Float64Array(n);
  const value = new Float64Array(n);
  let row = 0;
  let skipped = 0;
  for (const p of settled.messages) {
    if (p.deviceId === null || p.readings.length === 0) continue;
    const metrics = registry.device(p.deviceId);
    for (const r of p.readings) {
      const s = registry.id(p.deviceId, r.metric, metrics);
      const seen = newest.get(s);
      if (suspectDuplicates && r.ts <= seen) {
        skipped++;
        continue;
      }
      if (r.ts > seen) newest.set(s, r.ts);
      series[row] = s;
      ts[row] = r.ts;
      value[row] = r.value;
      row++;
    }
  }
  return {
    chunk: { series: series.subarray(0, row), ts: ts.subarray(0, row), value: value.subarray(0, row) },
    skipped,
  };
}

/** Newest ts per series id, as a growable typed array (no per-reading allocation). */
export function createNewestTs(): { get(series: number): number; set(series: number, ts: number): void } {
  let values = new Float64Array(1024).fill(Number.NEGATIVE_INFINITY);
  return {
    get: (s) => (s < values.length ? values[s]! : Number.NEGATIVE_INFINITY),
    set(s, ts) {
      if (s >= values.length) {
        const grown = new Float64Array(Math.max(values.length * 2, s + 1)).fill(Number.NEGATIVE_INFINITY);
        grown.set(values);
        values = grown;
      }
      values[s] = ts;
    },
  };
}
