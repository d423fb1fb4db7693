// The TimescaleDB branch, kept apart: this project's machines run plain
// PostgreSQL 15, so this path is exercised only where the extension exists.
import type pg from 'pg';

/** One chunk per day of epoch-ms timestamps. */
export const CHUNK_INTERVAL_MS = 86_400_000;

export async function timescaleAvailable(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'`);
  return rows.length > 0;
}

/**
 * Makes `readings` a hypertable on its integer `ts` (epoch ms). Its primary
 * key (ts, series_id) already holds the time column, as a hypertable's unique
 * indexes must. Runs inside the migration's transaction, on an empty table.
 */
export async function convertToHypertable(client: pg.ClientBase): Promise<void> {
  await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
  await client.query(`SELECT create_hypertable('readings', 'ts', chunk_time_interval => $1::bigint)`, [
    CHUNK_INTERVAL_MS,
  ]);
}
