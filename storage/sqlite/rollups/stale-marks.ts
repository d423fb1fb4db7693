// The write half of the invalidation log (storage/rollup-refresh.ts): every
// reading a batch stores marks its (series, minute) in rollups_1m_stale, in
// the batch's own transaction.
import type { Database } from 'better-sqlite3';
import { MINUTE_MS } from '../../rollup-refresh.js';
import { SeriesIndex } from './series-index.js';

export interface StaleMarks {
  /** Inside the batch's transaction: the reading (seriesId, ts) was stored. */
  note(seriesId: number, ts: number): void;
  /** After COMMIT: what the batch marked is known to be in the table. */
  committed(): void;
  /** After a rollback: forget what the batch marked. */
  rolledBack(): void;
  /** The refresher is about to rebuild `bucket`: collect the series that take readings there meanwhile. */
  watch(bucket: number): Set<number>;
  unwatch(): void;
  /** The refresher deleted the mark (bucket, seriesId), committed. */
  cleared(bucket: number, seriesId: number): void;
  /** Retention deleted raw readings before `before`, and their marks with them. */
  prunedBefore(before: number): void;
  /** When a committed batch last stored a reading in `bucket` (the clock's time), if this writer saw one. */
  lastStoredAt(bucket: number): number | undefined;
  /** `bucket` was rewritten or given up: forget when it last took readings. */
  forget(bucket: number): void;
}

/** `clock`: epoch ms, the time the refresher's `now` is in. */
export function prepareStaleMarks(db: Database, clock: () => number = Date.now): StaleMarks {
  const insertMark = db.prepare('INSERT OR IGNORE INTO rollups_1m_stale (bucket, series_id) VALUES (?, ?)');
  // minute -> series marked by this writer and not cleared since. A miss only
  // costs an INSERT OR IGNORE: after a restart the table may hold marks this
  // set does not. At 15k series that is ~250 inserts a second, not one per reading.
  const known = new Map<number, SeriesIndex<true>>();
  const pending: number[] = [];
  // minute -> when a committed batch last stored a reading there
  const storedAt = new Map<number, number>();
  // the minutes the open batch stores readings in; a batch's readings mostly share a few
  const batchBuckets = new Set<number>();
  let lastBucket = Number.NaN;
  // known.get(lastBucket), looked up once per minute a batch touches, not per reading
  let lastKnown: SeriesIndex<true> | undefined;
  let watched: { bucket: number; touched: Set<number> } | undefined;

  return {
    note(seriesId, ts) {
      const bucket = ts - (ts % MINUTE_MS);
      if (bucket !== lastBucket) {
        batchBuckets.add(bucket);
        lastBucket = bucket;
        lastKnown = known.get(bucket);
      }
      if (watched !== undefined && watched.bucket === bucket) watched.touched.add(seriesId);
      if (lastKnown?.has(seriesId) === true) return;
      insertMark.run(bucket, seriesId);
      pending.push(bucket, seriesId);
    },
    committed() {
      if (batchBuckets.size > 0) {
        const at = clock();
        for (const bucket of batchBuckets) storedAt.set(bucket, at);
        batchBuckets.clear();
        lastBucket = Number.NaN;
      }
      for (let i = 0; i < pending.length; i += 2) {
        const bucket = pending[i]!;
        let set = known.get(bucket);
        if (set === undefined) {
          set = new SeriesIndex();
          known.set(bucket, set);
        }
        set.set(pending[i + 1]!, true);
      }
      pending.length = 0;
    },
    rolledBack() {
      pending.length = 0;
      batchBuckets.clear();
      lastBucket = Number.NaN;
    },
    watch(bucket) {
      watched = { bucket, touched: new Set() };
      return watched.touched;
    },
    unwatch() {
      watched = undefined;
    },
    cleared(bucket, seriesId) {
      const set = known.get(bucket);
      if (set === undefined) return;
      set.delete(seriesId);
      if (set.size === 0) known.delete(bucket);
    },
    prunedBefore(before) {
      for (const bucket of known.keys()) if (bucket < before) known.delete(bucket);
      for (const bucket of storedAt.keys()) if (bucket < before) storedAt.delete(bucket);
    },
    lastStoredAt: (bucket) => storedAt.get(bucket),
    forget(bucket) {
      storedAt.delete(bucket);
    },
  };
}
