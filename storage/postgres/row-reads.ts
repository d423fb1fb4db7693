// Row-by-row reads of stored readings and dead letters, shared by the plain
// reader (postgres-reader.ts) and the query workers (query/query-worker.ts),
// so `npm run query` and GET /api answer them from the very same SQL.
import type pg from 'pg';
import type { ErrorCode } from '../../core/errors.js';
import type { DeadLetterRow, ReadingRow, ReadingsQuery, Rejection } from '../port.js';
import type { DeadLetterQuery, ExportCursor, ExportPage, ExportQuery, ExportRow } from '../query-port.js';
import { likePattern } from './query/postgres-queries.js';

export type Rows = <T extends pg.QueryResultRow>(sql: string, params: unknown[]) => Promise<T[]>;

const MIN_TS = -Number.MAX_SAFE_INTEGER;
const MAX_TS = Number.MAX_SAFE_INTEGER;

interface DeadLetterRecord {
  id: number;
  receivedAt: number;
  deviceId: string | null;
  topic: string;
  code: string;
  rejections: Rejection[];
  rejectedCount: number;
  acceptedCount: number;
  payload: Buffer;
  payloadBytes: number;
}

export function readReadings(rows: Rows, query: ReadingsQuery): Promise<ReadingRow[]> {
  return rows<ReadingRow>(
    `SELECT r.ts, r.value FROM readings r JOIN series s ON s.id = r.series_id
       WHERE s.device_id = $1 AND s.metric = $2 AND r.ts >= $3 AND r.ts < $4
       ORDER BY r.ts LIMIT $5`,
    [query.deviceId, query.metric, query.from ?? MIN_TS, query.to ?? MAX_TS, query.limit ?? null],
  );
}

export async function readDeadLetters(rows: Rows, query: DeadLetterQuery = {}): Promise<DeadLetterRow[]> {
  const records = await rows<DeadLetterRecord>(
    `SELECT id, received_at AS "receivedAt", device_id AS "deviceId", topic, code, rejections,
         rejected_count AS "rejectedCount", accepted_count AS "acceptedCount", payload,
         payload_bytes AS "payloadBytes"
       FROM dead_letters WHERE $1::text IS NULL OR device_id = $1
       ORDER BY received_at DESC, id DESC LIMIT $2`,
    [query.deviceId ?? null, query.limit ?? null],
  );
  return records.map((r) => ({
    ...r,
    code: r.code as ErrorCode,
    payload: new Uint8Array(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength),
  }));
}

/**
 * One page of an export, in primary-key order (ts, series_id): the row
 * comparison is a range seek on that key, so the page costs its own rows,
 * wherever it starts (keyset pagination, not OFFSET).
 */
export async function readExportPage(
  rows: Rows,
  query: ExportQuery,
  after: ExportCursor | undefined,
  limit: number,
): Promise<ExportPage> {
  const found = await rows<{
    ts: number;
    seriesId: number;
    device: string;
    metric: string;
    value: number;
    unit: string | null;
  }>(
    `SELECT r.ts, r.series_id AS "seriesId", s.device_id AS device, s.metric, r.value, s.unit
       FROM readings r JOIN series s ON s.id = r.series_id
       WHERE (r.ts, r.series_id) > ($1, $2) AND r.ts >= $3 AND r.ts < $4
         AND s.device_id LIKE $5 ESCAPE '\\' AND ($6::text IS NULL OR s.metric = $6)
       ORDER BY r.ts, r.series_id LIMIT $7`,
    [
      after?.ts ?? query.from - 1,
      after?.seriesId ?? 0,
      query.from,
      query.to,
      likePattern(query.device ?? '*'),
      query.metric ?? null,
      limit,
    ],
  );
  const out: ExportRow[] = found.map((r) => ({
    device: r.device,
    metric: r.metric,
    ts: r.ts,
    value: r.value,
    unit: r.unit,
  }));
  const last = found.at(-1);
  return found.length < limit || last === undefined
    ? { rows: out }
    : { rows: out, next: { ts: last.ts, seriesId: last.seriesId } };
}
