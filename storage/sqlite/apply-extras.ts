// What a batch carries besides readings: alert transitions and one bounded retention
// step, inside the same transaction as the batch they came with.
import type { Database, Statement } from 'better-sqlite3';
import type { PruneStep, RetentionTier, WriteBatch } from '../port.js';

export interface ExtrasOutcome {
  anomalies?: number;
  pruned?: number;
}

export type SeriesIdOf = (deviceId: string, metric: string) => number;
export type ExtrasApplier = (batch: WriteBatch, seriesIdOf: SeriesIdOf) => ExtrasOutcome;

/**
 * Must run inside the caller's transaction: it adds no transaction of its own.
 * `onRawPruned` runs for every raw retention step, in that transaction.
 */
export function prepareExtrasApplier(db: Database, onRawPruned: (before: number) => void): ExtrasApplier {
  const insertAnomaly = db.prepare(
    `INSERT OR IGNORE INTO anomalies (ts, series_id, value, score, expected_low, expected_high, state)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const prune: Record<RetentionTier, Statement> = {
    raw: db.prepare(
      `DELETE FROM readings WHERE (ts, series_id) IN
         (SELECT ts, series_id FROM readings WHERE ts < ? ORDER BY ts LIMIT ?)`,
    ),
    '1m': db.prepare(
      `DELETE FROM rollups_1m WHERE (series_id, bucket) IN
         (SELECT series_id, bucket FROM rollups_1m WHERE bucket < ? ORDER BY bucket LIMIT ?)`,
    ),
    '1h': db.prepare(
      `DELETE FROM rollups_1h WHERE (series_id, bucket) IN
         (SELECT series_id, bucket FROM rollups_1h WHERE bucket < ? ORDER BY bucket LIMIT ?)`,
    ),
  };
  // A minute whose raw readings retention took can no longer be rebuilt: its
  // row stays as it is, and so must the answer, so the mark goes too.
  const pruneMarks = db.prepare('DELETE FROM rollups_1m_stale WHERE bucket < ?');
  const pruneFleetMarks = db.prepare('DELETE FROM rollups_fleet_1m_stale WHERE window_end <= ?');
  // The fleet tier lives as long as the 1-minute tier it summarises.
  const pruneFleet = db.prepare(
    `DELETE FROM rollups_fleet_1m WHERE (metric, window_end) IN
       (SELECT metric, window_end FROM rollups_fleet_1m WHERE window_end < ? ORDER BY window_end LIMIT ?)`,
  );
  // Anomalies live as long as the 1-minute tier they annotate.
  const pruneAnomalies = db.prepare(
    `DELETE FROM anomalies WHERE (ts, series_id) IN
       (SELECT ts, series_id FROM anomalies WHERE ts < ? ORDER BY ts LIMIT ?)`,
  );

  function applyPrune(step: PruneStep): number {
    const limit = Math.max(1, Math.trunc(step.maxRows));
    let deleted = prune[step.tier].run(step.before, limit).changes;
    if (step.tier === 'raw') {
      pruneMarks.run(step.before - (step.before % 60_000));
      pruneFleetMarks.run(step.before - (step.before % 60_000));
      onRawPruned(step.before);
    }
    if (step.tier === '1m') {
      deleted += pruneAnomalies.run(step.before, limit).changes;
      // A window per metric for each minute with readings, and one more for
      // readings on a minute's edge: at most twice the 1-minute rows, so
      // this keeps pace with them. Not counted: the port counts tier rows.
      pruneFleet.run(step.before, 2 * limit);
    }
    return deleted;
  }

  return (batch, seriesIdOf) => {
    const outcome: ExtrasOutcome = {};
    if (batch.anomalies !== undefined) {
      let stored = 0;
      for (const a of batch.anomalies) {
        stored += insertAnomaly.run(
          a.ts,
          seriesIdOf(a.deviceId, a.metric),
          a.value,
          a.score,
          a.expectedLow,
          a.expectedHigh,
          a.state,
        ).changes;
      }
      outcome.anomalies = stored;
    }
    if (batch.prune !== undefined) outcome.pruned = applyPrune(batch.prune);
    return outcome;
  };
}
