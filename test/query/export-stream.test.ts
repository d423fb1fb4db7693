// The export stream pulls pages only as its reader takes them: backpressure
// from the output down to the storage reads, the heart of constant memory.
import { describe, expect, it } from 'vitest';
import { exportText } from '../../storage/query/export-stream.js';
import type { ExportCursor, ExportPage, ExportQuery } from '../../storage/query-port.js';

const PAGES = 1000;
const PAGE_ROWS = 10;

/** A store of PAGES × PAGE_ROWS readings that counts the pages asked of it. */
function countingStore() {
  const asked: Array<ExportCursor | undefined> = [];
  return {
    asked,
    async exportPage(_q: ExportQuery, after: ExportCursor | undefined, limit: number): Promise<ExportPage> {
      asked.push(after);
      const start = after === undefined ? 0 : after.ts + 1;
      const rows = Array.from({ length: Math.min(limit, PAGES * PAGE_ROWS - start) }, (_, i) => ({
        device: 'd',
        metric: 'm',
        ts: start + i,
        value: start + i,
        unit: null,
      }));
      const last = rows.at(-1);
      return rows.length < limit || last === undefined
        ? { rows }
        : { rows, next: { ts: last.ts, seriesId: 1 } };
    },
  };
}

describe('exportText', () => {
  it('reads a page only when the reader has taken the one before', async () => {
    const store = countingStore();
    const stream = exportText(store, { from: 0, to: 1e9 }, 'ndjson', PAGE_ROWS);
    const chunks = stream[Symbol.asyncIterator]();
    await chunks.next();
    await chunks.next();
    // Two chunks taken: a page or two read ahead at most, not the 1,000 the store holds.
    expect(store.asked.length).toBeLessThanOrEqual(4);
    await chunks.return?.();
    expect(store.asked.length).toBeLessThanOrEqual(4);
  });

  it('reads every page, each from where the last ended, when the reader takes everything', async () => {
    const store = countingStore();
    let lines = 0;
    for await (const chunk of exportText(store, { from: 0, to: 1e9 }, 'csv', PAGE_ROWS)) {
      lines += String(chunk).split('\n').length - 1;
    }
    expect(lines).toBe(PAGES * PAGE_ROWS + 1);
    expect(store.asked).toHaveLength(PAGES + 1);
    expect(store.asked[1]).toEqual({ ts: PAGE_ROWS - 1, seriesId: 1 });
  });
});
