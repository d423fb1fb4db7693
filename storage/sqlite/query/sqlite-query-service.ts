// The SQLite QueryService: every query runs in a small piscina pool of reader
// threads on read-only connections, so a heavy query (a fleet-wide series over
// a week) costs the gateway's event loop one postMessage, not the scan.
import { Piscina } from 'piscina';
import { resolveWorkerScript, WORKER_RESOURCE_LIMITS } from '../../../core/worker-script.js';
import { type PooledQueryService, pooledQueryService } from '../../query/pooled-query-service.js';

export interface SqliteQueryServiceOptions {
  path: string;
  /** reader threads; queries beyond that wait in the pool's queue */
  threads?: number;
  /** share of one core each reader thread may use (storage/query/query-pacer.ts); 1 = no cap */
  cpuShare?: number;
}

export type SqliteQueryService = PooledQueryService;

export function openSqliteQueryService(options: SqliteQueryServiceOptions): SqliteQueryService {
  const pool = new Piscina({
    resourceLimits: WORKER_RESOURCE_LIMITS,
    filename: resolveWorkerScript(import.meta.url, 'storage/sqlite/query/query-worker.js').href,
    workerData: { path: options.path, cpuShare: options.cpuShare ?? 1 },
    minThreads: 0,
    maxThreads: options.threads ?? 1,
    // Reader threads are cheap to start and a connection pins the WAL; let idle ones go.
    idleTimeout: 30_000,
  });
  return pooledQueryService(pool, options.path);
}
