// The QueryService over a piscina pool of query workers, whatever the backend
// behind the workers: tasks and replies follow query-protocol.ts.

import type { Piscina } from 'piscina';
import { GatewayError } from '../../core/errors.js';
import type { DeadLetterRow, DeviceRow, ReadingRow } from '../port.js';
import type {
  AnomalyQuery,
  AnomalyRecord,
  ExportPage,
  LatestReading,
  MetricRow,
  QueryService,
  SeriesQuery,
  SeriesResult,
} from '../query-port.js';
import type { PromResult, PromSeriesLabels } from './promql/promql-plan.js';
import type { QueryReply, QueryTask } from './query-protocol.js';

export interface PooledQueryService extends QueryService {
  /** share of the worker pool in use, 0..1 */
  readonly utilization: number;
}

/** `where` names the store in errors: a path, or a URL without its password. */
export function pooledQueryService(pool: Piscina, where: string): PooledQueryService {
  let closed = false;

  const run = async <T>(task: QueryTask): Promise<T> => {
    if (closed) throw new GatewayError('GW_ERR_STORAGE_CLOSED');
    let reply: QueryReply;
    try {
      reply = (await pool.run(task)) as QueryReply;
    } catch (err) {
      // The worker could not start: most often the database is missing or unreachable.
      throw new GatewayError('GW_ERR_STORAGE_OPEN', [`${where} (${(err as Error).message})`], { cause: err });
    }
    if (!reply.ok) {
      if (!reply.gateway) throw new GatewayError(reply.code, [where], { cause: new Error(reply.message) });
      // Already worded in the worker; keep its text, restore its class and code.
      const err = new GatewayError(reply.code);
      err.message = reply.message;
      throw err;
    }
    return reply.value as T;
  };

  return {
    devices: () => run<DeviceRow[]>({ op: 'devices' }),
    latest: (deviceId) => run<LatestReading[]>({ op: 'latest', deviceId }),
    metrics: () => run<MetricRow[]>({ op: 'metrics' }),
    series: (query: SeriesQuery) =>
      run<SeriesResult>({ op: 'series', query: { ...query, aggs: [...query.aggs] } }),
    anomalies: (query: AnomalyQuery) => run<AnomalyRecord[]>({ op: 'anomalies', query }),
    readings: (query) => run<ReadingRow[]>({ op: 'readings', query }),
    deadLetters: (query) => run<DeadLetterRow[]>({ op: 'deadLetters', query }),
    exportPage: (query, after, limit) => run<ExportPage>({ op: 'exportPage', query, after, limit }),
    promql: (evaluation) => run<PromResult>({ op: 'promql', evaluation }),
    promSeries: (range) =>
      run<PromSeriesLabels[]>(range === undefined ? { op: 'promSeries' } : { op: 'promSeries', range }),
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
