// Piscina worker entry for the query pool: one read-only connection per
// worker thread, opened when the thread starts (WAL lets it read while the
// writer thread commits). Errors cross the thread boundary as plain
// {code, message}: class identity does not survive structured cloning.

import Database from 'better-sqlite3';
import { workerData } from 'piscina';
import { idleThreadPriority } from '../../../core/background-priority.js';
import { GatewayError } from '../../../core/errors.js';
import { createPacer } from '../../query/query-pacer.js';
import type { QueryReply, QueryTask } from '../../query/query-protocol.js';
import { gatewayCodeForSqlite } from '../error-map.js';
import { readDeadLetters, readExportPage, readReadings } from '../row-reads.js';
import { createSqlitePromQL } from './sqlite-promql.js';
import { createSqliteQueries } from './sqlite-queries.js';
import { statementCache } from './statement-cache.js';

idleThreadPriority();

const { path, cpuShare } = workerData as { path: string; cpuShare: number };
const db = new Database(path, { readonly: true, fileMustExist: true });
const pacer = createPacer({ share: cpuShare });
const queries = createSqliteQueries(db, pacer);
const prepare = statementCache(db);
const promql = createSqlitePromQL(db, pacer);

export default async function queryTask(task: QueryTask): Promise<QueryReply> {
  try {
    switch (task.op) {
      case 'devices':
        return { ok: true, value: queries.devices() };
      case 'latest':
        return { ok: true, value: queries.latest(task.deviceId) };
      case 'metrics':
        return { ok: true, value: queries.metrics() };
      case 'series':
        return { ok: true, value: queries.series(task.query) };
      case 'anomalies':
        return { ok: true, value: queries.anomalies(task.query) };
      case 'readings':
        return { ok: true, value: readReadings(prepare, task.query) };
      case 'deadLetters':
        return { ok: true, value: readDeadLetters(prepare, task.query) };
      case 'exportPage':
        return { ok: true, value: readExportPage(prepare, task.query, task.after, task.limit, pacer) };
      case 'promql':
        return { ok: true, value: await promql.evaluate(task.evaluation) };
      case 'promSeries':
        return { ok: true, value: promql.seriesLabels(task.range) };
    }
  } catch (err) {
    if (err instanceof GatewayError)
      return { ok: false, code: err.code, message: err.message, gateway: true };
    const code = gatewayCodeForSqlite((err as { code?: unknown }).code);
    return {
      ok: false,
      code: code === 'GW_ERR_STORAGE_WRITE' ? 'GW_ERR_STORAGE_IO' : code,
      message: err instanceof Error ? err.message : String(err),
      gateway: false,
    };
  }
}
