// Anomalies and retention steps inside the batch's transaction. The rollup
// tiers are written by the re-aggregation (rollups/rollup-refresher.ts).
import type pg from 'pg';
import type { PruneStep, RetentionTier, WriteBatch } from '../port.js';
import type { SeriesIdOf } from './apply-batch.js';

export interface PgRollupOutcome {
  anomalies?: number;
  pruned?: number;
}

export async function applyPgRollups(
  client: pg.ClientBase,
  batch: WriteBatch,
  idOf: SeriesIdOf,
): Promise<PgRollupOutcome> {
  const outcome: PgRollupOutcome = {};
  if (batch.anomalies !== undefined && batch.anomalies.length > 0) {
    const a = batch.anomalies;
    const res = await client.query(
      `INSERT INTO anomalies (ts, series_id, value, score, expected_low, expected_high, state)
         SELECT ts, sid, v, s, lo, hi, st
           FROM unnest($1::bigint[], $2::integer[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::text[])
             WITH ORDINALITY AS u(ts, sid, v, s, lo, hi, st, i)
           ORDER BY ts, sid, i
       ON CONFLICT (ts, series_id) DO NOTHING`,
      [
        a.map((x) => x.ts),
        a.map((x) => idOf(x.deviceId, x.metric)),
        a.map((x) => x.value),
        a.map((x) => x.score),
        a.map((x) => x.expectedLow),
        a.map((x) => x.expectedHigh),
        a.map((x) => x.state),
      ],
    );
    outcome.anomalies = res.rowCount ?? 0;
  } else if (batch.anomalies !== undefined) outcome.anomalies = 0;
  if (batch.prune !== undefined) outcome.pruned = await applyPrune(client, batch.prune);
  return outcome;
}

const PRUNE: Record<RetentionTier, string> = {
  raw: `DELETE FROM readings WHERE (ts, series_id) IN
          (SELECT ts, series_id FROM readings WHERE ts < $1 ORDER BY ts LIMIT $2)`,
  '1m': `DELETE FROM rollups_1m WHERE (series_id, bucket) IN
          (SELECT series_id, bucket FROM rollups_1m WHERE bucket < $1 ORDER BY bucket LIMIT $2)`,
  '1h': `DELETE FROM rollups_1h WHERE (series_id, bucket) IN
          (SELECT series_id, bucket FROM rollups_1h WHERE bucket < $1 ORDER BY bucket LIMIT $2)`,
};

async function applyPrune(client: pg.ClientBase, step: PruneStep): Promise<number> {
  const limit = Math.max(1, Math.trunc(step.maxRows));
  let deleted = (await client.query(PRUNE[step.tier], [step.before, limit])).rowCount ?? 0;
  if (step.tier === 'raw') {
    // A minute whose raw readings retention took can no longer be rebuilt: its
    // row stays as it is, and so must the answer, so the mark goes too. A mark
    // a rebuild holds is left to it (SKIP LOCKED): retention never waits for one.
    await client.query(
      `DELETE FROM rollups_1m_stale WHERE (bucket, series_id) IN
         (SELECT bucket, series_id FROM rollups_1m_stale WHERE bucket < $1 FOR UPDATE SKIP LOCKED)`,
      [step.before - (step.before % 60_000)],
    );
  }
  // Anomalies live as long as the 1-minute tier they annotate.
  if (step.tier === '1m') {
    deleted +=
      (
        await client.query(
          `DELETE FROM anomalies WHERE (ts, series_id) IN
             (SELECT ts, series_id FROM anomalies WHERE ts < $1 ORDER BY ts LIMIT $2)`,
          [step.before, limit],
        )
      ).rowCount ?? 0;
  }
  return deleted;
}
