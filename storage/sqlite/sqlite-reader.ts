import Database from 'better-sqlite3';
import { GatewayError } from '../../core/errors.js';
import type { ForwardStatus } from '../forward-port.js';
import type {
  DeadLetterRow,
  DeviceRow,
  MetricSummaryRow,
  ReadingRow,
  ReadingsQuery,
  StorageReader,
} from '../port.js';
import { gatewayCodeForSqlite } from './error-map.js';
import { readForwardStatus } from './forward-log.js';
import { readDeadLetters, readReadings } from './row-reads.js';

// Runs in the calling thread for now (query CLI, tests); the gateway's HTTP reads will move to a worker.

const MIN_TS = -Number.MAX_SAFE_INTEGER;
const MAX_TS = Number.MAX_SAFE_INTEGER;

/**
 * A read-only connection of its own. Throws GW_ERR_STORAGE_OPEN when the file
 * does not exist or cannot be opened; a file that is not a database fails on
 * its first query with GW_ERR_STORAGE_CORRUPT.
 */
export function openSqliteReader(opts: { path: string }): StorageReader {
  let db: Database.Database;
  try {
    db = new Database(opts.path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new GatewayError('GW_ERR_STORAGE_OPEN', [`${opts.path} (${describe(err)})`], { cause: err });
  }
  return new SqliteReader(db, opts.path);
}

class SqliteReader implements StorageReader {
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #statements = new Map<string, Database.Statement>();

  constructor(db: Database.Database, path: string) {
    this.#db = db;
    this.#path = path;
  }

  readings(query: ReadingsQuery): Promise<ReadingRow[]> {
    return this.#run(() => readReadings((sql) => this.#prepare(sql), query));
  }

  devices(): Promise<DeviceRow[]> {
    return this.#run(
      () =>
        this.#prepare(
          `SELECT device_id AS deviceId, first_seen AS firstSeen, last_seen AS lastSeen
             FROM devices ORDER BY device_id`,
        ).all() as DeviceRow[],
    );
  }

  deadLetters(query: { deviceId?: string; limit?: number } = {}): Promise<DeadLetterRow[]> {
    return this.#run(() => readDeadLetters((sql) => this.#prepare(sql), query));
  }

  metricSummary(query: { from?: number; to?: number } = {}): Promise<MetricSummaryRow[]> {
    return this.#run(
      () =>
        this.#prepare(
          `SELECT s.metric AS metric, count(*) AS count, min(r.value) AS min, avg(r.value) AS avg,
               max(r.value) AS max
             FROM readings r JOIN series s ON s.id = r.series_id
             WHERE r.ts >= ? AND r.ts < ? GROUP BY s.metric ORDER BY s.metric`,
        ).all(query.from ?? MIN_TS, query.to ?? MAX_TS) as MetricSummaryRow[],
    );
  }

  countReadings(query: { deviceId?: string } = {}): Promise<number> {
    return this.#run(() =>
      query.deviceId === undefined
        ? (this.#prepare('SELECT count(*) FROM readings').pluck().get() as number)
        : (this.#prepare(
            'SELECT count(*) FROM readings WHERE series_id IN (SELECT id FROM series WHERE device_id = ?)',
          )
            .pluck()
            .get(query.deviceId) as number),
    );
  }

  forwardStatus(): Promise<ForwardStatus> {
    return this.#run(() => readForwardStatus(this.#db));
  }

  close(): Promise<void> {
    this.#db.close();
    return Promise.resolve();
  }

  #prepare(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Settles as a promise with a coded error, like every other backend will. */
  #run<T>(query: () => T): Promise<T> {
    if (!this.#db.open) return Promise.reject(new GatewayError('GW_ERR_STORAGE_CLOSED'));
    try {
      return Promise.resolve(query());
    } catch (err) {
      const code = gatewayCodeForSqlite((err as { code?: unknown }).code);
      // A read that fails for no storage reason is still a storage failure to the caller.
      return Promise.reject(
        new GatewayError(code === 'GW_ERR_STORAGE_WRITE' ? 'GW_ERR_STORAGE_IO' : code, [this.#path], {
          cause: err,
        }),
      );
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
