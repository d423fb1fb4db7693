// The PostgreSQL QueryService: queries run in a small piscina pool of worker
// threads (query-worker.ts), as the SQLite one's do, so the bucket merging of
// a fleet-wide week costs the gateway's event loop one postMessage.
import { Piscina } from 'piscina';
import { resolveWorkerScript, WORKER_RESOURCE_LIMITS } from '../../../core/worker-script.js';
import { type PooledQueryService, pooledQueryService } from '../../query/pooled-query-service.js';
import { redactUrl } from '../pg-url.js';

export interface PostgresQueryServiceOptions {
  url: string;
  threads?: number;
  /** share of one core each worker may use for merging rows (storage/query/query-pacer.ts); 1 = no cap */
  cpuShare?: number;
}

export type PostgresQueryService = PooledQueryService;

export function openPostgresQueryService(options: PostgresQueryServiceOptions): PostgresQueryService {
  const pool = new Piscina({
    resourceLimits: WORKER_RESOURCE_LIMITS,
    filename: resolveWorkerScript(import.meta.url, 'storage/postgres/query/query-worker.js').href,
    workerData: { url: options.url, cpuShare: options.cpuShare ?? 1 },
    minThreads: 0,
    maxThreads: options.threads ?? 1,
    idleTimeout: 30_000,
  });
  return pooledQueryService(pool, redactUrl(options.url));
}
