import type { ForwardStatus } from './forward-port.js';
import type { DeadLetterRow, DeviceRow, ReadingRow } from './port.js';
import type { Aggregate, AnomalyRecord, LatestReading, SeriesPoint } from './query-port.js';

export const OUTPUT_FORMATS = ['table', 'json', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * One output column. `text` feeds table and csv, `json` the JSON objects (camelCase
 * keys, as in the storage port); a column without one of them is left out there.
 */
export interface Column<T> {
  /** table and csv header */
  name: string;
  /** JSON property, when it differs from name */
  key?: string;
  text?: (row: T) => string;
  /** a shorter or escaped form for the table, where one row must stay on one line */
  table?: (row: T) => string;
  json?: (row: T) => unknown;
  alignRight?: boolean;
}

/** The whole output, newline-terminated (empty table: the header alone). */
export function formatRows<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  format: OutputFormat,
): string {
  if (format === 'json') return `${JSON.stringify(jsonRows(rows, columns), null, 2)}\n`;
  const shown = columns.filter((c) => c.text !== undefined);
  const cells = rows.map((row) =>
    shown.map((c) => (format === 'table' ? (c.table ?? c.text!) : c.text!)(row)),
  );
  if (format === 'csv') {
    return [shown.map((c) => c.name), ...cells].map((line) => `${line.map(csvField).join(',')}\n`).join('');
  }
  const widths = shown.map((c, i) => Math.max(c.name.length, ...cells.map((line) => line[i]!.length)));
  const pad = (value: string, i: number): string =>
    shown[i]!.alignRight ? value.padStart(widths[i]!) : value.padEnd(widths[i]!);
  const lines = [shown.map((c, i) => pad(c.name, i)), ...cells.map((line) => line.map(pad))];
  return lines.map((line) => `${line.join('  ').trimEnd()}\n`).join('');
}

/** The rows as the JSON objects of `--format json`, which the HTTP API answers too. */
export function jsonRows<T>(rows: readonly T[], columns: readonly Column<T>[]): Record<string, unknown>[] {
  return rows.map((row) => {
    const object: Record<string, unknown> = {};
    for (const c of columns) if (c.json !== undefined) object[c.key ?? c.name] = c.json(row);
    return object;
  });
}

export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export const readingColumns: readonly Column<ReadingRow>[] = [
  { name: 'ts', text: (r) => iso(r.ts), json: (r) => r.ts },
  { name: 'value', text: (r) => String(r.value), json: (r) => r.value, alignRight: true },
];

export const deviceColumns: readonly Column<DeviceRow>[] = [
  { name: 'device', key: 'deviceId', text: (r) => r.deviceId, json: (r) => r.deviceId },
  { name: 'first_seen', key: 'firstSeen', text: (r) => iso(r.firstSeen), json: (r) => r.firstSeen },
  { name: 'last_seen', key: 'lastSeen', text: (r) => iso(r.lastSeen), json: (r) => r.lastSeen },
];

const PREVIEW_CHARS = 60;
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Control characters escaped so one dead letter stays on one table line. */
function payloadPreview(payload: Uint8Array): string {
  const text = JSON.stringify(utf8.decode(payload)).slice(1, -1);
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 3)}...` : text;
}

export const deadLetterColumns: readonly Column<DeadLetterRow>[] = [
  { name: 'id', text: (r) => String(r.id), json: (r) => r.id, alignRight: true },
  { name: 'received_at', key: 'receivedAt', text: (r) => iso(r.receivedAt), json: (r) => r.receivedAt },
  { name: 'device', key: 'deviceId', text: (r) => r.deviceId ?? '', json: (r) => r.deviceId },
  { name: 'topic', text: (r) => r.topic, json: (r) => r.topic },
  { name: 'code', text: (r) => r.code, json: (r) => r.code },
  { name: 'rejections', json: (r) => r.rejections },
  {
    name: 'rejected',
    key: 'rejectedCount',
    text: (r) => String(r.rejectedCount),
    json: (r) => r.rejectedCount,
    alignRight: true,
  },
  {
    name: 'accepted',
    key: 'acceptedCount',
    text: (r) => String(r.acceptedCount),
    json: (r) => r.acceptedCount,
    alignRight: true,
  },
  {
    name: 'bytes',
    key: 'payloadBytes',
    text: (r) => String(r.payloadBytes),
    json: (r) => r.payloadBytes,
    alignRight: true,
  },
  {
    name: 'payload',
    text: (r) => utf8.decode(r.payload),
    table: (r) => payloadPreview(r.payload),
    json: (r) => utf8.decode(r.payload),
  },
  { name: 'payload_base64', key: 'payloadBase64', json: (r) => Buffer.from(r.payload).toString('base64') },
];

/** Table cells keep six significant digits; csv and json keep every digit. */
const short = (n: number): string => String(Number(n.toPrecision(6)));
const cell = (n: number | null | undefined): string => (n === null || n === undefined ? '' : String(n));
const shortCell = (n: number | null | undefined): string => (n === null || n === undefined ? '' : short(n));

export const latestColumns: readonly Column<LatestReading>[] = [
  { name: 'metric', text: (r) => r.metric, json: (r) => r.metric },
  { name: 'ts', text: (r) => iso(r.ts), json: (r) => r.ts },
  { name: 'value', text: (r) => String(r.value), json: (r) => r.value, alignRight: true },
  // Stated by a payload format (docs/sensors.md). JSON only, and left out where unset, as
  // the HTTP API does: the table and CSV keep the columns scripts already read.
  { name: 'unit', json: (r) => r.unit },
  { name: 'deviceClass', json: (r) => r.deviceClass },
];

export const anomalyColumns: readonly Column<AnomalyRecord>[] = [
  { name: 'ts', text: (r) => iso(r.ts), json: (r) => r.ts },
  { name: 'device', key: 'deviceId', text: (r) => r.deviceId, json: (r) => r.deviceId },
  { name: 'metric', text: (r) => r.metric, json: (r) => r.metric },
  { name: 'state', text: (r) => r.state, json: (r) => r.state },
  {
    name: 'value',
    text: (r) => String(r.value),
    table: (r) => short(r.value),
    json: (r) => r.value,
    alignRight: true,
  },
  {
    name: 'score',
    text: (r) => String(r.score),
    table: (r) => short(r.score),
    json: (r) => r.score,
    alignRight: true,
  },
  {
    name: 'expected_low',
    key: 'expectedLow',
    text: (r) => String(r.expectedLow),
    table: (r) => short(r.expectedLow),
    json: (r) => r.expectedLow,
    alignRight: true,
  },
  {
    name: 'expected_high',
    key: 'expectedHigh',
    text: (r) => String(r.expectedHigh),
    table: (r) => short(r.expectedHigh),
    json: (r) => r.expectedHigh,
    alignRight: true,
  },
];

/** One column per requested aggregate, in the order asked; empty where a bucket has no value. */
export function seriesColumns(aggs: readonly Aggregate[]): readonly Column<SeriesPoint>[] {
  return [
    { name: 'bucket_start', key: 'bucketStart', text: (p) => iso(p.bucketStart), json: (p) => p.bucketStart },
    ...aggs.map(
      (agg): Column<SeriesPoint> => ({
        name: agg,
        text: (p) => cell(p.values[agg]),
        table: (p) => shortCell(p.values[agg]),
        json: (p) => p.values[agg] ?? null,
        alignRight: true,
      }),
    ),
  ];
}

/** `npm run query -- forward-status`: one row, the edge gateway's debt upstream (docs/edge.md). */
export const forwardStatusColumns: readonly Column<ForwardStatus>[] = [
  {
    name: 'backlog_readings',
    key: 'backlogReadings',
    text: (s) => String(s.backlogReadings),
    json: (s) => s.backlogReadings,
    alignRight: true,
  },
  {
    name: 'backlog_batches',
    key: 'backlogBatches',
    text: (s) => String(s.backlogBatches),
    json: (s) => s.backlogBatches,
    alignRight: true,
  },
  {
    name: 'oldest_committed_at',
    key: 'oldestCommittedAt',
    text: (s) => (s.oldestCommittedAt === null ? '' : iso(s.oldestCommittedAt)),
    json: (s) => s.oldestCommittedAt,
  },
  { name: 'cursor', text: (s) => String(s.cursor), json: (s) => s.cursor, alignRight: true },
  {
    name: 'forwarded_readings',
    key: 'forwardedReadings',
    text: (s) => String(s.forwardedReadings),
    json: (s) => s.forwardedReadings,
    alignRight: true,
  },
  {
    name: 'dropped_readings',
    key: 'droppedReadings',
    text: (s) => String(s.droppedReadings),
    json: (s) => s.droppedReadings,
    alignRight: true,
  },
  { name: 'client_id', key: 'clientId', text: (s) => s.clientId, json: (s) => s.clientId },
];
