// The PostgreSQL StorageWriter. pg is asynchronous, so no writer thread is
// needed: the event loop only builds the statements' array parameters and
// awaits the server. Batches run one transaction at a time, in submission
// order, so they settle in that order (the pipeline's per-device order) and a
// failed batch settles in its place. The re-aggregation's steps
// (rollups/rollup-refresher.ts) take their turns in the same queue.
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { GatewayError } from '../../core/errors.js';
import {
  type BackgroundRefresh,
  checkRollupCpuPercent,
  DEFAULT_ROLLUP_CPU_PERCENT,
  type StepOutcome,
  startBackgroundRefresh,
} from '../background-refresh.js';
import type {
  RefreshOutcome,
  StorageHealth,
  StorageWriter,
  WriteBatch,
  WriteResult,
  WriterLoad,
} from '../port.js';
import { emptyOutcome } from '../rollup-refresh.js';
import { type LastStorageError, storageHealth } from '../storage-health.js';
import { applyPgBatch, type WriterCaches } from './apply-batch.js';
import { gatewayCodeForPostgres } from './error-map.js';
import { createPgPool } from './pg-pool.js';
import { redactUrl } from './pg-url.js';
import { refreshStep } from './rollups/rollup-refresher.js';
import { migratePostgres } from './schema.js';

export interface PostgresWriterOptions {
  /** postgres://user@host:5432/db?options=-c%20search_path%3Dmy_schema */
  url: string;
  /** 'auto' (default): readings is a hypertable when TimescaleDB is available */
  timescale?: 'auto' | 'off';
  /** start-up notes (plain table or hypertable) */
  log?: (message: string, fields?: Record<string, unknown>) => void;
  connectionTimeoutMs?: number;
  /** a background re-aggregation step failed; it is retried (storage/rollup-refresh.ts) */
  onRefreshError?: (err: GatewayError) => void;
  /** share of one core the background re-aggregation may take, 1–100 (storage/background-refresh.ts) */
  rollupCpuPercent?: number;
}

export interface PostgresSettings {
  schemaVersion: number;
  hypertable: boolean;
  serverVersion: string;
  synchronousCommit: string;
}

export interface PostgresWriter extends StorageWriter {
  readonly settings: PostgresSettings;
}

/**
 * Connects, migrates and resolves once the schema is current. Rejects with
 * GW_ERR_STORAGE_OPEN naming the (password-less) URL and the reason.
 */
export async function openPostgresWriter(opts: PostgresWriterOptions): Promise<PostgresWriter> {
  const rollupCpuPercent = checkRollupCpuPercent(opts.rollupCpuPercent ?? DEFAULT_ROLLUP_CPU_PERCENT);
  const where = redactUrl(opts.url);
  // Two connections: the one in a transaction, and a spare so a broken one is
  // replaced without waiting for the pool's connect on the critical path.
  const pool = createPgPool({
    url: opts.url,
    max: 2,
    applicationName: 'sensor-gateway writer',
    ...(opts.connectionTimeoutMs === undefined ? {} : { connectionTimeoutMs: opts.connectionTimeoutMs }),
  });
  const writer = new PgWriter(pool, where, rollupCpuPercent, opts.onRefreshError);
  let client: pg.PoolClient | undefined;
  try {
    client = await pool.connect();
    client.on('error', ignoreDuringStart);
    const outcome = await migratePostgres(client, {
      timescale: opts.timescale ?? 'auto',
      log: opts.log ?? (() => {}),
    });
    const { rows } = await client.query<{ v: string; sc: string }>(
      `SELECT current_setting('server_version') AS v, current_setting('synchronous_commit') AS sc`,
    );
    writer.settings = {
      schemaVersion: outcome.to,
      hypertable: outcome.hypertable,
      serverVersion: rows[0]?.v ?? '?',
      synchronousCommit: rows[0]?.sc ?? '?',
    };
    client.off('error', ignoreDuringStart);
    client.release();
  } catch (err) {
    client?.off('error', ignoreDuringStart);
    client?.release(true);
    await pool.end().catch(() => {});
    const code = gatewayCodeForPostgres(err);
    throw new GatewayError(
      code === 'GW_ERR_STORAGE_CORRUPT' ? code : 'GW_ERR_STORAGE_OPEN',
      [`${where} (${err instanceof Error ? err.message : String(err)})`],
      { cause: err },
    );
  }
  writer.startRefresh();
  return writer;
}

class PgWriter implements PostgresWriter {
  settings: PostgresSettings = {
    schemaVersion: 0,
    hypertable: false,
    serverVersion: '?',
    synchronousCommit: '?',
  };
  readonly #pool: pg.Pool;
  readonly #where: string;
  readonly #caches: WriterCaches = { series: new Map(), lastSeen: new Map() };
  /** the tail of the queue of transactions; each starts when the previous settled */
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #lastError: LastStorageError | undefined;
  #closing: Promise<void> | undefined;
  #load: WriterLoad = { busyMs: 0, longestMs: 0, refreshLongestMs: 0, refresh: emptyOutcome() };
  #background: BackgroundRefresh | undefined;
  readonly #onRefreshError: ((err: GatewayError) => void) | undefined;
  readonly #rollupCpuPercent: number;

  constructor(
    pool: pg.Pool,
    where: string,
    rollupCpuPercent: number,
    onRefreshError?: (err: GatewayError) => void,
  ) {
    this.#pool = pool;
    this.#where = where;
    this.#rollupCpuPercent = rollupCpuPercent;
    this.#onRefreshError = onRefreshError;
    // An idle connection the server dropped (restart, failover) is reported
    // here; without a listener pg's error would end the process.
    pool.on('error', (err) =>
      this.#fail(new GatewayError('GW_ERR_STORAGE_UNAVAILABLE', [where], { cause: err })),
    );
  }

  write(batch: WriteBatch): Promise<WriteResult> {
    this.#pending++;
    return this.#enqueue(async () => {
      const started = performance.now();
      const applied = await this.#transaction('write', (client) => applyPgBatch(client, batch, this.#caches));
      const commitMs = performance.now() - started;
      for (const [key, id] of applied.created) this.#caches.series.set(key, id);
      for (const [deviceId, last] of applied.seen) this.#caches.lastSeen.set(deviceId, last);
      return { ...applied.result, commitMs };
    }).finally(() => {
      this.#pending--;
    });
  }

  /** Step after step, each taking its turn in the queue, until nothing closed at `now` is stale. */
  async refreshRollups(options: { now?: number } = {}): Promise<RefreshOutcome> {
    const now = options.now ?? Date.now();
    const done = emptyOutcome();
    while ((await this.#refreshStep(now, done)).more) {
      // Until nothing closed is stale.
    }
    return done;
  }

  takeLoad(): WriterLoad {
    const load = this.#load;
    this.#load = { busyMs: 0, longestMs: 0, refreshLongestMs: 0, refresh: emptyOutcome() };
    return load;
  }

  /** The background re-aggregation, from when the schema is current until close. */
  startRefresh(): void {
    this.#background ??= startBackgroundRefresh({
      cpuPercent: this.#rollupCpuPercent,
      step: () => this.#refreshStep(Date.now(), emptyOutcome()),
      onError: (err) => {
        const coded =
          err instanceof GatewayError
            ? err
            : new GatewayError('GW_ERR_STORAGE_WRITE', [this.#where], { cause: err });
        this.#onRefreshError?.(coded);
      },
    });
  }

  /**
   * One re-aggregation step in the queue; its work is added to `into` and to
   * the load. Its time is the transaction's, not the wait in the queue.
   */
  #refreshStep(now: number, into: RefreshOutcome): Promise<StepOutcome> {
    return this.#enqueue(async () => {
      const step = emptyOutcome();
      const started = performance.now();
      const more = await this.#transaction('refresh', (client) => refreshStep(client, now, step));
      const workMs = performance.now() - started;
      for (const key of Object.keys(step) as (keyof RefreshOutcome)[]) {
        into[key] += step[key];
        this.#load.refresh[key] += step[key];
      }
      return { more, workMs };
    });
  }

  /** In the queue of transactions: each starts when the previous one settled. */
  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(new GatewayError('GW_ERR_STORAGE_CLOSED'));
    const run = this.#tail.then(work);
    this.#tail = run.catch(() => {});
    return run;
  }

  health(): StorageHealth {
    const state = this.#closing !== undefined ? 'closed' : this.#lastError !== undefined ? 'failing' : 'ok';
    return storageHealth(state, this.#pending, this.#lastError);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#background?.stop();
      await this.#tail;
      await this.#pool.end();
    })();
    return this.#closing;
  }

  /**
   * Runs `work` in one READ COMMITTED transaction; resolves after COMMIT,
   * rejects with a GatewayError. A failed refresh step leaves health alone:
   * it is retried, and health tells whether batches are stored.
   */
  async #transaction<T>(kind: 'write' | 'refresh', work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const started = performance.now();
    let client: pg.PoolClient | undefined;
    let broken = false;
    const markBroken = () => {
      broken = true;
    };
    try {
      client = await this.#pool.connect();
      // pg-pool listens for a checked-out client's errors no more; a server
      // restart between two statements would then be an uncaught 'error' event.
      client.on('error', markBroken);
      await client.query('BEGIN');
      const done = await work(client);
      // write() resolves only after COMMIT returned: with synchronous_commit on
      // (the server default) the transaction is then durable.
      await client.query('COMMIT');
      if (kind === 'write') this.#lastError = undefined;
      return done;
    } catch (err) {
      const error = new GatewayError(gatewayCodeForPostgres(err), [this.#where], { cause: err });
      if (client !== undefined) {
        // A connection that cannot even roll back is broken: drop it from the pool.
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
      }
      if (kind === 'write') this.#fail(error);
      throw error;
    } finally {
      client?.off('error', markBroken);
      client?.release(broken);
      const ms = performance.now() - started;
      this.#load.busyMs += ms;
      if (ms > this.#load.longestMs) this.#load.longestMs = ms;
      if (kind === 'refresh' && ms > this.#load.refreshLongestMs) this.#load.refreshLongestMs = ms;
    }
  }

  #fail(err: GatewayError): void {
    const detail = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    this.#lastError = { code: err.code, message: `${err.message}${detail}`, at: Date.now() };
  }
}

/** The failing statement reports the error; the event alone must not crash start-up. */
function ignoreDuringStart(): void {}
