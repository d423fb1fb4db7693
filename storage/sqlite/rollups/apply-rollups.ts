// The writer thread's side of the analytics: rollup merges, anomalies and
// retention steps, inside the same transaction as the batch they came with.
import type { Database, Statement } from 'better-sqlite3';
import { DDSketch } from '../../../core/ddsketch.js';
import { stateAt } from '../../../core/rollup-columns.js';
import { emptyState, mergeState, type RollupState } from '../../../core/rollup-state.js';
import type { PruneStep, RetentionTier, RollupColumns, WriteBatch } from '../../port.js';
import { hourOf, WATERMARK_KEY } from '../../rollup-rebuild.js';

export interface RollupOutcome {
  rollups?: number;
  anomalies?: number;
  pruned?: number;
}

export type SeriesIdOf = (deviceId: string, metric: string) => number;
export type RollupApplier = (batch: WriteBatch, seriesIdOf: SeriesIdOf) => RollupOutcome;

/** A rollup row as SELECTed here and in recover-rollups.ts. */
export interface StoredRow {
  count: number;
  sum: number;
  m2: number;
  min: number;
  max: number;
  firstTs: number;
  first: number;
  lastTs: number;
  last: number;
  sketch: Buffer;
}

/** Must run inside the caller's transaction: it adds no transaction of its own. */
export function prepareRollupApplier(db: Database): RollupApplier {
  const tiers = { '1m': tierStatements(db, 'rollups_1m'), '1h': tierStatements(db, 'rollups_1h') };
  const insertAnomaly = db.prepare(
    `INSERT OR IGNORE INTO anomalies (ts, series_id, value, score, expected_low, expected_high)
     VALUES (?, ?, ?, ?, ?, ?)`,
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
  // Raised, never lowered: see WriteBatch.analyticsWatermark.
  const raiseWatermark = db.prepare(
    `INSERT INTO gateway_state (key, value) VALUES (?, ?)
     ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`,
  );
  // Anomalies live as long as the 1-minute tier they annotate.
  const pruneAnomalies = db.prepare(
    `DELETE FROM anomalies WHERE (ts, series_id) IN
       (SELECT ts, series_id FROM anomalies WHERE ts < ? ORDER BY ts LIMIT ?)`,
  );

  function mergeInto(tier: TierStatements, seriesId: number, bucket: number, state: RollupState): void {
    const stored = tier.select.get(seriesId, bucket) as StoredRow | undefined;
    let merged = state;
    if (stored !== undefined) {
      merged = fromStored(stored);
      mergeState(merged, state);
    }
    tier.upsert.run(
      seriesId,
      bucket,
      merged.count,
      merged.sum,
      merged.m2,
      merged.min,
      merged.max,
      merged.firstTs,
      merged.first,
      merged.lastTs,
      merged.last,
      merged.sketch.encode(),
    );
  }

  function applyRollups(rollups: RollupColumns, seriesIdOf: SeriesIdOf): number {
    const hours = new Map<string, { seriesId: number; bucket: number; state: RollupState }>();
    const rows = rollups.bucket.length;
    for (let i = 0; i < rows; i++) {
      const seriesId = seriesIdOf(
        rollups.devices[rollups.deviceIndex[i]!]!,
        rollups.metrics[rollups.metricIndex[i]!]!,
      );
      const bucket = rollups.bucket[i]!;
      const state = stateAt(rollups, i);
      mergeInto(tiers['1m'], seriesId, bucket, state);
      // Minutes of one hour in this batch are merged first: one hour row write each.
      const hour = hourOf(bucket);
      const key = `${seriesId}:${hour}`;
      const pending = hours.get(key);
      if (pending === undefined) {
        const copy = emptyState();
        mergeState(copy, state);
        hours.set(key, { seriesId, bucket: hour, state: copy });
      } else mergeState(pending.state, state);
    }
    for (const { seriesId, bucket, state } of hours.values()) mergeInto(tiers['1h'], seriesId, bucket, state);
    return rows + hours.size;
  }

  function applyPrune(step: PruneStep): number {
    const limit = Math.max(1, Math.trunc(step.maxRows));
    let deleted = prune[step.tier].run(step.before, limit).changes;
    if (step.tier === '1m') deleted += pruneAnomalies.run(step.before, limit).changes;
    return deleted;
  }

  return (batch, seriesIdOf) => {
    const outcome: RollupOutcome = {};
    if (batch.rollups !== undefined) outcome.rollups = applyRollups(batch.rollups, seriesIdOf);
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
        ).changes;
      }
      outcome.anomalies = stored;
    }
    if (batch.prune !== undefined) outcome.pruned = applyPrune(batch.prune);
    if (batch.analyticsWatermark !== undefined) raiseWatermark.run(WATERMARK_KEY, batch.analyticsWatermark);
    return outcome;
  };
}

interface TierStatements {
  select: Statement;
  upsert: Statement;
}

function tierStatements(db: Database, table: 'rollups_1m' | 'rollups_1h'): TierStatements {
  return {
    select: db.prepare(
      `SELECT count, sum, m2, min, max, first_ts AS firstTs, first_value AS first, last_ts AS lastTs,
         last_value AS last, sketch FROM ${table} WHERE series_id = ? AND bucket = ?`,
    ),
    upsert: db.prepare(
      `INSERT INTO ${table} (series_id, bucket, count, sum, m2, min, max, first_ts, first_value,
         last_ts, last_value, sketch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (series_id, bucket) DO UPDATE SET count = excluded.count, sum = excluded.sum,
         m2 = excluded.m2, min = excluded.min, max = excluded.max, first_ts = excluded.first_ts,
         first_value = excluded.first_value, last_ts = excluded.last_ts,
         last_value = excluded.last_value, sketch = excluded.sketch`,
    ),
  };
}

export function fromStored(row: StoredRow): RollupState {
  return { ...row, sketch: DDSketch.decode(row.sketch) };
}
