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
/** Keys below this sort by radix, 11 bits a pass; wider ones by the typed array's sort. */
const RADIX_KEYS = 2 ** 32;
const DIGIT_BITS = 11;
const DIGITS = 1 << DIGIT_BITS;

export function createInsertOrder(): InsertOrder {
  // Reused from batch to batch: a batch's scratch is thousands of entries.
  let keys = new Float64Array(0);
  let rows = new Uint32Array(0);
  let smallKeys = new Uint32Array(0);
  let spare = new Uint32Array(0);
  const counts = new Uint32Array(DIGITS);

  /**
   * (ts, series) packed in 32 bits, rows sorted by it least significant digit
   * first. Each pass is stable, so rows with one key keep their arrival order.
   * A batch's readings span well under a second of a few thousand series:
   * two passes, each linear, where the typed array's sort compares
   * (docs/benchmarks.md, "A connection's PUBACKs in one buffer, a radix insert order").
   */
  function radix(
    ts: ArrayLike<number>,
    series: ArrayLike<number>,
    n: number,
    minTs: number,
    span: number,
    maxKey: number,
  ): Uint32Array {
    if (smallKeys.length < n) smallKeys = new Uint32Array(n * 2);
    if (rows.length < n) rows = new Uint32Array(n * 2);
    if (spare.length < n) spare = new Uint32Array(n * 2);
    for (let i = 0; i < n; i++) {
      smallKeys[i] = (ts[i]! - minTs) * span + series[i]!;
      rows[i] = i;
    }
    let from = rows;
    let to = spare;
    for (let shift = 0; shift === 0 || (shift < 32 && maxKey >>> shift > 0); shift += DIGIT_BITS) {
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[(smallKeys[i]! >>> shift) & (DIGITS - 1)]!++;
      let sum = 0;
      for (let c = 0; c < DIGITS; c++) {
        const count = counts[c]!;
        counts[c] = sum;
        sum += count;
      }
      for (let i = 0; i < n; i++) {
        const r = from[i]!;
        to[counts[(smallKeys[r]! >>> shift) & (DIGITS - 1)]!++] = r;
      }
      const done = from;
      from = to;
      to = done;
    }
    // The two scratch arrays swap roles pass by pass; the answer stays valid until the next call.
    rows = from;
    spare = to;
    return from.subarray(0, n);
  }

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
      const seriesSpan = maxSeries + 1;
      const maxKey = (maxTs - minTs) * seriesSpan + maxSeries;
      if (maxKey < RADIX_KEYS) return radix(ts, series, n, minTs, seriesSpan, maxKey);
      // One number per row: ts, then series id, then row index. A batch too
      // wide to pack (readings days apart, a replay) keeps its arrival order.
      if ((maxTs - minTs + 1) * seriesSpan * n >= EXACT) return null;
      if (keys.length < n) keys = new Float64Array(n * 2);
      if (rows.length < n) rows = new Uint32Array(n * 2);
      const k = keys.subarray(0, n);
      for (let i = 0; i < n; i++) k[i] = ((ts[i]! - minTs) * seriesSpan + series[i]!) * n + i;
      k.sort();
      const out = rows.subarray(0, n);
      for (let i = 0; i < n; i++) out[i] = k[i]! % n;
      return out;
    },
  };
}
