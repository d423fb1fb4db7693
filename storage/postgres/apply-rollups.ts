// Rollup merges, anomalies and retention steps inside the batch's transaction,
// with the same merge order as storage/sqlite/rollups/apply-rollups.ts so both
// backends store bit-identical states for the same batches.
//
// Several gateways may merge into one bucket at once. A bucket row is first
// made to exist (a count-0 placeholder, ON CONFLICT DO NOTHING), then locked
// (SELECT ... FOR UPDATE), merged in JS and written back: the second
// transaction waits for the first and merges into its result, instead of
// overwriting it as a blind upsert would.
import type pg from 'pg';
import { DDSketch } from '../../core/ddsketch.js';
import type { RollupState } from '../../core/rollup-state.js';
import type { PruneStep, RetentionTier, WriteBatch } from '../port.js';
import type { SeriesIdOf } from './apply-batch.js';

export interface PgRollupOutcome {
  rollups?: number;
  anomalies?: number;
  pruned?: number;
}

/** A rollup row as pg returns it (shared with recover-rollups.ts). */
export interface StoredRow {
  series_id: number;
  bucket: number;
  count: number;
  sum: number;
  m2: number;
  min: number;
  max: number;
  first_ts: number;
  first_value: number;
  last_ts: number;
  last_value: number;
  sketch: Buffer;
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
         SELECT * FROM unnest($1::bigint[], $2::integer[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::text[])
           AS u(ts, sid, v, s, lo, hi, st) ORDER BY ts, sid
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

export function stateArrays(states: readonly RollupState[]): unknown[][] {
  return [
    states.map((s) => s.count),
    states.map((s) => s.sum),
    states.map((s) => s.m2),
    states.map((s) => s.min),
    states.map((s) => s.max),
    states.map((s) => s.firstTs),
    states.map((s) => s.first),
    states.map((s) => s.lastTs),
    states.map((s) => s.last),
    states.map((s) => Buffer.from(s.sketch.encode())),
  ];
}

export function fromStored(row: StoredRow): RollupState {
  return {
    count: row.count,
    sum: row.sum,
    m2: row.m2,
    min: row.min,
    max: row.max,
    firstTs: row.first_ts,
    first: row.first_value,
    lastTs: row.last_ts,
    last: row.last_value,
    sketch: DDSketch.decode(row.sketch),
  };
}

/** What storing the state and reading it back gives (the sketch through its encoding). */
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
