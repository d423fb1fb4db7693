// The order a batch's readings are inserted in. The readings table's key is
// (ts, series_id), and a batch arrives in message order: nearly sorted by ts,
// but the devices of one millisecond come in any order. SQLite skips the
// search for a key at or past the cursor's last cell (btree.c,
// sqlite3BtreeIndexMoveto, "Check to see if we can skip a lot of work"): a
// row in key order is one comparison, a row among the last page's keys a
// binary search of several. Inserting in key order made the writer 0.92x
// the CPU per message (docs/benchmarks.md, "Insert order, a flat JSON reader").
//
// Order changes nothing stored: each row is its own insert, and a duplicate
// key within the batch still keeps its first row (the row index breaks
// ties). The stale marks do not depend on order, nor do a minute fold's
// count, min, max, first, last and sketch; its sum and variance are
// floating-point sums, whose last bits may differ with the order of the
// additions, as they may between a fold and a re-read from raw.

/** The rows' insert order: indexes into the batch's columns, or null for the order they came in. */
export interface InsertOrder {
  order(ts: ArrayLike<number>, series: ArrayLike<number>, n: number): Uint32Array | null;
}

/** Sort keys are exact in a double up to this. */
const EXACT = 2 ** 53;

export function createInsertOrder(): InsertOrder {
  // Reused from batch to batch: a batch's scratch is thousands of entries.
  let keys = new Float64Array(0);
  let rows = new Uint32Array(0);
  return {
    order(ts, series, n) {
      let sorted = true;
      let minTs = Number.POSITIVE_INFINITY;
      let maxTs = Number.NEGATIVE_INFINITY;
      let maxSeries = 0;
      for (let i = 0; i < n; i++) {
        const t = ts[i]!;
        const s = series[i]!;
        if (i > 0 && sorted) {
          const before = ts[i - 1]!;
          if (t < before || (t === before && s < series[i - 1]!)) sorted = false;
        }
        if (t < minTs) minTs = t;
        if (t > maxTs) maxTs = t;
        if (s > maxSeries) maxSeries = s;
        // A key packs integers only; a fractional ts (no stage makes one) keeps arrival order.
        if (!Number.isInteger(t)) return null;
      }
      if (sorted) return null;
      // One number per row: ts, then series id, then row index. A batch too
      // wide to pack (readings days apart, a replay) keeps its arrival order.
      const seriesSpan = maxSeries + 1;
      if ((maxTs - minTs + 1) * seriesSpan * n >= EXACT) return null;
      if (keys.length < n) {
        keys = new Float64Array(n * 2);
        rows = new Uint32Array(n * 2);
      }
      const k = keys.subarray(0, n);
      for (let i = 0; i < n; i++) k[i] = ((ts[i]! - minTs) * seriesSpan + series[i]!) * n + i;
      k.sort();
      const out = rows.subarray(0, n);
      for (let i = 0; i < n; i++) out[i] = k[i]! % n;
      return out;
    },
  };
}
