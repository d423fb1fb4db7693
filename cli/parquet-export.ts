// Parquet output of `npm run query -- export`, written with @dsnp/parquetjs,
// the maintained fork of parquetjs (pinned at 1.8.8: later releases need
// Node 24). The writer buffers one row group and writes it when full, and
// appendRow waits for that write, so memory holds one row group at most.
import parquet from '@dsnp/parquetjs';
import type { ExportRow } from '../storage/query-port.js';

/** Rows per row group: the writer's memory bound, and the unit readers skip by. */
export const PARQUET_ROW_GROUP = 20_000;

/**
 * The columns of every export format. ts is INT64 epoch ms, a plain number
 * (no timestamp logical type, as in NDJSON); unit is optional, null while the
 * schema records none. Snappy: what Parquet readers expect by default.
 */
function exportSchema(): parquet.ParquetSchema {
  return new parquet.ParquetSchema({
    device: { type: 'UTF8', compression: 'SNAPPY' },
    metric: { type: 'UTF8', compression: 'SNAPPY' },
    ts: { type: 'INT64', compression: 'SNAPPY' },
    value: { type: 'DOUBLE', compression: 'SNAPPY' },
    unit: { type: 'UTF8', optional: true, compression: 'SNAPPY' },
  });
}

export async function writeParquet(pages: AsyncIterable<ExportRow[]>, path: string): Promise<void> {
  const writer = await parquet.ParquetWriter.openFile(exportSchema(), path, {
    rowGroupSize: PARQUET_ROW_GROUP,
  });
  try {
    for await (const rows of pages) {
      for (const r of rows) {
        await writer.appendRow(
          r.unit === null
            ? { device: r.device, metric: r.metric, ts: r.ts, value: r.value }
            : { device: r.device, metric: r.metric, ts: r.ts, value: r.value, unit: r.unit },
        );
      }
    }
  } finally {
    // Writes the last row group and the footer; on failure the caller removes the file.
    await writer.close();
  }
}
