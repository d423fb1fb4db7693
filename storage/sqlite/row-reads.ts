// Row-by-row reads of stored readings and dead letters, shared by the plain
// reader (sqlite-reader.ts) and the query workers (query/query-worker.ts), so
// `npm run query` and GET /api answer them from the very same SQL.
import type { Statement } from 'better-sqlite3';
import type { ErrorCode } from '../../core/errors.js';
import type { DeadLetterRow, ReadingRow, ReadingsQuery, Rejection } from '../port.js';
import type { Pacer } from '../query/query-pacer.js';
import type { DeadLetterQuery, ExportCursor, ExportPage, ExportQuery, ExportRow } from '../query-port.js';

export type Prepare = (sql: string) => Statement;

const MIN_TS = -Number.MAX_SAFE_INTEGER;
const MAX_TS = Number.MAX_SAFE_INTEGER;

interface DeadLetterRecord {
  id: number;
  receivedAt: number;
  deviceId: string | null;
  topic: string;
  code: string;
  rejections: string;
  rejectedCount: number;
  acceptedCount: number;
  payload: Buffer;
  payloadBytes: number;
}

export function readReadings(prepare: Prepare, query: ReadingsQuery): ReadingRow[] {
  const seriesId = prepare('SELECT id FROM series WHERE device_id = ? AND metric = ?')
    .pluck()
    .get(query.deviceId, query.metric) as number | undefined;
  if (seriesId === undefined) return [];
  // Time-first key: this scans every series in [from, to) and keeps one.
  // Cheap for recent windows; long-range aggregates come from the rollup tiers.
  return prepare(
    `SELECT ts, value FROM readings WHERE ts >= ? AND ts < ? AND series_id = ?
       ORDER BY ts LIMIT ?`,
  ).all(query.from ?? MIN_TS, query.to ?? MAX_TS, seriesId, query.limit ?? -1) as ReadingRow[];
}

export function readDeadLetters(prepare: Prepare, query: DeadLetterQuery = {}): DeadLetterRow[] {
  const records = prepare(
    `SELECT id, received_at AS receivedAt, device_id AS deviceId, topic, code, rejections,
         rejected_count AS rejectedCount, accepted_count AS acceptedCount, payload,
         payload_bytes AS payloadBytes
       FROM dead_letters WHERE @deviceId IS NULL OR device_id = @deviceId
       ORDER BY received_at DESC, id DESC LIMIT @limit`,
  ).all({ deviceId: query.deviceId ?? null, limit: query.limit ?? -1 }) as DeadLetterRecord[];
  return records.map((r) => ({
    ...r,
    // Stored codes come from this registry; a code renamed since stays visible as text.
    code: r.code as ErrorCode,
    rejections: JSON.parse(r.rejections) as Rejection[],
    payload: new Uint8Array(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength),
  }));
}

/**
 * One page of an export, in primary-key order (ts, series_id). CROSS JOIN
 * keeps readings the outer loop, so SQLite walks the key from the cursor on
 * and never sorts: the page costs its own rows, wherever it starts.
 */
export function readExportPage(
  prepare: Prepare,
  query: ExportQuery,
  after: ExportCursor | undefined,
  limit: number,
  pacer?: Pacer,
): ExportPage {
  const rows = prepare(
    `SELECT r.ts, r.series_id, s.device_id, s.metric, r.value, s.unit
       FROM readings r CROSS JOIN series s
       WHERE s.id = r.series_id AND r.ts >= @lower AND r.ts < @to
         AND (r.ts > @afterTs OR r.series_id > @afterSeries)
         AND s.device_id GLOB @pattern AND (@metric IS NULL OR s.metric = @metric)
       ORDER BY r.ts, r.series_id LIMIT @limit`,
  )
    .raw(true)
    .iterate({
      lower: after?.ts ?? query.from,
      to: query.to,
      afterTs: after?.ts ?? query.from - 1,
      afterSeries: after?.seriesId ?? 0,
      pattern: query.device ?? '*',
      metric: query.metric ?? null,
      limit,
    }) as IterableIterator<[number, number, string, string, number, string | null]>;
  pacer?.reset();
  const out: ExportRow[] = [];
  let last: ExportCursor | undefined;
  for (const [ts, seriesId, device, metric, value, unit] of rows) {
    out.push({ device, metric, ts, value, unit });
    last = { ts, seriesId };
    pacer?.tick();
  }
  return out.length < limit || last === undefined ? { rows: out } : { rows: out, next: last };
}
