// The read side of the PostgreSQL backend: a small pool of its own, never
// the writer's connections.
import type pg from 'pg';
import { GatewayError } from '../../core/errors.js';
import type {
  DeadLetterRow,
  DeviceRow,
  MetricSummaryRow,
  ReadingRow,
  ReadingsQuery,
  StorageReader,
} from '../port.js';
import { gatewayCodeForPostgres } from './error-map.js';
import { createPgPool } from './pg-pool.js';
import { redactUrl } from './pg-url.js';
import { readDeadLetters, readReadings } from './row-reads.js';

const MIN_TS = -Number.MAX_SAFE_INTEGER;
const MAX_TS = Number.MAX_SAFE_INTEGER;

/** Connects lazily: a server that cannot be reached fails the first query with a coded error. */
export function openPostgresReader(opts: { url: string; max?: number }): StorageReader {
  const pool = createPgPool({ url: opts.url, max: opts.max ?? 2, applicationName: 'sensor-gateway reader' });
  return new PgReader(pool, redactUrl(opts.url));
}

class PgReader implements StorageReader {
  readonly #pool: pg.Pool;
  readonly #where: string;
  #closed = false;

  constructor(pool: pg.Pool, where: string) {
    this.#pool = pool;
    this.#where = where;
    pool.on('error', () => {}); // an idle connection dropped; the next query reconnects
  }

  readings(query: ReadingsQuery): Promise<ReadingRow[]> {
    return readReadings((sql, params) => this.#rows(sql, params), query);
  }

  devices(): Promise<DeviceRow[]> {
    return this.#rows<DeviceRow>(
      `SELECT device_id AS "deviceId", first_seen AS "firstSeen", last_seen AS "lastSeen"
         FROM devices ORDER BY device_id COLLATE "C"`,
    );
  }

  deadLetters(query: { deviceId?: string; limit?: number } = {}): Promise<DeadLetterRow[]> {
    return readDeadLetters((sql, params) => this.#rows(sql, params), query);
  }

  metricSummary(query: { from?: number; to?: number } = {}): Promise<MetricSummaryRow[]> {
    return this.#rows<MetricSummaryRow>(
      `SELECT s.metric, count(*) AS count, min(r.value) AS min, avg(r.value) AS avg, max(r.value) AS max
         FROM readings r JOIN series s ON s.id = r.series_id
         WHERE r.ts >= $1 AND r.ts < $2 GROUP BY s.metric ORDER BY s.metric COLLATE "C"`,
      [query.from ?? MIN_TS, query.to ?? MAX_TS],
    );
  }

  async countReadings(query: { deviceId?: string } = {}): Promise<number> {
    const rows = await this.#rows<{ n: number }>(
      query.deviceId === undefined
        ? 'SELECT count(*) AS n FROM readings'
        : 'SELECT count(*) AS n FROM readings WHERE series_id IN (SELECT id FROM series WHERE device_id = $1)',
      query.deviceId === undefined ? [] : [query.deviceId],
    );
    return rows[0]?.n ?? 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  async #rows<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (this.#closed) throw new GatewayError('GW_ERR_STORAGE_CLOSED');
    try {
      return (await this.#pool.query<T>(sql, params)).rows;
    } catch (err) {
      throw readError(err, this.#where);
    }
  }
}

/** A read that fails for no storage reason is still a storage failure to the caller. */
export function readError(err: unknown, where: string): GatewayError {
  const code = gatewayCodeForPostgres(err);
  return new GatewayError(code === 'GW_ERR_STORAGE_WRITE' ? 'GW_ERR_STORAGE_IO' : code, [where], {
    cause: err,
  });
}
