// An export as a stream: pages of readings fetched by key (export-pages) and
// encoded one page at a time, pulled only as fast as the consumer takes them.
// Memory is a page or two whatever the range, and the CLI and GET /api/export
// write the very same bytes.
import { Readable } from 'node:stream';
import { csvField } from '../format-rows.js';
import type { ExportCursor, ExportQuery, ExportRow, QueryService } from '../query-port.js';

/** Rows per page: big enough that a page's round trip to the query thread is amortised. */
export const EXPORT_PAGE_ROWS = 5000;

export const EXPORT_COLUMNS = ['device', 'metric', 'ts', 'value', 'unit'] as const;

export type TextExportFormat = 'csv' | 'ndjson';

export const EXPORT_CONTENT_TYPES: Readonly<Record<TextExportFormat, string>> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson',
};

/** Every matching reading, a page at a time; the next page is read only when asked for. */
export async function* exportPages(
  service: Pick<QueryService, 'exportPage'>,
  query: ExportQuery,
  pageRows: number = EXPORT_PAGE_ROWS,
): AsyncGenerator<ExportRow[]> {
  let after: ExportCursor | undefined;
  do {
    const page = await service.exportPage(query, after, pageRows);
    if (page.rows.length > 0) yield page.rows;
    after = page.next;
  } while (after !== undefined);
}

/** CSV carries ts as ISO 8601 UTC, as every other csv output of the query CLI. */
export function csvRows(rows: readonly ExportRow[]): string {
  let out = '';
  for (const r of rows) {
    out += `${csvField(r.device)},${csvField(r.metric)},${new Date(r.ts).toISOString()},${r.value},${csvField(r.unit ?? '')}\n`;
  }
  return out;
}

/** NDJSON carries ts as epoch ms, a number. */
export function ndjsonRows(rows: readonly ExportRow[]): string {
  let out = '';
  for (const r of rows) {
    out += `${JSON.stringify({ device: r.device, metric: r.metric, ts: r.ts, value: r.value, unit: r.unit })}\n`;
  }
  return out;
}

/** The CSV header goes out with the first page, so a store that fails at once writes nothing. */
async function* encoded(pages: AsyncIterable<ExportRow[]>, format: TextExportFormat): AsyncGenerator<string> {
  let header = format === 'csv' ? `${EXPORT_COLUMNS.join(',')}\n` : '';
  for await (const rows of pages) {
    yield header + (format === 'csv' ? csvRows(rows) : ndjsonRows(rows));
    header = '';
  }
  if (header !== '') yield header;
}

/**
 * The export as text. highWaterMark 1: one encoded page waits in the stream
 * at most, so a slow reader (a pipe, a socket) stops the reads from storage.
 */
export function exportText(
  service: Pick<QueryService, 'exportPage'>,
  query: ExportQuery,
  format: TextExportFormat,
  pageRows: number = EXPORT_PAGE_ROWS,
): Readable {
  return Readable.from(encoded(exportPages(service, query, pageRows), format), {
    objectMode: true,
    highWaterMark: 1,
  });
}
