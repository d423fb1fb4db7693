// Which storage backend a `--db` value names, in one place for the gateway
// (gateway/main.ts, gateway/gateway.ts) and the query CLI: a postgres:// or
// postgresql:// URL is PostgreSQL, anything else a SQLite file path.
import { existsSync } from 'node:fs';
import { GatewayError } from '../core/errors.js';
import type { ForwardLogOptions } from './forward-port.js';
import type { StorageReader, StorageWriter } from './port.js';
import { isPostgresUrl, redactUrl } from './postgres/pg-url.js';
import { openPostgresReader } from './postgres/postgres-reader.js';
import { openPostgresWriter } from './postgres/postgres-writer.js';
import { openPostgresQueryService } from './postgres/query/postgres-query-service.js';
import type { QueryService } from './query-port.js';
import { sqliteInstanceId } from './sqlite/instance-id.js';
import { openSqliteQueryService } from './sqlite/query/sqlite-query-service.js';
import { openSqliteReader } from './sqlite/sqlite-reader.js';
import { openSqliteWriter } from './sqlite/sqlite-writer.js';

export { isPostgresUrl, redactUrl } from './postgres/pg-url.js';

export type StorageKind = 'sqlite' | 'postgres';

export function storageKind(db: string): StorageKind {
  return isPostgresUrl(db) ? 'postgres' : 'sqlite';
}

export interface OpenWriterOptions {
  /** SQLite only */
  synchronous?: 'NORMAL' | 'FULL';
  /** SQLite only; 0 or absent: no cap */
  maxDbBytes?: number;
  /** SQLite only: the write connection's page cache, MiB */
  cacheMb?: number;
  /** share of one core the background re-aggregation may take, 1–100 (storage/background-refresh.ts) */
  rollupCpuPercent?: number;
  /** start-up notes, e.g. PostgreSQL's plain-table or hypertable choice */
  log?: (message: string, fields?: Record<string, unknown>) => void;
  /** SQLite only: the writer thread died unasked; every later write fails (sqlite-writer.ts) */
  onDeath?: (err: GatewayError) => void;
  /** a background re-aggregation step failed; it is retried (storage/rollup-refresh.ts) */
  onRefreshError?: (err: GatewayError) => void;
  /** SQLite only: keep the forward log (--forward, docs/edge.md) */
  forward?: ForwardLogOptions;
}

export interface OpenedWriter {
  writer: StorageWriter;
  /** what the start-up log line says about the store */
  describe: Record<string, unknown>;
}

export async function openWriter(db: string, opts: OpenWriterOptions = {}): Promise<OpenedWriter> {
  if (isPostgresUrl(db)) {
    if (opts.forward !== undefined) {
      throw new GatewayError('GW_ERR_CONFIG_INVALID', [
        '--forward needs a SQLite --db; PostgreSQL has no forward log yet',
      ]);
    }
    const writer = await openPostgresWriter({
      url: db,
      ...(opts.log === undefined ? {} : { log: opts.log }),
      ...(opts.onRefreshError === undefined ? {} : { onRefreshError: opts.onRefreshError }),
      ...(opts.rollupCpuPercent === undefined ? {} : { rollupCpuPercent: opts.rollupCpuPercent }),
    });
    return { writer, describe: { db: redactUrl(db), backend: 'postgres', ...writer.settings } };
  }
  const writer = await openSqliteWriter({
    path: db,
    ...(opts.synchronous === undefined ? {} : { synchronous: opts.synchronous }),
    ...(opts.maxDbBytes !== undefined && opts.maxDbBytes > 0 ? { maxDbBytes: opts.maxDbBytes } : {}),
    ...(opts.cacheMb === undefined ? {} : { cacheMb: opts.cacheMb }),
    ...(opts.rollupCpuPercent === undefined ? {} : { rollupCpuPercent: opts.rollupCpuPercent }),
    ...(opts.onDeath === undefined ? {} : { onDeath: opts.onDeath }),
    ...(opts.onRefreshError === undefined ? {} : { onRefreshError: opts.onRefreshError }),
    ...(opts.forward === undefined ? {} : { forward: opts.forward }),
  });
  return { writer, describe: { db, backend: 'sqlite', synchronous: writer.settings.synchronous } };
}

export function openReader(db: string): StorageReader {
  return isPostgresUrl(db) ? openPostgresReader({ url: db }) : openSqliteReader({ path: db });
}

/** A QueryService whose queries run in a worker pool; `utilization` feeds the metrics. */
export interface PooledQueryService extends QueryService {
  readonly utilization: number;
}

export function openQueryService(
  db: string,
  opts: { threads?: number; cpuShare?: number } = {},
): PooledQueryService {
  const threads = opts.threads ?? 1;
  const cpuShare = opts.cpuShare ?? 1;
  return isPostgresUrl(db)
    ? openPostgresQueryService({ url: db, threads, cpuShare })
    : openSqliteQueryService({ path: db, threads, cpuShare });
}

/** Whether there is something to query: a SQLite file exists; a server is asked on the first query. */
export function storageExists(db: string): boolean {
  return isPostgresUrl(db) || existsSync(db);
}

/**
 * This instance's stable id, kept in its own database (SQLite), or null when
 * the store is shared by several instances (PostgreSQL), where no id in it
 * could tell them apart.
 */
export function instanceId(db: string): string | null {
  return isPostgresUrl(db) ? null : sqliteInstanceId(db);
}
