// The PostgreSQL QueryService: queries run in a small piscina pool of worker
// threads (query-worker.ts), as the SQLite one's do, so the bucket merging of
// a fleet-wide week costs the gateway's event loop one postMessage.
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
import type { QueryReply, QueryTask } from '../../sqlite/query/query-protocol.js';
import { resolveWorkerScript } from '../../sqlite/worker-script.js';
import { redactUrl } from '../pg-url.js';

export interface PostgresQueryServiceOptions {
  url: string;
  threads?: number;
  now?: () => number;
}

export interface PostgresQueryService extends QueryService {
  readonly utilization: number;
}

export function openPostgresQueryService(options: PostgresQueryServiceOptions): PostgresQueryService {
  const now = options.now ?? Date.now;
  const where = redactUrl(options.url);
  const pool = new Piscina({
    filename: resolveWorkerScript(import.meta.url, 'storage/postgres/query/query-worker.js').href,
    workerData: { url: options.url },
    minThreads: 0,
    maxThreads: options.threads ?? 1,
    idleTimeout: 30_000,
  });
  let closed = false;

  const run = async <T>(task: QueryTask): Promise<T> => {
    if (closed) throw new GatewayError('GW_ERR_STORAGE_CLOSED');
    let reply: QueryReply;
    try {
      reply = (await pool.run(task)) as QueryReply;
    } catch (err) {
      throw new GatewayError('GW_ERR_STORAGE_OPEN', [`${where} (${(err as Error).message})`], { cause: err });
    }
    if (!reply.ok) {
      if (!reply.gateway) throw new GatewayError(reply.code, [where], { cause: new Error(reply.message) });
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
