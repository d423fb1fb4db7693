// `npm run query -- export`: every reading that matches, streamed page by
// page from the query thread to stdout or a file. Backpressure runs the whole
// way: the next page is read from storage only when the output took the last.
import { createWriteStream, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GatewayError } from '../core/errors.js';
import { exportPages, exportText } from '../storage/query/export-stream.js';
import { EXPORT_FORMATS, type ExportFormat, parseExportParams } from '../storage/query/params.js';
import type { ExportQuery, QueryService } from '../storage/query-port.js';
import type { Prepared, QueryCliIo, Values } from './query-commands.js';

export function prepareExport(raw: Record<string, string>, v: Values, now: number, io: QueryCliIo): Prepared {
  const { query, format } = parseExportParams(
    { ...raw, ...(v.format === undefined ? {} : { format: v.format }) },
    { now, formats: EXPORT_FORMATS },
  );
  const out = v.out;
  if (out === '') throw usage('--out needs a file name');
  if (format === 'parquet' && out === undefined)
    throw usage('--format parquet needs --out FILE: a Parquet file cannot be streamed to stdout');
  return {
    needs: 'query',
    async run(service) {
      const count = await exportTo(service, query, format, out, io);
      return { stdout: '', stderr: `# exported ${count} readings${out === undefined ? '' : ` to ${out}`}\n` };
    },
  };
}

async function exportTo(
  service: QueryService,
  query: ExportQuery,
  format: ExportFormat,
  out: string | undefined,
  io: QueryCliIo,
): Promise<number> {
  let count = 0;
  const counted = { exportPage: countRows(service, (n) => (count += n)) };
  try {
    if (format === 'parquet') {
      // Loaded only here: the Parquet library's start-up would slow every other command.
      const { writeParquet } = await import('./parquet-export.js');
      await writeParquet(exportPages(counted, query), out!);
    } else await pipeline(exportText(counted, query, format), sink(out, io), { end: out !== undefined });
    return count;
  } catch (err) {
    // `| head` closing the pipe early is the reader's choice, not a failure.
    if ((err as NodeJS.ErrnoException).code === 'EPIPE' && out === undefined) return count;
    // A half-written file would pass for a whole export.
    if (out !== undefined) rmSync(out, { force: true });
    throw err;
  }
}

function countRows(service: QueryService, add: (n: number) => void): QueryService['exportPage'] {
  return async (query, after, limit) => {
    const page = await service.exportPage(query, after, limit);
    add(page.rows.length);
    return page;
  };
}

function sink(out: string | undefined, io: QueryCliIo): Writable {
  if (io.output !== undefined) return io.output(out);
  if (out !== undefined) return createWriteStream(out);
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      io.stdout(String(chunk));
      done();
    },
  });
}

function usage(message: string): GatewayError {
  return new GatewayError('GW_ERR_CLI_USAGE', [message]);
}
