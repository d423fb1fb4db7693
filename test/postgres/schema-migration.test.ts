// The invalidation-log migration on a store an earlier version wrote: every
// stored minute is listed stale once (raw is the truth, the old rows may have
// missed late readings), and the start-up rebuild's watermark goes.
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { addReading, emptyState } from '../../core/rollup-state.js';
import { openPostgresWriter } from '../../storage/postgres/postgres-writer.js';
import { openPostgresQueryService } from '../../storage/postgres/query/postgres-query-service.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../../storage/postgres/schema.js';
import { rowOf } from '../../storage/rollup-refresh.js';
import { createTestSchema, type TestSchema } from './pg-schema.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** PG_MIGRATIONS[3] adds the invalidation log: the store is left as the step before wrote it. */
const LOG_STEP = 3;

let schema: TestSchema | undefined;
afterEach(async () => {
  await schema?.drop();
  schema = undefined;
});

it('lists every stored minute stale once, drops the watermark, and the tiers then equal raw', async () => {
  schema = await createTestSchema();
  // Ahead of the clock: the writer's background refresh leaves these minutes alone.
  const base = Math.floor(Date.now() / HOUR) * HOUR + 2 * HOUR;
  const old = new pg.Client({ connectionString: schema.url });
  await old.connect();
  try {
    await old.query(
      'CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    for (let v = 0; v < LOG_STEP; v++) {
      await old.query(PG_MIGRATIONS[v]!);
      await old.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v + 1]);
    }
    await old.query(`INSERT INTO series (device_id, metric) VALUES ('old-1', 'temp')`);
    await old.query(
      `INSERT INTO readings (ts, series_id, value)
         SELECT ts, 1, v FROM unnest($1::bigint[], $2::float8[]) AS u(ts, v)`,
      [
        [base + 1000, base + 2000, base + MINUTE + 1000, base + 2 * MINUTE + 5000],
        [1, 2, 3, 4],
      ],
    );
    // What the analytics wrote for the first minute before its late reading came.
    const state = emptyState();
    addReading(state, base + 1000, 1);
    const row = rowOf(state);
    await old.query(
      `INSERT INTO rollups_1m (series_id, bucket, count, sum, m2, min, max, first_ts, first_value,
         last_ts, last_value, sketch) VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [base, ...row.slice(0, 9), Buffer.from(row[9])],
    );
    await old.query(`INSERT INTO gateway_state (key, value) VALUES ('analytics_watermark', $1)`, [base]);
  } finally {
    await old.end();
  }

  const writer = await openPostgresWriter({ url: schema.url });
  const query = openPostgresQueryService({ url: schema.url });
  try {
    expect(writer.settings.schemaVersion).toBe(PG_SCHEMA_VERSION);
    const marks = await schema.query<{ bucket: number }>(
      'SELECT bucket::float8 AS bucket FROM rollups_1m_stale ORDER BY bucket',
    );
    expect(marks.map((m) => m.bucket)).toEqual([base, base + MINUTE, base + 2 * MINUTE]);
    expect(await schema.query('SELECT * FROM gateway_state')).toEqual([]);

    const ask = () =>
      query.series({
        device: 'old-1',
        metric: 'temp',
        from: base,
        to: base + 3 * MINUTE,
        bucketMs: MINUTE,
        aggs: ['count', 'sum'],
      });
    const want = [
      { bucketStart: base, values: { count: 2, sum: 3 } },
      { bucketStart: base + MINUTE, values: { count: 1, sum: 3 } },
      { bucketStart: base + 2 * MINUTE, values: { count: 1, sum: 4 } },
    ];
    // Answered from raw while listed, from the rewritten rows after.
    expect((await ask()).points).toEqual(want);
    await writer.refreshRollups({ now: base + 2 * HOUR });
    expect(await schema.query('SELECT * FROM rollups_1m_stale')).toEqual([]);
    expect((await ask()).points).toEqual(want);
    const hour = await query.series({
      device: 'old-1',
      metric: 'temp',
      from: base,
      to: base + HOUR,
      bucketMs: HOUR,
      aggs: ['count', 'sum'],
    });
    expect(hour.points).toEqual([{ bucketStart: base, values: { count: 4, sum: 10 } }]);
  } finally {
    await query.close();
    await writer.close();
  }
});
