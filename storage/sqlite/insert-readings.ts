// The readings of one batch into the readings table, inside the batch's
// transaction (apply-batch.ts): in key order (insert-order.ts), 64 rows per
// statement, each marking its minute stale and, where its minute is folded,
// added to the minute's rollup state.

import type { Database } from 'better-sqlite3';
import { createInsertOrder } from './insert-order.js';
import type { MinuteFolds } from './rollups/minute-folds.js';
import type { StaleMarks } from './rollups/stale-marks.js';

const CHUNK = 64;

/** Inserts n readings (series id, ts, value by row); returns how many were new. */
export type ReadingsInserter = (
  series: ArrayLike<number>,
  ts: ArrayLike<number>,
  value: ArrayLike<number>,
  n: number,
) => number;

export function prepareReadingsInserter(
  db: Database,
  marks: StaleMarks,
  folds?: MinuteFolds,
): ReadingsInserter {
  const insertReading = db.prepare('INSERT OR IGNORE INTO readings (ts, series_id, value) VALUES (?, ?, ?)');
  // CHUNK rows per statement: better-sqlite3's per-call overhead rivals the insert itself
  // (~1.3x more rows/s measured at 1000-row batches).
  const insertChunk = db.prepare(
    `INSERT OR IGNORE INTO readings (ts, series_id, value) VALUES ${Array(CHUNK).fill('(?, ?, ?)').join(', ')}`,
  );
  const params: number[] = new Array(CHUNK * 3).fill(0);
  const insertOrder = createInsertOrder();

  return (series, ts, value, n) => {
    const order = insertOrder.order(ts, series, n);
    let inserted = 0;
    let i = 0;
    for (; i + CHUNK <= n; i += CHUNK) {
      for (let j = 0; j < CHUNK; j++) {
        const r = order === null ? i + j : order[i + j]!;
        const seriesId = series[r]!;
        params[j * 3] = ts[r]!;
        params[j * 3 + 1] = seriesId;
        params[j * 3 + 2] = value[r]!;
        // A duplicate marks its minute too: harmless, the rebuild finds the same rows.
        marks.note(seriesId, ts[r]!);
      }
      // Spread, not the array: better-sqlite3 reads an array's elements one
      // property lookup at a time, arguments directly (0.89x the writer's
      // CPU per message in bench writer-cpu).
      const changes = insertChunk.run(...params).changes;
      inserted += changes;
      // All stored, or none: the folds know which. Some: the statement does not say which.
      if (folds !== undefined && changes > 0) {
        for (let j = 0; j < CHUNK; j++) {
          if (changes === CHUNK) folds.stored(params[j * 3 + 1]!, params[j * 3]!, params[j * 3 + 2]!);
          else folds.unsure(params[j * 3 + 1]!, params[j * 3]!);
        }
      }
    }
    for (; i < n; i++) {
      const r = order === null ? i : order[i]!;
      const seriesId = series[r]!;
      const changes = insertReading.run(ts[r]!, seriesId, value[r]!).changes;
      inserted += changes;
      marks.note(seriesId, ts[r]!);
      if (changes === 1) folds?.stored(seriesId, ts[r]!, value[r]!);
    }
    return inserted;
  };
}
