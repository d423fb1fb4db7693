// The PostgreSQL schema: the same tables and keys as storage/sqlite/schema.ts
// (minus device credentials, which stay in the SQLite device registry), as
// append-only steps recorded in schema_migrations.
import type pg from 'pg';
import { convertToHypertable, timescaleAvailable } from './timescale.js';

/**
 * Step i brings the schema from version i to i + 1. Append only: a released
 * step is never edited, because databases in the field already ran it.
 */
export const PG_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE devices (
    device_id  text PRIMARY KEY,
    first_seen bigint NOT NULL,
    last_seen  bigint NOT NULL
  );
  -- Interns (device, metric) so a reading row carries one small integer.
  CREATE TABLE series (
    id        serial PRIMARY KEY,
    device_id text NOT NULL,
    metric    text NOT NULL,
    UNIQUE (device_id, metric)
  );
  -- Time first, as in SQLite: appends in ts order hit the right edge of the
  -- B-tree, and the key makes a redelivered reading a no-op under
  -- ON CONFLICT DO NOTHING, whichever gateway of a share group stores it.
  CREATE TABLE readings (
    ts        bigint NOT NULL,
    series_id integer NOT NULL,
    value     double precision NOT NULL,
    PRIMARY KEY (ts, series_id)
  );
  -- Per-series reads (latest, readings of one device) without scanning every
  -- series in the time range. Unlike SQLite's single writer, PostgreSQL pays
  -- for it in a background-friendly way (shared buffers, WAL), so it is worth it.
  CREATE INDEX readings_series_ts ON readings (series_id, ts);
  CREATE TABLE dead_letters (
    id             bigserial PRIMARY KEY,
    received_at    bigint NOT NULL,
    device_id      text,
    topic          text NOT NULL,
    code           text NOT NULL,
    rejections     jsonb NOT NULL, -- array of {index, metric?, code}
    rejected_count integer NOT NULL,
    accepted_count integer NOT NULL,
    payload        bytea NOT NULL,
    payload_bytes  integer NOT NULL
  );
  CREATE INDEX dead_letters_received_at ON dead_letters (received_at);
  `,
  // Rollup tiers and anomalies, keyed as in SQLite (storage/sqlite/schema.ts step 3).
  `
  CREATE TABLE rollups_1m (
    series_id   integer NOT NULL,
    bucket      bigint NOT NULL,
    count       bigint NOT NULL,
    sum         double precision NOT NULL,
    m2          double precision NOT NULL,
    min         double precision NOT NULL,
    max         double precision NOT NULL,
    first_ts    bigint NOT NULL,
    first_value double precision NOT NULL,
    last_ts     bigint NOT NULL,
    last_value  double precision NOT NULL,
    sketch      bytea NOT NULL,
    PRIMARY KEY (series_id, bucket)
  );
  CREATE INDEX rollups_1m_bucket ON rollups_1m (bucket);
  CREATE TABLE rollups_1h (LIKE rollups_1m INCLUDING ALL);
  CREATE TABLE anomalies (
    ts            bigint NOT NULL,
    series_id     integer NOT NULL,
    value         double precision NOT NULL,
    score         double precision NOT NULL,
    expected_low  double precision NOT NULL,
    expected_high double precision NOT NULL,
    PRIMARY KEY (ts, series_id)
  );
  `,
  // Small facts kept across restarts, as SQLite's gateway_state (storage/sqlite/schema.ts step 4).
  `
  CREATE TABLE gateway_state (
    key   text PRIMARY KEY,
    value bigint NOT NULL
  );
  `,
  // The invalidation log of the rollup tiers, as SQLite's (storage/sqlite/
  // schema.ts step 5; storage/rollup-refresh.ts): a (series, minute) is listed
  // from the transaction that stores a reading in it until the re-aggregation
  // has rewritten that minute's row from raw; an hour from the rewrite of one
  // of its minutes until its row is rebuilt from its minutes. Plain tables,
  // also beside a readings hypertable: they are small and short-lived.
  // Every raw minute is listed once here: rollups written by earlier versions
  // missed readings that came after their minute closed, and raw is the truth.
  // The analytics watermark of the start-up rebuild has no reader any more.
  `
  CREATE TABLE rollups_1m_stale (
    bucket    bigint NOT NULL,
    series_id integer NOT NULL,
    PRIMARY KEY (bucket, series_id)
  );
  CREATE INDEX rollups_1m_stale_series ON rollups_1m_stale (series_id, bucket);
  CREATE TABLE rollups_1h_stale (
    bucket    bigint NOT NULL,
    series_id integer NOT NULL,
    PRIMARY KEY (bucket, series_id)
  );
  CREATE INDEX rollups_1h_stale_series ON rollups_1h_stale (series_id, bucket);
  INSERT INTO rollups_1m_stale (bucket, series_id)
    SELECT DISTINCT ts - ts % 60000, series_id FROM readings
  ON CONFLICT DO NOTHING;
  DELETE FROM gateway_state WHERE key = 'analytics_watermark';
  `,
  // Alert lifecycle, as SQLite's anomalies.state (storage/sqlite/schema.ts).
  `
  ALTER TABLE anomalies ADD COLUMN state text NOT NULL DEFAULT 'raised' CHECK (state IN ('raised', 'cleared'));
  `,
  // Series metadata from payload adapters, as SQLite's series.unit and device_class.
  `
  ALTER TABLE series ADD COLUMN unit text;
  ALTER TABLE series ADD COLUMN device_class text;
  `,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

export interface PgMigrationOutcome {
  from: number;
  to: number;
  /** readings is a TimescaleDB hypertable */
  hypertable: boolean;
}

export interface MigrateOptions {
  /** 'auto': a hypertable when the extension is available; 'off': a plain table always */
  timescale: 'auto' | 'off';
  log: (message: string, fields?: Record<string, unknown>) => void;
}

/**
 * Runs the missing steps, each in its own transaction with its version row.
 * Several gateways of a share group start at once against one database: a
 * transaction-scoped advisory lock per schema makes them take turns, and each
 * re-reads the version under the lock. Throws a RangeError for a schema
 * written by a newer gateway.
 */
export async function migratePostgres(
  client: pg.ClientBase,
  opts: MigrateOptions,
): Promise<PgMigrationOutcome> {
  let from = -1;
  for (;;) {
    await client.query('BEGIN');
    try {
      await client.query(`SELECT pg_advisory_xact_lock(7007, hashtext(current_schema()))`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version    integer PRIMARY KEY,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const { rows } = await client.query<{ v: number }>(
        'SELECT coalesce(max(version), 0)::integer AS v FROM schema_migrations',
      );
      const version = rows[0]?.v ?? 0;
      if (from < 0) from = version;
      if (version > PG_SCHEMA_VERSION) {
        throw new RangeError(`schema version ${version} is newer than this gateway's ${PG_SCHEMA_VERSION}`);
      }
      if (version === PG_SCHEMA_VERSION) {
        await client.query('COMMIT');
        break;
      }
      await client.query(PG_MIGRATIONS[version]!);
      // The hypertable is made right after the readings table, before it holds rows.
      if (version === 0) await hypertableBranch(client, opts);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version + 1]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::integer AS n FROM pg_extension e
       WHERE e.extname = 'timescaledb'
         AND to_regclass('timescaledb_information.hypertables') IS NOT NULL`,
  );
  const hypertable = (rows[0]?.n ?? 0) > 0 && (await isHypertable(client));
  return { from, to: PG_SCHEMA_VERSION, hypertable };
}

async function hypertableBranch(client: pg.ClientBase, opts: MigrateOptions): Promise<void> {
  if (opts.timescale === 'off') {
    opts.log('readings: plain table (--pg-timescale off)');
    return;
  }
  if (!(await timescaleAvailable(client))) {
    opts.log('readings: plain table (the timescaledb extension is not available on this server)');
    return;
  }
  opts.log('readings: TimescaleDB hypertable (the timescaledb extension is available)');
  await convertToHypertable(client);
}

async function isHypertable(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::integer AS n FROM timescaledb_information.hypertables
       WHERE hypertable_schema = current_schema() AND hypertable_name = 'readings'`,
  );
  return (rows[0]?.n ?? 0) > 0;
}
