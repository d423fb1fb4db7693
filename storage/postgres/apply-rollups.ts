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
import { stateAt } from '../../core/rollup-columns.js';
import { emptyState, mergeState, type RollupState } from '../../core/rollup-state.js';
import type { PruneStep, RetentionTier, RollupColumns, WriteBatch } from '../port.js';
import { hourOf, WATERMARK_KEY } from '../rollup-rebuild.js';
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

type Table = 'rollups_1m' | 'rollups_1h';

export async function applyPgRollups(
  client: pg.ClientBase,
  batch: WriteBatch,
  idOf: SeriesIdOf,
): Promise<PgRollupOutcome> {
  const outcome: PgRollupOutcome = {};
  if (batch.rollups !== undefined) outcome.rollups = await applyRollups(client, batch.rollups, idOf);
  if (batch.anomalies !== undefined && batch.anomalies.length > 0) {
    const a = batch.anomalies;
    const res = await client.query(
      `INSERT INTO anomalies (ts, series_id, value, score, expected_low, expected_high)
         SELECT * FROM unnest($1::bigint[], $2::integer[], $3::float8[], $4::float8[], $5::float8[], $6::float8[])
           AS u(ts, sid, v, s, lo, hi) ORDER BY ts, sid
       ON CONFLICT (ts, series_id) DO NOTHING`,
      [
        a.map((x) => x.ts),
        a.map((x) => idOf(x.deviceId, x.metric)),
        a.map((x) => x.value),
        a.map((x) => x.score),
        a.map((x) => x.expectedLow),
        a.map((x) => x.expectedHigh),
      ],
    );
    outcome.anomalies = res.rowCount ?? 0;
  } else if (batch.anomalies !== undefined) outcome.anomalies = 0;
  if (batch.prune !== undefined) outcome.pruned = await applyPrune(client, batch.prune);
  if (batch.analyticsWatermark !== undefined) {
    // Raised, never lowered (WriteBatch.analyticsWatermark); GREATEST also when gateways share the store.
    await client.query(
      `INSERT INTO gateway_state (key, value) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET value = GREATEST(gateway_state.value, excluded.value)`,
      [WATERMARK_KEY, batch.analyticsWatermark],
    );
  }
  return outcome;
}

async function applyRollups(
  client: pg.ClientBase,
  rollups: RollupColumns,
  idOf: SeriesIdOf,
): Promise<number> {
  // Minute rows in batch order, grouped per key; hours merged across the batch first (one write each).
  const minutes = new Map<string, { sid: number; bucket: number; states: RollupState[] }>();
  const hours = new Map<string, { sid: number; bucket: number; states: RollupState[] }>();
  const rows = rollups.bucket.length;
  for (let i = 0; i < rows; i++) {
    const sid = idOf(rollups.devices[rollups.deviceIndex[i]!]!, rollups.metrics[rollups.metricIndex[i]!]!);
    const bucket = rollups.bucket[i]!;
    const state = stateAt(rollups, i);
    const key = `${sid}:${bucket}`;
    const minute = minutes.get(key);
    if (minute === undefined) minutes.set(key, { sid, bucket, states: [state] });
    else minute.states.push(state);
    const hour = hourOf(bucket);
    const hourKey = `${sid}:${hour}`;
    const pending = hours.get(hourKey);
    if (pending === undefined) {
      const copy = emptyState();
      mergeState(copy, state);
      hours.set(hourKey, { sid, bucket: hour, states: [copy] });
    } else mergeState(pending.states[0]!, state);
  }
  await mergeInto(client, 'rollups_1m', [...minutes.values()]);
  await mergeInto(client, 'rollups_1h', [...hours.values()]);
  return rows + hours.size;
}

async function mergeInto(
  client: pg.ClientBase,
  table: Table,
  keys: Array<{ sid: number; bucket: number; states: RollupState[] }>,
): Promise<void> {
  if (keys.length === 0) return;
  keys.sort((a, b) => a.sid - b.sid || a.bucket - b.bucket);
  const sids = keys.map((k) => k.sid);
  const buckets = keys.map((k) => k.bucket);
  await client.query(
    `INSERT INTO ${table} (series_id, bucket, count, sum, m2, min, max, first_ts, first_value,
       last_ts, last_value, sketch)
     SELECT sid, b, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\x'::bytea FROM unnest($1::integer[], $2::bigint[]) AS u(sid, b)
     ORDER BY sid, b
     ON CONFLICT (series_id, bucket) DO NOTHING`,
    [sids, buckets],
  );
  const { rows } = await client.query<StoredRow>(
    `SELECT r.* FROM ${table} r JOIN unnest($1::integer[], $2::bigint[]) AS u(sid, b)
       ON r.series_id = u.sid AND r.bucket = u.b
     ORDER BY r.series_id, r.bucket FOR UPDATE OF r`,
    [sids, buckets],
  );
  const stored = new Map(rows.map((r) => [`${r.series_id}:${r.bucket}`, r]));
  const merged = keys.map((k) => {
    const row = stored.get(`${k.sid}:${k.bucket}`);
    // As SQLite: with nothing stored the first state is taken as it is; each
    // further state merges into what a store-and-reload would have given.
    let state: RollupState | undefined = row === undefined || row.count === 0 ? undefined : fromStored(row);
    for (const s of k.states) {
      if (state === undefined) state = s;
      else {
        mergeState(state, s);
      }
      if (k.states.length > 1) state = reload(state);
    }
    return state!;
  });
  await client.query(
    `UPDATE ${table} r SET count = u.count, sum = u.sum, m2 = u.m2, min = u.min, max = u.max,
       first_ts = u.first_ts, first_value = u.first_value, last_ts = u.last_ts, last_value = u.last_value,
       sketch = u.sketch
     FROM unnest($1::integer[], $2::bigint[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[],
       $7::float8[], $8::bigint[], $9::float8[], $10::bigint[], $11::float8[], $12::bytea[])
       AS u(sid, b, count, sum, m2, min, max, first_ts, first_value, last_ts, last_value, sketch)
     WHERE r.series_id = u.sid AND r.bucket = u.b`,
    [sids, buckets, ...stateArrays(merged)],
  );
}

/** The state columns of rows, count … sketch in table order, as unnest() parameters. */
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
function reload(state: RollupState): RollupState {
  return { ...state, sketch: DDSketch.decode(state.sketch.encode()) };
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
