// The SQLite QueryService: every query runs in a small piscina pool of reader
// threads on read-only connections, so a heavy query (a fleet-wide series over
// a week) costs the gateway's event loop one postMessage, not the scan.
import { Piscina } from 'piscina';
import { GatewayError } from '../../../gateway/errors.js';
import type { DeviceRow } from '../../port.js';
import type {
  AnomalyQuery,
  AnomalyRecord,
  LatestReading,
  QueryService,
  SeriesQuery,
  SeriesResult,
} from '../../query-port.js';
import { resolveWorkerScript } from '../worker-script.js';
import type { QueryReply, QueryTask } from './query-protocol.js';

export interface SqliteQueryServiceOptions {
  path: string;
  /** reader threads; queries beyond that wait in the pool's queue */
  threads?: number;
  now?: () => number;
}

export interface SqliteQueryService extends QueryService {
  /** share of the reader pool in use, 0..1 */
  readonly utilization: number;
}

export function openSqliteQueryService(options: SqliteQueryServiceOptions): SqliteQueryService {
  const now = options.now ?? Date.now;
  const pool = new Piscina({
    filename: resolveWorkerScript(import.meta.url, 'storage/sqlite/query/query-worker.js').href,
    workerData: { path: options.path },
    minThreads: 0,
    maxThreads: options.threads ?? 1,
    // Reader threads are cheap to start and a connection pins the WAL; let idle ones go.
    idleTimeout: 30_000,
  });
  let closed = false;

  const run = async <T>(task: QueryTask): Promise<T> => {
    if (closed) throw new GatewayError('GW_ERR_STORAGE_CLOSED');
    let reply: QueryReply;
    try {
      reply = (await pool.run(task)) as QueryReply;
    } catch (err) {
      // The worker could not start: most often the database file is missing.
      throw new GatewayError('GW_ERR_STORAGE_OPEN', [`${options.path} (${(err as Error).message})`], {
        cause: err,
      });
    }
    if (!reply.ok) {
      if (!reply.gateway)
        throw new GatewayError(reply.code, [options.path], { cause: new Error(reply.message) });
      // Already worded in the worker; keep its text, restore its class and code.
      const err = new GatewayError(reply.code);
      err.message = reply.message;
      throw err;
    }
    return reply.value as T;
  };

  return {
    devices: () => run<DeviceRow[]>({ op: 'devices' }),
    latest: (deviceId) => run<LatestReading[]>({ op: 'latest', deviceId, now: now() }),
    series: (query: SeriesQuery) =>
      run<SeriesResult>({ op: 'series', query: { ...query, aggs: [...query.aggs] } }),
    anomalies: (query: AnomalyQuery) => run<AnomalyRecord[]>({ op: 'anomalies', query }),
    get utilization() {
      return pool.utilization;
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.destroy();
    },
  };
}
