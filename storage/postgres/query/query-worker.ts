// Piscina worker entry for the PostgreSQL query pool. The server does the
// filtering, but merging thousands of rows into buckets (and sketches) is CPU
// work in JS: it runs here, never on the gateway's event loop. One small pg
// pool per worker thread. Errors cross the thread boundary as plain
// {code, message}: class identity does not survive structured cloning.
import { workerData } from 'piscina';
import { idleThreadPriority } from '../../../core/background-priority.js';
import { GatewayError } from '../../../core/errors.js';
import { createPacer } from '../../query/query-pacer.js';
import type { QueryReply, QueryTask } from '../../query/query-protocol.js';
import { createPgPool } from '../pg-pool.js';
import { redactUrl } from '../pg-url.js';
import { readError } from '../postgres-reader.js';
import { type Rows, readDeadLetters, readExportPage, readReadings } from '../row-reads.js';
import { createPostgresPromQL } from './postgres-promql.js';
import { createPostgresQueries } from './postgres-queries.js';

// The merging only; the server's own work is its own process's.
idleThreadPriority();

const { url, cpuShare } = workerData as { url: string; cpuShare: number };
const pool = createPgPool({ url, max: 1, applicationName: 'sensor-gateway query' });
pool.on('error', () => {}); // an idle connection dropped; the next query reconnects
const pacer = createPacer({ share: cpuShare });
const queries = createPostgresQueries(pool, pacer);
const promql = createPostgresPromQL(pool, pacer);
const rows: Rows = async (sql, params) => (await pool.query(sql, params)).rows;

export default async function queryTask(task: QueryTask): Promise<QueryReply> {
  try {
    switch (task.op) {
      case 'devices':
        return { ok: true, value: await queries.devices() };
      case 'latest':
        return { ok: true, value: await queries.latest(task.deviceId) };
      case 'metrics':
        return { ok: true, value: await queries.metrics() };
      case 'series':
        return { ok: true, value: await queries.series(task.query) };
      case 'anomalies':
        return { ok: true, value: await queries.anomalies(task.query) };
      case 'readings':
        return { ok: true, value: await readReadings(rows, task.query) };
      case 'deadLetters':
        return { ok: true, value: await readDeadLetters(rows, task.query) };
      case 'exportPage':
        return { ok: true, value: await readExportPage(rows, task.query, task.after, task.limit) };
      case 'promql':
        return { ok: true, value: await promql.evaluate(task.evaluation) };
      case 'promSeries':
        return { ok: true, value: await promql.seriesLabels(task.range) };
    }
  } catch (err) {
    if (err instanceof GatewayError)
      return { ok: false, code: err.code, message: err.message, gateway: true };
    const coded = readError(err, redactUrl(url));
    return {
      ok: false,
      code: coded.code,
      message: err instanceof Error ? err.message : String(err),
      gateway: false,
    };
  }
}
