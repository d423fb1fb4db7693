// The fleet tier's half of the re-aggregation (storage/fleet-rollup.ts), on
// the writer thread. Rewriting a (series, minute) from raw marks the two
// fleet windows that minute's readings fall in, in the same transaction; a
// marked window is then rebuilt from its raw readings across every series,
// one window at a time, its scan in slices like a minute's. Readings stored
// while a window is read carry a minute mark of their own, which keeps the
// window answered from raw and, once rewritten, marks the window again. A
// window the writer folded as it stored it (minute-folds.ts) is not read.
import { performance } from 'node:perf_hooks';
import type { Database } from 'better-sqlite3';
import {
  addSeries,
  addToWindow,
  FLEET_COLUMNS,
  type FleetStats,
  newFleetStats,
  type SeriesWindow,
} from '../../fleet-rollup.js';
import { MINUTE_MS, minuteOf, REFRESH_GRACE_MS, REFRESH_SCAN_ROWS } from '../../rollup-refresh.js';
import type { FoldedWindow, MinuteFolds } from './minute-folds.js';

interface WindowJob {
  end: number;
  metrics: Set<string>;
  /** scanned from raw: each series' window so far */
  perSeries: Map<number, SeriesWindow>;
  /** or folded by the writer (minute-folds.ts): the series not yet taken */
  folded: FoldedWindow | undefined;
  /** per stale metric, the series taken from the fold so far */
  stats: Map<string, FleetStats>;
  cursorTs: number;
  cursorSeries: number;
  scanned: boolean;
}

export interface FleetRefresher {
  /** For one transaction of minute rewrites: call it for each (minute, series) rewritten. */
  marker(): (minute: number, seriesId: number) => void;
  /** A window is half read: it goes first, before any minute. */
  busy(): boolean;
  /** Rebuilds stale windows closed at `now` until `deadline`; true when work is left. */
  step(deadline: number, now: number): boolean;
  /** Retention is deleting raw readings before `before`. */
  prunedBefore(before: number): void;
}

export function prepareFleetRefresher(db: Database, folds?: MinuteFolds): FleetRefresher {
  const metricOfRow = db.prepare('SELECT metric FROM series WHERE id = ?').pluck();
  const mark = db.prepare('INSERT OR IGNORE INTO rollups_fleet_1m_stale (window_end, metric) VALUES (?, ?)');
  const nextWindow = db
    .prepare(
      'SELECT window_end FROM rollups_fleet_1m_stale WHERE window_end <= ? ORDER BY window_end LIMIT 1',
    )
    .pluck();
  const staleMetrics = db.prepare('SELECT metric FROM rollups_fleet_1m_stale WHERE window_end = ?').pluck();
  const scan = db
    .prepare(
      `SELECT ts, series_id, value FROM readings
         WHERE (ts, series_id) > (?, ?) AND ts <= ? ORDER BY ts, series_id LIMIT ?`,
    )
    .raw(true);
  const columns = ['metric', 'window_end', ...FLEET_COLUMNS];
  const upsert = db.prepare(
    `INSERT INTO rollups_fleet_1m (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})
     ON CONFLICT (metric, window_end) DO UPDATE SET
       ${FLEET_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')}`,
  );
  const remove = db.prepare('DELETE FROM rollups_fleet_1m WHERE metric = ? AND window_end = ?');
  const clear = db.prepare('DELETE FROM rollups_fleet_1m_stale WHERE window_end = ? AND metric = ?');
  // A series never changes metric: this only grows with the series table.
  const metrics = new Map<number, string>();
  const metricOf = (seriesId: number): string | undefined => {
    let m = metrics.get(seriesId);
    if (m === undefined) {
      m = metricOfRow.get(seriesId) as string | undefined;
      if (m !== undefined) metrics.set(seriesId, m);
    }
    return m;
  };
  let job: WindowJob | undefined;

  function begin(now: number): boolean {
    const closed = minuteOf(now - REFRESH_GRACE_MS);
    const end = nextWindow.get(closed) as number | undefined;
    if (end === undefined) return false;
    job = newJob(end, new Set(staleMetrics.all(end) as string[]), folds?.window(end));
    return true;
  }

  function newJob(end: number, metrics: Set<string>, folded: FoldedWindow | undefined): WindowJob {
    return {
      end,
      metrics,
      perSeries: new Map(),
      folded,
      stats: new Map([...metrics].map((m) => [m, newFleetStats()])),
      // (ts, series) > (end − 1 min, ∞): the window is open at its start.
      cursorTs: end - MINUTE_MS,
      cursorSeries: Number.MAX_SAFE_INTEGER,
      scanned: false,
    };
  }

  /** Takes a slice of series from the fold, as scanSome reads a slice of raw. */
  function takeSome(j: WindowJob, folded: FoldedWindow): void {
    for (let n = 0; n < REFRESH_SCAN_ROWS; n++) {
      const next = folded.series.next();
      if (next.done === true) {
        j.scanned = true;
        return;
      }
      const [seriesId, w] = next.value;
      const m = metricOf(seriesId);
      if (m !== undefined && j.metrics.has(m)) addSeries(j.stats.get(m)!, w);
    }
  }

  function scanSome(j: WindowJob): void {
    const rows = scan.all(j.cursorTs, j.cursorSeries, j.end, REFRESH_SCAN_ROWS) as [number, number, number][];
    for (const [, seriesId, value] of rows) {
      const m = metricOf(seriesId);
      if (m === undefined || !j.metrics.has(m)) continue;
      j.perSeries.set(seriesId, addToWindow(j.perSeries.get(seriesId), value));
    }
    const last = rows[rows.length - 1];
    if (last !== undefined) {
      j.cursorTs = last[0];
      j.cursorSeries = last[1];
    }
    if (rows.length < REFRESH_SCAN_ROWS) j.scanned = true;
  }

  const write = db.transaction((j: WindowJob) => {
    for (const [seriesId, w] of j.perSeries) addSeries(j.stats.get(metricOf(seriesId)!)!, w);
    for (const [m, stats] of j.stats) {
      // stats[0]: how many series had readings in the window
      if (stats[0] === 0) remove.run(m, j.end);
      else upsert.run(m, j.end, ...stats);
      clear.run(j.end, m);
    }
  });

  return {
    marker() {
      const done = new Set<string>();
      return (minute, seriesId) => {
        const m = metricOf(seriesId);
        if (m === undefined) return;
        // A minute's readings fall in the window it ends (a reading at its
        // start) and the one ending a minute later (every other reading).
        for (const end of [minute, minute + MINUTE_MS]) {
          const key = `${end}\0${m}`;
          if (done.has(key)) continue;
          mark.run(end, m);
          done.add(key);
        }
      };
    },
    busy: () => job !== undefined,
    step(deadline, now) {
      do {
        if (job === undefined && !begin(now)) return false;
        let j = job!;
        // Between two slices a batch rolled back, or a minute was dropped: start again, from raw.
        if (j.folded !== undefined && !j.folded.intact()) j = job = newJob(j.end, j.metrics, undefined);
        if (!j.scanned) {
          if (j.folded !== undefined) takeSome(j, j.folded);
          else scanSome(j);
        } else {
          write.immediate(j);
          job = undefined;
        }
      } while (performance.now() < deadline);
      return true;
    },
    prunedBefore(before) {
      if (job !== undefined && job.end - MINUTE_MS < before) job = undefined;
    },
  };
}
